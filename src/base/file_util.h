// Small POSIX file helpers returning Status/Result. All paths are byte strings.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "base/bytes.h"
#include "base/result.h"

namespace nydus {

// Reads the whole file. Refuses files larger than `max_size` bytes.
Result<Bytes> ReadWholeFile(const std::string& path, uint64_t max_size = 1ull << 32);
// Writes `data` to `path` (create/truncate, mode 0644).
Status WriteWholeFile(const std::string& path, ByteSpan data);

// `path` + ".tmp.<pid>.<n>": distinct on every call, in this process and among processes
// writing into the same directory. Thread-safe.
std::string TempPathFor(const std::string& path);
// A file that appears whole or not at all: `data` is written to TempPathFor(path) and renamed
// over `path`; on failure the temporary file is removed and `path` is left as it was. (No
// fsync: a crash may leave an empty or old file, never a partial one under `path` from a
// completed rename of a short write.)
Status WriteFileAtomically(const std::string& path, ByteSpan data);

// Removes a temporary file when it goes out of scope, unless Keep() was called (after the
// file was renamed into place). Makes every early return of a writer leave nothing behind.
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  ~TempFileGuard();
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  const std::string& path() const { return path_; }
  void Keep() { kept_ = true; }

 private:
  std::string path_;
  bool kept_ = false;
};

// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() { int f = fd_; fd_ = -1; return f; }
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

// pread/pwrite loops that handle EINTR and short transfers.
Status PreadFull(int fd, void* buf, size_t len, uint64_t off, const std::string& what);
Status WriteFull(int fd, const void* buf, size_t len, const std::string& what);

}  // namespace nydus
