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
// CI arrays that turn out wrong (self-heal). A CI array is checked when it is loaded
// (blob_meta_file.h), but a flipped bit can leave a plausible record. So:
//   - Locate compares the CI record of a chunk that comes from the bootstrap with the
//     bootstrap's own chunk record (stored offset and size, compressed flag, uncompressed
//     offset and size): RAFS v6 builders write both from the same chunk, and the reference
//     nydusd locates such chunks by the bootstrap's values (unless the blob inlines chunk
//     digests) and the neighbours it amplifies to by the CI's, so any difference means one
//     of them is damaged;
//   - chunks described by the CI alone (NeighborChunks: digest zero) cannot be compared, so
//     a decode or digest failure of such a chunk is reported through ReportBadChunk.
// Either way the blob's CI array is dropped (threads that still use it keep their reference
// to it) and its `.blob.meta` copy deleted, so the next access of the blob reads it from
// the backend again. The read that found the difference fails (Corruption); no byte is
// served from it. A decode or digest failure of a chunk whose location the bootstrap
// confirmed is a data fault and leaves the CI array alone.
// A CI read that is rejected as damaged (Corruption from blob_meta_file.h) is remembered.
// Recovery is bounded per blob: the first drop or re-read after a rejection happens at
// once, later ones at most once per `meta_refetch_interval`; in between, the blob's reads
// fail with the remembered error (or the CI mismatch) without reading the CI. So a blob
// whose remote CI is permanently bad costs about one CI read per interval, not one per read.
// I/O errors while reading the CI are not remembered: the next access simply tries again.
//
// The pieces of Fetch (Locate, ReadStored, Decode, Verify) are public for the blob cache,
// which reads merged ranges of several chunks and stores them; it reports decode and
// digest failures with ReportBadChunk.
//
// Errors name the blob id and the chunk index: IOError for backend failures (including a
// short blob), Corruption for inconsistent descriptors, undecodable data and digest
// mismatches, NotSupported for blob kinds this reader cannot serve (ZRAN, SEPARATE).
// Thread-safety: every method may be called concurrently, also for the same chunk.
#pragma once

#include <atomic>
#include <chrono>
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
  // v6: the CI array the location was read from (1, 2, ... per blob; 0 for v5), and whether
  // nothing but that CI array vouches for it (no bootstrap record to compare with).
  uint64_t ci_generation = 0;
  bool ci_only = false;
};

// Default for BlobChunkSource's meta_refetch_interval.
inline constexpr std::chrono::milliseconds kDefaultMetaRefetchInterval{10000};

class BlobChunkSource {
 public:
  // `image` and `backend` are borrowed and must outlive the source.
  // `meta_dir` empty: no local copy of CI arrays. `meta_refetch_interval`: the least time
  // between two recoveries (drop, re-read after a rejection) of one blob's CI array; the
  // first is never delayed.
  BlobChunkSource(const meta::Image& image, BlobBackend* backend, bool validate_digest,
                  std::string meta_dir = "",
                  std::chrono::milliseconds meta_refetch_interval = kDefaultMetaRefetchInterval);
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
  // A v6 CI record that disagrees with the chunk's bootstrap record is a Corruption and
  // drops the CI array (see the top comment).
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
  // Their digests are unknown (zero, which also tells Locate that only the CI array vouches
  // for them): only for use without digest validation. Empty for v5, zran blobs, or when
  // the blob cannot be opened.
  std::vector<meta::ChunkInfo> NeighborChunks(uint32_t blob_index, uint32_t after,
                                              uint64_t max_bytes);
  // Corruption unless `data` has the chunk's digest.
  Status Verify(const meta::ChunkInfo& chunk, ByteSpan data) const;
  // `error` is the Decode or Verify failure of `chunk`'s bytes read from the backend at
  // `loc` (from Locate). When only a CI array vouches for `loc`, that array is dropped
  // (bounded, see the top comment); otherwise nothing happens.
  void ReportBadChunk(const meta::ChunkInfo& chunk, const ChunkLocation& loc, const Status& error);
  bool validate_digest() const { return validate_digest_; }

  uint64_t backend_reads() const { return backend_reads_.load(); }
  uint64_t backend_bytes() const { return backend_bytes_.load(); }
  // Blob-meta reads from the backend (CI array, and the ToC when the CI is verified against
  // it), including reads whose content was then rejected; not counted in backend_reads.
  uint64_t meta_reads() const { return meta_reads_.load(); }
  uint64_t meta_bytes() const { return meta_bytes_.load(); }
  // CI arrays dropped as damaged (each followed by a fetch on the next access).
  uint64_t meta_drops() const { return meta_drops_.load(); }

 private:
  // One loaded CI array (v6). Immutable; owned by the slot and shared with NeighborChunks
  // while it builds descriptors from it (Locate copies the one record it needs).
  struct CiArray {
    std::vector<format::ChunkCompressInfo> entries;  // indexed by chunk index
    uint64_t generation = 0;
  };
  struct BlobSlot {
    // Serialises opening, loading and dropping, and guards the reads of `ci` (taken once
    // per Locate; the CI is loaded under it, so Locate waits for a (re)load).
    std::mutex mu;
    std::shared_ptr<BlobReader> reader;             // guarded by mu; never reset once set
    std::atomic<BlobReader*> open_reader{nullptr};  // reader.get() once set (lock-free reads)
    std::shared_ptr<const CiArray> ci;              // guarded by mu; v6: reset when dropped
    uint64_t generation = 0;                        // guarded by mu: CI arrays loaded so far
    Status rejection;        // guarded by mu: why the last CI load was rejected
    bool recovered = false;  // guarded by mu: last_recovery is set
    std::chrono::steady_clock::time_point last_recovery;  // guarded by mu
  };
  // The blob's reader, opened on first use; lock-free once open.
  Result<BlobReader*> GetReader(uint32_t blob_index);
  // REQUIRES: slot.mu held.
  Status OpenReader(BlobSlot& slot, const meta::BlobInfo& blob);
  // v6: opens the reader and loads the CI array into slot.ci when it is missing (bounded
  // after a rejection, see the top comment); on OK slot.ci is set. REQUIRES: slot.mu held.
  Status EnsureCi(BlobSlot& slot, uint32_t blob_index);
  Result<std::shared_ptr<const CiArray>> LoadCi(BlobSlot& slot, const meta::BlobInfo& blob);
  // Recovery budget of a blob (REQUIRES: slot.mu held): a drop, or a new read after a
  // rejected one, is allowed when none happened in the last meta_refetch_interval.
  bool CanRecover(const BlobSlot& slot, std::chrono::steady_clock::time_point now) const;
  void NoteRecovery(BlobSlot& slot, std::chrono::steady_clock::time_point now);
  // Drops CI array `generation` of the blob (if it is still the current one and the
  // recovery budget allows it) and deletes its local copy.
  void DropCi(uint32_t blob_index, uint64_t generation, const Status& why);
  // The v6 CI record of `chunk` against its bootstrap record; Corruption when they differ.
  Status CompareWithRecord(const meta::ChunkInfo& chunk, const format::ChunkCompressInfo& ci) const;
  // Checks a location (sizes against the chunk, range inside the blob).
  Status CheckLocation(const meta::ChunkInfo& chunk, const ChunkLocation& loc) const;

  const meta::Image& image_;
  BlobBackend* const backend_;
  const bool validate_digest_;
  const std::string meta_dir_;
  const std::chrono::milliseconds meta_refetch_interval_;
  std::vector<std::unique_ptr<BlobSlot>> slots_;  // one per image_.blobs entry; fixed size
  std::atomic<uint64_t> backend_reads_{0};
  std::atomic<uint64_t> backend_bytes_{0};
  std::atomic<uint64_t> meta_reads_{0};
  std::atomic<uint64_t> meta_bytes_{0};
  std::atomic<uint64_t> meta_drops_{0};
};

}  // namespace nydus::storage
