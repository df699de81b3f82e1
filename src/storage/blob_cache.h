// BlobCache: the local blob cache (`cache.type: blobcache`, v2 `filecache`) between
// ChunkReader and the backend. Per blob it keeps a data file and a readiness bitmap in
// work_dir (blob_cache_file.h, reference spec §7); the v6 CI array copy (`.blob.meta`) is
// kept by BlobChunkSource.
//
// Read path for one chunk (ReadChunk):
//   ready      → read the cached bytes (decompress in raw layout) → verify when validating
//                → return. Cached bytes that cannot be read in full, do not decompress or
//                (when validating) do not match the digest are refetched from the backend
//                and rewritten, as the reference does (cachedfile.rs read_file_cache failure
//                falls back to the backend); the caller never sees them. Without validation
//                a corruption that still decodes is not detectable (reference behaviour).
//   claimed by another fill (prefetch or another reader's merged request)
//              → wait for that fill only, then look again.
//   missing    → claim it plus the following candidates that are missing, unclaimed, in
//                the same blob and stored contiguously, up to merge_size bytes in total;
//                read them with one backend request; decode, verify (when validating),
//                write each one and then mark it ready; return the requested chunk. A
//                member that fails to decode or verify is not written and is reported to
//                BlobChunkSource::ReportBadChunk (which may drop a suspect CI array).
// A failed fill never marks a chunk ready; a failure to write the cache file is counted and
// the data is still returned. Blobs the cache cannot index (no chunk count) and chunks whose
// cache range is invalid bypass the cache.
//
// Warm fills the cache for a list of chunks with merged requests (the prefetcher's entry
// point), skipping chunks that are ready or being filled, so on-demand reads only ever wait
// for a request that carries the very chunk they need.
//
// Thread-safety: all methods may be called concurrently; `image` and `source` are borrowed
// and must outlive the cache.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/read_pieces.h"
#include "base/result.h"
#include "meta/image.h"
#include "storage/blob_cache_file.h"
#include "storage/blob_chunk_source.h"

namespace nydus::storage {

struct BlobCacheOptions {
  std::string work_dir;  // must exist
  bool raw = false;      // cache.compressed: keep the stored bytes (`<id>.blob.raw`)
};

class BlobCache {
 public:
  BlobCache(const meta::Image& image, BlobChunkSource* source, BlobCacheOptions opts);
  ~BlobCache();
  BlobCache(const BlobCache&) = delete;
  BlobCache& operator=(const BlobCache&) = delete;

  // The decompressed, verified bytes of `chunk`; `followers` are the chunks that may be
  // fetched with it (the rest of the file, in order).
  Result<Bytes> ReadChunk(const meta::ChunkInfo& chunk, std::span<const meta::ChunkInfo> followers,
                          uint64_t merge_size);

  // Fills the cache for `chunks` (any blobs, any order; runs are merged in list order).
  // Returns the first error after trying every chunk.
  Status Warm(std::span<const meta::ChunkInfo> chunks, uint64_t merge_size);

  // Whether `chunk` is ready in the cache (false for a blob that cannot be cached).
  bool IsReady(const meta::ChunkInfo& chunk);

  // The data files of every blob, in blob table order, when each one holds every chunk of
  // its blob uncompressed at its uncompressed offset (the layout a RAFS v6 device has, so the
  // kernel's EROFS can read them as the image's devices). NotFound naming the first blob that
  // is not complete; NotSupported for the raw layout or a blob the cache cannot hold.
  Result<std::vector<std::string>> CompleteDataFiles();
  // The data files of every blob, in blob table order, whatever they hold (opened or created
  // as a read would). NotSupported as above.
  Result<std::vector<std::string>> DataFiles();

  // The fast path for a complete cache: copies bytes [offset_in_chunk, +out.size()) of
  // `chunk` straight from the cache file into `out`, when the chunk is ready there in the
  // uncompressed layout and no digest check is due, so there is nothing to decode or verify
  // and no chunk-sized buffer to fill. No claim is taken: a ready chunk's bytes are only ever
  // rewritten with the same bytes (repair). Returns false, having counted nothing, when it
  // cannot serve the range (not ready, raw layout, validating, uncached blob, bad descriptor
  // or a short read): the caller then goes through ReadChunk, which fetches or repairs.
  bool ReadReadyRange(const meta::ChunkInfo& chunk, uint64_t offset_in_chunk,
                      std::span<uint8_t> out);
  // The same fast path for a gathered reply: appends bytes [offset_in_chunk, +dst.size()) of
  // `chunk` to `out` as a piece of the cache file's mapping (kept alive by `out`) when the
  // file is mapped, covers the range and `out` has room to reference it; otherwise reads them
  // into `dst` (as ReadReadyRange) and appends `dst`. False, with nothing appended, where
  // ReadReadyRange would fail.
  bool ViewReadyRange(const meta::ChunkInfo& chunk, uint64_t offset_in_chunk,
                      std::span<uint8_t> dst, ReadPieces* out);

  struct Stats {
    uint64_t disk_hits = 0;       // chunks served from the cache file
    uint64_t range_hits = 0;      // ReadReadyRange calls served (part of a chunk each)
    uint64_t disk_bad = 0;        // ready chunks whose cached bytes were unusable (refetched)
    uint64_t chunks_written = 0;  // chunks filled (written and marked ready)
    uint64_t bytes_written = 0;
    uint64_t write_errors = 0;
    uint64_t merged_chunks = 0;    // chunks fetched along with an on-demand miss
    uint64_t prefetch_reads = 0;   // backend requests issued by Warm
    uint64_t prefetch_chunks = 0;  // chunks fetched by Warm
    uint64_t prefetch_bytes = 0;   // backend bytes read by Warm
    uint64_t bypassed = 0;         // chunk reads that could not use the cache
    uint64_t ready_chunks = 0;     // currently ready, over the blobs opened so far
    uint64_t total_chunks = 0;     // chunks of the blobs opened so far
  };
  Stats stats() const;

 private:
  struct Member {
    const meta::ChunkInfo* chunk;
    ChunkLocation loc;
    BlobCacheFile::Range range;
  };
  struct Slot {
    std::mutex mu;
    std::unique_ptr<BlobCacheFile> file;  // guarded by mu; never reset once set
    bool unusable = false;                // guarded by mu; open failed once: bypass
    // file.get() once it is open: read without the lock on every chunk read.
    std::atomic<BlobCacheFile*> published{nullptr};
  };

  // The open cache file of the blob, or nullptr when the blob bypasses the cache.
  BlobCacheFile* GetFile(uint32_t blob_index);
  // Locates `chunk` and its cache range (for a chunk of `file`).
  Result<Member> Prepare(const BlobCacheFile& file, const meta::ChunkInfo& chunk);
  // The file holding bytes [offset_in_chunk, +size) of `chunk` ready to be read as they are
  // (uncompressed layout, no digest check due), with their offset in it; nullptr otherwise.
  BlobCacheFile* LocateReady(const meta::ChunkInfo& chunk, uint64_t offset_in_chunk, uint64_t size,
                             uint64_t* file_offset);
  Result<Bytes> ReadCached(const BlobCacheFile& file, const Member& m);
  // Adds to `run` (whose members are claimed) the leading `candidates` that can join it.
  void ExtendRun(BlobCacheFile& file, std::vector<Member>& run,
                 std::span<const meta::ChunkInfo> candidates, uint64_t merge_size);
  // One backend read for the whole claimed `run`, then fill each member; releases every
  // claim. Returns run[0]'s decompressed bytes when `want_first`, else empty bytes.
  Result<Bytes> FetchRun(BlobCacheFile& file, const std::vector<Member>& run, bool want_first);

  const meta::Image& image_;
  BlobChunkSource* const source_;
  const BlobCacheOptions opts_;
  std::vector<std::unique_ptr<Slot>> slots_;  // one per image_.blobs entry; fixed size

  std::atomic<uint64_t> disk_hits_{0}, disk_bad_{0}, chunks_written_{0}, bytes_written_{0};
  std::atomic<uint64_t> write_errors_{0}, merged_chunks_{0}, prefetch_reads_{0};
  std::atomic<uint64_t> prefetch_chunks_{0}, prefetch_bytes_{0}, bypassed_{0}, range_hits_{0};
};

}  // namespace nydus::storage
