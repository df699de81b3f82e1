// Internal: the pieces of the RAFS v6 decoder, shared by the full reader (ReadBootstrapV6,
// which `nydus-image check` runs) and the on-demand V6DirectView, so that both apply the same
// checks and give the same messages:
//   - bootstrap_reader_v6.cc: superblocks, device/blob/prefetch/chunk table regions
//     (ReadV6Header), the chunk table index (BuildV6ChunkTable), the full reader;
//   - bootstrap_reader_v6_inode.cc: one inode, its xattrs, symlink target, chunk index
//     entries and directory blocks, decoded from the bytes without allocation where possible;
//   - bootstrap_reader_v6_tree.cc: the full tree walk from the root nid.
// Not part of the public API. Thread-safety: the functions are pure; a V6ChunkTable is
// immutable after Finish().
#pragma once

#include <algorithm>
#include <compare>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "format/v5.h"
#include "format/v6.h"
#include "meta/bootstrap_reader_internal.h"
#include "meta/image_view.h"

namespace nydus::meta::internal {

// A chunk as addressed from an inode's chunk index array.
struct V6ChunkKey {
  uint32_t blob_index;
  uint32_t ci_index;
  uint32_t blkaddr;  // uncompressed_offset / 4096
  auto operator<=>(const V6ChunkKey&) const = default;
};

// The v6 chunk table indexed by (blob, CI index, block): one sorted array of 16-byte entries,
// binary-searched; the 80-byte records stay in the bootstrap bytes (which must outlive it).
class V6ChunkTable {
 public:
  void Reset(ByteSpan data, uint64_t table_off, size_t n) {
    data_ = data;
    table_off_ = table_off;
    index_.clear();
    index_.reserve(n);
  }
  void Add(const V6ChunkKey& key, uint32_t pos) { index_.push_back({key, pos}); }
  // REQUIRES: called once after the last Add and before Find. For equal keys the first
  // added record wins.
  void Finish() {
    std::stable_sort(index_.begin(), index_.end(),
                     [](const Entry& a, const Entry& b) { return a.key < b.key; });
  }
  bool Find(const V6ChunkKey& key, format::RafsV5ChunkInfo* rec) const {
    auto it = std::lower_bound(index_.begin(), index_.end(), key,
                               [](const Entry& e, const V6ChunkKey& k) { return e.key < k; });
    if (it == index_.end() || it->key != key) return false;
    return ReadPod(data_, table_off_ + uint64_t{it->pos} * sizeof(*rec), rec);
  }

 private:
  struct Entry {
    V6ChunkKey key;
    uint32_t pos;  // record number in the chunk table
  };
  ByteSpan data_;
  uint64_t table_off_ = 0;
  std::vector<Entry> index_;  // sorted by key after Finish()
};

struct V6Context {
  ByteSpan data;
  ReadOptions opts;
  uint64_t meta_base = 0;   // s_meta_blkaddr * 4096
  uint32_t chunk_size = 0;  // fs chunk size
  // Superblock area + device table, blob table, prefetch table, chunk table: inodes and
  // data blocks must not overlap them.
  std::vector<Region> tables;
  const std::vector<BlobInfo>* blobs = nullptr;
};

// Everything global in a v6 bootstrap, validated.
struct V6Header {
  format::RafsV6SuperBlock sb{};
  format::RafsV6SuperBlockExt ext{};
  uint64_t prefetch_off = 0;  // 0 when there is no (usable) prefetch table
  uint64_t prefetch_size = 0;
  V6Context ctx;  // ctx.blobs points at image.blobs: do not copy or move a V6Header
  Image image;    // settings and blobs; no root, no prefetch paths
};

// Validates the superblocks, device table, blob table and the table regions of `data` and
// fills *out in place (see V6Header).
Status ReadV6Header(ByteSpan data, const ReadOptions& opts, V6Header* out);
// Validates every chunk table record and indexes it.
Status BuildV6ChunkTable(const V6Header& h, V6ChunkTable* table);

// An on-disk inode with the facts needed to reach its data.
struct V6Inode {
  uint64_t nid = 0;
  uint64_t off = 0;    // byte offset of the inode
  uint32_t isize = 0;  // 32 (compact) or 64 (extended)
  uint32_t xsize = 0;  // inline xattr area
  uint16_t layout = 0;
  uint32_t i_u = 0;
  uint64_t ino = 0;  // stored i_ino
  InodeAttrs attrs;
};

// One directory entry; `name` points into the bootstrap bytes.
struct V6Dirent {
  std::string_view name;
  uint64_t nid;
  uint8_t type;  // format::V6FileType
};

// The inode record of `nid`: bounds, format, layout, xattr area bounds, file type, nlink.
// Messages carry no "v6: inode nid" context (callers add it).
Status DecodeV6InodeCore(const V6Context& ctx, uint64_t nid, V6Inode* d);
// The inline xattrs of `d`, sorted by name.
Status ReadV6Xattrs(const V6Context& ctx, const V6Inode& d, std::vector<Xattr>* out);
// The per-type checks that follow the xattrs: chunk format and chunk index array bounds of
// regular files, symlink size, non-empty directory data; sets attrs.rdev of devices.
Status CheckV6InodeData(const V6Context& ctx, V6Inode* d);
// DecodeV6InodeCore + ReadV6Xattrs (into `xattrs`, or validated and dropped when null) +
// CheckV6InodeData, with the "v6: inode nid N" context on errors.
Status LoadV6Inode(const V6Context& ctx, uint64_t nid, V6Inode* d, std::vector<Xattr>* xattrs);
// The symlink target of `d`. REQUIRES: CheckV6InodeData passed.
Result<std::string> ReadV6Symlink(const V6Context& ctx, const V6Inode& d);
// Chunk `i` of regular file `d`. REQUIRES: CheckV6InodeData passed, i < chunk count.
Status ReadV6Chunk(const V6Context& ctx, const V6ChunkTable& table, const V6Inode& d, uint64_t i,
                   ChunkInfo* out);
// Number of 4 KiB directory blocks of `d`.
inline uint64_t V6DirBlocks(const V6Inode& d) { return ChunkCount(d.attrs.size, 4096); }
// Appends the dirents of directory block `b` to *out, checking each name and that names are
// sorted (also against an entry already in *out) and that *out stays within max_nodes + 2.
Status ParseV6DirBlock(const V6Context& ctx, const V6Inode& d, uint64_t b,
                       std::vector<V6Dirent>* out);
// The entry count and first name of directory block `b`, checked like ParseV6DirBlock checks
// them (for binary search and for skipping whole blocks).
struct V6DirBlockHead {
  uint32_t count;
  std::string_view first;
};
Result<V6DirBlockHead> V6DirBlockFirst(const V6Context& ctx, const V6Inode& d, uint64_t b);
// Binary-searches directory block `b` for `name`, decoding (and checking) only the entries it
// probes. nullopt when the block does not hold it.
struct V6DirentAt {
  uint32_t index;  // in the block
  V6Dirent dirent;
};
Result<std::optional<V6DirentAt>> V6DirBlockFind(const V6Context& ctx, const V6Inode& d, uint64_t b,
                                                 std::string_view name);
// DT_* value of a dirent file type; 0 for an unknown type.
uint32_t V6DirentDtype(uint8_t type);

// Decodes the tree rooted at `root_nid` into image->root.
Status ReadV6Tree(const V6Context& ctx, const V6ChunkTable& chunks, uint64_t root_nid,
                  Image* image);

}  // namespace nydus::meta::internal
