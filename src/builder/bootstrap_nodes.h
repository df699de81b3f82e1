// The node array both bootstrap writers start from (internal to builder/).
//
// RAFS numbers nodes 1..N in a "children-grouped" depth-first order (reference spec §3.2.6):
// the root is 1; when a directory is visited, all of its children get consecutive indexes
// (children sorted by name bytes), and only then are its child directories visited, in the
// same order. v5 uses these indexes for its inode table and i_ino; v6 stores them in i_ino
// and allocates inode space in the same visiting order.
//
// Hardlinks are the nodes sharing one meta::Inode object; the group's first node (lowest
// index) is its "first link", whose index is the group's inode number.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "format/v5.h"
#include "meta/image.h"

namespace nydus::builder::internal {

struct FlatNode {
  const meta::Node* node = nullptr;
  const meta::Inode* inode = nullptr;
  std::string path;          // absolute, "/" for the root
  uint32_t index = 0;        // 1-based position in the array
  uint32_t parent = 0;       // parent's index; 0 for the root
  uint32_t child_index = 0;  // directories: index of the first child (next free index if empty)
  uint32_t child_count = 0;  // directories: number of children
  uint32_t first_link = 0;   // index of the first node sharing this inode (== index if first)
  bool IsFirstLink() const { return first_link == index; }
};

// Flattens the tree under `root` into RAFS index order; element k holds index k+1.
// Fails with InvalidArgument on a tree the writers cannot encode: the root is not a
// directory; a name is empty, "." or "..", longer than 255 bytes or contains '/' or NUL;
// children are not strictly sorted by name bytes; a non-directory has children; a
// directory inode is shared (hardlinked directory); a node has no inode or an unknown file
// type; or there are more than 2^31 nodes.
Result<std::vector<FlatNode>> FlattenTree(const meta::Node& root);

// Resolves prefetch patterns (absolute paths, as in Image::prefetch) to node indexes, in
// pattern order. A pattern matches the node with exactly that path ("//a/b/" is treated as
// "/a/b"); like the reference builder, empty regular files never match. Unmatched and
// repeated patterns are dropped.
std::vector<uint32_t> MatchPrefetch(const std::vector<FlatNode>& nodes,
                                    const std::vector<std::string>& patterns);

// Number of distinct inodes excluding the root (what the reference stores in the v5
// s_inodes_count: its inode map never holds the root).
uint64_t CountDistinctInodes(const std::vector<FlatNode>& nodes);

// Validates what both writers rely on besides the tree: a root exists and the chunk size
// is a power of two in [4 KiB, 16 MiB].
Status ValidateImageForWrite(const meta::Image& image);

// Validates one regular file's chunks: every blob_index is below `blob_count`, and with
// `exact_count` the count equals ceil(size / chunk_size) (v6: the kernel locates chunk i of
// a file through entry i of its chunk index array).
Status ValidateFileChunks(const FlatNode& node, uint32_t chunk_size, size_t blob_count,
                          bool exact_count);

// Superblock flags both versions derive the same way: the compressor and digester bits,
// EXPLICIT_UID_GID when image.explicit_uidgid, HAS_XATTR when `has_xattr`.
uint64_t BaseSuperFlags(const meta::Image& image, bool has_xattr);

// The 80-byte chunk record (v5 inode chunk records, v6 chunk table) for `chunk`.
format::RafsV5ChunkInfo MakeChunkRecord(const meta::ChunkInfo& chunk);

}  // namespace nydus::builder::internal
