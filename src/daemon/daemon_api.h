// DaemonApi: the ApiBackend (api_router.h) of a running Daemon — daemon info and state, log
// level, exit, per-mount metrics from each RafsInstance and the Vfs, and image mount/remount/
// umount (POST/PUT/DELETE /api/v1/mount). Metric ids are virtual mountpoints ("/" for the
// --bootstrap image).
// Ownership: borrows the Daemon, which outlives it (the Daemon stops the API server first).
// Thread-safety: called concurrently by the API server; mutating calls are serialised by the
// router.
#pragma once

#include <string>
#include <vector>

#include "daemon/api_router.h"

namespace nydus::daemon {

class Daemon;

class DaemonApi : public ApiBackend {
 public:
  explicit DaemonApi(Daemon* daemon) : daemon_(daemon) {}

  Result<DaemonInfo> GetDaemonInfo(bool include_fs_info) override;
  Status SetLogLevel(const std::string& level) override;
  Result<FsMetrics> GetFsMetrics(const std::optional<std::string>& id) override;
  Result<BackendMetrics> GetBackendMetrics(const std::optional<std::string>& id) override;
  Result<BlobcacheMetrics> GetBlobcacheMetrics(const std::optional<std::string>& id) override;
  // The mount's recorded reads (rafs access_pattern), first-access order, with paths.
  Result<std::vector<AccessPattern>> GetAccessPatterns(
      const std::optional<std::string>& id) override;
  Status Exit() override;
  std::vector<std::string> MetricIds() override;
  Result<Json> GetFsBackendInfo(const std::string& mountpoint) override;
  Status Mount(const std::string& mountpoint, const MountCmd& cmd) override;
  Status Remount(const std::string& mountpoint, const MountCmd& cmd) override;
  Status Umount(const std::string& mountpoint) override;

 private:
  Daemon* const daemon_;
};

// nydusd's version string ("2.2.5-nydus-cpp").
extern const char kNydusdVersion[];

}  // namespace nydus::daemon
