// BlobWriter: writes one native RAFS data blob (reference spec §3.0, §3.4, §3.6).
//
// The blob is written strictly sequentially (never seeks), so the target may be a regular
// file, a pipe or a FIFO; the sha256 that names the blob is computed as bytes go out. Layout:
//
//   chunk data (compressed chunks back to back from offset 0)   [+ tar "image.blob"]
//   v6 only: compressed CI array (v1 records) + 4096-byte header [+ tar "blob.meta"]
//   blob-toc: chunk digest array, 32 B x chunk_count              + tar "blob.digest"
//   inline-meta: bootstrap (zstd when blob-toc, else raw)         + tar "image.boot"
//   blob-toc: ToC entries (128 B each)                            + tar "rafs.blob.toc"
//
// Tar headers ([...]) are written when inline-meta or blob-toc is on. v5 blobs carry no
// blob.meta (as the reference 2.2 builder). The blob id is the sha256 of every byte written
// except the blob.digest payload (its tar header is hashed) unless a forced id is given.
//
// Lifecycle (leveldb TableBuilder style):
//   Create → AddChunk/AddPreparedChunk* → FinishData → [build bootstrap] → Finish(bootstrap)
// or Abandon() at any point. Why two phases: with inline-meta the bootstrap must describe
// the blob yet is itself appended to it. FinishData() writes everything up to the bootstrap
// and returns the BlobInfo that bootstrap must record; as in nydus-image 2.2 that info has
//   - blob_id "x"*64 (readers substitute the id from the meta file name), or the forced id;
//   - compressed_size = bytes written so far (everything before image.boot);
//   - blob_toc_size 0 and blob_toc_digest zero (the ToC is written after the bootstrap).
// Finish(bootstrap) then appends image.boot and the ToC and returns the final BlobInfo
// (real id, whole file size, ToC fields) used to name the file and for --output-json.
// Without inline-meta, FinishData() already writes the ToC and returns the final info;
// Finish() (with an empty bootstrap) only flushes and closes.
//
// Empty blob: when no chunk was added, FinishData() writes nothing and returns a BlobInfo
// with chunk_count 0 (empty() is true): the caller should leave the blob out of the blob
// table and remove the file. With inline-meta, Finish(bootstrap) still writes image.boot
// (and the ToC), matching the reference.
//
// Thread-safety: a BlobWriter is used by one thread. PrepareChunk() is reentrant and is what
// callers run in parallel.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/digest.h"
#include "base/file_util.h"
#include "base/result.h"
#include "format/blob_meta.h"
#include "format/rafs.h"
#include "meta/image.h"

namespace nydus::builder {

struct BlobWriterOptions {
  uint32_t fs_version = 6;  // 5 or 6
  format::Compressor compressor = format::Compressor::kZstd;
  format::Digester digester = format::Digester::kBlake3;
  uint32_t chunk_size = format::kDefaultChunkSize;  // largest chunk AddChunk accepts
  bool aligned_chunk = false;  // v5: 4K-align uncompressed offsets; v6 always does
  bool inline_meta = false;    // --blob-inline-meta
  bool blob_toc = false;       // --features blob-toc (v6 only)
  uint32_t blob_index = 0;     // this blob's index in the image blob table
  std::string blob_id;         // forced id (--blob-id); empty: sha256 rule above
  uint32_t extra_features = 0;  // ORed into the blob's features (e.g. kBlobSeparatedPrefetch)
  // Called with every byte written to the blob, in file order, right after it is handed to
  // the file (or its buffer); lets a caller upload the blob while it is built.
  std::function<void(ByteSpan)> tee;
};

// A chunk digested and encoded for the blob. `data` is the compressed form when
// `compressed`, else the raw chunk (compression did not make it smaller).
struct PreparedChunk {
  Digest digest{};  // digest of the uncompressed chunk (the chunk id)
  uint32_t uncompressed_size = 0;
  bool compressed = false;
  Bytes data;
};

// Compresses `data` (whose digest is `digest`) with `algo`, applying the raw-store rule.
// REQUIRES: data non-empty. Reentrant.
Result<PreparedChunk> PrepareChunk(ByteSpan data, const Digest& digest, format::Compressor algo);
// Same, computing the digest with `digester` first.
Result<PreparedChunk> PrepareChunk(ByteSpan data, format::Digester digester,
                                   format::Compressor algo);

class BlobWriter {
 public:
  // Opens `path` for writing. A regular file is created or truncated (mode 0644); an
  // existing FIFO is opened without truncation (this blocks until a reader opens it).
  static Result<std::unique_ptr<BlobWriter>> Create(const std::string& path,
                                                    const BlobWriterOptions& options);
  // Writes to an open descriptor (file, pipe, FIFO), which the writer takes over. `name`
  // appears in error messages.
  static Result<std::unique_ptr<BlobWriter>> CreateForFd(UniqueFd fd, std::string name,
                                                         const BlobWriterOptions& options);
  ~BlobWriter();  // closes the descriptor; an unfinished blob is left as it is
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  // Sets the blob index stamped on chunks. REQUIRES: no chunk added yet (else Internal).
  Status SetBlobIndex(uint32_t blob_index);

  // Appends a chunk: digest, compress (raw when that does not shrink it), write. Returns its
  // ChunkInfo: index = write order, compressed_offset = running data offset,
  // uncompressed_offset per the alignment rule, file_offset 0 (the caller sets it).
  // REQUIRES: before FinishData; 1 <= data.size() <= chunk_size.
  Result<meta::ChunkInfo> AddChunk(ByteSpan data);
  // Same for a chunk prepared elsewhere (PrepareChunk). REQUIRES as above.
  Result<meta::ChunkInfo> AddPreparedChunk(const PreparedChunk& chunk);

  // Ends the chunk data and writes the sections before the bootstrap (see top). Returns
  // the BlobInfo the bootstrap must record. REQUIRES: called at most once.
  Result<meta::BlobInfo> FinishData();
  // Appends the bootstrap (inline-meta only; must be empty otherwise) and the ToC, flushes
  // and closes. Calls FinishData() first if it was not called. Returns the final BlobInfo.
  Result<meta::BlobInfo> Finish(ByteSpan bootstrap = {});
  // Stops writing; later calls fail. The descriptor is closed; the file is not removed.
  void Abandon();

  uint32_t chunk_count() const { return chunk_count_; }
  bool empty() const { return chunk_count_ == 0; }
  uint64_t bytes_written() const { return pos_; }
  const BlobWriterOptions& options() const { return options_; }

 private:
  enum class State { kData, kMeta, kDone, kAbandoned, kFailed };

  BlobWriter(UniqueFd fd, std::string name, const BlobWriterOptions& options);
  bool aligned() const { return options_.fs_version == 6 || options_.aligned_chunk; }
  bool tar_headers() const { return options_.inline_meta || options_.blob_toc; }
  uint32_t BlobFeatures() const;
  Status CheckState(State want, const char* op) const;
  // Writes bytes; `hashed` feeds them to the blob-id hash. Marks the writer failed on error.
  Status Write(ByteSpan data, bool hashed);
  Status WriteTarHeader(const char* name, uint64_t size);
  Status Flush();
  Status WriteBlobMeta();
  Status WriteDigestArray();
  Status WriteBootstrap(ByteSpan bootstrap);
  Status WriteToc();
  Status AddTocEntry(const char* name, format::Compressor algo, const Digest& digest,
                     uint64_t offset, uint64_t compressed_size, uint64_t uncompressed_size);
  meta::BlobInfo MakeBlobInfo() const;

  UniqueFd fd_;
  std::string name_;
  BlobWriterOptions options_;
  State state_ = State::kData;
  Status error_;  // first write error, returned by later calls

  Bytes buf_;                          // pending output, flushed at kBufferSize
  uint64_t pos_ = 0;                   // bytes written (including buffered)
  std::unique_ptr<Hasher> blob_hash_;  // sha256 for the blob id
  // sha256 of chunk data (+ its tar header) for the ToC; fed only with blob_toc.
  std::unique_ptr<Hasher> data_hash_;

  uint32_t chunk_count_ = 0;
  uint64_t data_size_ = 0;          // compressed chunk bytes
  uint64_t uncompressed_size_ = 0;  // next uncompressed offset (aligned per rule)
  Bytes ci_;                        // CI v1 records (v6)
  Bytes digests_;                   // chunk digests in index order (blob-toc)
  std::vector<format::TocEntry> toc_;

  // Section results.
  format::Compressor ci_compressor_ = format::Compressor::kNone;
  uint64_t ci_offset_ = 0;
  uint64_t ci_compressed_size_ = 0;
  uint32_t header_features_ = 0;  // features written in the blob.meta header
  uint32_t toc_size_ = 0;
  Digest toc_digest_{};
  std::string blob_id_;
};

}  // namespace nydus::builder
