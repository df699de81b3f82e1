// Small mount helpers of the snapshotter: what is mounted where (/proc/self/mountinfo), lazy
// unmount, recursive removal that refuses to cross into mounts, disk usage of a tree.
// Thread-safety: free functions.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace nydus::snapshotter {

// The filesystem type mounted exactly at `path` ("fuse.nydusd", "overlay"), "" if none.
std::string MountedFsType(const std::string& path);
inline bool IsFuseMounted(const std::string& path) {
  return MountedFsType(path).rfind("fuse", 0) == 0;
}
// umount2(MNT_DETACH) when something is mounted at `path`.
Status LazyUnmount(const std::string& path);
// rm -rf that unmounts (lazily) anything mounted below `path` first.
Status RemoveTree(const std::string& path);

struct DiskUsage {
  int64_t size = 0;    // bytes of blocks used
  int64_t inodes = 0;  // distinct inodes
};
// Like containerd's fs.DiskUsage: does not follow into other mounts.
Result<DiskUsage> TreeUsage(const std::string& path);

}  // namespace nydus::snapshotter
