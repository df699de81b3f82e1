// ChunkReader: turns chunk descriptors into verified, decompressed bytes.
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
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "meta/image.h"
#include "storage/blob_backend.h"

namespace nydus::storage {

struct ChunkReaderOptions {
  bool validate_digest = false;              // device.digest_validate / rafs.validate
  uint64_t cache_bytes = 64ull << 20;        // decompressed-chunk LRU budget
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
  Result<size_t> ReadFile(const std::vector<meta::ChunkInfo>& chunks, uint64_t file_size,
                          uint64_t offset, std::span<uint8_t> out);

  // Counters since construction. cache_misses counts chunk fetches started (one per
  // single-flight leader); errors counts fetches that failed (waiters not counted again);
  // coalesced counts ReadChunk calls that waited for another caller's fetch of the same
  // chunk; cache_bytes is the current LRU footprint.
  struct Stats {
    uint64_t backend_reads = 0, backend_bytes = 0, cache_hits = 0, cache_misses = 0, errors = 0;
    uint64_t coalesced = 0, cache_bytes = 0, cache_evictions = 0;
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nydus::storage
