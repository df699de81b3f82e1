// The chunk miss path: locate, read, decompress, verify (see blob_chunk_source.h).

#include "storage/blob_chunk_source.h"

#include <string>
#include <utility>

#include "base/digest.h"
#include "base/logging.h"
#include "compress/compressor.h"
#include "meta/blob_meta_reader.h"
#include "storage/blob_meta_file.h"

namespace nydus::storage {

BlobChunkSource::BlobChunkSource(const meta::Image& image, BlobBackend* backend,
                                 bool validate_digest, std::string meta_dir,
                                 std::chrono::milliseconds meta_refetch_interval)
    : image_(image),
      backend_(backend),
      validate_digest_(validate_digest),
      meta_dir_(std::move(meta_dir)),
      meta_refetch_interval_(meta_refetch_interval) {
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
  Result<Bytes> data =
      loc.compressed ? Decode(chunk, loc, stored) : Result<Bytes>(std::move(stored));
  Status st = data.ok() ? Status::OK() : data.status();
  if (st.ok() && validate_digest_) st = Verify(chunk, *data);
  if (!st.ok()) {
    ReportBadChunk(chunk, loc, st);
    return st;
  }
  return data;
}

Result<ChunkLocation> BlobChunkSource::Locate(const meta::ChunkInfo& chunk) {
  RETURN_IF_ERROR(CheckDescriptor(chunk));
  if (!image_.IsV6()) {  // v5: the chunk record is the only description
    ChunkLocation loc{chunk.compressed_offset, chunk.compressed_size, chunk.compressed(),
                      chunk.uncompressed_offset};
    RETURN_IF_ERROR(CheckLocation(chunk, loc));
    return loc;
  }
  // v6: the CI array says where chunk `index` is stored. This runs for every chunk read
  // (cache hits included): only the record is copied out under the slot's lock, no
  // reference to the array is taken and nothing is allocated unless it fails.
  format::ChunkCompressInfo ci;
  ChunkLocation loc;
  {
    BlobSlot& slot = *slots_[chunk.blob_index];
    std::lock_guard<std::mutex> lock(slot.mu);
    RETURN_IF_ERROR(EnsureCi(slot, chunk.blob_index));
    const std::vector<format::ChunkCompressInfo>& entries = slot.ci->entries;
    if (chunk.index >= entries.size()) {
      return Status::Corruption(Describe(chunk) + ": index beyond the CI array (" +
                                std::to_string(entries.size()) + " entries)");
    }
    ci = entries[chunk.index];
    loc.ci_generation = slot.ci->generation;
  }
  if (ci.zran) return Status::NotSupported(Describe(chunk) + ": zran chunk");
  loc.compressed_offset = ci.compressed_offset;
  loc.compressed_size = ci.compressed_size;
  loc.compressed = ci.compressed;
  loc.uncompressed_offset = ci.uncompressed_offset;
  // Descriptors built from the CI array (NeighborChunks) have no digest and nothing to
  // compare with; a bootstrap chunk record carries its digest and its stored range.
  loc.ci_only = chunk.digest == Digest{} || chunk.compressed_size == 0;
  Status st = loc.ci_only ? Status::OK() : CompareWithRecord(chunk, ci);
  bool blame_ci = !st.ok() || loc.ci_only;
  if (st.ok()) st = CheckLocation(chunk, loc);
  if (!st.ok()) {
    if (blame_ci && st.code() == StatusCode::kCorruption) {
      DropCi(chunk.blob_index, loc.ci_generation, st);
    }
    return st;
  }
  return loc;
}

Status BlobChunkSource::CompareWithRecord(const meta::ChunkInfo& chunk,
                                          const format::ChunkCompressInfo& ci) const {
  if (ci.compressed_offset == chunk.compressed_offset &&
      ci.compressed_size == chunk.compressed_size && ci.compressed == chunk.compressed() &&
      ci.uncompressed_offset == chunk.uncompressed_offset &&
      ci.uncompressed_size == chunk.uncompressed_size) {
    return Status::OK();
  }
  auto show = [](uint64_t coff, uint64_t csize, bool compressed, uint64_t uoff, uint64_t usize) {
    return "stored " + std::to_string(coff) + "+" + std::to_string(csize) +
           (compressed ? " compressed" : " raw") + ", uncompressed " + std::to_string(uoff) + "+" +
           std::to_string(usize);
  };
  return Status::Corruption(Describe(chunk) + ": the CI array says " +
                            show(ci.compressed_offset, ci.compressed_size, ci.compressed,
                                 ci.uncompressed_offset, ci.uncompressed_size) +
                            ", the bootstrap " +
                            show(chunk.compressed_offset, chunk.compressed_size, chunk.compressed(),
                                 chunk.uncompressed_offset, chunk.uncompressed_size));
}

Status BlobChunkSource::CheckLocation(const meta::ChunkInfo& chunk,
                                      const ChunkLocation& loc) const {
  const meta::BlobInfo& blob = image_.blobs[chunk.blob_index];
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
  return Status::OK();
}

Status BlobChunkSource::ReadStored(uint32_t blob_index, uint64_t offset, std::span<uint8_t> buf,
                                   const std::string& what) {
  if (blob_index >= slots_.size()) return Status::Internal(what + ": blob index out of range");
  ASSIGN_OR_RETURN(BlobReader * reader, GetReader(blob_index));
  backend_reads_.fetch_add(1, std::memory_order_relaxed);
  RETURN_IF_ERROR(reader->ReadAt(offset, buf).WithContext(what));
  backend_bytes_.fetch_add(buf.size(), std::memory_order_relaxed);
  return Status::OK();
}

std::vector<meta::ChunkInfo> BlobChunkSource::NeighborChunks(uint32_t blob_index, uint32_t after,
                                                             uint64_t max_bytes) {
  std::vector<meta::ChunkInfo> out;
  if (!image_.IsV6() || blob_index >= slots_.size()) return out;
  std::shared_ptr<const CiArray> array;  // kept alive while used, even if dropped meanwhile
  {
    BlobSlot& slot = *slots_[blob_index];
    std::lock_guard<std::mutex> lock(slot.mu);
    if (!EnsureCi(slot, blob_index).ok()) return out;
    array = slot.ci;
  }
  const std::vector<format::ChunkCompressInfo>& ci = array->entries;
  if (after >= ci.size()) return out;
  uint64_t end = ci[after].compressed_offset + ci[after].compressed_size;
  uint64_t bytes = 0;
  for (uint64_t i = uint64_t{after} + 1; i < ci.size(); ++i) {
    const format::ChunkCompressInfo& c = ci[i];
    if (c.zran || c.compressed_offset != end || bytes + c.compressed_size > max_bytes) break;
    meta::ChunkInfo info;
    info.blob_index = blob_index;
    info.index = static_cast<uint32_t>(i);
    info.flags = c.compressed ? uint32_t{format::kChunkCompressed} : 0u;
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

Status BlobChunkSource::OpenReader(BlobSlot& slot, const meta::BlobInfo& blob) {
  if (slot.reader == nullptr) {
    ASSIGN_OR_RETURN(slot.reader, backend_->Open(blob.blob_id));
    slot.open_reader.store(slot.reader.get(), std::memory_order_release);
  }
  return Status::OK();
}

Result<BlobReader*> BlobChunkSource::GetReader(uint32_t blob_index) {
  BlobSlot& slot = *slots_[blob_index];
  // Once opened the reader is never replaced: no lock, so that data reads never wait for
  // a CI array being (re)loaded under slot.mu.
  if (BlobReader* reader = slot.open_reader.load(std::memory_order_acquire)) return reader;
  std::lock_guard<std::mutex> lock(slot.mu);
  RETURN_IF_ERROR(OpenReader(slot, image_.blobs[blob_index]));
  return slot.reader.get();
}

Status BlobChunkSource::EnsureCi(BlobSlot& slot, uint32_t blob_index) {
  const meta::BlobInfo& blob = image_.blobs[blob_index];
  if (slot.ci != nullptr) return Status::OK();
  if (!slot.rejection.ok()) {
    // The last CI read was rejected: read it again now only if the recovery budget allows.
    auto now = std::chrono::steady_clock::now();
    if (!CanRecover(slot, now)) return slot.rejection;
    NoteRecovery(slot, now);
  }
  Result<std::shared_ptr<const CiArray>> ci = LoadCi(slot, blob);
  if (!ci.ok()) {
    // Damaged content is remembered (see above); anything else (I/O) is retried freely.
    bool damaged = ci.status().code() == StatusCode::kCorruption;
    if (damaged) LOG_WARN("CI array rejected: {}", ci.status().ToString());
    slot.rejection = damaged ? ci.status() : Status::OK();
    return ci.status();
  }
  slot.rejection = Status::OK();
  slot.ci = std::move(ci).value();
  return Status::OK();
}

bool BlobChunkSource::CanRecover(const BlobSlot& slot,
                                 std::chrono::steady_clock::time_point now) const {
  return !slot.recovered || now - slot.last_recovery >= meta_refetch_interval_;
}

void BlobChunkSource::NoteRecovery(BlobSlot& slot, std::chrono::steady_clock::time_point now) {
  slot.recovered = true;
  slot.last_recovery = now;
}

Result<std::shared_ptr<const BlobChunkSource::CiArray>> BlobChunkSource::LoadCi(
    BlobSlot& slot, const meta::BlobInfo& blob) {
  if (blob.features & (format::kBlobSeparate | format::kBlobZran)) {
    return Status::NotSupported("blob " + blob.blob_id + ": features " +
                                format::BlobFeaturesString(blob.features) +
                                " (zran / separate data) are not supported");
  }
  auto ci = std::make_shared<CiArray>();
  ci->generation = ++slot.generation;
  if (blob.chunk_count == 0) return std::shared_ptr<const CiArray>(std::move(ci));
  if (blob.ci_uncompressed_size == 0) {
    return Status::Corruption("blob " + blob.blob_id + ": v6 blob of " +
                              std::to_string(blob.chunk_count) + " chunks has no CI array");
  }
  // The backend is opened only when the array is not in the cache's blob.meta file: a
  // cache that holds everything needs no backend at all (an offline warm start).
  auto read = [this, &slot, &blob](uint64_t off, std::span<uint8_t> buf) {
    RETURN_IF_ERROR(OpenReader(slot, blob));
    meta_reads_.fetch_add(1, std::memory_order_relaxed);
    RETURN_IF_ERROR(slot.reader->ReadAt(off, buf));
    meta_bytes_.fetch_add(buf.size(), std::memory_order_relaxed);
    return Status::OK();
  };
  std::string path = meta_dir_.empty() ? "" : BlobMetaPath(meta_dir_, blob.blob_id);
  auto loaded = LoadOrFetchBlobMeta(path, blob, read);
  if (!loaded.ok()) return loaded.status().WithContext("blob " + blob.blob_id);
  if (loaded->size() != blob.chunk_count) {
    return Status::Corruption("blob " + blob.blob_id + ": CI array has " +
                              std::to_string(loaded->size()) + " entries for " +
                              std::to_string(blob.chunk_count) + " chunks");
  }
  ci->entries = std::move(loaded).value();
  return std::shared_ptr<const CiArray>(std::move(ci));
}

void BlobChunkSource::ReportBadChunk(const meta::ChunkInfo& chunk, const ChunkLocation& loc,
                                     const Status& error) {
  if (loc.ci_generation == 0 || !loc.ci_only || chunk.blob_index >= slots_.size()) return;
  DropCi(chunk.blob_index, loc.ci_generation, error);
}

void BlobChunkSource::DropCi(uint32_t blob_index, uint64_t generation, const Status& why) {
  BlobSlot& slot = *slots_[blob_index];
  const std::string& id = image_.blobs[blob_index].blob_id;
  std::lock_guard<std::mutex> lock(slot.mu);
  // Already dropped, or replaced by a newer load: that one has not been found wrong.
  if (slot.ci == nullptr || slot.ci->generation != generation) return;
  auto now = std::chrono::steady_clock::now();
  if (!CanRecover(slot, now)) {
    LOG_DEBUG("blob {}: CI array suspect ({}); recovered less than {} ms ago, kept", id,
              why.ToString(), meta_refetch_interval_.count());
    return;
  }
  NoteRecovery(slot, now);
  slot.ci.reset();  // readers still holding it keep it alive
  if (!meta_dir_.empty()) RemoveBlobMetaFile(BlobMetaPath(meta_dir_, id));
  meta_drops_.fetch_add(1, std::memory_order_relaxed);
  LOG_WARN("blob {}: dropping its CI array ({}); it is read again on the next access", id,
           why.ToString());
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
