// RafsFs: the read-only filesystem core over one RAFS image (v5 or v6). It answers the
// questions a FUSE (or virtio-fs) front end asks — GetAttr, Lookup, ReadDir, ReadLink, Open,
// Read, GetXattr, ListXattr, StatFs, Access — in our own types (fs_types.h) and Status, with no
// libfuse type anywhere, following the reference nydusd's `Rafs` (rafs/src/fs.rs, v2.2):
//
//   - Inode numbers: v6 reports the nid, v5 the stored i_ino (the ImageView's raw ids). The
//     FUSE root must be 1 (FUSE_ROOT_ID), so RafsFs swaps the image root's own id with 1: the
//     root reports 1, and an inode whose own id is 1 (possible only in v6 images whose root
//     nid is not 1) reports the root's id instead. The swap is its own inverse, so every inode
//     keeps one stable number. Hardlinks share one ino. Number 0 is never valid.
//   - uid/gid: when the image lacks EXPLICIT_UID_GID (Image::explicit_uidgid false) every
//     inode reports the daemon's euid/egid, captured at construction.
//   - Times: an inode whose mtime is 0 reports the construction time instead; atime and ctime
//     equal mtime (RAFS stores one timestamp).
//   - The root directory always reports permission bits 0755 (reference rule).
//   - Xattrs are served when options.enable_xattr is set or the superblock has HAS_XATTR;
//     otherwise GetXattr/ListXattr return NotSupported (the reference answers ENOSYS, which the
//     kernel turns into EOPNOTSUPP for the caller — the errno ToErrno gives NotSupported).
//
// Error vocabulary (fuse/to_errno.h turns it into errno):
//   NotFound          unknown inode number, or no such name (ENOENT)
//   InvalidArgument   wrong file type for the operation — lookup/readdir in a non-directory,
//                     readlink of a non-symlink, read of a non-regular file — or an offset
//                     overflow (EINVAL; the kernel checks file types before asking, so these
//                     are not visible through FUSE)
//   NotSupported      xattrs disabled; open for writing (EOPNOTSUPP; the fuse adapter answers
//                     write opens, like every write-type request, with EROFS itself)
//   PermissionDenied  Access() refused (EACCES)
//   IOError, Corruption, Unavailable  from the chunk reader, or no reader for file data (EIO)
//   Corruption        also from the metadata: an on-demand view (meta::V6DirectView) decodes
//                     each inode / directory block when asked and reports bad bytes here (EIO)
//
// The metadata comes from a meta::ImageView (meta/image_view.h): a V6DirectView over the
// mmapped bootstrap (nothing decoded up front), or a TreeImageView over a decoded meta::Image.
// Ownership: shares the view (the composition root may also hold it: the ChunkReader borrows
// view->header() and is built before the RafsFs, hence the view must outlive both). Borrows
// the ChunkReader, which must outlive the RafsFs and read this same image's blobs; it may be
// null for a metadata-only filesystem (reading a non-empty file then fails with Unavailable).
// Typical wiring:
//   ASSIGN_OR_RETURN(std::shared_ptr<const meta::ImageView> view,
//                    meta::OpenImageView(path, /*direct=*/true));
//   auto reader = std::make_unique<storage::ChunkReader>(view->header(), backend, reader_opts);
//   ASSIGN_OR_RETURN(auto fs, fs::RafsFs::Create(view, reader.get(), fs_opts));
// Thread-safety: immutable after Create(); every method may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/read_pieces.h"
#include "base/result.h"
#include "fs/fs_types.h"
#include "meta/image.h"
#include "meta/image_view.h"
#include "storage/chunk_reader.h"

namespace nydus::fs {

// The reference's RAFS_DEFAULT_ATTR_TIMEOUT / RAFS_DEFAULT_ENTRY_TIMEOUT: 1 << 32 seconds.
// The image never changes, so the kernel may cache attributes and names forever.
inline constexpr double kDefaultCacheTimeoutSec = 4294967296.0;

struct RafsFsOptions {
  // v1 config `enable_xattr` / v2 `rafs.enable_xattr` (default false, as in the reference).
  bool enable_xattr = false;
  // How long the kernel may cache attributes / lookups (seconds; FUSE attr_valid/entry_valid).
  double attr_timeout_sec = kDefaultCacheTimeoutSec;
  double entry_timeout_sec = kDefaultCacheTimeoutSec;
  // v1 `access_pattern` / v2 `rafs.access_pattern`: a Vfs serving this fs records which
  // inodes are read, in first-access order (fs/access_pattern.h; GET /api/v1/metrics/pattern).
  bool access_pattern = false;
};

// True when open(2) `flags` ask for write access or truncation.
bool IsWriteOpen(int flags);

class RafsFs {
 public:
  // Serves `view`. Cheap: reads only the view's header and root. InvalidArgument when `view`
  // is null.
  static Result<std::unique_ptr<RafsFs>> Create(std::shared_ptr<const meta::ImageView> view,
                                                storage::ChunkReader* reader,
                                                const RafsFsOptions& options);
  // Convenience: serves a decoded image through a meta::TreeImageView. InvalidArgument when
  // the image has no directory root, or its inode numbers are missing (0) or collide (see
  // TreeImageView::Create).
  static Result<std::unique_ptr<RafsFs>> Create(std::shared_ptr<const meta::Image> image,
                                                storage::ChunkReader* reader,
                                                const RafsFsOptions& options);
  ~RafsFs();
  RafsFs(const RafsFs&) = delete;
  RafsFs& operator=(const RafsFs&) = delete;

  const RafsFsOptions& options() const { return options_; }
  // The image's settings and blob table (root may be null: see ImageView::header()).
  const meta::Image& image() const { return view_->header(); }
  const meta::ImageView& view() const { return *view_; }
  bool xattr_enabled() const { return xattr_enabled_; }

  // Attributes of `ino`. NotFound for an unknown ino.
  Result<Attr> GetAttr(uint64_t ino) const;

  // The entry named `name` inside directory `parent`. "." is the directory itself; ".." its
  // parent (the root's ".." is the root). NotFound for an unknown parent or a missing name;
  // InvalidArgument when `parent` is not a directory.
  Result<Entry> Lookup(uint64_t parent, const std::string& name) const;

  // Lists directory `ino` starting at `offset` (0 = the beginning, otherwise a next_offset
  // from an earlier entry) and calls `fn` for each entry in order until `fn` returns false
  // (the caller's buffer is full; that entry is not consumed) or the directory ends. The
  // listing includes "." and ".."; offsets are stable entry indexes (v5: ".", "..", then the
  // children; v6: the on-disk order, all names sorted bytewise including "." and "..").
  // An offset past the end lists nothing. NotFound / InvalidArgument as for Lookup.
  using DirFn = std::function<bool(const DirEntry&)>;
  Status ReadDir(uint64_t ino, uint64_t offset, const DirFn& fn) const;

  // The target of symlink `ino`. InvalidArgument when `ino` is not a symlink.
  Result<std::string> ReadLink(uint64_t ino) const;

  // Checks that `ino` may be opened with open(2) `flags`. NotSupported when IsWriteOpen(flags).
  // There is no per-open state: callers need no handle and no release.
  Status Open(uint64_t ino, int flags) const;

  // Reads file bytes [offset, offset + out.size()) of regular file `ino` into `out`; returns
  // the bytes copied, short only at end of file (0 at or past EOF). InvalidArgument for a
  // non-regular file or when offset + size overflows. A failure of the data source (chunk
  // reader, blob cache, backend: a blob gone, credentials rejected, a range refused) is an
  // I/O error of this file, IOError (EIO at the FUSE edge), whatever its code there, with its
  // message kept; Corruption, IOError, Unavailable and Internal pass through as they are.
  // With `pieces`, the bytes are described there (see storage::ChunkReader::ReadFile): parts
  // ready in the blob cache point into its mapped files, the rest into `out`.
  Result<size_t> Read(uint64_t ino, uint64_t offset, std::span<uint8_t> out,
                      ReadPieces* pieces = nullptr) const;

  // The value of xattr `name` of `ino`, or nullopt when the inode has no such xattr.
  // NotSupported when xattrs are disabled (see the header comment).
  Result<std::optional<std::string>> GetXattr(uint64_t ino, const std::string& name) const;
  // The xattr names of `ino`, in stored order. NotSupported when xattrs are disabled.
  Result<std::vector<std::string>> ListXattr(uint64_t ino) const;

  // Filesystem statistics: bsize 4096, namemax 255, nothing free; files = view->inode_count(),
  // blocks = view->BlockCount(4096), taken at construction (a TreeImageView sums the file
  // sizes, a V6DirectView the blobs' uncompressed sizes). (The reference reports bsize 512,
  // blocks 0 and files = inode count; we report block counts so df shows the image size.)
  StatFs GetStatFs() const { return statfs_; }

  // Checks access `mask` (R_OK/W_OK/X_OK bits; F_OK = existence) for `caller`, with the
  // reference's rules: owner, then group, then other bits; uid 0 may read and write anything
  // and execute anything with at least one x bit. Supplementary groups are not consulted.
  // NotFound for an unknown ino; PermissionDenied when refused.
  Status Access(uint64_t ino, int mask, const Caller& caller) const;

 private:
  RafsFs(std::shared_ptr<const meta::ImageView> view, storage::ChunkReader* reader,
         const RafsFsOptions& options);
  // The root swap: reported number <-> view id (its own inverse). 0 stays 0.
  uint64_t Swap(uint64_t n) const {
    return n == root_id_ ? kRootIno : n == kRootIno ? root_id_ : n;
  }
  // The attributes of reported number `ino`; NotFound for 0 and unknown numbers.
  Result<meta::InodeAttrs> FindInode(uint64_t ino) const;
  Attr MakeAttr(uint64_t ino, const meta::InodeAttrs& in) const;
  Status CheckXattrEnabled() const;

  std::shared_ptr<const meta::ImageView> view_;  // never null
  storage::ChunkReader* reader_;                 // borrowed; may be null
  RafsFsOptions options_;
  uint64_t root_id_ = 1;  // the view's root id
  bool xattr_enabled_ = false;
  uint32_t default_uid_ = 0;  // euid/egid at construction, for images without explicit uid/gid
  uint32_t default_gid_ = 0;
  int64_t start_time_ = 0;  // reported for inodes whose mtime is 0
  StatFs statfs_;
};

}  // namespace nydus::fs
