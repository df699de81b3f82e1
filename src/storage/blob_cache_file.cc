// The on-disk cache of one blob (see blob_cache_file.h).

#include "storage/blob_cache_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

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
  return std::unique_ptr<BlobCacheFile>(
      new BlobCacheFile(std::move(data_path), std::move(fd), std::move(map), raw, expected));
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
