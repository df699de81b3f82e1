// Blob meta (reference spec §3.4, §3.6): the compression-info (CI) array with its 4 KiB
// header, CI v1/v2 record bit packing, the ToC entry, and the 512-byte GNU tar header of the
// "reverse tar" layout. Pure encode/decode; no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"

namespace nydus::format {

constexpr uint32_t kBlobMetaMagic = 0xB10BB10B;
constexpr uint32_t kBlobMetaHeaderSize = 4096;
constexpr uint32_t kCiV1Size = 16;
constexpr uint32_t kCiV2Size = 24;
constexpr uint32_t kTarHeaderSize = 512;
constexpr uint32_t kTocEntrySize = 128;

// CI v2 flags (bits 56..63 of uncomp_info).
enum CiV2Flags : uint8_t { kCiCompressed = 0x1, kCiZran = 0x2 };

#pragma pack(push, 1)
struct BlobMetaHeader {
  uint32_t s_magic;
  uint32_t s_features;
  uint32_t s_ci_compressor;
  uint32_t s_ci_entries;
  uint64_t s_ci_offset;
  uint64_t s_ci_compressed_size;
  uint64_t s_ci_uncompressed_size;
  uint64_t s_ci_zran_offset;
  uint64_t s_ci_zran_size;
  uint32_t s_ci_zran_count;
  uint8_t s_reserved[4032];
  uint32_t s_magic2;
};
static_assert(sizeof(BlobMetaHeader) == 4096);

struct TocEntry {
  uint32_t flags;  // 0x1 none, 0x2 zstd, 0x4 lz4_block
  uint32_t reserved1;
  uint8_t name[16];
  uint8_t uncompressed_digest[32];  // sha256
  uint64_t compressed_offset;
  uint64_t compressed_size;
  uint64_t uncompressed_size;
  uint8_t reserved2[48];
};
static_assert(sizeof(TocEntry) == 128);
#pragma pack(pop)

constexpr uint32_t kTocFlagNone = 0x1;
constexpr uint32_t kTocFlagZstd = 0x2;
constexpr uint32_t kTocFlagLz4 = 0x4;

// One decoded compression-info record (either version).
struct ChunkCompressInfo {
  uint64_t compressed_offset = 0;
  uint32_t compressed_size = 0;
  uint64_t uncompressed_offset = 0;
  uint32_t uncompressed_size = 0;
  bool compressed = false;  // v1: compressed_size != uncompressed_size
  bool zran = false;        // v2 only
  uint64_t data = 0;        // v2 only (zran index << 32 | offset)
};

// REQUIRES: uncompressed_offset 4K aligned, sizes in 1..16 MiB, compressed_offset < 2^40.
void EncodeCiV1(const ChunkCompressInfo& ci, uint8_t out[16]);
Result<ChunkCompressInfo> DecodeCiV1(const uint8_t in[16]);
void EncodeCiV2(const ChunkCompressInfo& ci, uint8_t out[24]);
Result<ChunkCompressInfo> DecodeCiV2(const uint8_t in[24]);

// A 512-byte GNU tar header (`ustar  \0`, typeflag '0', mode/uid/gid/mtime 0) for a
// reverse-tar section named `name` of `size` bytes, with a valid checksum.
void MakeReverseTarHeader(std::string_view name, uint64_t size, uint8_t out[512]);
// Parses such a header: name and size. Corruption on a bad checksum or size field.
struct TarSection {
  std::string name;
  uint64_t size = 0;
};
Result<TarSection> ParseReverseTarHeader(ByteSpan header);

}  // namespace nydus::format
