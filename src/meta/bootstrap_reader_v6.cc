// RAFS v6 decoder, global part (reference spec §3.3.1–3.3.5, §3.3.10): EROFS superblock,
// RAFS extended superblock, device table, blob table, chunk table and prefetch table
// (ReadV6Header, BuildV6ChunkTable, shared with V6DirectView), and the full reader.

#include "meta/bootstrap_reader_v6.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "format/blob_meta.h"
#include "format/rafs.h"
#include "format/v6.h"

namespace nydus::meta::internal {
namespace {

using format::RafsV5ChunkInfo;
using format::RafsV6Blob;
using format::RafsV6Device;
using format::RafsV6SuperBlock;
using format::RafsV6SuperBlockExt;

constexpr uint64_t kBlock = format::kBlockSize;
constexpr uint32_t kMaxChunksPerBlob = 1u << 24;
constexpr uint64_t kMaxBlobCompressedSize = 1ull << 40;
constexpr uint64_t kMaxBlobUncompressedSize = 1ull << 44;
constexpr uint32_t kKnownChunkFlags = format::kChunkCompressed | format::kChunkHole;
constexpr uint64_t kCompressionFlags = format::kFlagCompressionNone | format::kFlagCompressionLz4 |
                                       format::kFlagCompressionGzip | format::kFlagCompressionZstd;
constexpr uint64_t kHashFlags = format::kFlagHashBlake3 | format::kFlagHashSha256;

// Fills a V6Header: superblocks, table regions and blobs.
class V6HeaderReader {
 public:
  V6HeaderReader(ByteSpan data, const ReadOptions& opts, V6Header* h)
      : h_(*h), ctx_(h->ctx), sb_(h->sb), ext_(h->ext) {
    ctx_.data = data;
    ctx_.opts = opts;
  }
  Status Read();

 private:
  Status ReadSuperBlocks();
  Status CheckTables();
  Status ReadBlob(uint32_t i);

  V6Header& h_;
  V6Context& ctx_;
  RafsV6SuperBlock& sb_;
  RafsV6SuperBlockExt& ext_;
};

Status V6HeaderReader::ReadSuperBlocks() {
  uint64_t size = ctx_.data.size();
  if (size < kBlock || !IsAligned(size, kBlock)) {
    return Corrupt("v6: bootstrap size %lu is not a non-zero multiple of 4096", size);
  }
  ReadPod(ctx_.data, format::kV6SuperBlockOffset, &sb_);
  ReadPod(ctx_.data, format::kV6ExtSuperBlockOffset, &ext_);
  if (sb_.s_checksum != 0) return Corrupt("v6: superblock checksum 0x%x != 0", sb_.s_checksum);
  if (!(sb_.s_feature_compat & format::kV6FeatureCompatRafs) || (sb_.s_feature_compat & 0x1)) {
    return Corrupt("v6: feature_compat 0x%x is not RAFS v6", sb_.s_feature_compat);
  }
  if (sb_.s_blkszbits != format::kV6BlockBits) {
    return Corrupt("v6: block size bits %u != 12", sb_.s_blkszbits);
  }
  if (sb_.s_extslots != 0 || sb_.s_u != 0 || sb_.s_xattr_blkaddr != 0) {
    return Corrupt("v6: unsupported extslots %u / s_u %u / xattr_blkaddr %u", sb_.s_extslots,
                   sb_.s_u, sb_.s_xattr_blkaddr);
  }
  if (sb_.s_inos == 0) return Corrupt("v6: inode count is 0");
  if (sb_.s_feature_incompat != format::kV6FeatureIncompat) {
    return Corrupt("v6: feature_incompat 0x%x != 0xc", sb_.s_feature_incompat);
  }
  if (sb_.s_devt_slotoff != format::kV6DevtSlotOff) {
    return Corrupt("v6: device table slot offset %u != 11", sb_.s_devt_slotoff);
  }
  if (sb_.s_root_nid == 0) return Corrupt("v6: root nid is 0");
  ctx_.meta_base = uint64_t{sb_.s_meta_blkaddr} * kBlock;
  if (ctx_.meta_base >= size) {
    return Corrupt("v6: meta block address %u beyond end of file", sb_.s_meta_blkaddr);
  }
  uint64_t flags = ext_.s_flags;
  if (flags & ~format::kKnownSuperFlags) {
    return Corrupt("v6: unknown superblock flags 0x%lx", flags & ~format::kKnownSuperFlags);
  }
  if (std::popcount(flags & kCompressionFlags) != 1 || std::popcount(flags & kHashFlags) != 1) {
    return Corrupt("v6: flags 0x%lx need exactly one compressor and one digester bit", flags);
  }
  uint32_t cs = ext_.s_chunk_size;
  if (!IsPowerOfTwo(cs) || cs < format::kMinChunkSize || cs > format::kMaxChunkSize) {
    return Corrupt("v6: invalid chunk size 0x%x", cs);
  }
  ctx_.chunk_size = cs;
  return CheckTables();
}

Status V6HeaderReader::CheckTables() {
  uint64_t size = ctx_.data.size();
  uint64_t bt_off = ext_.s_blob_table_offset, bt_size = ext_.s_blob_table_size;
  if (!IsAligned(bt_off, kBlock) || bt_off < kBlock || bt_size % sizeof(RafsV6Blob) != 0 ||
      !RangeInside(bt_off, bt_size, size)) {
    return Corrupt("v6: invalid blob table offset 0x%lx / size 0x%lx", bt_off, bt_size);
  }
  if (sb_.s_extra_devices != bt_size / sizeof(RafsV6Blob)) {
    return Corrupt("v6: %u devices but %lu blob table entries", sb_.s_extra_devices,
                   bt_size / sizeof(RafsV6Blob));
  }
  uint64_t dev_end = format::kV6DeviceTableOffset + uint64_t{sb_.s_extra_devices} * 128;
  if (dev_end > size) return Corrupt("v6: device table ends beyond end of file");
  uint64_t ct_off = ext_.s_chunk_table_offset, ct_size = ext_.s_chunk_table_size;
  if (ct_size != 0 &&
      (!IsAligned(ct_off, kBlock) || ct_off < kBlock || ct_size % sizeof(RafsV5ChunkInfo) != 0 ||
       !RangeInside(ct_off, ct_size, size))) {
    return Corrupt("v6: invalid chunk table offset 0x%lx / size 0x%lx", ct_off, ct_size);
  }
  // Legacy images may carry a prefetch size with offset 0; the table is then ignored.
  if (ext_.s_prefetch_table_size != 0 && ext_.s_prefetch_table_offset != 0) {
    h_.prefetch_off = ext_.s_prefetch_table_offset;
    h_.prefetch_size = ext_.s_prefetch_table_size;
    if (h_.prefetch_off < kBlock || h_.prefetch_size % 4 != 0 ||
        !RangeInside(h_.prefetch_off, h_.prefetch_size, size)) {
      return Corrupt("v6: invalid prefetch table offset 0x%lx / size 0x%lx", h_.prefetch_off,
                     h_.prefetch_size);
    }
  }
  ctx_.tables = {{"superblock and device table", 0, dev_end},
                 {"blob table", bt_off, bt_size},
                 {"prefetch table", h_.prefetch_off, h_.prefetch_size},
                 {"chunk table", ct_off, ct_size}};
  for (size_t i = 0; i < ctx_.tables.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (Overlaps(ctx_.tables[i], ctx_.tables[j])) {
        return Corrupt("v6: %s overlaps %s", ctx_.tables[i].what, ctx_.tables[j].what);
      }
    }
  }
  if (ctx_.meta_base + uint64_t{sb_.s_root_nid} * format::kV6InodeSlotSize < dev_end) {
    return Corrupt("v6: root inode inside the superblock area");
  }
  return Status::OK();
}

// Validates the CI array sizes against the chunk count (reference RafsV6Blob::validate).
Status CheckCiSizes(const RafsV6Blob& b) {
  uint64_t n = b.chunk_count;
  bool v2 = b.features & format::kBlobChunkInfoV2;
  bool zran = b.features & format::kBlobZran;
  if (b.ci_offset + b.ci_compressed_size < b.ci_offset) return Corrupt("CI range wraps around");
  if (b.ci_compressed_size > b.ci_uncompressed_size) {
    return Corrupt("CI compressed size %lu > uncompressed size %lu", b.ci_compressed_size,
                   b.ci_uncompressed_size);
  }
  if (zran && !v2) return Corrupt("ZRAN feature without CHUNK_INFO_V2");
  uint64_t want = n * (v2 ? format::kCiV2Size : format::kCiV1Size);
  if (zran ? b.ci_uncompressed_size < want : b.ci_uncompressed_size != want) {
    return Corrupt("CI uncompressed size %lu does not fit %lu chunks", b.ci_uncompressed_size, n);
  }
  return Status::OK();
}

Status V6HeaderReader::ReadBlob(uint32_t i) {
  RafsV6Blob b{};
  ReadPod(ctx_.data, ext_.s_blob_table_offset + uint64_t{i} * sizeof(b), &b);
  RafsV6Device dev{};
  ReadPod(ctx_.data, format::kV6DeviceTableOffset + uint64_t{i} * sizeof(dev), &dev);
  for (uint8_t c : b.blob_id) {
    if (c < 0x21 || c > 0x7e) return Corrupt("blob id is not 64 printable characters");
  }
  if (std::memcmp(b.blob_id, dev.blob_id, sizeof(b.blob_id)) != 0) {
    return Corrupt("device slot blob id differs from the blob table");
  }
  if (b.blob_index != i) return Corrupt("stored blob index %u", b.blob_index);
  if (b.chunk_size != ctx_.chunk_size) {
    return Corrupt("chunk size 0x%x != fs chunk size 0x%x", b.chunk_size, ctx_.chunk_size);
  }
  if (b.chunk_count > kMaxChunksPerBlob) return Corrupt("chunk count %u", b.chunk_count);
  if (b.compression_algo > 3 || b.ci_compressor > 3 || b.digest_algo > 1) {
    return Corrupt("invalid compressor %u / CI compressor %u / digester %u", b.compression_algo,
                   b.ci_compressor, b.digest_algo);
  }
  if (b.compressed_size > kMaxBlobCompressedSize ||
      b.uncompressed_size > kMaxBlobUncompressedSize) {
    return Corrupt("blob sizes 0x%lx / 0x%lx too large", b.compressed_size, b.uncompressed_size);
  }
  uint32_t incompat = b.features & format::kBlobIncompatMask;
  if ((incompat & ~format::kBlobKnownIncompat) || (b.features & format::kBlobV5NoExtBlobTable)) {
    return Corrupt("unsupported features 0x%x", b.features);
  }
  if (!(b.features & format::kBlobAligned)) return Corrupt("ALIGNED feature missing");
  RETURN_IF_ERROR(CheckCiSizes(b));
  if (dev.blocks == 0 || dev.blocks != b.uncompressed_size / kBlock) {
    return Corrupt("device blocks %u disagree with uncompressed size 0x%lx", dev.blocks,
                   b.uncompressed_size);
  }
  BlobInfo info;
  info.blob_id.assign(reinterpret_cast<const char*>(b.blob_id), sizeof(b.blob_id));
  info.chunk_count = b.chunk_count;
  info.features = b.features;
  info.compressor = static_cast<format::Compressor>(b.compression_algo);
  info.digester = static_cast<format::Digester>(b.digest_algo);
  info.chunk_size = b.chunk_size;
  info.compressed_size = b.compressed_size;
  info.uncompressed_size = b.uncompressed_size;
  info.ci_compressor = static_cast<format::Compressor>(b.ci_compressor);
  info.ci_offset = b.ci_offset;
  info.ci_compressed_size = b.ci_compressed_size;
  info.ci_uncompressed_size = b.ci_uncompressed_size;
  info.blob_toc_size = b.blob_toc_size;
  std::copy(std::begin(b.blob_toc_digest), std::end(b.blob_toc_digest),
            info.blob_toc_digest.begin());
  std::copy(std::begin(b.blob_meta_digest), std::end(b.blob_meta_digest),
            info.blob_meta_digest.begin());
  info.blob_meta_size = b.blob_meta_size;
  h_.image.blobs.push_back(std::move(info));
  return Status::OK();
}

Status V6HeaderReader::Read() {
  RETURN_IF_ERROR(ReadSuperBlocks());
  for (uint32_t i = 0; i < sb_.s_extra_devices; ++i) {
    Status st = ReadBlob(i);
    if (!st.ok()) return st.WithContext(StrFormat("v6: blob %u", i));
  }
  ctx_.blobs = &h_.image.blobs;
  SetImageSettings(format::kRafsVersionV6, ext_.s_flags, ext_.s_chunk_size, &h_.image);
  return Status::OK();
}

Status ReadPrefetch(const V6Header& h, Image* image) {
  if (h.prefetch_size == 0) return Status::OK();
  PathByKey paths = FirstPaths(*image->root, /*by_nid=*/true);
  for (uint64_t i = 0; i < h.prefetch_size / 4; ++i) {
    uint32_t nid = LoadLE32(h.ctx.data.data() + h.prefetch_off + i * 4);
    if (nid == 0) break;  // padding
    auto it = paths.find(nid);
    if (it == paths.end()) return Corrupt("v6: prefetch entry %lu: nid %u not in the tree", i, nid);
    image->prefetch.push_back(it->second);
  }
  return Status::OK();
}

}  // namespace

Status ReadV6Header(ByteSpan data, const ReadOptions& opts, V6Header* out) {
  return V6HeaderReader(data, opts, out).Read();
}

Status BuildV6ChunkTable(const V6Header& h, V6ChunkTable* table) {
  const V6Context& ctx = h.ctx;
  const std::vector<BlobInfo>& blobs = h.image.blobs;
  uint64_t n = h.ext.s_chunk_table_size / sizeof(RafsV5ChunkInfo);
  table->Reset(ctx.data, h.ext.s_chunk_table_offset, n);
  for (uint64_t i = 0; i < n; ++i) {
    RafsV5ChunkInfo rec{};
    ReadPod(ctx.data, h.ext.s_chunk_table_offset + i * sizeof(rec), &rec);
    if (rec.blob_index >= blobs.size()) {
      return Corrupt("v6: chunk table entry %lu: blob index %u out of range (%zu blobs)", i,
                     rec.blob_index, blobs.size());
    }
    const BlobInfo& blob = blobs[rec.blob_index];
    if (rec.index >= blob.chunk_count || rec.flags & ~kKnownChunkFlags ||
        rec.uncompressed_size == 0 || rec.uncompressed_size > ctx.chunk_size ||
        !IsAligned(rec.uncompressed_offset, kBlock) ||
        rec.uncompressed_offset + rec.uncompressed_size > blob.uncompressed_size ||
        rec.uncompressed_offset / kBlock > UINT32_MAX) {
      return Corrupt(
          "v6: chunk table entry %lu: invalid chunk (index %u, flags 0x%x, size %u at "
          "0x%lx) for blob %u",
          i, rec.index, rec.flags, rec.uncompressed_size, rec.uncompressed_offset, rec.blob_index);
    }
    V6ChunkKey key{rec.blob_index, rec.index,
                   static_cast<uint32_t>(rec.uncompressed_offset / kBlock)};
    table->Add(key, static_cast<uint32_t>(i));
  }
  table->Finish();
  return Status::OK();
}

Result<Image> ReadBootstrapV6(ByteSpan data, const ReadOptions& opts) {
  V6Header h;
  RETURN_IF_ERROR(ReadV6Header(data, opts, &h));
  V6ChunkTable chunks;
  RETURN_IF_ERROR(BuildV6ChunkTable(h, &chunks));
  RETURN_IF_ERROR(ReadV6Tree(h.ctx, chunks, h.sb.s_root_nid, &h.image));
  RETURN_IF_ERROR(ReadPrefetch(h, &h.image));
  return std::move(h.image);
}

}  // namespace nydus::meta::internal
