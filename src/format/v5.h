// RAFS v5 on-disk structures (reference spec §3.2). Little-endian, 8-byte aligned.
// Layout: superblock(8192) | inode table | prefetch table | blob table | ext blob table |
// inode records (128 bytes + name + symlink + xattrs + chunk records).
#pragma once

#include <cstdint>

namespace nydus::format {

#pragma pack(push, 1)

struct RafsV5SuperBlock {
  uint32_t s_magic;                        // kRafsV5Magic
  uint32_t s_fs_version;                   // kRafsVersionV5
  uint32_t s_sb_size;                      // 8192
  uint32_t s_block_size;                   // chunk size
  uint64_t s_flags;                        // RafsSuperFlags
  uint64_t s_inodes_count;                 // unique inodes
  uint64_t s_inode_table_offset;           // 8192
  uint64_t s_prefetch_table_offset;
  uint64_t s_blob_table_offset;
  uint32_t s_inode_table_entries;          // number of inode records
  uint32_t s_prefetch_table_entries;
  uint32_t s_blob_table_size;              // bytes, padded to 8
  uint32_t s_extended_blob_table_entries;
  uint64_t s_extended_blob_table_offset;
  uint8_t reserved[8112];
};
static_assert(sizeof(RafsV5SuperBlock) == 8192);

struct RafsV5ExtBlobEntry {
  uint32_t chunk_count;
  uint32_t features;
  uint64_t uncompressed_size;
  uint64_t compressed_size;
  uint8_t reserved[40];
};
static_assert(sizeof(RafsV5ExtBlobEntry) == 64);

struct RafsV5Inode {
  uint8_t i_digest[32];
  uint64_t i_parent;
  uint64_t i_ino;
  uint32_t i_uid;
  uint32_t i_gid;
  uint32_t i_projid;
  uint32_t i_mode;
  uint64_t i_size;
  uint64_t i_blocks;
  uint64_t i_flags;        // V5InodeFlags
  uint32_t i_nlink;
  uint32_t i_child_index;  // dirs: index of first child
  uint32_t i_child_count;  // dirs: children; regular files: chunk count
  uint16_t i_name_size;
  uint16_t i_symlink_size;
  uint32_t i_rdev;
  uint32_t i_mtime_nsec;
  uint64_t i_mtime;
  uint8_t i_reserved[8];
};
static_assert(sizeof(RafsV5Inode) == 128);

// Chunk record; v6 reuses it for its chunk table.
struct RafsV5ChunkInfo {
  uint8_t block_id[32];  // digest of the uncompressed chunk
  uint32_t blob_index;
  uint32_t flags;        // ChunkFlags
  uint32_t compressed_size;
  uint32_t uncompressed_size;
  uint64_t compressed_offset;
  uint64_t uncompressed_offset;
  uint64_t file_offset;
  uint32_t index;        // chunk number within the blob
  uint32_t reserved;
};
static_assert(sizeof(RafsV5ChunkInfo) == 80);

#pragma pack(pop)

constexpr uint32_t kV5SuperBlockSize = 8192;

}  // namespace nydus::format
