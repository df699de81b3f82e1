#include "format/rafs.h"

namespace nydus::format {

uint64_t CompressorFlag(Compressor c) {
  switch (c) {
    case Compressor::kNone: return kFlagCompressionNone;
    case Compressor::kLz4Block: return kFlagCompressionLz4;
    case Compressor::kGzip: return kFlagCompressionGzip;
    case Compressor::kZstd: return kFlagCompressionZstd;
  }
  return 0;
}

uint64_t DigesterFlag(Digester d) {
  return d == Digester::kSha256 ? kFlagHashSha256 : kFlagHashBlake3;
}

Compressor CompressorFromFlags(uint64_t flags) {
  if (flags & kFlagCompressionNone) return Compressor::kNone;
  if (flags & kFlagCompressionGzip) return Compressor::kGzip;
  if (flags & kFlagCompressionZstd) return Compressor::kZstd;
  return Compressor::kLz4Block;
}

Digester DigesterFromFlags(uint64_t flags) {
  return (flags & kFlagHashSha256) ? Digester::kSha256 : Digester::kBlake3;
}

const char* CompressorName(Compressor c) {
  switch (c) {
    case Compressor::kNone: return "none";
    case Compressor::kLz4Block: return "lz4_block";
    case Compressor::kGzip: return "gzip";
    case Compressor::kZstd: return "zstd";
  }
  return "unknown";
}

const char* DigesterName(Digester d) { return d == Digester::kSha256 ? "sha256" : "blake3"; }

std::string BlobFeaturesString(uint32_t f) {
  static const struct {
    uint32_t bit;
    const char* name;
  } kNames[] = {
      {kBlobAligned, "aligned"},          {kBlobInlinedFsMeta, "inlined_fs_meta"},
      {kBlobChunkInfoV2, "chunk_info_v2"}, {kBlobZran, "zran"},
      {kBlobSeparate, "separate"},        {kBlobInlinedChunkDigest, "inlined_chunk_digest"},
      {kBlobTarfs, "tarfs"},              {kBlobBatch, "batch"},
      {kBlobEncrypted, "encrypted"},      {kBlobSeparatedPrefetch, "separated_prefetch"},
      {kBlobHasTarHeader, "has_tar_header"},
      {kBlobHasToc, "has_toc"},           {kBlobCapTarToc, "cap_tar_toc"},
      {kBlobV5NoExtBlobTable, "v5_no_ext_blob_table"},
  };
  std::string out;
  for (const auto& n : kNames) {
    if (f & n.bit) {
      if (!out.empty()) out += '|';
      out += n.name;
    }
  }
  return out.empty() ? "none" : out;
}

}  // namespace nydus::format
