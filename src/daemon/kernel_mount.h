// Serving a fully cached RAFS v6 image with the kernel's EROFS driver instead of FUSE
// (nydusd --erofs-when-cached).
//
// A RAFS v6 bootstrap is an EROFS superblock and metadata whose chunk indexes point at blocks
// of extra devices, one per blob; the blob cache's uncompressed data file of a blob holds
// every chunk at its uncompressed offset, which is exactly such a device. So once every chunk
// of every blob is in the cache, the kernel can mount the bootstrap file itself with the
// cache files as its devices (EROFS file-backed mounts, Linux 6.12+ with
// CONFIG_EROFS_FS_BACKED_BY_FILE): reads then never leave the kernel, as with `mount -t erofs`
// of an exported disk, and nothing is copied. The new mount API (fsopen/fsconfig) passes
// each device separately, so many layers do not hit the one-page limit of mount(2) options.
//
// The kernel does not check chunk digests: callers only use this when validation is off.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace nydus::daemon {

// Mounts `bootstrap` read-only at `mountpoint` with the kernel's EROFS driver, `devices`
// (the blob data files, in blob table order) as its extra devices. The error names the step
// and the errno; nothing is left mounted on failure.
Status MountErofsFileBacked(const std::string& bootstrap, const std::vector<std::string>& devices,
                            const std::string& mountpoint);

// Detaches the mount at `mountpoint` (lazily, as a FUSE unmount is: open files keep working
// until closed).
Status UnmountKernel(const std::string& mountpoint);

}  // namespace nydus::daemon
