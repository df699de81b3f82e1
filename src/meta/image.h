// The in-memory model of a RAFS image (v5 or v6): superblock settings, blob table and the
// directory tree. The bootstrap reader (bootstrap_reader.h) decodes a bootstrap into it;
// the builder produces one and hands it to the bootstrap writers; layering and merge edit it.
//
// Ownership: an Image owns its root Node; Nodes own their children. Hardlinked names share one
// Inode through shared_ptr (a hardlink group is the set of Nodes with the same Inode*).
// Thread-safety: none; an Image is built or read by one thread, then read-only.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/digest.h"
#include "format/rafs.h"

namespace nydus::meta {

// One chunk of a regular file, as the chunk record / CI entry describe it.
struct ChunkInfo {
  Digest digest{};                  // digest of the uncompressed chunk (block_id)
  uint32_t blob_index = 0;          // index in Image::blobs
  uint32_t flags = 0;               // format::ChunkFlags
  uint32_t compressed_size = 0;
  uint32_t uncompressed_size = 0;
  uint64_t compressed_offset = 0;   // in the blob file
  uint64_t uncompressed_offset = 0; // in the blob's uncompressed (cache) space
  uint64_t file_offset = 0;         // in the file
  uint32_t index = 0;               // index in the blob's CI array / chunk numbering

  bool compressed() const { return flags & format::kChunkCompressed; }
};

struct BlobInfo {
  std::string blob_id;  // 64 lowercase hex characters (sha256 of the blob)
  uint32_t chunk_count = 0;
  uint32_t features = 0;  // format::BlobFeatures
  format::Compressor compressor = format::Compressor::kZstd;
  format::Digester digester = format::Digester::kBlake3;
  uint32_t chunk_size = format::kDefaultChunkSize;
  uint64_t compressed_size = 0;    // whole blob file size
  uint64_t uncompressed_size = 0;  // cache size (4K-aligned chunks for v6)
  // v5 blob table readahead hints.
  uint32_t readahead_offset = 0;
  uint32_t readahead_size = 0;
  // Blob meta (v6).
  format::Compressor ci_compressor = format::Compressor::kNone;
  uint64_t ci_offset = 0;
  uint64_t ci_compressed_size = 0;
  uint64_t ci_uncompressed_size = 0;
  uint32_t blob_toc_size = 0;
  Digest blob_toc_digest{};
  Digest blob_meta_digest{};
  uint64_t blob_meta_size = 0;

  // Size of the chunk data alone (reference §3.3.5 "compressed_data_size").
  uint64_t CompressedDataSize() const;

};

struct Xattr {
  std::string name;   // full name, e.g. "user.foo", "system.posix_acl_access"
  std::string value;  // raw bytes
  bool operator==(const Xattr&) const = default;
};

struct Inode {
  uint32_t mode = 0;  // st_mode (type and permission bits)
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint64_t mtime = 0;  // seconds since the epoch (two's complement of negative times)
  uint32_t mtime_nsec = 0;
  uint32_t nlink = 1;
  uint64_t rdev = 0;  // device number for char/block devices (Linux dev_t encoding)
  uint32_t projid = 0;
  std::string symlink;         // target, for symlinks
  std::vector<Xattr> xattrs;   // sorted by name
  std::vector<ChunkInfo> chunks;  // for regular files, in file order
  Digest v5_digest{};             // v5 inode digest (recomputed by the v5 writer)
  uint64_t ino = 0;               // inode number as stored (v5 i_ino; v6 i_ino)
  uint64_t nid = 0;               // v6: nid it was decoded from (nydusd's inode number); else 0

  bool IsDir() const { return S_ISDIR(mode); }
  bool IsReg() const { return S_ISREG(mode); }
  bool IsSymlink() const { return S_ISLNK(mode); }
  bool IsChr() const { return S_ISCHR(mode); }
  bool IsBlk() const { return S_ISBLK(mode); }
  const Xattr* FindXattr(const std::string& name) const;
};

struct Node {
  std::string name;  // raw bytes, no '/', no NUL; "/" for the root
  std::shared_ptr<Inode> inode;
  std::vector<std::unique_ptr<Node>> children;  // directories only; sorted by name bytes

  // Returns the child with `name`, or nullptr. Children must be sorted.
  Node* FindChild(const std::string& name) const;
  // Inserts keeping the order; replaces an existing child with the same name.
  void PutChild(std::unique_ptr<Node> child);
  // Removes a child by name; returns whether it existed.
  bool RemoveChild(const std::string& name);
  void SortChildren();
};

struct Image {
  uint32_t version = format::kRafsVersionV6;  // kRafsVersionV5 or kRafsVersionV6
  uint64_t flags = 0;                         // RafsSuperFlags as stored
  uint32_t chunk_size = format::kDefaultChunkSize;
  format::Compressor compressor = format::Compressor::kZstd;
  format::Digester digester = format::Digester::kBlake3;
  bool explicit_uidgid = true;
  std::vector<BlobInfo> blobs;
  std::unique_ptr<Node> root;
  // Absolute paths of prefetch entries (decoded from the prefetch table).
  std::vector<std::string> prefetch;

  bool IsV6() const { return version == format::kRafsVersionV6; }
};

// True for the seven file types RAFS stores (regular, dir, symlink, chr, blk, fifo, socket).
bool IsKnownFileType(uint32_t mode);
// The absolute path of `name` inside directory `parent` ("/" for the root).
std::string ChildPath(const std::string& parent, const std::string& name);

// Visits every node in pre-order (directories before their sorted children) with the
// node's absolute path ("/" for the root, "/a/b" below). Returns false from `fn` to stop.
template <typename Fn>
void WalkTree(const Node& root, Fn&& fn);

}  // namespace nydus::meta

#include "meta/image_inl.h"
