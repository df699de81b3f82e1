#include "daemon/kernel_mount.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/file_util.h"

namespace nydus::daemon {
namespace {

// The new mount API through syscall(2): glibc 2.36's wrappers clash with <linux/mount.h>.
int FsOpen(const char* fstype) { return static_cast<int>(::syscall(SYS_fsopen, fstype, 0)); }
int FsConfig(int fd, unsigned cmd, const char* key, const char* value) {
  return static_cast<int>(::syscall(SYS_fsconfig, fd, cmd, key, value, 0));
}
int FsMount(int fd, unsigned attrs) {
  return static_cast<int>(::syscall(SYS_fsmount, fd, FSMOUNT_CLOEXEC, attrs));
}
int MoveMount(int from, const char* to) {
  return static_cast<int>(
      ::syscall(SYS_move_mount, from, "", AT_FDCWD, to, MOVE_MOUNT_F_EMPTY_PATH));
}

// `err` is read by the caller first: building `what` may allocate, which may change errno.
Status Errno(int err, const std::string& what) {
  return Status::FromErrno(err, "kernel EROFS mount: " + what);
}

// /proc/self/mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string oct = s.substr(i + 1, 3);
      if (oct.find_first_not_of("01234567") == std::string::npos) {
        out.push_back(static_cast<char>(std::stoi(oct, nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

Status MountErofsFileBacked(const std::string& bootstrap, const std::vector<std::string>& devices,
                            const std::string& mountpoint) {
  UniqueFd fs(FsOpen("erofs"));
  if (!fs.valid()) {
    const int err = errno;
    return Errno(err, "fsopen(erofs)");
  }
  if (FsConfig(fs.get(), FSCONFIG_SET_STRING, "source", bootstrap.c_str()) != 0) {
    const int err = errno;
    return Errno(err, "source " + bootstrap);
  }
  for (const std::string& d : devices) {
    if (FsConfig(fs.get(), FSCONFIG_SET_STRING, "device", d.c_str()) != 0) {
      const int err = errno;
      return Errno(err, "device " + d);
    }
  }
  if (FsConfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr) != 0) {
    const int err = errno;
    return Errno(err,
                 "create (a kernel without file-backed EROFS, CONFIG_EROFS_FS_BACKED_BY_FILE?)");
  }
  UniqueFd mnt(FsMount(fs.get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID));
  if (!mnt.valid()) {
    const int err = errno;
    return Errno(err, "fsmount");
  }
  if (MoveMount(mnt.get(), mountpoint.c_str()) != 0) {
    const int err = errno;
    return Errno(err, "attach at " + mountpoint);
  }
  return Status::OK();
}

Status UnmountKernel(const std::string& mountpoint) {
  if (::umount2(mountpoint.c_str(), MNT_DETACH) != 0) {
    const int err = errno;
    return Status::FromErrno(err, "umount " + mountpoint);
  }
  return Status::OK();
}

bool IsMountedAs(const std::string& mountpoint, const std::string& fstype) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  bool found = false;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint options [optional...] - fstype source super
    std::istringstream f(line);
    std::string id, parent, dev, root, point, field;
    if (!(f >> id >> parent >> dev >> root >> point)) continue;
    if (Unescape(point) != mountpoint) continue;
    while (f >> field && field != "-") {
    }
    std::string type;
    f >> type;
    found = type == fstype;  // the last mount on a path is the visible one
  }
  return found;
}

}  // namespace nydus::daemon
