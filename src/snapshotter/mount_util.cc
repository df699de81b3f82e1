// Mount helpers (see the header).
#include "snapshotter/mount_util.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <utility>
#include <vector>

#include "converter/mount.h"

namespace nydus::snapshotter {

namespace {

std::string RealPath(const std::string& path) {
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) == nullptr) return path;
  return real;
}

}  // namespace

Status LazyUnmount(const std::string& path) {
  for (int i = 0; i < 8 && !converter::MountedFsType(path).empty(); ++i) {
    if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
      return Status::FromErrno(errno, "umount " + path);
    }
  }
  return Status::OK();
}

Status RemoveTree(const std::string& path) {
  const std::string real = RealPath(path);
  auto mounts = converter::ListMounts();
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) {
    const std::string& mp = it->mountpoint;
    if (mp == real || mp.rfind(real + "/", 0) == 0) {
      if (::umount2(mp.c_str(), MNT_DETACH) != 0 && errno != EINVAL) {
        return Status::FromErrno(errno, "umount " + mp);
      }
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Status::IOError("remove " + path + ": " + ec.message());
  return Status::OK();
}

Result<DiskUsage> TreeUsage(const std::string& path) {
  DiskUsage du;
  struct stat root;
  if (::lstat(path.c_str(), &root) != 0) return Status::FromErrno(errno, "stat " + path);
  std::set<std::pair<dev_t, ino_t>> seen;
  std::vector<std::string> stack{path};
  while (!stack.empty()) {
    std::string p = std::move(stack.back());
    stack.pop_back();
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) continue;
    if (st.st_dev != root.st_dev) continue;  // another mount
    if (seen.insert({st.st_dev, st.st_ino}).second) {
      du.inodes++;
      du.size += static_cast<int64_t>(st.st_blocks) * 512;
    }
    if (S_ISDIR(st.st_mode)) {
      std::error_code ec;
      for (const auto& e : std::filesystem::directory_iterator(p, ec)) stack.push_back(e.path());
    }
  }
  return du;
}

}  // namespace nydus::snapshotter
