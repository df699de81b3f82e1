// RAFS v6 metadata placement: where each inode, its inline tail and its data blocks go
// (reference spec §3.3.1, §3.3.8, §3.3.9). Internal to builder/.
//
// Offsets here are relative to the metadata base (s_meta_blkaddr * 4096), so nid =
// offset / 32. Relative block 0 stays empty and the root directory is placed first, at
// 4096 (nid 128). Directories are placed when they are visited (the children-grouped DFS
// of bootstrap_nodes.h), followed by their non-directory children in name order; every
// inode starts 32-byte aligned. Small inodes reuse the free tails of partly used blocks,
// like the reference allocator, so output matches nydus-image 2.2 byte for byte.
// Invariants the kernel relies on: inline data (inode + xattrs + tail) never crosses a
// block; data blocks of plain directories and symlinks are 4K aligned; chunk index arrays
// are 8-byte aligned.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <vector>

#include "base/result.h"
#include "builder/bootstrap_nodes.h"

namespace nydus::builder::v6 {

// Bump allocator over the metadata area with per-free-size queues of partly used blocks.
class MetaAllocator {
 public:
  explicit MetaAllocator(uint64_t start = 4096) : cursor_(start) {}
  uint64_t cursor() const { return cursor_; }
  void Align(uint64_t alignment);
  // Reserves `size` bytes at the cursor; returns their offset.
  uint64_t Take(uint64_t size);
  // Returns an offset inside a recorded partly used block with at least `size` free bytes
  // (32-aligned, first fit by free-size class), recording what is left of that block; 0
  // when none fits or size >= 4096.
  uint64_t TakeFromPartial(uint64_t size);
  // Records the free tail of the block holding `offset` (nothing if offset is aligned).
  void RecordPartial(uint64_t offset);

 private:
  static constexpr size_t kClasses = 4096 / 32;
  uint64_t cursor_;
  std::array<std::deque<uint64_t>, kClasses> partial_;  // block starts, by free 32-byte slots
};

struct Placement {
  uint64_t offset = 0;       // inode offset (relative); nid = offset / 32
  uint16_t layout = 0;       // format::kV6FlatPlain / kV6FlatInline / kV6ChunkBased
  uint64_t data_offset = 0;  // dirs and symlinks: relative start of the 4K data blocks
  uint64_t size = 0;         // i_size
  uint32_t inode_size = 0;   // 64-byte inode plus its xattr area
};

// Places an inode followed by `data_size` bytes of data (dirents or a symlink target).
// FLAT_INLINE when the last partial block ("tail") fits with the inode in one block (the
// inode goes to a partly used block, the current block or a fresh one; full blocks follow
// at the next 4K boundary); otherwise FLAT_PLAIN with all data in 4K-aligned blocks.
Placement PlaceWithTail(MetaAllocator* alloc, uint32_t inode_size, uint64_t data_size);

// Places a chunk-based file: the inode, then its 8-aligned array of `chunk_count` entries.
Placement PlaceChunkFile(MetaAllocator* alloc, uint32_t inode_size, uint64_t file_size,
                         uint64_t chunk_count);

// Places every node. `ibody_sizes[k]` is the xattr area size of node index k+1. Hardlinks
// get their first link's placement. Fails with InvalidArgument for a symlink target that
// is empty or longer than 4095 bytes.
Result<std::vector<Placement>> PlaceNodes(const std::vector<internal::FlatNode>& nodes,
                                          const std::vector<uint32_t>& ibody_sizes);

}  // namespace nydus::builder::v6
