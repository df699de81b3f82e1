// Mount helpers (see the header).
#include "snapshotter/mount_util.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

namespace nydus::snapshotter {

namespace {

// Decodes the octal escapes (\040 for a space) of mountinfo paths.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// (mountpoint, fstype) of every mount, in mount order.
std::vector<std::pair<std::string, std::string>> Mounts() {
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string f[5];
    for (auto& x : f) ss >> x;
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream rest(line.substr(dash + 3));
    std::string type;
    rest >> type;
    out.emplace_back(Unescape(f[4]), type);
  }
  return out;
}

std::string RealPath(const std::string& path) {
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) == nullptr) return path;
  return real;
}

}  // namespace

std::string MountedFsType(const std::string& path) {
  const std::string real = RealPath(path);
  std::string type;
  for (const auto& [mp, t] : Mounts()) {
    if (mp == real) type = t;  // the last one is on top
  }
  return type;
}

Status LazyUnmount(const std::string& path) {
  for (int i = 0; i < 8 && !MountedFsType(path).empty(); ++i) {
    if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
      return Status::FromErrno(errno, "umount " + path);
    }
  }
  return Status::OK();
}

Status RemoveTree(const std::string& path) {
  const std::string real = RealPath(path);
  auto mounts = Mounts();
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) {
    if (it->first == real || it->first.rfind(real + "/", 0) == 0) {
      if (::umount2(it->first.c_str(), MNT_DETACH) != 0 && errno != EINVAL) {
        return Status::FromErrno(errno, "umount " + it->first);
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
