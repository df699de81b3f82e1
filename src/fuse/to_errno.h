// ToErrno: the one place where a Status becomes an errno (the FUSE edge; base/status.h).
//
//   OK                                   0
//   NotFound                             ENOENT
//   InvalidArgument                      EINVAL
//   NotSupported                         EOPNOTSUPP  (xattrs disabled: the reference answers
//                                                     ENOSYS, which the kernel hands to the
//                                                     caller as EOPNOTSUPP; write-type requests
//                                                     never get here, the adapter answers them
//                                                     EROFS directly)
//   PermissionDenied                     EACCES
//   AlreadyExists                        EEXIST
//   OutOfRange                           ERANGE
//   Corruption, IOError, Unavailable,
//   Internal                             EIO
// Thread-safety: pure function.
#pragma once

#include "base/status.h"

namespace nydus::fuse {

int ToErrno(const Status& status);

}  // namespace nydus::fuse
