// ChunkReader: LRU → single-flight → [BlobCache →] BlobChunkSource, and file-range reads.

#include "storage/chunk_reader.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "storage/blob_cache.h"
#include "storage/blob_chunk_source.h"
#include "storage/chunk_cache.h"
#include "storage/single_flight.h"

namespace nydus::storage {

namespace {

using ChunkResult = Result<std::shared_ptr<const Bytes>>;

// One piece of a file read: bytes [offset_in_chunk, +length) of `chunk`, copied to
// out[out_offset]. A list of segments is the seam where adjacent chunk fetches can later
// be merged into one backend request.
struct Segment {
  const meta::ChunkInfo* chunk;
  uint64_t offset_in_chunk;
  uint64_t length;
  uint64_t out_offset;
};

// The index of the chunk whose file range contains `pos`: the last chunk starting at or
// before it. Does not check that the chunk reaches `pos`.
size_t FindChunk(const std::vector<meta::ChunkInfo>& chunks, uint64_t pos) {
  auto it =
      std::upper_bound(chunks.begin(), chunks.end(), pos,
                       [](uint64_t p, const meta::ChunkInfo& c) { return p < c.file_offset; });
  return it == chunks.begin() ? chunks.size() : static_cast<size_t>(it - chunks.begin()) - 1;
}

// Splits file bytes [begin, end) into per-chunk segments. Any byte not covered by a chunk
// is Corruption: RAFS builders never leave holes between chunks.
Result<std::vector<Segment>> PlanRead(const std::vector<meta::ChunkInfo>& chunks, uint64_t begin,
                                      uint64_t end) {
  std::vector<Segment> plan;
  uint64_t pos = begin;
  size_t i = FindChunk(chunks, pos);
  while (pos < end) {
    // The first chunk may start before `pos`; every following one must start exactly at it.
    bool first = pos == begin;
    if (i >= chunks.size() || chunks[i].file_offset > pos ||
        (!first && chunks[i].file_offset != pos) ||
        pos - chunks[i].file_offset >= chunks[i].uncompressed_size) {
      return Status::Corruption("file offset " + std::to_string(pos) +
                                " is not covered by any chunk (" + std::to_string(chunks.size()) +
                                " chunks)");
    }
    const meta::ChunkInfo& c = chunks[i];
    uint64_t in_chunk = pos - c.file_offset;
    uint64_t len = std::min<uint64_t>(c.uncompressed_size - in_chunk, end - pos);
    plan.push_back(Segment{&c, in_chunk, len, pos - begin});
    pos += len;
    ++i;
  }
  return plan;
}

}  // namespace

struct ChunkReader::Impl {
  Impl(const meta::Image& image, BlobBackend* backend, const ChunkReaderOptions& opts)
      : source(image, backend, opts.validate_digest, opts.work_dir),
        cache(opts.cache_bytes),
        merge_size(opts.merge_size),
        amplify(!opts.validate_digest && image.IsV6()) {
    if (!opts.work_dir.empty()) {
      blob_cache = std::make_unique<BlobCache>(
          image, &source, BlobCacheOptions{opts.work_dir, opts.cache_compressed});
    }
  }

  // `followers`: chunks the blob cache may fetch along with `chunk`.
  ChunkResult Read(const meta::ChunkInfo& chunk, std::span<const meta::ChunkInfo> followers);
  // Accepts a cached or shared value only if it was fetched for the same chunk contents.
  ChunkResult Match(const meta::ChunkInfo& chunk, const CachedChunk& value) const;

  BlobChunkSource source;
  ChunkCache cache;
  const uint64_t merge_size;
  // v6 without digest validation: a miss also fetches the chunks stored after the file's
  // last one (the reference's amplify_io over the blob), so reading many small files costs
  // one request per merge_size bytes instead of one per file. With validation the neighbours'
  // digests are not at hand, so only the file's own chunks are merged.
  const bool amplify;
  std::unique_ptr<BlobCache> blob_cache;  // null without a work_dir
  SingleFlight<ChunkKey, Result<CachedChunk>, ChunkKeyHash> flights;
  std::atomic<uint64_t> cache_hits{0};
  std::atomic<uint64_t> cache_misses{0};
  std::atomic<uint64_t> errors{0};
};

ChunkResult ChunkReader::Impl::Match(const meta::ChunkInfo& chunk, const CachedChunk& value) const {
  if (value.digest != chunk.digest || value.data->size() != chunk.uncompressed_size) {
    return Status::Corruption(source.Describe(chunk) +
                              ": conflicting chunk descriptors for one chunk index (digest " +
                              DigestHex(chunk.digest) + " vs " + DigestHex(value.digest) + ")");
  }
  return value.data;
}

ChunkResult ChunkReader::Impl::Read(const meta::ChunkInfo& chunk,
                                    std::span<const meta::ChunkInfo> followers) {
  RETURN_IF_ERROR(source.CheckDescriptor(chunk));
  ChunkKey key{chunk.blob_index, chunk.index};
  if (CachedChunk hit = cache.Lookup(key); hit.data != nullptr) {
    cache_hits.fetch_add(1, std::memory_order_relaxed);
    return Match(chunk, hit);
  }
  // The leader re-checks the cache: a previous leader for this key may have published the
  // chunk and left between our lookup and our registration (see single_flight.h).
  auto lead = [&]() -> Result<CachedChunk> {
    if (CachedChunk hit = cache.Lookup(key); hit.data != nullptr) {
      cache_hits.fetch_add(1, std::memory_order_relaxed);
      return hit;
    }
    cache_misses.fetch_add(1, std::memory_order_relaxed);
    Result<Bytes> data = Status::OK();
    if (blob_cache && amplify) {
      const meta::ChunkInfo& last = followers.empty() ? chunk : followers.back();
      std::vector<meta::ChunkInfo> more(followers.begin(), followers.end());
      uint64_t planned = chunk.compressed_size;
      for (const meta::ChunkInfo& c : followers) planned += c.compressed_size;
      if (planned < merge_size) {
        for (meta::ChunkInfo& n :
             source.NeighborChunks(last.blob_index, last.index, merge_size - planned)) {
          more.push_back(n);
        }
      }
      data = blob_cache->ReadChunk(chunk, more, merge_size);
    } else {
      data = blob_cache ? blob_cache->ReadChunk(chunk, followers, merge_size) : source.Fetch(chunk);
    }
    if (!data.ok()) {
      errors.fetch_add(1, std::memory_order_relaxed);
      return data.status();
    }
    CachedChunk value{chunk.digest, std::make_shared<const Bytes>(std::move(data).value())};
    cache.Insert(key, value);
    return value;
  };
  Result<CachedChunk> r = flights.Do(key, lead);
  if (!r.ok()) return r.status();
  return Match(chunk, *r);
}

ChunkReader::ChunkReader(const meta::Image& image, BlobBackend* backend,
                         const ChunkReaderOptions& opts)
    : impl_(std::make_unique<Impl>(image, backend, opts)) {}

ChunkReader::~ChunkReader() = default;

Result<std::shared_ptr<const Bytes>> ChunkReader::ReadChunk(const meta::ChunkInfo& chunk) {
  return impl_->Read(chunk, {});
}

Result<size_t> ChunkReader::ReadFile(const std::vector<meta::ChunkInfo>& chunks, uint64_t file_size,
                                     uint64_t offset, std::span<uint8_t> out, ReadPieces* pieces) {
  if (offset >= file_size || out.empty()) return size_t{0};
  uint64_t end = offset + std::min<uint64_t>(out.size(), file_size - offset);
  ASSIGN_OR_RETURN(std::vector<Segment> plan, PlanRead(chunks, offset, end));
  for (const Segment& seg : plan) {
    std::span<uint8_t> dst = out.subspan(seg.out_offset, seg.length);
    BlobCache* cache = impl_->blob_cache.get();
    if (cache != nullptr &&
        (pieces != nullptr ? cache->ViewReadyRange(*seg.chunk, seg.offset_in_chunk, dst, pieces)
                           : cache->ReadReadyRange(*seg.chunk, seg.offset_in_chunk, dst))) {
      continue;
    }
    std::span<const meta::ChunkInfo> followers(seg.chunk + 1, chunks.data() + chunks.size());
    ASSIGN_OR_RETURN(std::shared_ptr<const Bytes> data, impl_->Read(*seg.chunk, followers));
    if (pieces != nullptr && pieces->CanReference()) {  // decoded bytes are immutable: no copy
      pieces->Keep(data);
      pieces->Add(data->data() + seg.offset_in_chunk, seg.length);
      continue;
    }
    std::memcpy(dst.data(), data->data() + seg.offset_in_chunk, seg.length);
    if (pieces != nullptr) pieces->Add(dst.data(), dst.size());
  }
  return static_cast<size_t>(end - offset);
}

Status ChunkReader::Warm(const std::vector<meta::ChunkInfo>& chunks, uint64_t merge_size) {
  if (!impl_->blob_cache) return Status::NotSupported("prefetch needs a blob cache (work_dir)");
  return impl_->blob_cache->Warm(chunks, merge_size);
}

bool ChunkReader::IsReady(const meta::ChunkInfo& chunk) {
  return impl_->blob_cache && impl_->blob_cache->IsReady(chunk);
}

bool ChunkReader::has_blob_cache() const { return impl_->blob_cache != nullptr; }

Result<std::vector<std::string>> ChunkReader::CompleteCacheFiles() {
  if (!impl_->blob_cache) return Status::NotSupported("no blob cache (work_dir)");
  return impl_->blob_cache->CompleteDataFiles();
}

Result<std::vector<std::string>> ChunkReader::CacheDataFiles() {
  if (!impl_->blob_cache) return Status::NotSupported("no blob cache (work_dir)");
  return impl_->blob_cache->DataFiles();
}

ChunkReader::Stats ChunkReader::stats() const {
  Stats s;
  s.backend_reads = impl_->source.backend_reads();
  s.backend_bytes = impl_->source.backend_bytes();
  s.cache_hits = impl_->cache_hits.load(std::memory_order_relaxed);
  s.cache_misses = impl_->cache_misses.load(std::memory_order_relaxed);
  s.errors = impl_->errors.load(std::memory_order_relaxed);
  s.coalesced = impl_->flights.joins();
  s.cache_bytes = impl_->cache.size_bytes();
  s.cache_evictions = impl_->cache.evictions();
  s.meta_reads = impl_->source.meta_reads();
  s.meta_bytes = impl_->source.meta_bytes();
  if (impl_->blob_cache) {
    BlobCache::Stats b = impl_->blob_cache->stats();
    s.blobcache_disk_hits = b.disk_hits;
    s.blobcache_range_hits = b.range_hits;
    s.blobcache_disk_bad = b.disk_bad;
    s.blobcache_chunks_written = b.chunks_written;
    s.blobcache_bytes_written = b.bytes_written;
    s.blobcache_write_errors = b.write_errors;
    s.blobcache_merged_chunks = b.merged_chunks;
    s.blobcache_prefetch_reads = b.prefetch_reads;
    s.blobcache_prefetch_chunks = b.prefetch_chunks;
    s.blobcache_prefetch_bytes = b.prefetch_bytes;
    s.blobcache_bypassed = b.bypassed;
    s.blobcache_ready_chunks = b.ready_chunks;
    s.blobcache_total_chunks = b.total_chunks;
  }
  return s;
}

}  // namespace nydus::storage
