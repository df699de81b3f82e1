// Every write-type request answers EROFS: a RAFS image is immutable. With the default "ro"
// mount the kernel refuses most of them itself; these handlers cover rw mounts and requests
// the kernel forwards anyway.
#include <cerrno>

#include "fuse/ops_internal.h"

namespace nydus::fuse::internal {

namespace {

void Refuse(fuse_req_t req) { fuse_reply_err(req, EROFS); }

void SetAttr(fuse_req_t req, fuse_ino_t, struct stat*, int, fuse_file_info*) noexcept {
  Refuse(req);
}
void MkNod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) noexcept { Refuse(req); }
void MkDir(fuse_req_t req, fuse_ino_t, const char*, mode_t) noexcept { Refuse(req); }
void Unlink(fuse_req_t req, fuse_ino_t, const char*) noexcept { Refuse(req); }
void RmDir(fuse_req_t req, fuse_ino_t, const char*) noexcept { Refuse(req); }
void SymLink(fuse_req_t req, const char*, fuse_ino_t, const char*) noexcept { Refuse(req); }
void Rename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*,
            unsigned int) noexcept {
  Refuse(req);
}
void Link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) noexcept { Refuse(req); }
void Write(fuse_req_t req, fuse_ino_t, const char*, size_t, off_t, fuse_file_info*) noexcept {
  Refuse(req);
}
void Create(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) noexcept {
  Refuse(req);
}
void SetXattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) noexcept {
  Refuse(req);
}
void RemoveXattr(fuse_req_t req, fuse_ino_t, const char*) noexcept { Refuse(req); }
void Fallocate(fuse_req_t req, fuse_ino_t, int, off_t, off_t, fuse_file_info*) noexcept {
  Refuse(req);
}
void CopyFileRange(fuse_req_t req, fuse_ino_t, off_t, fuse_file_info*, fuse_ino_t, off_t,
                   fuse_file_info*, size_t, int) noexcept {
  Refuse(req);
}

}  // namespace

void SetReadOnlyOps(fuse_lowlevel_ops* ops) {
  ops->setattr = SetAttr;
  ops->mknod = MkNod;
  ops->mkdir = MkDir;
  ops->unlink = Unlink;
  ops->rmdir = RmDir;
  ops->symlink = SymLink;
  ops->rename = Rename;
  ops->link = Link;
  ops->write = Write;
  ops->create = Create;
  ops->setxattr = SetXattr;
  ops->removexattr = RemoveXattr;
  ops->fallocate = Fallocate;
  ops->copy_file_range = CopyFileRange;
}

}  // namespace nydus::fuse::internal
