// Xattr handlers with the getxattr(2)/listxattr(2) size-probe protocol: size 0 asks for the
// needed length (fuse_reply_xattr); a non-zero size smaller than the value is ERANGE.
#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "fuse/ops_internal.h"

namespace nydus::fuse::internal {

namespace {

// Replies with `data` under the size-probe protocol for a caller buffer of `size` bytes.
void ReplySized(fuse_req_t req, const std::string& data, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, data.size());
  } else if (size < data.size()) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, data.data(), data.size());
  }
}

}  // namespace

void GetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) noexcept {
  RunGuarded(req, [&] {
    Result<std::optional<std::string>> value = Ctx(req).fs->GetXattr(ino, name);
    if (!value.ok()) return ReplyStatus(req, value.status());
    if (!value->has_value()) return static_cast<void>(fuse_reply_err(req, ENODATA));
    ReplySized(req, **value, size);
  });
}

void ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) noexcept {
  RunGuarded(req, [&] {
    Result<std::vector<std::string>> names = Ctx(req).fs->ListXattr(ino);
    if (!names.ok()) return ReplyStatus(req, names.status());
    std::string packed;  // "name\0name\0..."
    for (const std::string& n : *names) packed.append(n).push_back('\0');
    ReplySized(req, packed, size);
  });
}

}  // namespace nydus::fuse::internal
