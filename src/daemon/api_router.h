// ApiRouter: nydusd's HTTP API (the reference's v1 routes, v2 daemon info, and a Prometheus
// /metrics) on top of ApiBackend, the interface the Daemon implements. Plug it into the server:
//
//   ApiRouter router(&daemon_backend);
//   http::UnixServer server(apisock, [&](const http::HttpRequest& r) { return router.Handle(r); });
//
// Routes (reference api/src/http_handler.rs; query values are form-decoded):
//   GET  /api/v1/daemon                 → DaemonInfo (with backend_collection)
//   PUT  /api/v1/daemon                 {"log_level": "debug"} → 204
//   GET  /api/v1/daemon/events          → ErrorEvents
//   GET  /api/v1/daemon/backend?mountpoint=   → that fs's config JSON
//   PUT  /api/v1/daemon/start | /exit   → 204
//   PUT  /api/v1/daemon/fuse/sendfd | /takeover → 501 unless the backend supports them
//   POST|PUT|DELETE /api/v1/mount?mountpoint=  MountCmd body (not for DELETE) → 204
//   GET  /api/v1/metrics[?id=]          → FsMetrics
//   GET  /api/v1/metrics/files[?id=&latest=true] → {"<ino>": InodeMetrics} or [[ino, ...]...]
//   GET  /api/v1/metrics/pattern[?id=]  → [AccessPattern]
//   GET  /api/v1/metrics/backend[?id=]  → BackendMetrics
//   GET  /api/v1/metrics/blobcache[?id=] → BlobcacheMetrics
//   GET  /api/v1/metrics/inflight       → [InflightOp], or 204 when nothing is in flight
//   GET  /api/v2/daemon                 → DaemonInfo without backend_collection (null)
//   GET  /metrics                       → Prometheus text exposition (format 0.0.4)
// Errors are the reference's {"code":"UNDEFINED","message":"<Kind>(<why>)"}: 404 unknown path
// ("NoRoute"), 405 wrong method (the reference answers 400; 405 carries an Allow header),
// 400 a body where none belongs, a missing body, bad JSON or a missing query parameter, and
// for backend errors by Status code: InvalidArgument 400, NotFound 404 (the reference's
// NoCounter), NotSupported 501, Unavailable 503 (daemon not ready), anything else 500.
//
// Ownership: the router borrows the backend, which must outlive it.
// Thread-safety: Handle() may run concurrently (one call per server connection thread).
// Backend getters may therefore be called concurrently; the mutating calls (SetLogLevel,
// Mount, Remount, Umount, Start, Exit, SendFuseFd, Takeover) are serialised by the router, as
// the reference serialises every request through its API thread.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "daemon/api_types.h"
#include "http/unix_server.h"

namespace nydus::daemon {

// What the router needs from the daemon. `id` arguments are metric ids (RAFS mountpoints);
// nullopt means "the only one", NotFound when there is none or more than one (as the
// reference). Defaults give the answers of a daemon without that feature.
class ApiBackend {
 public:
  virtual ~ApiBackend() = default;

  // include_fs_info: fill backend_collection (v1) or leave it nullopt (v2).
  virtual Result<DaemonInfo> GetDaemonInfo(bool include_fs_info) = 0;
  // `level` is one of off|error|warn|info|debug|trace (already validated, lower case).
  virtual Status SetLogLevel(const std::string& level) = 0;
  virtual Result<FsMetrics> GetFsMetrics(const std::optional<std::string>& id) = 0;
  virtual Result<BackendMetrics> GetBackendMetrics(const std::optional<std::string>& id) = 0;
  virtual Result<BlobcacheMetrics> GetBlobcacheMetrics(const std::optional<std::string>& id) = 0;
  // Asks the daemon to unmount and exit (Daemon::RequestExit()); the 204 is sent first.
  virtual Status Exit() = 0;

  // Per-inode metrics (empty when files accounting is off) and latest-read inode ranges.
  virtual Result<std::map<uint64_t, InodeMetrics>> GetFilesMetrics(
      const std::optional<std::string>& id);
  virtual Result<std::vector<std::vector<uint64_t>>> GetLatestReadFiles(
      const std::optional<std::string>& id);
  virtual Result<std::vector<AccessPattern>> GetAccessPatterns(
      const std::optional<std::string>& id);
  virtual Result<std::vector<InflightOp>> GetInflightOps();
  virtual Result<ErrorEvents> GetEvents();
  // Every metric id (mountpoint) /metrics should export; empty: the router asks for the
  // only one (id nullopt).
  virtual std::vector<std::string> MetricIds();
  // The config of the fs mounted at `mountpoint` (secrets removed); NotFound if none.
  virtual Result<Json> GetFsBackendInfo(const std::string& mountpoint);
  virtual Status Mount(const std::string& mountpoint, const MountCmd& cmd);
  virtual Status Remount(const std::string& mountpoint, const MountCmd& cmd);
  virtual Status Umount(const std::string& mountpoint);
  virtual Status Start();
  virtual Status SendFuseFd();
  virtual Status TakeoverFuseFd();
};

// Everything /metrics exports. ApiRouter fills it from the backend's getters for each of
// MetricIds() (or id nullopt when that is empty); errors leave the part out.
struct MetricsSnapshot {
  std::optional<DaemonInfo> info;
  std::vector<FsMetrics> fs;
  std::vector<BackendMetrics> backends;
  std::vector<BlobcacheMetrics> blobcaches;
  std::optional<size_t> inflight;
};

// Prometheus text exposition format 0.0.4 of `snap` (names nydusd_*; see api_prometheus.cc).
std::string RenderPrometheus(const MetricsSnapshot& snap);

class ApiRouter {
 public:
  explicit ApiRouter(ApiBackend* backend) : backend_(backend) {}
  ApiRouter(const ApiRouter&) = delete;
  ApiRouter& operator=(const ApiRouter&) = delete;

  http::HttpResponse Handle(const http::HttpRequest& req);

  // The snapshot /metrics renders (exposed for tests and for other exporters).
  MetricsSnapshot CollectMetrics();

 private:
  http::HttpResponse Daemon(const http::HttpRequest& req);
  http::HttpResponse Mount(const http::HttpRequest& req);
  http::HttpResponse Metrics(const http::HttpRequest& req);

  ApiBackend* const backend_;
  std::mutex mutate_mu_;  // serialises the backend's mutating calls
};

}  // namespace nydus::daemon
