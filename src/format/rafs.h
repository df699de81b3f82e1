// RAFS constants shared by v5 and v6: versions, superblock flags, blob features,
// compressor and digester ids, chunk flags, size limits. Values are frozen on-disk ids
// (docs/format.md; reference spec §3.0–3.1). No I/O.
#pragma once

#include <cstdint>
#include <string>

namespace nydus::format {

constexpr uint32_t kRafsV5Magic = 0x52414653;
constexpr uint32_t kRafsVersionV5 = 0x500;
constexpr uint32_t kRafsVersionV6 = 0x600;

constexpr uint32_t kDefaultChunkSize = 0x100000;
constexpr uint32_t kMinChunkSize = 0x1000;
constexpr uint32_t kMaxChunkSize = 0x1000000;
constexpr uint32_t kMaxChunksPerBlob = 0xffffff;
constexpr uint32_t kMaxNameLen = 255;
constexpr uint64_t kMaxMetadataSize = 1ull << 31;  // whole bootstrap < 2 GiB
constexpr uint32_t kBlockSize = 4096;

// RafsSuperFlags (u64 in the v5 superblock and the v6 extended superblock).
enum RafsSuperFlags : uint64_t {
  kFlagCompressionNone = 0x1,
  kFlagCompressionLz4 = 0x2,
  kFlagHashBlake3 = 0x4,
  kFlagHashSha256 = 0x8,
  kFlagExplicitUidGid = 0x10,
  kFlagHasXattr = 0x20,
  kFlagCompressionGzip = 0x40,
  kFlagCompressionZstd = 0x80,
  kFlagInlinedChunkDigest = 0x100,
  kFlagTarfsMode = 0x200,
  kFlagEncryptionNone = 0x0100'0000,
  kFlagEncryptionAes128Xts = 0x0200'0000,
};
// Every bit v5 validation accepts (the list above plus the reserved compat bits).
constexpr uint64_t kKnownSuperFlags = 0x3ff | 0x0100'0000 | 0x0200'0000 | 0xfc00'0000ull;

// On-disk compressor ids.
enum class Compressor : uint32_t { kNone = 0, kLz4Block = 1, kGzip = 2, kZstd = 3 };
// On-disk digester ids (same numbering as nydus::DigestAlgo).
enum class Digester : uint32_t { kBlake3 = 0, kSha256 = 1 };

// BlobFeatures (u32).
enum BlobFeatures : uint32_t {
  kBlobAligned = 0x1,
  kBlobInlinedFsMeta = 0x2,
  kBlobChunkInfoV2 = 0x4,
  kBlobZran = 0x8,
  kBlobSeparate = 0x10,
  kBlobInlinedChunkDigest = 0x20,
  kBlobTarfs = 0x40,
  kBlobBatch = 0x80,
  kBlobEncrypted = 0x100,
  // Reference HEAD (not 2.2): the blob written by `nydus-image optimize`, holding copies of
  // the chunks of the prefetch files. Its layout is an ordinary blob's.
  kBlobSeparatedPrefetch = 0x400,
  kBlobHasTarHeader = 0x1000'0000,
  kBlobHasToc = 0x2000'0000,
  kBlobCapTarToc = 0x4000'0000,
  kBlobV5NoExtBlobTable = 0x8000'0000,
};
constexpr uint32_t kBlobIncompatMask = 0x0000'ffff;
// What a 2.2 reader understands, plus kBlobSeparatedPrefetch (it changes no layout).
constexpr uint32_t kBlobKnownIncompat = 0x3f | kBlobSeparatedPrefetch;

// Chunk flags (RafsV5ChunkInfo.flags).
enum ChunkFlags : uint32_t { kChunkCompressed = 0x1, kChunkHole = 0x2 };

// v5 inode flags.
enum V5InodeFlags : uint64_t {
  kV5InodeSymlink = 0x1,
  kV5InodeHardlink = 0x2,
  kV5InodeXattr = 0x4,
  kV5InodeHasHole = 0x8,
};

// Converts between superblock flag bits and compressor/digester ids.
uint64_t CompressorFlag(Compressor c);
uint64_t DigesterFlag(Digester d);
// Reads the compressor from flags: with no compression bit set, lz4 (reference rule).
Compressor CompressorFromFlags(uint64_t flags);
// With no hash bit set, blake3 (reference rule).
Digester DigesterFromFlags(uint64_t flags);
const char* CompressorName(Compressor c);  // "none" | "lz4_block" | "gzip" | "zstd"
const char* DigesterName(Digester d);      // "blake3" | "sha256"
// Human list of feature names, e.g. "aligned|cap_toc".
std::string BlobFeaturesString(uint32_t features);

}  // namespace nydus::format
