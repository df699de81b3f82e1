// libFuzzer target: blob-meta decoders (CI v1/v2 records, the CI array + header, the ToC
// and the reverse-tar header).
//
// Input layout: a 64-byte parameter block describing the blob (little-endian), then the
// blob bytes. Inputs shorter than 64 bytes only exercise the record and header parsers.
//   0 u32 chunk_count      4 u32 features       8 u64 compressed_size (0: blob length)
//  16 u64 uncompressed_size 24 u32 ci_compressor 28 u32 blob_toc_size
//  32 u64 ci_offset        40 u64 ci_compressed_size 48 u64 ci_uncompressed_size
//  56 u8[8] first bytes of blob_toc_digest (the rest is zero)

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "format/blob_meta.h"
#include "meta/blob_meta_reader.h"

namespace {

using namespace nydus;

void CheckRecords(ByteSpan in) {
  for (size_t off = 0; off + format::kCiV2Size <= in.size() && off < 4096; off += 8) {
    const uint8_t* p = in.data() + off;
    auto v1 = format::DecodeCiV1(p);
    if (!v1.ok()) std::abort();  // every 16 bytes are a valid v1 record
    uint8_t buf[24];
    format::EncodeCiV1(*v1, buf);
    auto again = format::DecodeCiV1(buf);
    if (!again.ok() || again->compressed_offset != v1->compressed_offset ||
        again->compressed_size != v1->compressed_size ||
        again->uncompressed_offset != v1->uncompressed_offset ||
        again->uncompressed_size != v1->uncompressed_size) {
      std::abort();
    }
    auto v2 = format::DecodeCiV2(p);
    if (v2.ok()) {
      format::EncodeCiV2(*v2, buf);
      if (std::memcmp(buf, p, 24) != 0) std::abort();  // v2 has no ignored bits
    } else if (v2.status().code() != StatusCode::kCorruption) {
      std::abort();
    }
  }
}

meta::BlobInfo ParamsToBlob(const uint8_t* p, uint64_t blob_len) {
  meta::BlobInfo b;
  b.blob_id = "fuzz";
  b.chunk_count = LoadLE32(p);
  b.features = LoadLE32(p + 4);
  b.compressed_size = LoadLE64(p + 8) ? LoadLE64(p + 8) : blob_len;
  b.uncompressed_size = LoadLE64(p + 16);
  b.ci_compressor = static_cast<format::Compressor>(LoadLE32(p + 24) % 4);
  b.blob_toc_size = LoadLE32(p + 28);
  b.ci_offset = LoadLE64(p + 32);
  // Bound the buffers a single run may allocate; the readers' own caps are far larger.
  b.ci_compressed_size = LoadLE64(p + 40) % (1u << 20);
  b.ci_uncompressed_size = LoadLE64(p + 48) % (1u << 22);
  std::memcpy(b.blob_toc_digest.data(), p + 56, 8);
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan in(data, size);
  CheckRecords(in);
  if (size >= format::kTarHeaderSize) {
    (void)format::ParseReverseTarHeader(in.subspan(size - format::kTarHeaderSize));
  }
  (void)meta::ParseBlobToc(in);
  if (size < 64) return 0;
  ByteSpan blob = in.subspan(64);
  meta::BlobInfo info = ParamsToBlob(data, blob.size());
  auto read = [blob](uint64_t off, std::span<uint8_t> buf) -> Status {
    if (!RangeInside(off, buf.size(), blob.size())) return Status::IOError("short read");
    if (!buf.empty()) std::memcpy(buf.data(), blob.data() + off, buf.size());
    return Status::OK();
  };
  auto cis = meta::ReadBlobChunkInfos(info, read);
  if (cis.ok() && cis->size() != info.chunk_count) std::abort();
  (void)meta::ReadBlobToc(info, read);
  if (blob.size() >= sizeof(format::BlobMetaHeader)) {
    size_t split = blob.size() - sizeof(format::BlobMetaHeader);
    meta::BlobInfo pure = info;
    pure.ci_uncompressed_size = split;
    (void)meta::DecodeBlobChunkInfos(pure, blob.first(split), blob.subspan(split));
  }
  return 0;
}
