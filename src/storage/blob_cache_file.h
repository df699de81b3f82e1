// BlobCacheFile: the on-disk cache of one blob in the blob cache's work_dir (reference spec
// §7) plus this process's fill claims on its chunks.
//
//   `<blob_id>`            uncompressed layout (cache.compressed = false): chunk data at its
//                          uncompressed offset; file size = blob uncompressed_size.
//   `<blob_id>.blob.raw`   raw layout (cache.compressed = true): the stored (possibly
//                          compressed) bytes at their compressed offset; file size =
//                          compressed_data_size.
//   `<blob_id>.chunk_map`  readiness bitmap by chunk index (chunk_map.h).
//
// A chunk is ready only after its bytes were written (see ChunkMap for what that guarantees).
// Opening repairs what a killed or foreign writer may have left behind by clearing the map
// rather than trusting it: a data file that is new or empty while bits are set, or whose size
// differs from the expected size (truncated, or from an older nydusd). The file is then set
// to its expected size (sparse).
//
// In the uncompressed layout the data file is also mapped read-only (View), so that a reply
// can be written straight from the page cache without a copy into a user buffer.
//
// Claims implement "one fill per chunk at a time" inside this process: TryClaim never blocks;
// a claim holder fetches and fills the chunk and then Releases it; others either skip the
// chunk (prefetch) or WaitWhileClaimed and look again (on-demand reads).
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_set>

#include "base/bytes.h"
#include "base/file_util.h"
#include "base/result.h"
#include "meta/image.h"
#include "storage/blob_chunk_source.h"
#include "storage/chunk_map.h"

namespace nydus::storage {

class BlobCacheFile {
 public:
  // The data layout tag kept in the chunk map header.
  static constexpr uint32_t kLayoutUncompressed = 0;
  static constexpr uint32_t kLayoutRaw = 1;

  // Opens or creates the files of `blob` in `work_dir` (which must exist). NotSupported for
  // a blob without a chunk count (the map is indexed by chunk index).
  static Result<std::unique_ptr<BlobCacheFile>> Open(const std::string& work_dir,
                                                     const meta::BlobInfo& blob, bool raw);

  bool raw() const { return raw_; }
  uint32_t chunk_count() const { return map_->chunk_count(); }
  uint32_t ready_count() const { return map_->ready_count(); }
  bool IsReady(uint32_t index) const { return map_->IsReady(index); }
  const std::string& data_path() const { return data_path_; }

  struct Range {
    uint64_t offset = 0;
    uint64_t size = 0;
  };
  // Where the cached bytes of a chunk at `loc` go in the data file; Corruption when outside
  // the expected file size.
  Result<Range> RangeOf(const ChunkLocation& loc, uint32_t uncompressed_size) const;

  // Reads exactly buf.size() bytes at `offset` (a short file is IOError).
  Status Read(uint64_t offset, std::span<uint8_t> buf) const;
  // The mapped bytes [offset, offset + size) of the data file, or nullptr when the file is
  // not mapped (raw layout, unknown size, mmap failed) or the range lies outside it or past
  // the file's current end (cut short by someone else: see Read for the repair). The
  // pointer stays valid while `mapping()` is held; only the kernel may read through it (see
  // base/read_pieces.h): a file truncated behind the mapping must not raise SIGBUS here.
  //
  // The pages the kernel reads through the mapping stay mapped in this process and would
  // count as its resident memory (up to the whole file) although they are page cache; so
  // every kUnmapEvery bytes handed out, the whole mapping's page table entries are dropped
  // (MADV_DONTNEED; the data stays in the page cache, a later read maps it again).
  const uint8_t* View(uint64_t offset, uint64_t size);
  static constexpr uint64_t kUnmapEvery = 8ull << 20;
  const std::shared_ptr<const void>& mapping() const { return mapping_; }

  // Writes `data` at `offset`, then marks chunk `index` ready.
  Status Fill(uint32_t index, uint64_t offset, ByteSpan data);

  enum class Claim { kReady, kClaimed, kBusy };
  // kBusy: claimed by someone else; kReady: ready and not claimed (only when !even_if_ready);
  // kClaimed: the caller now holds the claim and must Release it.
  Claim TryClaim(uint32_t index, bool even_if_ready);
  void Release(uint32_t index);
  // Returns once `index` is not claimed (immediately when it is not).
  void WaitWhileClaimed(uint32_t index);

 private:
  BlobCacheFile(std::string data_path, UniqueFd fd, std::unique_ptr<ChunkMap> map, bool raw,
                uint64_t expected_size, std::shared_ptr<const void> mapping)
      : data_path_(std::move(data_path)),
        fd_(std::move(fd)),
        map_(std::move(map)),
        raw_(raw),
        expected_size_(expected_size),
        mapping_(std::move(mapping)) {}

  const std::string data_path_;
  const UniqueFd fd_;
  const std::unique_ptr<ChunkMap> map_;
  const bool raw_;
  const uint64_t expected_size_;  // 0: unknown, the file grows as chunks are written
  // A read-only shared mapping of the whole data file (expected_size_ bytes), or null; its
  // deleter unmaps it.
  const std::shared_ptr<const void> mapping_;
  std::atomic<uint64_t> viewed_{0};  // bytes handed out by View since the last unmap

  std::mutex mu_;
  std::condition_variable released_;      // notified on every Release
  std::unordered_set<uint32_t> claimed_;  // guarded by mu_
};

}  // namespace nydus::storage
