// Small mount helpers of the snapshotter: lazy unmount, recursive removal that unmounts what is
// below first, disk usage of a tree. What is mounted where comes from converter/mount.h
// (ListMounts, MountedFsType, IsFuseMount), shared with nydusify.
// Thread-safety: free functions.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace nydus::snapshotter {

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
