// ImageView: read-only, on-demand access to the inodes of one RAFS image by raw inode id
// (v6: the nid; v5: the stored i_ino). It is what the filesystem core (fs/rafs_fs.h) serves
// from, so that a large image can be mounted without decoding its whole tree first.
//
// Two implementations:
//   - TreeImageView (meta/tree_image_view.h): over a fully decoded meta::Image (v5 images,
//     tests, anything ReadBootstrap produced).
//   - V6DirectView (meta/v6_direct_view.h): over the mmapped bytes of a v6 bootstrap; every
//     inode, directory block, xattr area and chunk index array is decoded and validated when
//     it is asked for (the reference's "direct" mode, rafs/src/metadata/direct_v6.rs).
//
// Error vocabulary, for every method taking an id:
//   NotFound         no inode has this id (or no entry has that name)
//   InvalidArgument  wrong file type for the call (Lookup/ReadDir on a non-directory,
//                    ReadLink on a non-symlink, Chunks on a non-regular file)
//   Corruption       the metadata behind the id is inconsistent; the message names the
//                    inode ("v6: inode nid N: ...") — the view keeps working for others
//
// Ownership: an ImageView owns (or shares) everything it reads. Thread-safety: every method
// of every implementation is const and may be called concurrently.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "meta/image.h"

namespace nydus::meta {

// The attributes of one inode, as stored.
struct InodeAttrs {
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint64_t mtime = 0;  // 0 when not stored (v6 compact inodes)
  uint32_t mtime_nsec = 0;
  uint32_t nlink = 0;
  uint64_t rdev = 0;

  bool IsDir() const { return S_ISDIR(mode); }
  bool IsReg() const { return S_ISREG(mode); }
  bool IsSymlink() const { return S_ISLNK(mode); }
};

// The result of a successful Lookup.
struct ViewEntry {
  uint64_t id = 0;
  InodeAttrs attrs;
};

class ImageView {
 public:
  virtual ~ImageView() = default;

  // Version, flags, chunk size, compressor, digester, explicit_uidgid and the blob table.
  // `root` may be null (V6DirectView) and `prefetch` empty (V6DirectView does not resolve
  // prefetch paths; its table is bounds-checked only).
  virtual const Image& header() const = 0;
  // The id of the root directory.
  virtual uint64_t root_id() const = 0;
  // The ids in the image's prefetch table, for views that do not resolve it into
  // header().prefetch paths: V6DirectView returns the table's nids up to the first 0 (not
  // checked against the tree; a bad one fails when used). TreeImageView returns none (its
  // header().prefetch holds the paths).
  virtual std::vector<uint64_t> PrefetchIds() const { return {}; }
  // Number of inodes for statfs (TreeImageView: distinct inodes; V6DirectView: the
  // superblock's s_inos).
  virtual uint64_t inode_count() const = 0;
  // Number of `bsize` blocks for statfs (TreeImageView: sum over distinct inodes of
  // ceil(size / bsize); V6DirectView: sum over blobs of ceil(uncompressed_size / bsize)).
  virtual uint64_t BlockCount(uint32_t bsize) const = 0;

  virtual Result<InodeAttrs> GetInode(uint64_t id) const = 0;

  // The entry `name` of directory `dir`; "." and ".." included.
  virtual Result<ViewEntry> Lookup(uint64_t dir, std::string_view name) const = 0;

  // Lists directory `dir` from entry index `offset` (0 = the start), calling `fn(name, id,
  // dtype, next_offset)` per entry until it returns false or the directory ends. Offsets are
  // stable entry indexes: v5 lists ".", "..", then the children; v6 the on-disk order (every
  // name sorted bytewise, "." and ".." among them). dtype is a DT_* value.
  using DirFn =
      std::function<bool(std::string_view name, uint64_t id, uint32_t dtype, uint64_t next_offset)>;
  virtual Status ReadDir(uint64_t dir, uint64_t offset, const DirFn& fn) const = 0;

  virtual Result<std::string> ReadLink(uint64_t id) const = 0;
  // All xattrs, sorted by name.
  virtual Result<std::vector<Xattr>> Xattrs(uint64_t id) const = 0;
  // Replaces *out with the chunks of regular file `id` that cover bytes [offset, offset+len)
  // (clipped to the file size), in file order, with file_offset set. Empty when len is 0 or
  // offset is at or past the end.
  virtual Status Chunks(uint64_t id, uint64_t offset, uint64_t len,
                        std::vector<ChunkInfo>* out) const = 0;
};

// Opens the bootstrap at `path`: a V6DirectView when `direct` is set and the file is a v6
// bootstrap, otherwise a full ReadBootstrapFile + TreeImageView. Bootstrap errors carry the
// same messages ReadBootstrapFile (and hence `nydus-image check`) gives for the superblocks
// and tables.
Result<std::shared_ptr<const ImageView>> OpenImageView(const std::string& path, bool direct);

// Calls `fn` with every chunk of every regular file of the image (each inode once, hardlinks
// included), depth first from the root, until `fn` returns false. Errors of the walk (a
// corrupt directory or chunk table) pass through.
Status VisitChunks(const ImageView& view, const std::function<bool(const ChunkInfo&)>& fn);

}  // namespace nydus::meta
