// Blob meta (CI array + header) and ToC reader (reference spec §3.4, §3.6).

#include "meta/blob_meta_reader.h"

#include <algorithm>
#include <cstring>

#include "compress/compressor.h"
#include "meta/bootstrap_reader_internal.h"

namespace nydus::meta {

namespace {

using format::BlobMetaHeader;
using format::ChunkCompressInfo;
using internal::Corrupt;

constexpr uint64_t kMaxChunksPerBlob = 1ull << 24;
constexpr uint64_t kMaxCiV1Size = format::kMaxChunkSize * uint64_t{format::kCiV1Size};
constexpr uint64_t kMaxCiV2Size = format::kMaxChunkSize * uint64_t{format::kCiV2Size};
constexpr uint64_t kMaxCiZranSize = 1ull << 30;  // CI array + zran contexts + dictionaries
constexpr uint64_t kZranContextSize = 40;
constexpr uint64_t kMaxTocSize = 0x10000;
constexpr uint64_t kTocSearchSize = 0x1000;
constexpr char kTocName[] = "rafs.blob.toc";

Status CheckCiSizeRules(const BlobInfo& blob, uint64_t info_size) {
  uint64_t n = blob.chunk_count;
  bool v2 = blob.features & format::kBlobChunkInfoV2;
  bool zran = blob.features & format::kBlobZran;
  if (zran && !v2) return Corrupt("blob meta: ZRAN feature without CHUNK_INFO_V2");
  if (zran) {
    if (info_size < n * format::kCiV2Size || info_size > kMaxCiZranSize) {
      return Corrupt("blob meta: CI size %lu invalid for %lu zran chunks", info_size, n);
    }
    return Status::OK();
  }
  uint64_t want = n * (v2 ? format::kCiV2Size : format::kCiV1Size);
  if (info_size != want || RoundUp(info_size, 4096) > (v2 ? kMaxCiV2Size : kMaxCiV1Size)) {
    return Corrupt("blob meta: CI size %lu != %lu chunks x %u bytes", info_size, n,
                   v2 ? format::kCiV2Size : format::kCiV1Size);
  }
  return Status::OK();
}

// Per-record checks of the reference (BlobMetaChunkInfo::validate) plus ascending order.
Status CheckRecord(const BlobInfo& blob, const BlobMetaHeader& h, uint64_t i,
                   const ChunkCompressInfo& c, uint64_t* prev_end) {
  uint64_t c_limit = blob.CompressedDataSize();
  uint64_t u_limit = RoundUp(blob.uncompressed_size, 4096);
  bool v2 = blob.features & format::kBlobChunkInfoV2;
  bool separate = blob.features & format::kBlobSeparate;
  uint64_t c_end = c.compressed_offset + c.compressed_size;
  uint64_t u_end = c.uncompressed_offset + c.uncompressed_size;
  if (c_end > c_limit || u_end > u_limit) {
    return Corrupt(
        "blob meta: chunk %lu ends at compressed 0x%lx / uncompressed 0x%lx beyond "
        "0x%lx / 0x%lx",
        i, c_end, u_end, c_limit, u_limit);
  }
  if (v2 && !separate && c.compressed_size == 0) {
    return Corrupt("blob meta: chunk %lu has compressed size 0", i);
  }
  if (!c.compressed && c.compressed_size != c.uncompressed_size) {
    return Corrupt("blob meta: uncompressed chunk %lu has sizes %u / %u", i, c.compressed_size,
                   c.uncompressed_size);
  }
  if (c.zran) {
    if (!(blob.features & format::kBlobZran)) return Corrupt("blob meta: ZRAN chunk %lu", i);
    if ((c.data >> 32) >= h.s_ci_zran_count) {
      return Corrupt("blob meta: chunk %lu zran index %lu beyond %u contexts", i, c.data >> 32,
                     h.s_ci_zran_count);
    }
  }
  if (c.uncompressed_offset < *prev_end) {
    return Corrupt("blob meta: chunk %lu uncompressed offset 0x%lx overlaps the previous chunk", i,
                   c.uncompressed_offset);
  }
  *prev_end = u_end;
  return Status::OK();
}

}  // namespace

Status ValidateBlobMetaHeader(const BlobInfo& blob, const BlobMetaHeader& h) {
  if (h.s_magic != format::kBlobMetaMagic || h.s_magic2 != format::kBlobMetaMagic) {
    return Corrupt("blob meta: bad header magic 0x%x / 0x%x", h.s_magic, h.s_magic2);
  }
  if (h.s_ci_entries != blob.chunk_count ||
      h.s_ci_compressor != static_cast<uint32_t>(blob.ci_compressor) ||
      h.s_ci_offset != blob.ci_offset || h.s_ci_compressed_size != blob.ci_compressed_size ||
      h.s_ci_uncompressed_size != blob.ci_uncompressed_size) {
    return Corrupt(
        "blob meta: header (entries %u, compressor %u, offset %lu, sizes %lu/%lu) "
        "disagrees with the blob table",
        h.s_ci_entries, h.s_ci_compressor, h.s_ci_offset, h.s_ci_compressed_size,
        h.s_ci_uncompressed_size);
  }
  if (blob.chunk_count == 0 || blob.chunk_count > kMaxChunksPerBlob) {
    return Corrupt("blob meta: invalid chunk count %u", blob.chunk_count);
  }
  RETURN_IF_ERROR(CheckCiSizeRules(blob, h.s_ci_uncompressed_size));
  if (blob.features & format::kBlobZran) {
    uint64_t info = h.s_ci_uncompressed_size;
    if (h.s_ci_zran_offset != uint64_t{blob.chunk_count} * format::kCiV2Size ||
        h.s_ci_zran_size > info - h.s_ci_zran_offset || h.s_ci_zran_count > blob.chunk_count ||
        h.s_ci_zran_count * kZranContextSize > h.s_ci_zran_size) {
      return Corrupt("blob meta: invalid zran table (offset %lu, size %lu, count %u)",
                     h.s_ci_zran_offset, h.s_ci_zran_size, h.s_ci_zran_count);
    }
  }
  return Status::OK();
}

Result<std::vector<ChunkCompressInfo>> DecodeBlobChunkInfos(const BlobInfo& blob, ByteSpan ci_data,
                                                            ByteSpan header) {
  if (header.size() != sizeof(BlobMetaHeader)) {
    return Corrupt("blob meta: header is %zu bytes, expected 4096", header.size());
  }
  BlobMetaHeader h;
  std::memcpy(&h, header.data(), sizeof(h));
  RETURN_IF_ERROR(ValidateBlobMetaHeader(blob, h));
  if (ci_data.size() != blob.ci_uncompressed_size) {
    return Corrupt("blob meta: CI data is %zu bytes, expected %lu", ci_data.size(),
                   blob.ci_uncompressed_size);
  }
  bool v2 = blob.features & format::kBlobChunkInfoV2;
  size_t rec = v2 ? format::kCiV2Size : format::kCiV1Size;
  std::vector<ChunkCompressInfo> out;
  out.reserve(blob.chunk_count);
  uint64_t prev_end = 0;
  for (uint64_t i = 0; i < blob.chunk_count; ++i) {
    const uint8_t* p = ci_data.data() + i * rec;
    auto ci = v2 ? format::DecodeCiV2(p) : format::DecodeCiV1(p);
    if (!ci.ok()) return ci.status().WithContext(internal::StrFormat("blob meta: chunk %lu", i));
    RETURN_IF_ERROR(CheckRecord(blob, h, i, *ci, &prev_end));
    out.push_back(*ci);
  }
  return out;
}

Result<std::vector<ChunkCompressInfo>> ReadBlobChunkInfos(const BlobInfo& blob,
                                                          const BlobReadFn& read) {
  uint64_t csize = blob.ci_compressed_size, usize = blob.ci_uncompressed_size;
  if (csize > usize || usize > kMaxCiZranSize ||
      (blob.ci_compressor == format::Compressor::kNone && csize != usize)) {
    return Corrupt("blob meta: CI sizes %lu / %lu invalid", csize, usize);
  }
  uint64_t total = csize + sizeof(BlobMetaHeader);
  bool separate = blob.features & format::kBlobSeparate;
  if (blob.ci_offset + total < blob.ci_offset ||
      (!separate && !RangeInside(blob.ci_offset, total, blob.compressed_size))) {
    return Corrupt("blob meta: CI at %lu (+%lu) beyond the blob (%lu bytes)", blob.ci_offset, total,
                   blob.compressed_size);
  }
  Bytes raw(total);
  RETURN_IF_ERROR(read(blob.ci_offset, raw).WithContext("blob meta: read CI"));
  ByteSpan header(raw.data() + csize, sizeof(BlobMetaHeader));
  BlobMetaHeader h;
  std::memcpy(&h, header.data(), sizeof(h));
  RETURN_IF_ERROR(ValidateBlobMetaHeader(blob, h));
  Bytes ci(usize);
  if (blob.ci_compressor == format::Compressor::kNone) {
    std::copy(raw.begin(), raw.begin() + csize, ci.begin());
  } else {
    Status st = compress::Decompress(blob.ci_compressor, ByteSpan(raw.data(), csize), ci);
    if (!st.ok()) return Status::Corruption("blob meta: decompress CI: " + st.message());
  }
  return DecodeBlobChunkInfos(blob, ci, header);
}

format::Compressor TocEntryInfo::compressor() const {
  if (flags & format::kTocFlagZstd) return format::Compressor::kZstd;
  if (flags & format::kTocFlagLz4) return format::Compressor::kLz4Block;
  return format::Compressor::kNone;
}

const TocEntryInfo* BlobToc::Find(std::string_view name) const {
  for (const auto& e : entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

Result<BlobToc> ParseBlobToc(ByteSpan tail) {
  if (tail.size() < format::kTarHeaderSize) {
    return Corrupt("ToC: %zu bytes cannot hold a tar header", tail.size());
  }
  size_t hdr = tail.size() - format::kTarHeaderSize;
  auto sec = format::ParseReverseTarHeader(tail.subspan(hdr));
  if (!sec.ok()) return sec.status().WithContext("ToC");
  if (sec->name != kTocName) return Corrupt("ToC: tar entry is \"%s\"", sec->name.c_str());
  if (sec->size == 0 || sec->size % format::kTocEntrySize != 0 || sec->size > hdr) {
    return Corrupt("ToC: entry size %lu invalid for %zu available bytes", sec->size, hdr);
  }
  ByteSpan body = tail.subspan(hdr - sec->size);  // entries + tar header
  BlobToc toc;
  toc.digest = Sha256(body);
  toc.size = static_cast<uint32_t>(body.size());
  for (uint64_t off = 0; off < sec->size; off += format::kTocEntrySize) {
    format::TocEntry e;
    std::memcpy(&e, body.data() + off, sizeof(e));
    size_t n = sizeof(e.name);
    while (n > 0 && e.name[n - 1] == 0) --n;
    std::string name(reinterpret_cast<const char*>(e.name), n);
    size_t idx = off / format::kTocEntrySize;
    if (name.empty() || name.find('\0') != std::string::npos) {
      return Corrupt("ToC: entry %zu has an invalid name", idx);
    }
    if (e.flags & ~(format::kTocFlagNone | format::kTocFlagZstd | format::kTocFlagLz4)) {
      return Corrupt("ToC: entry %zu has unknown flags 0x%x", idx, e.flags);
    }
    TocEntryInfo info{std::move(name),     e.flags,           {},
                      e.compressed_offset, e.compressed_size, e.uncompressed_size};
    std::copy(std::begin(e.uncompressed_digest), std::end(e.uncompressed_digest),
              info.uncompressed_digest.begin());
    toc.entries.push_back(std::move(info));
  }
  return toc;
}

Result<BlobToc> ReadBlobToc(const BlobInfo& blob, const BlobReadFn& read) {
  if (!(blob.features & format::kBlobHasToc)) {
    return Status::NotFound("blob " + blob.blob_id + " has no ToC");
  }
  uint64_t size = blob.compressed_size;
  uint64_t len = blob.blob_toc_size;
  if (len != 0) {
    if (len <= format::kTarHeaderSize || len > kMaxTocSize || len % format::kTocEntrySize != 0 ||
        len > size) {
      return Corrupt("ToC: invalid size %lu for a blob of %lu bytes", len, size);
    }
  } else {
    len = size > kTocSearchSize ? kTocSearchSize : RoundDown(size, format::kTocEntrySize);
  }
  Bytes buf(len);
  RETURN_IF_ERROR(read(size - len, buf).WithContext("ToC: read"));
  ASSIGN_OR_RETURN(BlobToc toc, ParseBlobToc(buf));
  if (blob.blob_toc_size != 0) {
    if (toc.size != blob.blob_toc_size) {
      return Corrupt("ToC: %u bytes but the blob table says %u", toc.size, blob.blob_toc_size);
    }
    if (blob.blob_toc_digest != Digest{} && toc.digest != blob.blob_toc_digest) {
      return Corrupt("ToC: digest %s differs from blob_toc_digest %s",
                     DigestHex(toc.digest).c_str(), DigestHex(blob.blob_toc_digest).c_str());
    }
  }
  return toc;
}

}  // namespace nydus::meta
