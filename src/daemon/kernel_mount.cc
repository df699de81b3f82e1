#include "daemon/kernel_mount.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

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

}  // namespace nydus::daemon
