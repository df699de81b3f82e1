#include "daemon/mount_check.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/file_util.h"

namespace nydus::daemon {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string UnescapeMountinfo(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool IsSetuidRootExecutable(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
         (st.st_mode & S_ISUID) && (st.st_mode & S_IXOTH);
}

bool HaveFusermount() {
  const char* env = std::getenv("PATH");
  std::string path = env ? env : "/usr/local/bin:/usr/bin:/bin";
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (!dir.empty() && IsSetuidRootExecutable(dir + "/fusermount3")) return true;
  }
  return IsSetuidRootExecutable("/usr/bin/fusermount3") ||
         IsSetuidRootExecutable("/bin/fusermount3");
}

}  // namespace

Result<std::optional<std::string>> MountedFsType(const std::string& canonical_path) {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return Status::IOError("cannot read /proc/self/mountinfo");
  std::optional<std::string> type;
  std::string line;
  // "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    std::string tok;
    while (fields >> tok) f.push_back(tok);
    if (f.size() < 7 || UnescapeMountinfo(f[4]) != canonical_path) continue;
    for (size_t i = 6; i + 1 < f.size(); ++i) {
      if (f[i] == "-") {
        type = f[i + 1];
        break;
      }
    }
  }
  return type;
}

Result<std::string> CheckMountpoint(const std::string& path) {
  const std::string what = "mountpoint " + path;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound(what + ": no such directory");
    if (err == ENOTCONN) {
      return Status::Unavailable(what +
                                 ": busy: a dead FUSE mount (Transport endpoint is not "
                                 "connected); unmount it first (umount -l)");
    }
    return Status::FromErrno(err, what);
  }
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(what + ": not a directory");
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return Status::FromErrno(errno, what);
  std::string canonical(buf);
  ASSIGN_OR_RETURN(std::optional<std::string> type, MountedFsType(canonical));
  if (type) {
    return Status::Unavailable(what + ": busy: a " + *type +
                               " filesystem is already mounted "
                               "there; unmount it first");
  }
  return canonical;
}

Status CheckFuseDevice() {
  UniqueFd fd(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
  if (fd.valid()) return Status::OK();
  int err = errno;
  if (err == ENOENT) {
    return Status::NotFound("/dev/fuse does not exist (is the fuse module loaded? modprobe fuse)");
  }
  if ((err == EACCES || err == EPERM) && ::geteuid() != 0 && HaveFusermount()) {
    return Status::OK();  // libfuse mounts through the setuid fusermount3 helper
  }
  if (err == EACCES || err == EPERM) {
    return Status::PermissionDenied(std::string("cannot open /dev/fuse: ") + std::strerror(err) +
                                    (::geteuid() == 0 ? "" : " (and no setuid fusermount3)"));
  }
  return Status::FromErrno(err, "open /dev/fuse");
}

}  // namespace nydus::daemon
