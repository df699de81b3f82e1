// ChunkReader: turns chunk descriptors into verified, decompressed bytes.
//   [blob cache on disk (work_dir set, blob_cache.h): ready chunks are read locally, missing
//    ones are fetched in merged backend requests and stored]
//   backend range read → decompress (none/lz4/zstd/gzip) → digest check (when validating)
//   → bounded in-memory LRU cache of decompressed chunks (so sequential reads never
//   decompress a chunk twice) → caller.
// For RAFS v6 the compressed location of chunk i of a blob comes from that blob's CI array
// (blob meta, read once per blob and validated against the blob table); for v5 from the
// chunk records. Concurrent reads of the same missing chunk fetch it once.
// A failed read, short read, decompression error or digest mismatch is an error for that
// chunk only (IOError/Corruption naming the blob and chunk), never zeros or wrong bytes.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/read_pieces.h"
#include "base/result.h"
#include "meta/image.h"
#include "storage/blob_backend.h"

namespace nydus::storage {

struct ChunkReaderOptions {
  // Verify every chunk fetched or read from the blob cache: v1 `digest_validate`, v2
  // `rafs.validate || cache.validate` (the reference ORs them).
  bool validate_digest = false;
  uint64_t cache_bytes = 64ull << 20;  // decompressed-chunk LRU budget

  // Blob cache (v1 cache.type "blobcache"/"filecache", v2 cache.type "blobcache"/"filecache").
  // Empty: no local cache, every LRU miss reads the backend. The directory must exist.
  std::string work_dir;           // v1 cache.config.work_dir, v2 cache.filecache.work_dir
  bool cache_compressed = false;  // cache.compressed: keep stored bytes (`<id>.blob.raw`)
  // Largest backend request for an on-demand miss and the chunks merged after it
  // (v1 amplify_io, v2 rafs.batch_size; default 128 KiB). Only used with a work_dir.
  uint64_t merge_size = 128 << 10;
};

class ChunkReader {
 public:
  // `image` and `backend` are borrowed and must outlive the reader.
  ChunkReader(const meta::Image& image, BlobBackend* backend, const ChunkReaderOptions& opts);
  ~ChunkReader();
  ChunkReader(const ChunkReader&) = delete;
  ChunkReader& operator=(const ChunkReader&) = delete;

  // The decompressed bytes of `chunk` (exactly chunk.uncompressed_size), shared immutable.
  // Chunks are cached by (blob_index, index); a cached chunk whose digest or size differs
  // from `chunk` (two descriptors for one index: a corrupt bootstrap) is Corruption.
  Result<std::shared_ptr<const Bytes>> ReadChunk(const meta::ChunkInfo& chunk);

  // Reads file bytes [offset, offset + out.size()) of a regular file whose chunks are
  // `chunks` (sorted by file_offset) and whose size is `file_size`; returns the number of
  // bytes copied (short only at end of file; 0 at or past it). A byte of the range not
  // covered by a chunk is Corruption; on any error no byte count is returned and `out` may
  // be partly written.
  // With a blob cache, a missing chunk is fetched together with the following chunks of
  // `chunks` (also past the requested range) up to merge_size.
  // With `pieces`, the result is described there instead, in order, without copies where
  // possible: ranges ready in the blob cache's mapped file and ranges of decoded chunks are
  // referenced where they are (and kept alive by `pieces`) while pieces->CanReference(); the
  // rest is read into `out` at its place and referenced there.
  Result<size_t> ReadFile(const std::vector<meta::ChunkInfo>& chunks, uint64_t file_size,
                          uint64_t offset, std::span<uint8_t> out, ReadPieces* pieces = nullptr);

  // Prefetch entry point: fills the blob cache for `chunks` with backend requests of up to
  // `merge_size` bytes (prefetch batch_size / merging_size) over runs of missing chunks
  // stored contiguously, in list order. Chunks already ready or being filled are skipped,
  // nothing enters the LRU. Returns the first error after trying every chunk;
  // NotSupported without a blob cache.
  Status Warm(const std::vector<meta::ChunkInfo>& chunks, uint64_t merge_size);

  // Whether `chunk` is ready in the blob cache (false without one).
  bool IsReady(const meta::ChunkInfo& chunk);
  bool has_blob_cache() const;
  // BlobCache::CompleteDataFiles; NotSupported without a blob cache.
  Result<std::vector<std::string>> CompleteCacheFiles();
  // BlobCache::DataFiles; NotSupported without a blob cache.
  Result<std::vector<std::string>> CacheDataFiles();

  // Counters since construction. cache_misses counts chunk fetches started (one per
  // single-flight leader); errors counts fetches that failed (waiters not counted again);
  // coalesced counts ReadChunk calls that waited for another caller's fetch of the same
  // chunk; cache_bytes is the current LRU footprint. backend_reads/bytes count every chunk
  // data request (on-demand, merged and prefetch); meta_reads/bytes blob-meta (v6 CI array, ToC)
  // reads from the backend (0 once `<id>.blob.meta` exists). The blobcache_* counters are 0 without
  // a blob cache (see BlobCache::Stats for their meaning).
  struct Stats {
    uint64_t backend_reads = 0, backend_bytes = 0, cache_hits = 0, cache_misses = 0, errors = 0;
    uint64_t coalesced = 0, cache_bytes = 0, cache_evictions = 0;
    uint64_t meta_reads = 0, meta_bytes = 0;
    uint64_t blobcache_disk_hits = 0, blobcache_range_hits = 0, blobcache_disk_bad = 0;
    uint64_t blobcache_chunks_written = 0, blobcache_bytes_written = 0;
    uint64_t blobcache_write_errors = 0, blobcache_merged_chunks = 0;
    uint64_t blobcache_prefetch_reads = 0, blobcache_prefetch_chunks = 0;
    uint64_t blobcache_prefetch_bytes = 0, blobcache_bypassed = 0;
    uint64_t blobcache_ready_chunks = 0, blobcache_total_chunks = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nydus::storage
