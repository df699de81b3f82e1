#include "base/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>

namespace nydus {

UniqueFd::~UniqueFd() { Reset(); }

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) Reset(o.Release());
  return *this;
}

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<Bytes> ReadWholeFile(const std::string& path, uint64_t max_size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
  if (static_cast<uint64_t>(st.st_size) > max_size) {
    return Status::InvalidArgument(path + ": file too large (" + std::to_string(st.st_size) +
                                   " bytes)");
  }
  Bytes data(static_cast<size_t>(st.st_size));
  RETURN_IF_ERROR(PreadFull(fd.get(), data.data(), data.size(), 0, path));
  return data;
}

Status WriteWholeFile(const std::string& path, ByteSpan data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return Status::FromErrno(errno, "create " + path);
  RETURN_IF_ERROR(WriteFull(fd.get(), data.data(), data.size(), path));
  if (::close(fd.Release()) != 0) return Status::FromErrno(errno, "close " + path);
  return Status::OK();
}

Status PreadFull(int fd, void* buf, size_t len, uint64_t off, const std::string& what) {
  auto* p = static_cast<uint8_t*>(buf);
  while (len > 0) {
    ssize_t n = ::pread(fd, p, len, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read " + what);
    }
    if (n == 0) return Status::IOError("read " + what + ": unexpected end of file");
    p += n;
    len -= static_cast<size_t>(n);
    off += static_cast<uint64_t>(n);
  }
  return Status::OK();
}

Status WriteFull(int fd, const void* buf, size_t len, const std::string& what) {
  const auto* p = static_cast<const uint8_t*>(buf);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write " + what);
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return Status::OK();
}

std::string TempPathFor(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." +
         std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
}

TempFileGuard::~TempFileGuard() {
  if (!kept_) ::unlink(path_.c_str());
}

Status WriteFileAtomically(const std::string& path, ByteSpan data) {
  const std::string tmp = TempPathFor(path);
  Status st = WriteWholeFile(tmp, data);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = Status::FromErrno(errno, "rename " + tmp + " to " + path);
  }
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

}  // namespace nydus
