#include "daemon/daemon.h"

#include <chrono>
#include <utility>

#include "base/logging.h"
#include "daemon/mount_check.h"
#include "meta/bootstrap_reader.h"

namespace nydus::daemon {
namespace {

uint64_t CountNodes(const meta::Image& image) {
  uint64_t n = 0;
  meta::WalkTree(*image.root, [&](const meta::Node&, const std::string&) {
    ++n;
    return true;
  });
  return n;
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Result<DaemonConfig> ResolveConfig(const DaemonOptions& options) {
  const bool has_file = !options.config_path.empty();
  const bool has_dir = !options.localfs_dir.empty();
  if (has_file && has_dir) {
    return Status::InvalidArgument("--config and --localfs-dir exclude each other");
  }
  if (has_dir) return LocalfsDirConfig(options.localfs_dir);
  if (has_file) return LoadConfigFile(options.config_path);
  return Status::InvalidArgument("both --config and --localfs-dir are missing");
}

Status CheckConfigForImage(const DaemonConfig& config, const meta::Image& image) {
  if (!config.backend) return Status::InvalidArgument("no configuration information for backend");
  if (!config.cache) return Status::InvalidArgument("no configuration information for cache");
  if (!config.rafs) return Status::InvalidArgument("no configuration information for rafs");
  if (config.backend->type != "localfs") {
    return Status::NotSupported("backend type '" + config.backend->type +
                                "' is not supported yet (only localfs)");
  }
  if (config.cache->type == "fscache") {
    return Status::NotSupported("cache type 'fscache' is not supported by the FUSE daemon");
  }
  if (image.IsV6() && config.rafs->mode == "cached") {
    // rafs/src/metadata/md_v6.rs: RafsMode::Cached => enosys!("Rafs v6 does not support ...")
    return Status::NotSupported("Rafs v6 does not support cached mode");
  }
  return Status::OK();
}

storage::LocalfsConfig LocalfsSettings(const DaemonConfig& config) {
  const LocalfsBackendConfig& l = config.backend->localfs;
  return storage::LocalfsConfig{l.dir, l.blob_file, l.alt_dirs};
}

Daemon::Daemon(DaemonOptions options) : options_(std::move(options)) {}

Daemon::~Daemon() {
  std::unique_ptr<fuse::FuseSession> session;
  {
    std::lock_guard<std::mutex> lock(mu_);
    session = std::move(session_);
  }
  session.reset();  // unmounts if still mounted, before the fs it serves goes away
}

Status Daemon::Start() {
  const auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(config_, ResolveConfig(options_));
  LOG_INFO(
      "config: {} ({})",
      options_.config_path.empty() ? "--localfs-dir " + options_.localfs_dir : options_.config_path,
      ConfigFormatName(config_.format));
  if (options_.mountpoint.empty()) return Status::InvalidArgument("--mountpoint is required");
  ASSIGN_OR_RETURN(std::string mountpoint, CheckMountpoint(options_.mountpoint));
  if (options_.bootstrap.empty()) {
    return Status::InvalidArgument(
        "--bootstrap is required (mounting later through the API, --apisock, is not supported "
        "yet)");
  }
  Result<meta::Image> image = meta::ReadBootstrapFile(options_.bootstrap);
  // The reader's messages name the file; `nydus-image check` prints the same ones.
  if (!image.ok()) return image.status().WithContext("cannot load bootstrap");
  RETURN_IF_ERROR(CheckConfigForImage(config_, *image));
  for (const std::string& line : UnimplementedSettings(config_)) LOG_WARN("config: {}", line);
  LOG_INFO("bootstrap {}: RAFS v{}, {} blob(s), {} nodes; mode {}, chunk digests {}",
           options_.bootstrap, image->IsV6() ? 6 : 5, image->blobs.size(), CountNodes(*image),
           config_.rafs->mode, config_.ChunkValidationEnabled() ? "validated" : "not validated");

  image_ = std::make_shared<const meta::Image>(std::move(*image));
  ASSIGN_OR_RETURN(backend_, storage::NewLocalfsBackend(LocalfsSettings(config_)));
  storage::ChunkReaderOptions reader_opts;
  reader_opts.validate_digest = config_.ChunkValidationEnabled();
  reader_ = std::make_unique<storage::ChunkReader>(*image_, backend_.get(), reader_opts);
  fs::RafsFsOptions fs_opts;
  fs_opts.enable_xattr = config_.rafs->enable_xattr;
  ASSIGN_OR_RETURN(fs_, fs::RafsFs::Create(image_, reader_.get(), fs_opts));

  RETURN_IF_ERROR(CheckFuseDevice());
  fuse::FuseOptions fuse_opts;
  fuse_opts.threads = options_.fuse_threads;
  ASSIGN_OR_RETURN(std::unique_ptr<fuse::FuseSession> session,
                   fuse::FuseSession::Mount(mountpoint, fs_.get(), fuse_opts));
  {
    std::lock_guard<std::mutex> lock(mu_);
    session_ = std::move(session);
    if (exit_requested_) session_->RequestExit();
  }
  LOG_INFO("mounted {} at {} ({} FUSE thread(s)) in {:.3f}s", options_.bootstrap, mountpoint,
           options_.fuse_threads, SecondsSince(t0));
  return Status::OK();
}

Status Daemon::Run() {
  if (session_ == nullptr) return Status::Internal("Daemon::Run() before a successful Start()");
  Status st = session_->Run();
  Status unmounted = session_->Unmount();
  if (!st.ok()) return st;
  if (!unmounted.ok()) return unmounted;
  LOG_INFO("{} unmounted; {}", session_->mountpoint(),
           exit_requested_ ? "exiting on request" : "the mount was removed externally");
  return Status::OK();
}

void Daemon::RequestExit() {
  exit_requested_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  if (session_) session_->RequestExit();
}

}  // namespace nydus::daemon
