// Checks run before nydusd mounts, so that a start that cannot work fails with its reason
// instead of a bare libfuse errno: the mountpoint must be an existing, accessible directory
// that is not already a mount point, and /dev/fuse must be usable.
// Thread-safety: pure functions over the file system and /proc/self/mountinfo.
#pragma once

#include <optional>
#include <string>

#include "base/result.h"

namespace nydus::daemon {

// Returns the canonical (realpath) mountpoint.
//   NotFound          the path does not exist
//   InvalidArgument   it is not a directory
//   Unavailable       it is busy: something is mounted exactly there (names the fs type), or
//                     it is a dead FUSE mount ("Transport endpoint is not connected")
//   IOError           anything else stat/realpath report
Result<std::string> CheckMountpoint(const std::string& path);

// The fs type of the mount whose mount point is exactly `canonical_path` (the last one when
// several are stacked), per /proc/self/mountinfo; nullopt when none is.
Result<std::optional<std::string>> MountedFsType(const std::string& canonical_path);

// PermissionDenied when this process cannot open /dev/fuse read-write and, not being root,
// has no setuid-root fusermount3 to do it instead; NotFound when /dev/fuse is missing.
Status CheckFuseDevice();

}  // namespace nydus::daemon
