// The persistent chunk-readiness bitmap (see chunk_map.h).

#include "storage/chunk_map.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cstring>

#include "base/logging.h"

namespace nydus::storage {

namespace {

constexpr uint64_t kMagicOffset = 0, kVersionOffset = 4, kMagic2Offset = 8, kAllReadyOffset = 12;

uint32_t LoadU32(const uint8_t* base, uint64_t offset) {
  uint32_t v;
  std::memcpy(&v, base + offset, sizeof(v));
  return v;
}

uint8_t Mask(uint32_t index) { return static_cast<uint8_t>(0x80u >> (index & 7)); }

}  // namespace

Result<std::unique_ptr<ChunkMap>> ChunkMap::Open(const std::string& path, uint32_t chunk_count,
                                                 uint32_t layout) {
  if (chunk_count == 0) return Status::InvalidArgument("chunk map " + path + ": no chunks");
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return Status::FromErrno(errno, "open chunk map " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
  const uint64_t expected = FileSize(chunk_count);
  bool init = false;
  if (static_cast<uint64_t>(st.st_size) != expected) {
    if (st.st_size != 0) {
      LOG_WARN("chunk map {}: size {} != {}, resetting it", path, st.st_size, expected);
    }
    if (::ftruncate(fd.get(), 0) != 0 || ::ftruncate(fd.get(), static_cast<off_t>(expected)) != 0) {
      return Status::FromErrno(errno, "resize chunk map " + path);
    }
    init = true;
  }
  void* p = ::mmap(nullptr, expected, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) return Status::FromErrno(errno, "mmap chunk map " + path);
  std::unique_ptr<ChunkMap> map(new ChunkMap(chunk_count, static_cast<uint8_t*>(p), expected));
  const uint8_t* base = map->base_;
  if (!init) {
    uint32_t magic = LoadU32(base, kMagicOffset), version = LoadU32(base, kVersionOffset);
    bool valid = magic == kMagic && version >= 1 && LoadU32(base, kMagic2Offset) == kMagic2;
    if (!valid) {
      // An all-zero file is a creation cut short (the reference re-initialises it too).
      if (magic != 0) LOG_WARN("chunk map {}: invalid header, resetting it", path);
      init = true;
    } else if (LoadU32(base, kLayoutOffset) != layout) {
      LOG_WARN("chunk map {}: written for data layout {}, now {}; resetting it", path,
               LoadU32(base, kLayoutOffset), layout);
      init = true;
    }
  }
  if (init) {
    // Bits first and the magic last: a kill in between leaves an invalid header, which the
    // next Open resets again, never a valid header over stale bits.
    std::memset(map->base_, 0, expected);
    map->StoreU32(kLayoutOffset, layout);
    map->StoreU32(kVersionOffset, kVersion);
    map->StoreU32(kMagic2Offset, kMagic2);
    map->StoreU32(kMagicOffset, kMagic);
    // No msync: the page cache survives a process kill, and after a power loss an invalid
    // header is simply reset again.
    map->fresh_ = true;
  }
  uint32_t ready = map->CountReady();
  map->not_ready_.store(chunk_count - ready, std::memory_order_relaxed);
  if (ready == chunk_count) map->StoreU32(kAllReadyOffset, kMagicAllReady);
  return map;
}

ChunkMap::~ChunkMap() { ::munmap(base_, size_); }

uint32_t ChunkMap::CountReady() const {
  uint32_t n = 0;
  uint32_t full = count_ / 8;
  for (uint32_t i = 0; i < full; ++i) {
    n += std::popcount(std::atomic_ref<uint8_t>(bitmap()[i]).load(std::memory_order_relaxed));
  }
  for (uint32_t i = full * 8; i < count_; ++i) n += IsReady(i) ? 1 : 0;
  return n;
}

bool ChunkMap::IsReady(uint32_t index) const {
  if (index >= count_) return false;
  uint8_t byte = std::atomic_ref<uint8_t>(bitmap()[index >> 3]).load(std::memory_order_acquire);
  return (byte & Mask(index)) != 0;
}

void ChunkMap::SetReady(uint32_t index) {
  if (index >= count_) return;
  uint8_t old = std::atomic_ref<uint8_t>(bitmap()[index >> 3])
                    .fetch_or(Mask(index), std::memory_order_acq_rel);
  if ((old & Mask(index)) == 0 && not_ready_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    StoreU32(kAllReadyOffset, kMagicAllReady);
  }
}

void ChunkMap::ClearAll() {
  StoreU32(kAllReadyOffset, 0);
  for (uint64_t i = 0; i < (count_ + 7ull) / 8; ++i) {
    std::atomic_ref<uint8_t>(bitmap()[i]).store(0, std::memory_order_release);
  }
  not_ready_.store(count_, std::memory_order_relaxed);
}

void ChunkMap::StoreU32(uint64_t offset, uint32_t value) {
  // The mapping is page aligned and every header field is 4-byte aligned.
  std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(base_ + offset))
      .store(value, std::memory_order_release);
}

}  // namespace nydus::storage
