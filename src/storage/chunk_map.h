// ChunkMap: the persistent chunk-readiness bitmap of one cached blob, `<blob_id>.chunk_map`
// (reference spec §7): a 4096-byte header followed by ceil(chunk_count / 8) bytes, bit i =
// byte i >> 3, mask 0x80 >> (i & 7) (MSB first). Header: u32 magic 0x424D4150, u32 version 1,
// u32 magic2 0x434D4150, u32 all_ready (0x4D4D4150 once every chunk is ready), reserved.
//
// nydus-cpp extension inside the reserved area (the reference ignores it): u32 at offset 16
// records which data-file layout the bits describe (0 = uncompressed `<id>`, 1 = raw
// `<id>.blob.raw`), so that switching `cache.compressed` cannot make bits set for one file
// vouch for the other. A mismatch clears the map.
//
// The file is mmap'ed shared and bits are set with atomic read-modify-writes on the mapping,
// so they reach the page cache (which survives a process kill) the moment they are set, and
// several processes may share one map. A header that fails validation, a file of the wrong
// size or a half-created (all-zero) file is re-initialised to "nothing ready": the cache is
// disposable, so losing readiness only costs refetches. Bits are never cleared while the map
// is open except by ClearAll.
//
// Durability: a bit is persisted by the kernel together with the data pages; callers write
// chunk data first and set the bit afterwards, which is safe against process kills. No
// fsync is issued per chunk, so after a power loss a ready bit may vouch for data that did
// not reach the disk; digest validation (cache.validate) detects that.
//
// Thread-safety: IsReady, SetReady, ready_count may be called concurrently (also across
// processes). Open and ClearAll must not race with other calls on the same object.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "base/file_util.h"
#include "base/result.h"

namespace nydus::storage {

class ChunkMap {
 public:
  static constexpr uint32_t kMagic = 0x424D4150;
  static constexpr uint32_t kMagic2 = 0x434D4150;
  static constexpr uint32_t kMagicAllReady = 0x4D4D4150;
  static constexpr uint32_t kVersion = 1;
  static constexpr uint64_t kHeaderSize = 4096;
  static constexpr uint64_t kLayoutOffset = 16;  // our u32 data-layout tag

  // Opens or creates the map at `path` for `chunk_count` (> 0) chunks describing data layout
  // `layout`; see the class comment for what is reset instead of rejected.
  static Result<std::unique_ptr<ChunkMap>> Open(const std::string& path, uint32_t chunk_count,
                                                uint32_t layout);
  ~ChunkMap();
  ChunkMap(const ChunkMap&) = delete;
  ChunkMap& operator=(const ChunkMap&) = delete;

  uint32_t chunk_count() const { return count_; }
  // False for an index >= chunk_count.
  bool IsReady(uint32_t index) const;
  // Sets the bit (idempotent); index must be < chunk_count.
  void SetReady(uint32_t index);
  // Marks every chunk not ready.
  void ClearAll();
  uint32_t ready_count() const { return count_ - not_ready_.load(std::memory_order_relaxed); }
  // True when the map was (re)initialised by Open rather than loaded.
  bool fresh() const { return fresh_; }

  // File size for `chunk_count` chunks.
  static uint64_t FileSize(uint32_t chunk_count) { return kHeaderSize + (chunk_count + 7ull) / 8; }

 private:
  ChunkMap(uint32_t count, uint8_t* base, uint64_t size)
      : count_(count), base_(base), size_(size) {}
  uint8_t* bitmap() const { return base_ + kHeaderSize; }
  void StoreU32(uint64_t offset, uint32_t value);
  uint32_t CountReady() const;

  const uint32_t count_;
  uint8_t* const base_;  // shared mapping of the whole file
  const uint64_t size_;
  std::atomic<uint32_t> not_ready_{0};
  bool fresh_ = false;
};

}  // namespace nydus::storage
