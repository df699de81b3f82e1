// DaemonOptions: what the nydusd command line asks the daemon to do, plus the small process
// set-up rules of the reference nydusd 2.2 (src/bin/nydusd/main.rs, app/src/lib.rs) that the
// thin main applies before starting a Daemon.
// Thread-safety: plain values; RaiseNofileLimit changes process state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace nydus::daemon {

inline constexpr uint32_t kDefaultFuseThreads = 4;
inline constexpr uint32_t kMaxFuseThreads = 1024;

struct DaemonOptions {
  std::string bootstrap;    // -B/--bootstrap: the RAFS metadata file (else mount via the API)
  std::string config_path;  // -C/--config
  std::string localfs_dir;  // -D/--localfs-dir (exclusive with config_path)
  std::string mountpoint;   // -M/--mountpoint: an existing directory, not a mount point
  uint32_t fuse_threads = kDefaultFuseThreads;  // --fuse-threads / --thread-num, 1..1024
  std::string apisock;                          // -A/--apisock: HTTP API on this unix socket
  std::string id;                               // --id (reported by GET /api/v1/daemon)
  std::string supervisor;                       // --supervisor (reported; no state is sent, as 2.2)
  std::string prefetch_files;            // --prefetch-files: a file listing paths to prefetch
  std::string virtual_mountpoint = "/";  // -m: where the --bootstrap image appears
  // --erofs-when-cached: a --bootstrap image whose chunks are all in the blob cache is mounted
  // with the kernel's EROFS instead of FUSE (daemon/kernel_mount.h)
  bool erofs_when_cached = false;
};

// The reference's validate_threads_configuration: a decimal in [1, 1024]. InvalidArgument
// "invalid thread number 0, valid range: [1-1024]" / "invalid thread number configuration: x".
Result<uint32_t> ParseThreadCount(std::string_view text);

// The file `-L/--log-file PATH` writes to: PATH itself when its file name has an extension,
// otherwise PATH + ".log" (flexi_logger's default suffix; "nydusd" → "nydusd.log",
// "a/.hidden" → "a/.hidden.log", "x.txt" stays). Relative paths are kept relative.
std::string LogFilePath(const std::string& path);

// Default of --rlimit-nofile (0 leaves the limit alone).
inline constexpr uint64_t kDefaultRlimitNofile = 1000000;

// The reference's handle_rlimit_nofile_option: for requested != 0, caps it at
// min(fs.file-max - 16384, 1000000) (or the current soft limit if that is higher) and sets
// both soft and hard RLIMIT_NOFILE to it. Returns the limit set (0 when left unchanged).
// Without CAP_SYS_RESOURCE a limit above the current hard limit cannot be set: then (unlike
// the reference, which fails) both limits become the hard limit, with a warning.
// IOError when fs.file-max is unreadable or below 32768, or setrlimit fails otherwise.
Result<uint64_t> RaiseNofileLimit(uint64_t requested);

}  // namespace nydus::daemon
