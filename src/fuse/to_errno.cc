#include "fuse/to_errno.h"

#include <cerrno>

namespace nydus::fuse {

int ToErrno(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kNotFound:
      return ENOENT;
    case StatusCode::kInvalidArgument:
      return EINVAL;
    case StatusCode::kNotSupported:
      return EOPNOTSUPP;
    case StatusCode::kPermissionDenied:
      return EACCES;
    case StatusCode::kAlreadyExists:
      return EEXIST;
    case StatusCode::kOutOfRange:
      return ERANGE;
    case StatusCode::kCorruption:
    case StatusCode::kIOError:
    case StatusCode::kUnavailable:
    case StatusCode::kInternal:
      return EIO;
  }
  return EIO;  // a code added later without a mapping
}

}  // namespace nydus::fuse
