// Internal: state shared by the two halves of the RAFS v6 decoder. bootstrap_reader_v6.cc
// validates the superblocks and tables and fills a V6Context; bootstrap_reader_v6_tree.cc
// walks the directory tree from the root nid using it.
#pragma once

#include <algorithm>
#include <compare>
#include <vector>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "format/v5.h"
#include "meta/bootstrap_reader_internal.h"

namespace nydus::meta::internal {

// A chunk as addressed from an inode's chunk index array.
struct V6ChunkKey {
  uint32_t blob_index;
  uint32_t ci_index;
  uint32_t blkaddr;  // uncompressed_offset / 4096
  auto operator<=>(const V6ChunkKey&) const = default;
};

// The v6 chunk table indexed by (blob, CI index, block): one sorted array, binary-searched
// (a hash map of 100k nodes was a quarter of the decode time of a 100k-file image).
class V6ChunkTable {
 public:
  void Reserve(size_t n) {
    records_.reserve(n);
    index_.reserve(n);
  }
  void Add(const V6ChunkKey& key, const format::RafsV5ChunkInfo& rec) {
    index_.push_back({key, static_cast<uint32_t>(records_.size())});
    records_.push_back(rec);
  }
  // REQUIRES: called once after the last Add and before Find. For equal keys the first
  // added record wins.
  void Finish() {
    std::stable_sort(index_.begin(), index_.end(),
                     [](const Entry& a, const Entry& b) { return a.key < b.key; });
  }
  const format::RafsV5ChunkInfo* Find(const V6ChunkKey& key) const {
    auto it = std::lower_bound(index_.begin(), index_.end(), key,
                               [](const Entry& e, const V6ChunkKey& k) { return e.key < k; });
    return it != index_.end() && it->key == key ? &records_[it->pos] : nullptr;
  }

 private:
  struct Entry {  // 16 bytes, so sorting moves little
    V6ChunkKey key;
    uint32_t pos;  // index into records_
  };
  std::vector<format::RafsV5ChunkInfo> records_;  // chunk table order
  std::vector<Entry> index_;                      // sorted by key after Finish()
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
  V6ChunkTable chunks;
};

// Decodes the tree rooted at `root_nid` into image->root.
Status ReadV6Tree(const V6Context& ctx, uint64_t root_nid, Image* image);

}  // namespace nydus::meta::internal
