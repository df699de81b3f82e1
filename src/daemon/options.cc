#include "daemon/options.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "base/file_util.h"
#include "base/logging.h"

namespace nydus::daemon {
namespace {

// Descriptors left for the rest of the system (reference RLIMIT_NOFILE_RESERVED).
constexpr uint64_t kNofileReserved = 16384;

Result<uint64_t> ParseU64(std::string_view text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return Status::InvalidArgument("not a number");
  }
  return v;
}

}  // namespace

Result<uint32_t> ParseThreadCount(std::string_view text) {
  Result<uint64_t> n = ParseU64(text);
  if (!n.ok()) {
    return Status::InvalidArgument("invalid thread number configuration: " + std::string(text));
  }
  if (*n == 0 || *n > kMaxFuseThreads) {
    return Status::InvalidArgument("invalid thread number " + std::to_string(*n) +
                                   ", valid range: [1-1024]");
  }
  return static_cast<uint32_t>(*n);
}

std::string LogFilePath(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string::npos ? std::string_view(path)
                                                     : std::string_view(path).substr(slash + 1);
  // Rust's Path::extension(): a '.' after the first character of the file name.
  size_t dot = name.rfind('.');
  bool has_extension = dot != std::string_view::npos && dot > 0;
  return has_extension ? path : path + ".log";
}

Result<uint64_t> RaiseNofileLimit(uint64_t requested) {
  if (requested == 0) return uint64_t{0};
  // /proc files report size 0, so read until EOF instead of by size.
  UniqueFd fd(::open("/proc/sys/fs/file-max", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "open /proc/sys/fs/file-max");
  char buf[64];
  ssize_t n = ::read(fd.get(), buf, sizeof(buf));
  if (n < 0) return Status::FromErrno(errno, "read /proc/sys/fs/file-max");
  std::string text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  Result<uint64_t> file_max = ParseU64(text);
  if (!file_max.ok()) return Status::IOError("invalid content from fs.file-max: " + text);
  if (*file_max < 2 * kNofileReserved) {
    return Status::IOError(
        "The fs.file-max sysctl is too low to allow a reasonable number of open files.");
  }
  uint64_t max = std::min<uint64_t>(*file_max - kNofileReserved, kDefaultRlimitNofile);
  struct rlimit cur;
  if (::getrlimit(RLIMIT_NOFILE, &cur) != 0) return Status::FromErrno(errno, "getrlimit");
  max = std::max<uint64_t>(max, cur.rlim_cur);
  uint64_t limit = std::min(requested, max);
  struct rlimit next = {static_cast<rlim_t>(limit), static_cast<rlim_t>(limit)};
  if (::setrlimit(RLIMIT_NOFILE, &next) == 0) return limit;
  int err = errno;
  if (err == EPERM && limit > cur.rlim_max) {
    // Raising the hard limit needs CAP_SYS_RESOURCE (the reference fails here); settle for
    // the current hard limit rather than refusing to start.
    next = {cur.rlim_max, cur.rlim_max};
    if (::setrlimit(RLIMIT_NOFILE, &next) == 0) {
      LOG_WARN(
          "rlimit-nofile: cannot raise the limit to {} (no CAP_SYS_RESOURCE); using the "
          "hard limit {}",
          limit, static_cast<uint64_t>(cur.rlim_max));
      return static_cast<uint64_t>(cur.rlim_max);
    }
    err = errno;
  }
  return Status::FromErrno(err, "setrlimit(RLIMIT_NOFILE, " + std::to_string(limit) + ")");
}

}  // namespace nydus::daemon
