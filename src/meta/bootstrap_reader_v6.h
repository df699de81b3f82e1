// Internal: state shared by the two halves of the RAFS v6 decoder. bootstrap_reader_v6.cc
// validates the superblocks and tables and fills a V6Context; bootstrap_reader_v6_tree.cc
// walks the directory tree from the root nid using it.
#pragma once

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
  bool operator==(const V6ChunkKey&) const = default;
};

struct V6ChunkKeyHash {
  size_t operator()(const V6ChunkKey& k) const {
    uint64_t h = (uint64_t{k.blob_index} << 32 | k.ci_index) * 0x9e3779b97f4a7c15ull;
    return static_cast<size_t>(h ^ (uint64_t{k.blkaddr} * 0xc2b2ae3d27d4eb4full));
  }
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
  std::unordered_map<V6ChunkKey, format::RafsV5ChunkInfo, V6ChunkKeyHash> chunks;
};

// Decodes the tree rooted at `root_nid` into image->root.
Status ReadV6Tree(const V6Context& ctx, uint64_t root_nid, Image* image);

}  // namespace nydus::meta::internal
