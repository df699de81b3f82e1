// The on-disk cache of one blob (see blob_cache_file.h).

#include "storage/blob_cache_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/bytes.h"
#include "base/logging.h"

namespace nydus::storage {

namespace {

Status PwriteFull(int fd, const uint8_t* p, size_t len, uint64_t off, const std::string& what) {
  while (len > 0) {
    ssize_t n = ::pwrite(fd, p, len, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write " + what);
    }
    if (n == 0) return Status::IOError("write " + what + ": no progress");
    p += n;
    len -= static_cast<size_t>(n);
    off += static_cast<uint64_t>(n);
  }
  return Status::OK();
}

// Maps `size` bytes of `fd` read-only and shared (writes through the fd are seen at once),
// or returns null (a mapping is an optimisation: reads fall back to pread).
std::shared_ptr<const void> MapReadOnly(int fd, uint64_t size, const std::string& path) {
  if (size == 0 || size > SIZE_MAX) return nullptr;
  void* p = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    LOG_WARN("cache file {}: mmap of {} bytes failed ({}); reading with pread", path, size,
             std::strerror(errno));
    return nullptr;
  }
  const size_t len = static_cast<size_t>(size);
  return std::shared_ptr<const void>(p,
                                     [len](const void* q) { ::munmap(const_cast<void*>(q), len); });
}

}  // namespace

Result<std::unique_ptr<BlobCacheFile>> BlobCacheFile::Open(const std::string& work_dir,
                                                           const meta::BlobInfo& blob, bool raw) {
  if (blob.chunk_count == 0) {
    return Status::NotSupported("blob " + blob.blob_id + " has no chunk count; not cached");
  }
  std::string base = work_dir + "/" + blob.blob_id;
  uint32_t layout = raw ? kLayoutRaw : kLayoutUncompressed;
  ASSIGN_OR_RETURN(std::unique_ptr<ChunkMap> map,
                   ChunkMap::Open(base + ".chunk_map", blob.chunk_count, layout));
  std::string data_path = raw ? base + ".blob.raw" : base;
  UniqueFd fd(::open(data_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return Status::FromErrno(errno, "open cache file " + data_path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "stat " + data_path);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t expected = raw ? blob.CompressedDataSize() : blob.uncompressed_size;

  // A ready chunk has non-empty data inside a file of the expected size; anything else means
  // the data file was replaced, truncated or written by someone else, so no bit is trusted.
  // The bits are cleared before the file is resized: a kill in between only loses readiness.
  bool distrust =
      (size == 0 && map->ready_count() > 0) || (expected != 0 && size != 0 && size != expected);
  if (distrust && map->ready_count() > 0) {
    LOG_WARN("cache file {}: size {} (expected {}) with {} chunks marked ready; discarding them",
             data_path, size, expected, map->ready_count());
    map->ClearAll();
  }
  if (expected != 0 && size != expected &&
      ::ftruncate(fd.get(), static_cast<off_t>(expected)) != 0) {
    return Status::FromErrno(errno, "resize cache file " + data_path);
  }
  std::shared_ptr<const void> mapping;
  if (!raw && expected != 0) mapping = MapReadOnly(fd.get(), expected, data_path);
  return std::unique_ptr<BlobCacheFile>(new BlobCacheFile(
      std::move(data_path), std::move(fd), std::move(map), raw, expected, std::move(mapping)));
}

Result<BlobCacheFile::Range> BlobCacheFile::RangeOf(const ChunkLocation& loc,
                                                    uint32_t uncompressed_size) const {
  Range r = raw_ ? Range{loc.compressed_offset, loc.compressed_size}
                 : Range{loc.uncompressed_offset, uncompressed_size};
  if (r.size == 0 || r.offset + r.size < r.offset ||
      (expected_size_ != 0 && !RangeInside(r.offset, r.size, expected_size_))) {
    return Status::Corruption("cache range " + std::to_string(r.offset) + " (+" +
                              std::to_string(r.size) + ") outside " + data_path_ + " (" +
                              std::to_string(expected_size_) + " bytes)");
  }
  return r;
}

Status BlobCacheFile::Read(uint64_t offset, std::span<uint8_t> buf) const {
  return PreadFull(fd_.get(), buf.data(), buf.size(), offset, data_path_);
}

const uint8_t* BlobCacheFile::View(uint64_t offset, uint64_t size) {
  if (mapping_ == nullptr || !RangeInside(offset, size, expected_size_)) return nullptr;
  // A file cut short by someone else: the pages past its end cannot be read through the
  // mapping (the reply would fail); the pread path notices the short read and repairs.
  struct stat st;
  if (::fstat(fd_.get(), &st) != 0 || static_cast<uint64_t>(st.st_size) < offset + size) {
    return nullptr;
  }
  auto* base = static_cast<uint8_t*>(const_cast<void*>(mapping_.get()));
  if (viewed_.fetch_add(size, std::memory_order_relaxed) + size >= kUnmapEvery) {
    viewed_.store(0, std::memory_order_relaxed);
    // Pages another thread's reply is being copied from are held by that copy; the rest is
    // faulted in again from the page cache when next read. Failure only costs memory.
    ::madvise(base, static_cast<size_t>(expected_size_), MADV_DONTNEED);
  }
  return base + offset;
}

Status BlobCacheFile::Fill(uint32_t index, uint64_t offset, ByteSpan data) {
  RETURN_IF_ERROR(PwriteFull(fd_.get(), data.data(), data.size(), offset, data_path_));
  // The data is in the page cache now; only then may the bit say so.
  map_->SetReady(index);
  return Status::OK();
}

BlobCacheFile::Claim BlobCacheFile::TryClaim(uint32_t index, bool even_if_ready) {
  std::lock_guard<std::mutex> lock(mu_);
  if (claimed_.contains(index)) return Claim::kBusy;
  if (!even_if_ready && map_->IsReady(index)) return Claim::kReady;
  claimed_.insert(index);
  return Claim::kClaimed;
}

void BlobCacheFile::Release(uint32_t index) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    claimed_.erase(index);
  }
  released_.notify_all();
}

void BlobCacheFile::WaitWhileClaimed(uint32_t index) {
  std::unique_lock<std::mutex> lock(mu_);
  released_.wait(lock, [&] { return !claimed_.contains(index); });
}

}  // namespace nydus::storage
