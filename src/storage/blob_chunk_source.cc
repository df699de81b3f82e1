// The chunk miss path: locate, read, decompress, verify (see blob_chunk_source.h).

#include "storage/blob_chunk_source.h"

#include <string>
#include <utility>

#include "base/digest.h"
#include "compress/compressor.h"
#include "meta/blob_meta_reader.h"
#include "storage/blob_meta_file.h"

namespace nydus::storage {

BlobChunkSource::BlobChunkSource(const meta::Image& image, BlobBackend* backend,
                                 bool validate_digest, std::string meta_dir)
    : image_(image),
      backend_(backend),
      validate_digest_(validate_digest),
      meta_dir_(std::move(meta_dir)) {
  slots_.reserve(image.blobs.size());
  for (size_t i = 0; i < image.blobs.size(); ++i) slots_.push_back(std::make_unique<BlobSlot>());
}

BlobChunkSource::~BlobChunkSource() = default;

std::string BlobChunkSource::Describe(const meta::ChunkInfo& chunk) const {
  std::string id = chunk.blob_index < image_.blobs.size() ? image_.blobs[chunk.blob_index].blob_id
                                                          : "#" + std::to_string(chunk.blob_index);
  return "blob " + id + " chunk " + std::to_string(chunk.index);
}

Status BlobChunkSource::CheckDescriptor(const meta::ChunkInfo& chunk) const {
  if (chunk.blob_index >= image_.blobs.size()) {
    return Status::Corruption(Describe(chunk) + ": blob index " + std::to_string(chunk.blob_index) +
                              " out of range (" + std::to_string(image_.blobs.size()) + " blobs)");
  }
  if (chunk.uncompressed_size == 0 || chunk.uncompressed_size > format::kMaxChunkSize) {
    return Status::Corruption(Describe(chunk) + ": invalid uncompressed size " +
                              std::to_string(chunk.uncompressed_size));
  }
  return Status::OK();
}

Result<Bytes> BlobChunkSource::Fetch(const meta::ChunkInfo& chunk) {
  ASSIGN_OR_RETURN(ChunkLocation loc, Locate(chunk));
  Bytes stored(loc.compressed_size);
  RETURN_IF_ERROR(ReadStored(chunk.blob_index, loc.compressed_offset, stored, Describe(chunk)));
  if (!loc.compressed) {
    if (validate_digest_) RETURN_IF_ERROR(Verify(chunk, stored));
    return stored;
  }
  ASSIGN_OR_RETURN(Bytes data, Decode(chunk, loc, stored));
  if (validate_digest_) RETURN_IF_ERROR(Verify(chunk, data));
  return data;
}

Result<ChunkLocation> BlobChunkSource::Locate(const meta::ChunkInfo& chunk) {
  RETURN_IF_ERROR(CheckDescriptor(chunk));
  ASSIGN_OR_RETURN(const BlobHandle* handle, GetBlob(chunk.blob_index));
  return LocateIn(*handle, chunk);
}

Status BlobChunkSource::ReadStored(uint32_t blob_index, uint64_t offset, std::span<uint8_t> buf,
                                   const std::string& what) {
  if (blob_index >= slots_.size()) return Status::Internal(what + ": blob index out of range");
  ASSIGN_OR_RETURN(const BlobHandle* handle, GetBlob(blob_index));
  backend_reads_.fetch_add(1, std::memory_order_relaxed);
  RETURN_IF_ERROR(handle->reader->ReadAt(offset, buf).WithContext(what));
  backend_bytes_.fetch_add(buf.size(), std::memory_order_relaxed);
  return Status::OK();
}

std::vector<meta::ChunkInfo> BlobChunkSource::NeighborChunks(uint32_t blob_index, uint32_t after,
                                                             uint64_t max_bytes) {
  std::vector<meta::ChunkInfo> out;
  if (!image_.IsV6() || blob_index >= slots_.size()) return out;
  Result<const BlobHandle*> handle = GetBlob(blob_index);
  if (!handle.ok()) return out;
  const std::vector<format::ChunkCompressInfo>& ci = (*handle)->ci;
  if (after >= ci.size()) return out;
  uint64_t end = ci[after].compressed_offset + ci[after].compressed_size;
  uint64_t bytes = 0;
  for (uint64_t i = uint64_t{after} + 1; i < ci.size(); ++i) {
    const format::ChunkCompressInfo& c = ci[i];
    if (c.zran || c.compressed_offset != end || bytes + c.compressed_size > max_bytes) break;
    meta::ChunkInfo info;
    info.blob_index = blob_index;
    info.index = static_cast<uint32_t>(i);
    info.flags = c.compressed ? format::kChunkCompressed : 0;
    info.compressed_offset = c.compressed_offset;
    info.compressed_size = c.compressed_size;
    info.uncompressed_offset = c.uncompressed_offset;
    info.uncompressed_size = c.uncompressed_size;
    out.push_back(info);
    bytes += c.compressed_size;
    end += c.compressed_size;
  }
  return out;
}

Result<const BlobChunkSource::BlobHandle*> BlobChunkSource::GetBlob(uint32_t blob_index) {
  BlobSlot& slot = *slots_[blob_index];
  std::lock_guard<std::mutex> lock(slot.mu);
  if (slot.handle == nullptr) {
    ASSIGN_OR_RETURN(slot.handle, OpenBlob(image_.blobs[blob_index]));
  }
  return slot.handle.get();
}

Result<std::unique_ptr<const BlobChunkSource::BlobHandle>> BlobChunkSource::OpenBlob(
    const meta::BlobInfo& blob) {
  auto handle = std::make_unique<BlobHandle>();
  ASSIGN_OR_RETURN(handle->reader, backend_->Open(blob.blob_id));
  if (!image_.IsV6()) return std::unique_ptr<const BlobHandle>(std::move(handle));

  if (blob.features & (format::kBlobSeparate | format::kBlobZran)) {
    return Status::NotSupported("blob " + blob.blob_id + ": features " +
                                format::BlobFeaturesString(blob.features) +
                                " (zran / separate data) are not supported");
  }
  if (blob.chunk_count > 0) {
    if (blob.ci_uncompressed_size == 0) {
      return Status::Corruption("blob " + blob.blob_id + ": v6 blob of " +
                                std::to_string(blob.chunk_count) + " chunks has no CI array");
    }
    BlobReader* reader = handle->reader.get();
    auto read = [reader](uint64_t off, std::span<uint8_t> buf) { return reader->ReadAt(off, buf); };
    std::string path = meta_dir_.empty() ? "" : BlobMetaPath(meta_dir_, blob.blob_id);
    auto loaded = LoadOrFetchBlobMeta(path, blob, read);
    if (!loaded.ok()) return loaded.status().WithContext("blob " + blob.blob_id);
    if (loaded->fetched) {
      meta_reads_.fetch_add(1, std::memory_order_relaxed);
      meta_bytes_.fetch_add(loaded->fetched_bytes, std::memory_order_relaxed);
    }
    if (loaded->ci.size() != blob.chunk_count) {
      return Status::Corruption("blob " + blob.blob_id + ": CI array has " +
                                std::to_string(loaded->ci.size()) + " entries for " +
                                std::to_string(blob.chunk_count) + " chunks");
    }
    handle->ci = std::move(loaded->ci);
  }
  return std::unique_ptr<const BlobHandle>(std::move(handle));
}

Result<ChunkLocation> BlobChunkSource::LocateIn(const BlobHandle& handle,
                                                const meta::ChunkInfo& chunk) const {
  const meta::BlobInfo& blob = image_.blobs[chunk.blob_index];
  ChunkLocation loc;
  if (image_.IsV6()) {
    // The CI array is the authority for where chunk `index` is stored.
    if (chunk.index >= handle.ci.size()) {
      return Status::Corruption(Describe(chunk) + ": index beyond the CI array (" +
                                std::to_string(handle.ci.size()) + " entries)");
    }
    const format::ChunkCompressInfo& ci = handle.ci[chunk.index];
    if (ci.zran) return Status::NotSupported(Describe(chunk) + ": zran chunk");
    if (ci.uncompressed_size != chunk.uncompressed_size) {
      return Status::Corruption(Describe(chunk) + ": uncompressed size " +
                                std::to_string(chunk.uncompressed_size) + " in the bootstrap but " +
                                std::to_string(ci.uncompressed_size) + " in the CI array");
    }
    loc = {ci.compressed_offset, ci.compressed_size, ci.compressed, ci.uncompressed_offset};
  } else {
    loc = {chunk.compressed_offset, chunk.compressed_size, chunk.compressed(),
           chunk.uncompressed_offset};
  }
  // Bound the allocation by what a valid chunk can occupy, whatever the descriptor says.
  uint64_t limit = loc.compressed
                       ? compress::CompressBound(blob.compressor, chunk.uncompressed_size)
                       : chunk.uncompressed_size;
  if (loc.compressed_size == 0 || loc.compressed_size > limit ||
      (!loc.compressed && loc.compressed_size != chunk.uncompressed_size)) {
    return Status::Corruption(Describe(chunk) + ": stored size " +
                              std::to_string(loc.compressed_size) + " invalid for " +
                              std::to_string(chunk.uncompressed_size) + " bytes" +
                              (loc.compressed ? " compressed" : " uncompressed"));
  }
  if (blob.compressed_size != 0 &&
      !RangeInside(loc.compressed_offset, loc.compressed_size, blob.compressed_size)) {
    return Status::Corruption(Describe(chunk) + ": stored at " +
                              std::to_string(loc.compressed_offset) + " (+" +
                              std::to_string(loc.compressed_size) + ") beyond the blob's " +
                              std::to_string(blob.compressed_size) + " bytes");
  }
  return loc;
}

Result<Bytes> BlobChunkSource::Decode(const meta::ChunkInfo& chunk, const ChunkLocation& loc,
                                      ByteSpan stored) const {
  if (stored.size() != loc.compressed_size) {
    return Status::Corruption(Describe(chunk) + ": " + std::to_string(stored.size()) +
                              " stored bytes, expected " + std::to_string(loc.compressed_size));
  }
  if (!loc.compressed) return Bytes(stored.begin(), stored.end());  // Locate checked the size
  format::Compressor algo = image_.blobs[chunk.blob_index].compressor;
  Bytes out(chunk.uncompressed_size);
  Status st = compress::Decompress(algo, stored, out);
  if (!st.ok()) {
    return Status::Corruption(Describe(chunk) + ": decompress (" + format::CompressorName(algo) +
                              "): " + st.message());
  }
  return out;
}

Status BlobChunkSource::Verify(const meta::ChunkInfo& chunk, ByteSpan data) const {
  auto algo = static_cast<DigestAlgo>(image_.digester);
  Digest got = ComputeDigest(algo, data);
  if (got == chunk.digest) return Status::OK();
  return Status::Corruption(Describe(chunk) + ": digest mismatch (" + DigestAlgoName(algo) +
                            " expected " + DigestHex(chunk.digest) + ", got " + DigestHex(got) +
                            ")");
}

}  // namespace nydus::storage
