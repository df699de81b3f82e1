// BlobChunkSource: fetches one chunk from its blob and returns its verified, decompressed
// bytes, with no caching of chunk data. It is the "miss path" of ChunkReader:
//
//   locate (v6: the blob's CI array, v5: the chunk record) → backend range read
//   → decompress to exactly uncompressed_size → digest check (when validating).
//
// Per-blob state (the opened BlobReader and, for v6, the decoded CI array) is created lazily
// on the first chunk of that blob and then kept; a failure to create it is returned to the
// caller and retried on the next call. With a `meta_dir` (the blob cache's work_dir) the v6
// CI array is kept in `<meta_dir>/<blob_id>.blob.meta` (blob_meta_file.h) so that a
// restarted daemon does not read it from the backend again.
//
// The pieces of Fetch (Locate, ReadStored, Decode, Verify) are public for the blob cache,
// which reads merged ranges of several chunks and stores them.
//
// Errors name the blob id and the chunk index: IOError for backend failures (including a
// short blob), Corruption for inconsistent descriptors, undecodable data and digest
// mismatches, NotSupported for blob kinds this reader cannot serve (ZRAN, SEPARATE).
// Thread-safety: Fetch may be called concurrently, also for the same chunk.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "format/blob_meta.h"
#include "meta/image.h"
#include "storage/blob_backend.h"

namespace nydus::storage {

// Where a chunk's stored bytes are in its blob.
struct ChunkLocation {
  uint64_t compressed_offset = 0;
  uint32_t compressed_size = 0;
  bool compressed = false;
  uint64_t uncompressed_offset = 0;  // in the blob's uncompressed (cache file) space
};

class BlobChunkSource {
 public:
  // `image` and `backend` are borrowed and must outlive the source.
  // `meta_dir` empty: no local copy of CI arrays.
  BlobChunkSource(const meta::Image& image, BlobBackend* backend, bool validate_digest,
                  std::string meta_dir = "");
  ~BlobChunkSource();
  BlobChunkSource(const BlobChunkSource&) = delete;
  BlobChunkSource& operator=(const BlobChunkSource&) = delete;

  // Reads, decompresses and (when validating) verifies `chunk`.
  Result<Bytes> Fetch(const meta::ChunkInfo& chunk);

  // Checks the parts of `chunk` that need no I/O (blob index, sizes).
  Status CheckDescriptor(const meta::ChunkInfo& chunk) const;

  // "blob <id> chunk <index>", the prefix of every error about `chunk`.
  std::string Describe(const meta::ChunkInfo& chunk) const;

  // Where `chunk` is stored (opens the blob on first use); checks the descriptor first.
  Result<ChunkLocation> Locate(const meta::ChunkInfo& chunk);
  // One backend range read of blob `blob_index` (counted in backend_reads/bytes); `what`
  // prefixes errors.
  Status ReadStored(uint32_t blob_index, uint64_t offset, std::span<uint8_t> buf,
                    const std::string& what);
  // Stored bytes → exactly chunk.uncompressed_size bytes (Corruption when undecodable).
  Result<Bytes> Decode(const meta::ChunkInfo& chunk, const ChunkLocation& loc,
                       ByteSpan stored) const;
  // v6 read amplification: descriptors of the chunks stored right after CI entry `after` of
  // blob `blob_index` (indexes after+1, after+2, ...), built from the CI array, as long as
  // they are stored contiguously and their compressed sizes sum to at most `max_bytes`.
  // Their digests are unknown (zero): only for use without digest validation. Empty for
  // v5, zran blobs, or when the blob cannot be opened.
  std::vector<meta::ChunkInfo> NeighborChunks(uint32_t blob_index, uint32_t after,
                                              uint64_t max_bytes);
  // Corruption unless `data` has the chunk's digest.
  Status Verify(const meta::ChunkInfo& chunk, ByteSpan data) const;
  bool validate_digest() const { return validate_digest_; }

  uint64_t backend_reads() const { return backend_reads_.load(); }
  uint64_t backend_bytes() const { return backend_bytes_.load(); }
  // CI-array reads from the backend (not counted in backend_reads).
  uint64_t meta_reads() const { return meta_reads_.load(); }
  uint64_t meta_bytes() const { return meta_bytes_.load(); }

 private:
  // Immutable once built.
  struct BlobHandle {
    std::shared_ptr<BlobReader> reader;
    std::vector<format::ChunkCompressInfo> ci;  // v6 only: indexed by chunk index
  };
  struct BlobSlot {
    std::mutex mu;                             // serialises the lazy creation of `handle`
    std::unique_ptr<const BlobHandle> handle;  // guarded by mu; never reset once set
  };

  Result<const BlobHandle*> GetBlob(uint32_t blob_index);
  Result<std::unique_ptr<const BlobHandle>> OpenBlob(const meta::BlobInfo& blob);
  Result<ChunkLocation> LocateIn(const BlobHandle& handle, const meta::ChunkInfo& chunk) const;

  const meta::Image& image_;
  BlobBackend* const backend_;
  const bool validate_digest_;
  const std::string meta_dir_;
  std::vector<std::unique_ptr<BlobSlot>> slots_;  // one per image_.blobs entry; fixed size
  std::atomic<uint64_t> backend_reads_{0};
  std::atomic<uint64_t> backend_bytes_{0};
  std::atomic<uint64_t> meta_reads_{0};
  std::atomic<uint64_t> meta_bytes_{0};
};

}  // namespace nydus::storage
