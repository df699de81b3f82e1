#include "fs/rafs_fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "format/rafs.h"
#include "meta/tree_image_view.h"

namespace nydus::fs {

namespace {

constexpr uint32_t kStatFsBlockSize = 4096;
constexpr uint32_t kAttrBlockSize = 4096;  // reference RAFS_ATTR_BLOCK_SIZE
constexpr uint32_t kNameMax = 255;

std::string InoName(uint64_t ino) { return "fs: inode " + std::to_string(ino); }

}  // namespace

bool IsWriteOpen(int flags) { return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC); }

Result<std::unique_ptr<RafsFs>> RafsFs::Create(std::shared_ptr<const meta::ImageView> view,
                                               storage::ChunkReader* reader,
                                               const RafsFsOptions& options) {
  if (view == nullptr) return Status::InvalidArgument("fs: no image");
  return std::unique_ptr<RafsFs>(new RafsFs(std::move(view), reader, options));
}

Result<std::unique_ptr<RafsFs>> RafsFs::Create(std::shared_ptr<const meta::Image> image,
                                               storage::ChunkReader* reader,
                                               const RafsFsOptions& options) {
  if (image == nullptr) return Status::InvalidArgument("fs: no image");
  Result<std::shared_ptr<const meta::TreeImageView>> view =
      meta::TreeImageView::Create(std::move(image));
  if (!view.ok()) return view.status().WithContext("fs");
  return Create(std::shared_ptr<const meta::ImageView>(std::move(*view)), reader, options);
}

RafsFs::RafsFs(std::shared_ptr<const meta::ImageView> view, storage::ChunkReader* reader,
               const RafsFsOptions& options)
    : view_(std::move(view)),
      reader_(reader),
      options_(options),
      root_id_(view_->root_id()),
      xattr_enabled_(options.enable_xattr || (view_->header().flags & format::kFlagHasXattr)),
      default_uid_(static_cast<uint32_t>(geteuid())),
      default_gid_(static_cast<uint32_t>(getegid())),
      start_time_(static_cast<int64_t>(std::time(nullptr))) {
  statfs_.bsize = kStatFsBlockSize;
  statfs_.frsize = kStatFsBlockSize;
  statfs_.blocks = view_->BlockCount(kStatFsBlockSize);
  statfs_.files = view_->inode_count();
  statfs_.namemax = kNameMax;
}

RafsFs::~RafsFs() = default;

Result<meta::InodeAttrs> RafsFs::FindInode(uint64_t ino) const {
  if (ino == 0) return Status::NotFound(InoName(ino) + " does not exist");
  Result<meta::InodeAttrs> attrs = view_->GetInode(Swap(ino));
  if (!attrs.ok()) return attrs.status().WithContext(InoName(ino));
  return attrs;
}

Attr RafsFs::MakeAttr(uint64_t ino, const meta::InodeAttrs& in) const {
  Attr a;
  a.ino = ino;
  a.mode = in.mode;
  if (a.ino == kRootIno) a.mode = (a.mode & ~0777u) | 0755u;
  a.nlink = in.nlink;
  const bool explicit_ids = view_->header().explicit_uidgid;
  a.uid = explicit_ids ? in.uid : default_uid_;
  a.gid = explicit_ids ? in.gid : default_gid_;
  a.rdev = in.rdev;
  a.size = in.size;
  a.blocks = in.size / 512 + (in.size % 512 != 0 ? 1 : 0);
  a.blksize = kAttrBlockSize;
  a.mtime = static_cast<int64_t>(in.mtime);
  a.mtime_nsec = in.mtime_nsec;
  if (in.mtime == 0) {
    a.mtime = start_time_;
    a.mtime_nsec = 0;
  }
  a.atime = a.ctime = a.mtime;
  a.atime_nsec = a.ctime_nsec = a.mtime_nsec;
  return a;
}

Result<Attr> RafsFs::GetAttr(uint64_t ino) const {
  ASSIGN_OR_RETURN(meta::InodeAttrs in, FindInode(ino));
  return MakeAttr(ino, in);
}

Result<std::string> RafsFs::ReadLink(uint64_t ino) const {
  ASSIGN_OR_RETURN(meta::InodeAttrs in, FindInode(ino));
  if (!in.IsSymlink()) return Status::InvalidArgument(InoName(ino) + " is not a symlink");
  Result<std::string> target = view_->ReadLink(Swap(ino));
  if (!target.ok()) return target.status().WithContext(InoName(ino));
  return target;
}

Status RafsFs::Open(uint64_t ino, int flags) const {
  ASSIGN_OR_RETURN(meta::InodeAttrs in, FindInode(ino));
  (void)in;
  if (IsWriteOpen(flags)) {
    return Status::NotSupported(InoName(ino) + ": read-only filesystem");
  }
  return Status::OK();
}

namespace {

// A data-source failure as read(2) should see it: EIO, not the ENOENT / EACCES / ERANGE its
// code would map to (those describe the blob or the registry, not the file being read).
Status AsReadError(const Status& st) {
  switch (st.code()) {
    case StatusCode::kCorruption:
    case StatusCode::kIOError:
    case StatusCode::kUnavailable:
    case StatusCode::kInternal:
      return st;
    default:
      return Status::IOError(st.message());
  }
}

}  // namespace

Result<size_t> RafsFs::Read(uint64_t ino, uint64_t offset, std::span<uint8_t> out,
                            ReadPieces* pieces) const {
  ASSIGN_OR_RETURN(meta::InodeAttrs in, FindInode(ino));
  if (!in.IsReg()) return Status::InvalidArgument(InoName(ino) + " is not a regular file");
  if (offset > UINT64_MAX - out.size()) {
    return Status::InvalidArgument(InoName(ino) + ": read offset + size overflows");
  }
  if (out.empty() || offset >= in.size) return size_t{0};
  const size_t len = static_cast<size_t>(std::min<uint64_t>(out.size(), in.size - offset));
  if (reader_ == nullptr) {
    return Status::Unavailable(InoName(ino) + ": no data source (metadata-only filesystem)");
  }
  std::vector<meta::ChunkInfo> chunks;
  Status st = view_->Chunks(Swap(ino), offset, len, &chunks);
  if (!st.ok()) return st.WithContext(InoName(ino));
  Result<size_t> n = reader_->ReadFile(chunks, in.size, offset, out.first(len), pieces);
  if (!n.ok()) return AsReadError(n.status()).WithContext(InoName(ino));
  return n;
}

Status RafsFs::CheckXattrEnabled() const {
  if (xattr_enabled_) return Status::OK();
  return Status::NotSupported("fs: xattrs are disabled (enable_xattr false, no HAS_XATTR)");
}

Result<std::optional<std::string>> RafsFs::GetXattr(uint64_t ino, const std::string& name) const {
  RETURN_IF_ERROR(CheckXattrEnabled());
  ASSIGN_OR_RETURN(meta::InodeAttrs in, FindInode(ino));
  (void)in;
  Result<std::vector<meta::Xattr>> xattrs = view_->Xattrs(Swap(ino));
  if (!xattrs.ok()) return xattrs.status().WithContext(InoName(ino));
  for (meta::Xattr& x : *xattrs) {
    if (x.name == name) return std::optional<std::string>(std::move(x.value));
  }
  return std::optional<std::string>();
}

Result<std::vector<std::string>> RafsFs::ListXattr(uint64_t ino) const {
  RETURN_IF_ERROR(CheckXattrEnabled());
  ASSIGN_OR_RETURN(meta::InodeAttrs in, FindInode(ino));
  (void)in;
  Result<std::vector<meta::Xattr>> xattrs = view_->Xattrs(Swap(ino));
  if (!xattrs.ok()) return xattrs.status().WithContext(InoName(ino));
  std::vector<std::string> names;
  names.reserve(xattrs->size());
  for (meta::Xattr& x : *xattrs) names.push_back(std::move(x.name));
  return names;
}

Status RafsFs::Access(uint64_t ino, int mask, const Caller& caller) const {
  ASSIGN_OR_RETURN(Attr st, GetAttr(ino));
  const int want = mask & (R_OK | W_OK | X_OK);
  if (want == F_OK) return Status::OK();
  // The reference's rule for each bit: granted by the owner, group or other class it matches.
  const bool owner = st.uid == caller.uid, group = st.gid == caller.gid;
  auto granted = [&](uint32_t u, uint32_t g, uint32_t o) {
    return (owner && (st.mode & u)) || (group && (st.mode & g)) || (st.mode & o);
  };
  const bool root = caller.uid == 0;
  bool ok = true;
  if (want & R_OK) ok = ok && (root || granted(0400, 0040, 0004));
  if (want & W_OK) ok = ok && (root || granted(0200, 0020, 0002));
  if (want & X_OK) ok = ok && ((root && (st.mode & 0111)) || granted(0100, 0010, 0001));
  if (!ok) return Status::PermissionDenied(InoName(ino) + ": access denied");
  return Status::OK();
}

}  // namespace nydus::fs
