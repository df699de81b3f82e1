// RAFS v6 (EROFS-compatible) on-disk structures (reference spec §3.3). Little-endian,
// 4 KiB blocks, 32-byte inode slots. Layout: zeros(1024) | EROFS sb(128) | RAFS ext sb(256)
// at 1152 | device table (128*n) at 1408 | blob table (256*n) at round_up_4k | prefetch table
// | meta block ... inodes, dirents, inline tails | chunk table (80*m), 4K aligned.
#pragma once

#include <cstdint>

namespace nydus::format {

constexpr uint32_t kErofsMagic = 0xE0F5E1E2;
constexpr uint64_t kV6SuperBlockOffset = 1024;
constexpr uint64_t kV6ExtSuperBlockOffset = 1152;
constexpr uint64_t kV6DeviceTableOffset = 1408;
constexpr uint32_t kV6FeatureCompatRafs = 0x4000'0000;
constexpr uint32_t kV6FeatureIncompatChunkedFile = 0x4;
constexpr uint32_t kV6FeatureIncompatDeviceTable = 0x8;
constexpr uint32_t kV6FeatureIncompat = 0xC;
constexpr uint16_t kV6DevtSlotOff = 11;  // 1408 / 128
constexpr uint32_t kV6BlockBits = 12;
constexpr uint32_t kV6InodeSlotSize = 32;
constexpr uint32_t kV6DirentSize = 12;

// i_format: bit 0 = extended; bits 1..3 = data layout.
constexpr uint16_t kV6InodeLayoutCompact = 0;
constexpr uint16_t kV6InodeLayoutExtended = 1;
constexpr uint16_t kV6FlatPlain = 0;
constexpr uint16_t kV6FlatInline = 2;
constexpr uint16_t kV6ChunkBased = 4;
constexpr uint16_t kV6ChunkFormatIndexes = 0x20;

// EROFS file types in dirents.
enum V6FileType : uint8_t {
  kV6FtUnknown = 0,
  kV6FtRegular = 1,
  kV6FtDir = 2,
  kV6FtChrdev = 3,
  kV6FtBlkdev = 4,
  kV6FtFifo = 5,
  kV6FtSock = 6,
  kV6FtSymlink = 7,
};

// xattr name indexes.
enum V6XattrIndex : uint8_t {
  kV6XattrUser = 1,
  kV6XattrPosixAclAccess = 2,
  kV6XattrPosixAclDefault = 3,
  kV6XattrTrusted = 4,
  kV6XattrSecurity = 6,
};

// The dirent file type for an st_mode (kV6FtUnknown for anything else).
uint8_t V6FileTypeOfMode(uint32_t mode);

#pragma pack(push, 1)

struct RafsV6SuperBlock {  // at 1024
  uint32_t s_magic;
  uint32_t s_checksum;           // 0
  uint32_t s_feature_compat;     // kV6FeatureCompatRafs
  uint8_t s_blkszbits;           // 12
  uint8_t s_extslots;            // 0
  uint16_t s_root_nid;
  uint64_t s_inos;
  uint64_t s_build_time;
  uint32_t s_build_time_nsec;
  uint32_t s_blocks;
  uint32_t s_meta_blkaddr;
  uint32_t s_xattr_blkaddr;      // 0
  uint8_t s_uuid[16];
  uint8_t s_volume_name[16];
  uint32_t s_feature_incompat;   // kV6FeatureIncompat
  uint16_t s_u;
  uint16_t s_extra_devices;      // number of blobs
  uint16_t s_devt_slotoff;       // kV6DevtSlotOff
  uint8_t s_reserved[38];
};
static_assert(sizeof(RafsV6SuperBlock) == 128);

struct RafsV6SuperBlockExt {  // at 1152
  uint64_t s_flags;               // RafsSuperFlags
  uint64_t s_blob_table_offset;
  uint32_t s_blob_table_size;
  uint32_t s_chunk_size;
  uint64_t s_chunk_table_offset;
  uint64_t s_chunk_table_size;
  uint64_t s_prefetch_table_offset;
  uint32_t s_prefetch_table_size;
  uint32_t s_padding;
  uint8_t s_reserved[200];
};
static_assert(sizeof(RafsV6SuperBlockExt) == 256);

struct RafsV6Device {
  uint8_t blob_id[64];
  uint32_t blocks;          // uncompressed_size / 4096
  uint32_t mapped_blkaddr;  // 0 at 2.2
  uint8_t reserved[56];
};
static_assert(sizeof(RafsV6Device) == 128);

struct RafsV6Blob {
  uint8_t blob_id[64];
  uint32_t blob_index;
  uint32_t chunk_size;
  uint32_t chunk_count;
  uint32_t compression_algo;
  uint32_t digest_algo;
  uint32_t features;
  uint64_t compressed_size;
  uint64_t uncompressed_size;
  uint32_t blob_toc_size;
  uint32_t ci_compressor;
  uint64_t ci_offset;
  uint64_t ci_compressed_size;
  uint64_t ci_uncompressed_size;
  uint8_t blob_toc_digest[32];
  uint8_t blob_meta_digest[32];
  uint64_t blob_meta_size;
  uint8_t reserved[48];
};
static_assert(sizeof(RafsV6Blob) == 256);

struct RafsV6InodeCompact {
  uint16_t i_format;
  uint16_t i_xattr_icount;
  uint16_t i_mode;
  uint16_t i_nlink;
  uint32_t i_size;
  uint32_t i_reserved;
  uint32_t i_u;
  uint32_t i_ino;
  uint16_t i_uid;
  uint16_t i_gid;
  uint8_t i_reserved2[4];
};
static_assert(sizeof(RafsV6InodeCompact) == 32);

struct RafsV6InodeExtended {
  uint16_t i_format;
  uint16_t i_xattr_icount;
  uint16_t i_mode;
  uint16_t i_reserved;
  uint64_t i_size;
  uint32_t i_u;
  uint32_t i_ino;
  uint32_t i_uid;
  uint32_t i_gid;
  uint64_t i_mtime;
  uint32_t i_mtime_nsec;
  uint32_t i_nlink;
  uint8_t i_reserved2[16];
};
static_assert(sizeof(RafsV6InodeExtended) == 64);

struct RafsV6Dirent {
  uint64_t e_nid;
  uint16_t e_nameoff;
  uint8_t e_file_type;
  uint8_t e_reserved;
};
static_assert(sizeof(RafsV6Dirent) == 12);

struct RafsV6XattrIbodyHeader {
  uint32_t h_reserved;
  uint8_t h_shared_count;
  uint8_t h_reserved2[7];
};
static_assert(sizeof(RafsV6XattrIbodyHeader) == 12);

struct RafsV6XattrEntry {
  uint8_t e_name_len;
  uint8_t e_name_index;
  uint16_t e_value_size;
  // followed by name suffix and value, entry padded to 4
};
static_assert(sizeof(RafsV6XattrEntry) == 4);

// Chunk index entry of a chunk-based file.
struct RafsV6InodeChunkAddr {
  uint16_t c_blob_addr_lo;  // bits 0..15 of the CI index
  uint16_t c_blob_addr_hi;  // low byte: blob_index + 1; high byte: CI index bits 16..23
  uint32_t c_blk_addr;      // uncompressed_offset / 4096
};
static_assert(sizeof(RafsV6InodeChunkAddr) == 8);

#pragma pack(pop)

}  // namespace nydus::format
