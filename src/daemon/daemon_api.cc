#include "daemon/daemon_api.h"

#include <algorithm>
#include <unordered_set>

#include <spdlog/spdlog.h>

#include "base/logging.h"
#include "daemon/daemon.h"

namespace nydus::daemon {

const char kNydusdVersion[] = "2.2.5-nydus-cpp";

namespace {

// Converts the Vfs counters of one mount into the reference's FsIoStats shape.
FsMetrics ToFsMetrics(const std::string& id, const fs::FsStatsSnapshot& s) {
  FsMetrics m;
  m.id = id;
  m.measure_latency = true;
  m.nr_opens = s.nr_opens;
  m.data_read = s.data_read;
  for (size_t i = 0; i < kBlockReadSizesMax && i < fs::kReadSizeBuckets; ++i) {
    m.block_count_read[i] = s.block_count_read[i];
  }
  for (size_t i = 0; i < kStatsFopMax && i < fs::kFopCount; ++i) {
    m.fop_hits[i] = s.fop_hits[i];
    m.fop_errors[i] = s.fop_errors[i];
    m.fop_cumulative_latency_total[i] = s.fop_cumulative_latency_total[i];
  }
  for (size_t i = 0; i < kReadLatencyRangeMax && i < fs::kReadLatencyBuckets; ++i) {
    m.read_latency_dist[i] = s.read_latency_dist[i];
  }
  return m;
}

// The mountpoint an optional id names: nullopt → the only mount.
Result<std::string> ResolveId(const Daemon& d, const std::optional<std::string>& id) {
  if (id.has_value()) return *id;
  auto all = d.Instances();
  if (all.size() == 1) return all.begin()->first;
  return Status::NotFound(all.empty() ? "no filesystem is mounted"
                                      : "several filesystems are mounted: give ?id=<mountpoint>");
}

Result<DaemonConfig> MountConfig(const MountCmd& cmd) {
  if (!cmd.fs_type.empty() && cmd.fs_type != "rafs") {
    return Status::NotSupported("fs_type '" + cmd.fs_type + "' is not supported (only rafs)");
  }
  if (cmd.source.empty()) return Status::InvalidArgument("the mount command has no source");
  return ParseConfig(cmd.config, "mount config");
}

}  // namespace

Result<DaemonInfo> DaemonApi::GetDaemonInfo(bool include_fs_info) {
  DaemonInfo info;
  info.version.package_ver = kNydusdVersion;
  info.version.git_commit = "unknown";
  info.version.build_time = __DATE__ " " __TIME__;
  info.version.profile = "release";
  info.version.rustc = "c++ " __VERSION__;
  if (!daemon_->options().id.empty()) info.id = daemon_->options().id;
  if (!daemon_->options().supervisor.empty()) info.supervisor = daemon_->options().supervisor;
  info.state = daemon_->running() ? DaemonState::kRunning : DaemonState::kInit;
  if (include_fs_info) {
    std::map<std::string, FsBackendDescriptor> fs;
    for (const auto& [path, inst] : daemon_->Instances()) {
      FsBackendDescriptor d;
      d.backend_type = "Rafs";
      d.mountpoint = path;
      d.mounted_time = FormatMountedTime(inst->mounted_time());
      d.config = inst->ConfigJson();
      fs.emplace(path, std::move(d));
    }
    info.backend_collection = std::move(fs);
  }
  return info;
}

Status DaemonApi::SetLogLevel(const std::string& level) {
  const auto lvl = spdlog::level::from_str(level);
  spdlog::set_level(lvl);
  if (auto logger = spdlog::get("nydus")) logger->set_level(lvl);
  LOG_INFO("log level set to {}", level);
  return Status::OK();
}

Result<FsMetrics> DaemonApi::GetFsMetrics(const std::optional<std::string>& id) {
  ASSIGN_OR_RETURN(std::string path, ResolveId(*daemon_, id));
  if (daemon_->vfs() == nullptr) return Status::Unavailable("the daemon is not running yet");
  std::optional<fs::FsStatsSnapshot> s = daemon_->vfs()->StatsAt(path);
  if (!s) return Status::NotFound("no metrics for id " + path);
  FsMetrics m = ToFsMetrics(path, *s);
  std::optional<fs::AccessPatternInfo> ap = daemon_->vfs()->AccessPatternAt(path);
  m.access_pattern_enabled = ap.has_value() && ap->enabled;
  return m;
}

Result<std::vector<AccessPattern>> DaemonApi::GetAccessPatterns(
    const std::optional<std::string>& id) {
  ASSIGN_OR_RETURN(std::string path, ResolveId(*daemon_, id));
  if (daemon_->vfs() == nullptr) return Status::Unavailable("the daemon is not running yet");
  std::optional<fs::AccessPatternInfo> ap = daemon_->vfs()->AccessPatternAt(path);
  std::shared_ptr<const fs::RafsFs> fs = daemon_->vfs()->FsAt(path);
  if (!ap || fs == nullptr) return Status::NotFound("no metrics for id " + path);
  std::unordered_set<uint64_t> inos;
  for (const fs::AccessRecord& r : ap->records) inos.insert(r.ino);
  ASSIGN_OR_RETURN(auto paths, fs::ResolvePaths(*fs, inos));
  std::vector<AccessPattern> out;
  out.reserve(ap->records.size());
  for (const fs::AccessRecord& r : ap->records) {
    AccessPattern p;
    p.ino = r.ino;
    p.nr_read = r.nr_read;
    p.first_access_time_secs = r.first_access_time_secs;
    p.first_access_time_nanos = r.first_access_time_nanos;
    if (auto it = paths.find(r.ino); it != paths.end()) p.path = it->second;
    if (Result<fs::Attr> a = fs->GetAttr(r.ino); a.ok()) p.size = a->size;
    // The last touched block may be partial: count and report only bytes of the file.
    p.ranges = fs::ClampRanges(r.ranges, p.size);
    p.bytes_touched = 0;
    for (const auto& range : p.ranges) p.bytes_touched += range.second;
    out.push_back(std::move(p));
  }
  return out;
}

Result<BackendMetrics> DaemonApi::GetBackendMetrics(const std::optional<std::string>& id) {
  ASSIGN_OR_RETURN(std::string path, ResolveId(*daemon_, id));
  ASSIGN_OR_RETURN(std::shared_ptr<RafsInstance> inst, daemon_->Instance(path));
  BackendMetrics m;
  m.id = path;
  inst->FillBackendMetrics(&m);
  return m;
}

Result<BlobcacheMetrics> DaemonApi::GetBlobcacheMetrics(const std::optional<std::string>& id) {
  ASSIGN_OR_RETURN(std::string path, ResolveId(*daemon_, id));
  ASSIGN_OR_RETURN(std::shared_ptr<RafsInstance> inst, daemon_->Instance(path));
  BlobcacheMetrics m;
  m.id = path;
  inst->FillBlobcacheMetrics(&m);
  return m;
}

Status DaemonApi::Exit() {
  daemon_->RequestExit();
  return Status::OK();
}

std::vector<std::string> DaemonApi::MetricIds() {
  std::vector<std::string> ids;
  for (const auto& [path, inst] : daemon_->Instances()) ids.push_back(path);
  return ids;
}

Result<Json> DaemonApi::GetFsBackendInfo(const std::string& mountpoint) {
  ASSIGN_OR_RETURN(std::shared_ptr<RafsInstance> inst, daemon_->Instance(mountpoint));
  return inst->ConfigJson();
}

Status DaemonApi::Mount(const std::string& mountpoint, const MountCmd& cmd) {
  ASSIGN_OR_RETURN(DaemonConfig config, MountConfig(cmd));
  return daemon_->MountImage(mountpoint, cmd.source, config,
                             cmd.prefetch_files.value_or(std::vector<std::string>{}));
}

Status DaemonApi::Remount(const std::string& mountpoint, const MountCmd& cmd) {
  ASSIGN_OR_RETURN(DaemonConfig config, MountConfig(cmd));
  return daemon_->RemountImage(mountpoint, cmd.source, config,
                               cmd.prefetch_files.value_or(std::vector<std::string>{}));
}

Status DaemonApi::Umount(const std::string& mountpoint) { return daemon_->UmountImage(mountpoint); }

}  // namespace nydus::daemon
