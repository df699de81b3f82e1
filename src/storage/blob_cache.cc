// The blob cache: ready → cached bytes, missing → merged fetch and fill (see blob_cache.h).

#include "storage/blob_cache.h"

#include <utility>

#include "base/logging.h"

namespace nydus::storage {

namespace {

void Add(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

uint64_t End(const ChunkLocation& loc) { return loc.compressed_offset + loc.compressed_size; }

// Releases the claims of a run that were not released one by one.
class ClaimGuard {
 public:
  ClaimGuard(BlobCacheFile& file, std::vector<uint32_t> indexes)
      : file_(file), held_(std::move(indexes)) {}
  ~ClaimGuard() {
    for (size_t i = 0; i < held_.size(); ++i) {
      if (!released_[i]) file_.Release(held_[i]);
    }
  }
  ClaimGuard(const ClaimGuard&) = delete;
  ClaimGuard& operator=(const ClaimGuard&) = delete;
  void Release(size_t i) {
    released_[i] = true;
    file_.Release(held_[i]);
  }

 private:
  BlobCacheFile& file_;
  std::vector<uint32_t> held_;
  std::vector<bool> released_ = std::vector<bool>(held_.size(), false);
};

}  // namespace

BlobCache::BlobCache(const meta::Image& image, BlobChunkSource* source, BlobCacheOptions opts)
    : image_(image), source_(source), opts_(std::move(opts)) {
  slots_.reserve(image.blobs.size());
  for (size_t i = 0; i < image.blobs.size(); ++i) slots_.push_back(std::make_unique<Slot>());
}

BlobCache::~BlobCache() = default;

BlobCacheFile* BlobCache::GetFile(uint32_t blob_index) {
  if (blob_index >= slots_.size()) return nullptr;
  Slot& slot = *slots_[blob_index];
  if (BlobCacheFile* open = slot.published.load(std::memory_order_acquire)) return open;
  std::lock_guard<std::mutex> lock(slot.mu);
  if (slot.file == nullptr && !slot.unusable) {
    const meta::BlobInfo& blob = image_.blobs[blob_index];
    auto file = BlobCacheFile::Open(opts_.work_dir, blob, opts_.raw);
    if (file.ok()) {
      slot.file = std::move(file).value();
      slot.published.store(slot.file.get(), std::memory_order_release);
    } else {
      LOG_WARN("blob cache: blob {} is read without the cache: {}", blob.blob_id,
               file.status().ToString());
      slot.unusable = true;
    }
  }
  return slot.file.get();
}

Result<BlobCache::Member> BlobCache::Prepare(const BlobCacheFile& file,
                                             const meta::ChunkInfo& chunk) {
  if (chunk.index >= file.chunk_count()) {
    return Status::Corruption(source_->Describe(chunk) + ": index beyond the blob's " +
                              std::to_string(file.chunk_count()) + " chunks");
  }
  ASSIGN_OR_RETURN(ChunkLocation loc, source_->Locate(chunk));
  ASSIGN_OR_RETURN(BlobCacheFile::Range range, file.RangeOf(loc, chunk.uncompressed_size));
  return Member{&chunk, loc, range};
}

Result<Bytes> BlobCache::ReadCached(const BlobCacheFile& file, const Member& m) {
  Bytes stored(m.range.size);
  RETURN_IF_ERROR(file.Read(m.range.offset, stored));
  Bytes data;
  if (file.raw()) {
    ASSIGN_OR_RETURN(data, source_->Decode(*m.chunk, m.loc, stored));
  } else {
    data = std::move(stored);
  }
  if (source_->validate_digest()) RETURN_IF_ERROR(source_->Verify(*m.chunk, data));
  return data;
}

Result<Bytes> BlobCache::ReadChunk(const meta::ChunkInfo& chunk,
                                   std::span<const meta::ChunkInfo> followers,
                                   uint64_t merge_size) {
  BlobCacheFile* file = GetFile(chunk.blob_index);
  if (file == nullptr) {
    Add(bypassed_);
    return source_->Fetch(chunk);
  }
  Result<Member> m = Prepare(*file, chunk);
  if (!m.ok()) {
    // A bad descriptor fails again in Fetch with its precise error; a chunk that is valid
    // but has no place in the cache file (inconsistent blob sizes) is served uncached.
    Add(bypassed_);
    return source_->Fetch(chunk);
  }
  bool repair = false;
  while (true) {
    switch (file->TryClaim(chunk.index, repair)) {
      case BlobCacheFile::Claim::kReady: {
        Result<Bytes> data = ReadCached(*file, *m);
        if (data.ok()) {
          Add(disk_hits_);
          return data;
        }
        Add(disk_bad_);
        LOG_WARN("blob cache: {}: cached copy unusable ({}); refetching", source_->Describe(chunk),
                 data.status().ToString());
        repair = true;
        break;
      }
      case BlobCacheFile::Claim::kBusy:
        // Someone is filling (or repairing) this chunk: wait for that fill, then look again.
        file->WaitWhileClaimed(chunk.index);
        repair = false;
        break;
      case BlobCacheFile::Claim::kClaimed: {
        std::vector<Member> run{*m};
        if (!repair) ExtendRun(*file, run, followers, merge_size);
        return FetchRun(*file, run, /*want_first=*/true);
      }
    }
  }
}

void BlobCache::ExtendRun(BlobCacheFile& file, std::vector<Member>& run,
                          std::span<const meta::ChunkInfo> candidates, uint64_t merge_size) {
  const uint64_t start = run.front().loc.compressed_offset;
  for (const meta::ChunkInfo& c : candidates) {
    if (c.blob_index != run.front().chunk->blob_index) return;
    Result<Member> m = Prepare(file, c);
    if (!m.ok() || m->loc.compressed_offset != End(run.back().loc) ||
        End(m->loc) - start > merge_size) {
      return;
    }
    // Ready or being filled: the run stops (a request never skips over a chunk).
    if (file.TryClaim(c.index, false) != BlobCacheFile::Claim::kClaimed) return;
    run.push_back(*m);
  }
}

Result<Bytes> BlobCache::FetchRun(BlobCacheFile& file, const std::vector<Member>& run,
                                  bool want_first) {
  std::vector<uint32_t> indexes;
  for (const Member& m : run) indexes.push_back(m.chunk->index);
  ClaimGuard claims(file, std::move(indexes));

  const uint64_t start = run.front().loc.compressed_offset;
  Bytes buf(End(run.back().loc) - start);
  std::string what = source_->Describe(*run.front().chunk);
  if (run.size() > 1) what += " (+" + std::to_string(run.size() - 1) + " merged)";
  RETURN_IF_ERROR(source_->ReadStored(run.front().chunk->blob_index, start, buf, what));
  if (!want_first) {
    Add(prefetch_reads_);
    Add(prefetch_chunks_, run.size());
    Add(prefetch_bytes_, buf.size());
  } else {
    Add(merged_chunks_, run.size() - 1);
  }

  const bool validate = source_->validate_digest();
  Bytes first;
  Status first_status;
  for (size_t i = 0; i < run.size(); ++i) {
    const Member& m = run[i];
    ByteSpan stored(buf.data() + (m.loc.compressed_offset - start), m.loc.compressed_size);
    bool returned = want_first && i == 0;
    // The raw layout stores `stored` as is; it needs decoding only to check or return it.
    Bytes data;
    if (returned || validate || !file.raw()) {
      Result<Bytes> decoded = source_->Decode(*m.chunk, m.loc, stored);
      Status st = decoded.ok() ? Status::OK() : decoded.status();
      if (st.ok() && validate) st = source_->Verify(*m.chunk, *decoded);
      if (!st.ok()) {
        // The other members are still filled; the caller gets this chunk's error. A chunk
        // that only the CI array locates may have been located wrongly: let the source
        // decide whether to read the CI array again.
        source_->ReportBadChunk(*m.chunk, m.loc, st);
        if (returned) first_status = st;
        LOG_WARN("blob cache: not caching {}: {}", source_->Describe(*m.chunk), st.ToString());
        claims.Release(i);
        continue;
      }
      data = std::move(decoded).value();
    }
    ByteSpan to_store = file.raw() ? stored : ByteSpan(data);
    if (Status st = file.Fill(m.chunk->index, m.range.offset, to_store); st.ok()) {
      Add(chunks_written_);
      Add(bytes_written_, to_store.size());
    } else {
      Add(write_errors_);
      LOG_WARN("blob cache: {}: {}", source_->Describe(*m.chunk), st.ToString());
    }
    claims.Release(i);
    if (returned) first = std::move(data);
  }
  if (!first_status.ok()) return first_status;
  return first;
}

Status BlobCache::Warm(std::span<const meta::ChunkInfo> chunks, uint64_t merge_size) {
  Status first_error;
  auto note = [&](const Status& st) {
    if (first_error.ok() && !st.ok()) first_error = st;
  };
  for (size_t i = 0; i < chunks.size(); ++i) {
    const meta::ChunkInfo& c = chunks[i];
    BlobCacheFile* file = GetFile(c.blob_index);
    if (file == nullptr) {
      if (c.blob_index >= image_.blobs.size()) note(source_->CheckDescriptor(c));
      continue;
    }
    Result<Member> m = Prepare(*file, c);
    if (!m.ok()) {
      note(m.status());
      continue;
    }
    if (file->TryClaim(c.index, false) != BlobCacheFile::Claim::kClaimed) continue;
    std::vector<Member> run{*m};
    ExtendRun(*file, run, chunks.subspan(i + 1), merge_size);
    note(FetchRun(*file, run, /*want_first=*/false).status());
    i += run.size() - 1;
  }
  return first_error;
}

Result<std::vector<std::string>> BlobCache::CompleteDataFiles() {
  ASSIGN_OR_RETURN(std::vector<std::string> paths, DataFiles());
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    const BlobCacheFile* file = GetFile(i);
    if (file->ready_count() != file->chunk_count()) {
      return Status::NotFound("blob " + image_.blobs[i].blob_id + ": " +
                              std::to_string(file->ready_count()) + " of " +
                              std::to_string(file->chunk_count()) + " chunks cached");
    }
  }
  return paths;
}

Result<std::vector<std::string>> BlobCache::DataFiles() {
  if (opts_.raw) return Status::NotSupported("blob cache keeps compressed data (cache.compressed)");
  std::vector<std::string> paths;
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    const BlobCacheFile* file = GetFile(i);
    if (file == nullptr) {
      return Status::NotSupported("blob " + image_.blobs[i].blob_id + " is not cached");
    }
    paths.push_back(file->data_path());
  }
  return paths;
}

bool BlobCache::IsReady(const meta::ChunkInfo& chunk) {
  BlobCacheFile* file = GetFile(chunk.blob_index);
  return file != nullptr && file->IsReady(chunk.index);
}

BlobCacheFile* BlobCache::LocateReady(const meta::ChunkInfo& chunk, uint64_t offset_in_chunk,
                                      uint64_t size, uint64_t* file_offset) {
  if (opts_.raw || source_->validate_digest()) return nullptr;
  if (!source_->CheckDescriptor(chunk).ok()) return nullptr;  // ReadChunk reports it
  if (offset_in_chunk > chunk.uncompressed_size ||
      size > chunk.uncompressed_size - offset_in_chunk) {
    return nullptr;
  }
  BlobCacheFile* file = GetFile(chunk.blob_index);
  if (file == nullptr || chunk.index >= file->chunk_count() || !file->IsReady(chunk.index)) {
    return nullptr;
  }
  Result<Member> m = Prepare(*file, chunk);
  if (!m.ok()) return nullptr;
  *file_offset = m->range.offset + offset_in_chunk;
  return file;
}

bool BlobCache::ReadReadyRange(const meta::ChunkInfo& chunk, uint64_t offset_in_chunk,
                               std::span<uint8_t> out) {
  uint64_t at = 0;
  BlobCacheFile* file = LocateReady(chunk, offset_in_chunk, out.size(), &at);
  if (file == nullptr || !file->Read(at, out).ok()) return false;
  Add(range_hits_);
  return true;
}

bool BlobCache::ViewReadyRange(const meta::ChunkInfo& chunk, uint64_t offset_in_chunk,
                               std::span<uint8_t> dst, ReadPieces* out) {
  uint64_t at = 0;
  BlobCacheFile* file = LocateReady(chunk, offset_in_chunk, dst.size(), &at);
  if (file == nullptr) return false;
  const uint8_t* p = out->CanReference() ? file->View(at, dst.size()) : nullptr;
  if (p != nullptr) {
    out->Keep(file->mapping());
    out->Add(p, dst.size());
  } else {
    if (!file->Read(at, dst).ok()) return false;
    out->Add(dst.data(), dst.size());
  }
  Add(range_hits_);
  return true;
}

BlobCache::Stats BlobCache::stats() const {
  Stats s;
  s.disk_hits = disk_hits_.load(std::memory_order_relaxed);
  s.range_hits = range_hits_.load(std::memory_order_relaxed);
  s.disk_bad = disk_bad_.load(std::memory_order_relaxed);
  s.chunks_written = chunks_written_.load(std::memory_order_relaxed);
  s.bytes_written = bytes_written_.load(std::memory_order_relaxed);
  s.write_errors = write_errors_.load(std::memory_order_relaxed);
  s.merged_chunks = merged_chunks_.load(std::memory_order_relaxed);
  s.prefetch_reads = prefetch_reads_.load(std::memory_order_relaxed);
  s.prefetch_chunks = prefetch_chunks_.load(std::memory_order_relaxed);
  s.prefetch_bytes = prefetch_bytes_.load(std::memory_order_relaxed);
  s.bypassed = bypassed_.load(std::memory_order_relaxed);
  for (const auto& slot : slots_) {
    std::lock_guard<std::mutex> lock(slot->mu);
    if (slot->file == nullptr) continue;
    s.ready_chunks += slot->file->ready_count();
    s.total_chunks += slot->file->chunk_count();
  }
  return s;
}

}  // namespace nydus::storage
