#include "builder/v6_tables.h"

#include <algorithm>
#include <map>
#include <utility>

#include "format/rafs.h"

namespace nydus::builder::v6 {
namespace {

constexpr uint64_t kBlock = format::kBlockSize;

template <size_t N>
void CopyBlobId(const std::string& id, uint8_t (&dst)[N]) {
  std::copy_n(id.begin(), std::min(id.size(), N), dst);
}

uint32_t BlobBlocks(const meta::BlobInfo& blob) {
  return static_cast<uint32_t>(blob.uncompressed_size / kBlock);
}

}  // namespace

HeaderLayout ComputeHeaderLayout(size_t blob_count, size_t prefetch_entries) {
  HeaderLayout h;
  h.blob_table_offset =
      RoundUp(format::kV6DeviceTableOffset + blob_count * sizeof(format::RafsV6Device), kBlock);
  h.blob_table_size = static_cast<uint32_t>(blob_count * sizeof(format::RafsV6Blob));
  if (blob_count == 0) return h;  // no blob table: no prefetch table, metadata base 0
  if (prefetch_entries > 0) {
    h.prefetch_table_offset = h.blob_table_offset + h.blob_table_size;
    h.prefetch_table_size = static_cast<uint32_t>(prefetch_entries * sizeof(uint32_t));
  }
  h.meta_addr = RoundUp(h.blob_table_offset + h.blob_table_size + h.prefetch_table_size, kBlock);
  return h;
}

Status ValidateBlobs(const std::vector<meta::BlobInfo>& blobs) {
  if (blobs.size() >= 255) {
    return Status::InvalidArgument("v6: " + std::to_string(blobs.size()) +
                                   " blobs; at most 254 fit the device id byte");
  }
  uint64_t total_blocks = 0;
  for (size_t i = 0; i < blobs.size(); ++i) {
    const meta::BlobInfo& b = blobs[i];
    std::string where = "v6: blob " + std::to_string(i);
    if (b.blob_id.empty() || b.blob_id.size() > sizeof(format::RafsV6Blob::blob_id)) {
      return Status::InvalidArgument(where + ": blob id must have 1..64 bytes: " + b.blob_id);
    }
    if (!IsAligned(b.uncompressed_size, kBlock) || b.uncompressed_size / kBlock > 0xffffffffu) {
      return Status::InvalidArgument(where + ": uncompressed size " +
                                     std::to_string(b.uncompressed_size) +
                                     " not 4K aligned or too big");
    }
    total_blocks += b.uncompressed_size / kBlock;
  }
  if (total_blocks > 0xffffffffu) {
    return Status::InvalidArgument("v6: total blob blocks do not fit s_blocks");
  }
  return Status::OK();
}

format::RafsV6Device MakeDevice(const meta::BlobInfo& blob) {
  format::RafsV6Device dev{};
  CopyBlobId(blob.blob_id, dev.blob_id);
  dev.blocks = BlobBlocks(blob);
  dev.mapped_blkaddr = 0;  // 2.2 readers require 0
  return dev;
}

format::RafsV6Blob MakeBlobEntry(const meta::BlobInfo& blob, uint32_t index) {
  format::RafsV6Blob e{};
  CopyBlobId(blob.blob_id, e.blob_id);
  e.blob_index = index;
  e.chunk_size = blob.chunk_size;
  e.chunk_count = blob.chunk_count;
  e.compression_algo = static_cast<uint32_t>(blob.compressor);
  e.digest_algo = static_cast<uint32_t>(blob.digester);
  e.features = blob.features;
  e.compressed_size = blob.compressed_size;
  e.uncompressed_size = blob.uncompressed_size;
  e.blob_toc_size = blob.blob_toc_size;
  e.ci_compressor = static_cast<uint32_t>(blob.ci_compressor);
  e.ci_offset = blob.ci_offset;
  e.ci_compressed_size = blob.ci_compressed_size;
  e.ci_uncompressed_size = blob.ci_uncompressed_size;
  std::copy(blob.blob_toc_digest.begin(), blob.blob_toc_digest.end(), e.blob_toc_digest);
  std::copy(blob.blob_meta_digest.begin(), blob.blob_meta_digest.end(), e.blob_meta_digest);
  e.blob_meta_size = blob.blob_meta_size;
  return e;
}

format::RafsV6SuperBlock MakeSuperBlock(const meta::Image& image, const SuperBlockParams& p) {
  format::RafsV6SuperBlock sb{};
  sb.s_magic = format::kErofsMagic;
  sb.s_feature_compat = format::kV6FeatureCompatRafs;
  sb.s_blkszbits = format::kV6BlockBits;
  sb.s_root_nid = static_cast<uint16_t>(p.root_nid);
  sb.s_inos = p.inode_count;
  uint64_t blocks = 0;
  for (const meta::BlobInfo& b : image.blobs) blocks += BlobBlocks(b);
  sb.s_blocks = static_cast<uint32_t>(blocks);
  sb.s_meta_blkaddr = static_cast<uint32_t>(p.meta_addr / kBlock);
  sb.s_feature_incompat = format::kV6FeatureIncompat;
  sb.s_extra_devices = static_cast<uint16_t>(image.blobs.size());
  sb.s_devt_slotoff = format::kV6DevtSlotOff;
  return sb;
}

format::RafsV6SuperBlockExt MakeExtSuperBlock(const meta::Image& image, const HeaderLayout& h,
                                              const SuperBlockParams& p) {
  format::RafsV6SuperBlockExt ext{};
  ext.s_flags = p.flags;
  ext.s_blob_table_offset = h.blob_table_offset;
  ext.s_blob_table_size = h.blob_table_size;
  ext.s_chunk_size = image.chunk_size;
  ext.s_chunk_table_offset = p.chunk_table_offset;
  ext.s_chunk_table_size = p.chunk_table_size;
  ext.s_prefetch_table_offset = h.prefetch_table_offset;
  ext.s_prefetch_table_size = h.prefetch_table_size;
  return ext;
}

uint64_t SuperFlags(const meta::Image& image, bool has_xattr) {
  uint64_t flags = internal::BaseSuperFlags(image, has_xattr);
  bool all_digests = std::all_of(image.blobs.begin(), image.blobs.end(), [](const auto& b) {
    return (b.features & format::kBlobInlinedChunkDigest) != 0;
  });
  if (all_digests) flags |= format::kFlagInlinedChunkDigest;
  return flags;
}

Bytes EncodeChunkTable(const std::vector<internal::FlatNode>& nodes) {
  std::map<std::pair<Digest, uint32_t>, const meta::ChunkInfo*> table;
  for (const internal::FlatNode& n : nodes) {
    if (!n.inode->IsReg()) continue;
    for (const meta::ChunkInfo& c : n.inode->chunks) {
      table.insert_or_assign({c.digest, c.blob_index}, &c);
    }
  }
  Bytes out;
  out.reserve(table.size() * sizeof(format::RafsV5ChunkInfo));
  for (const auto& [key, chunk] : table) AppendPod(&out, internal::MakeChunkRecord(*chunk));
  return out;
}

}  // namespace nydus::builder::v6
