#include "daemon/daemon.h"

#include <chrono>
#include <filesystem>
#include <optional>
#include <utility>

#include "base/logging.h"
#include "daemon/daemon_api.h"
#include "daemon/kernel_mount.h"
#include "daemon/mount_check.h"

namespace nydus::daemon {
namespace {

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

Daemon::Daemon(DaemonOptions options) : options_(std::move(options)) {}

Daemon::~Daemon() {
  if (api_server_) api_server_->Stop();
  std::unique_ptr<fuse::FuseSession> session;
  {
    std::lock_guard<std::mutex> lock(mu_);
    session = std::move(session_);
  }
  session.reset();        // unmounts if still mounted, before the fs it serves goes away
  if (kernel_mounted_) {  // Start() mounted the kernel's EROFS, Run() never took it down
    Status st = UnmountKernel(mountpoint_);
    if (!st.ok()) LOG_WARN("{}", st.ToString());
  }
}

Status Daemon::StartApi() {
  api_ = std::make_unique<DaemonApi>(this);
  router_ = std::make_unique<ApiRouter>(api_.get());
  api_server_ = std::make_unique<http::UnixServer>(
      options_.apisock, [r = router_.get()](const http::HttpRequest& q) { return r->Handle(q); });
  Status st = api_server_->Start();
  if (!st.ok()) return st.WithContext("cannot serve the API on " + options_.apisock);
  LOG_INFO("API server listening on {}", options_.apisock);
  return Status::OK();
}

Status Daemon::Start() {
  const auto t0 = std::chrono::steady_clock::now();
  if (options_.mountpoint.empty()) return Status::InvalidArgument("--mountpoint is required");
  if (options_.bootstrap.empty() && options_.apisock.empty()) {
    return Status::InvalidArgument(
        "--bootstrap is required unless --apisock is given (then mount images through the API)");
  }
  std::optional<DaemonConfig> config;
  if (!options_.bootstrap.empty()) {
    ASSIGN_OR_RETURN(config, ResolveConfig(options_));
    LOG_INFO("config: {} ({})",
             options_.config_path.empty() ? "--localfs-dir " + options_.localfs_dir
                                          : options_.config_path,
             ConfigFormatName(config->format));
  }
  ASSIGN_OR_RETURN(std::string mountpoint, CheckMountpoint(options_.mountpoint));
  std::shared_ptr<RafsInstance> instance;
  if (config.has_value()) {
    std::vector<std::string> prefetch;
    if (!options_.prefetch_files.empty()) {
      ASSIGN_OR_RETURN(prefetch, ReadPrefetchList(options_.prefetch_files));
    }
    ASSIGN_OR_RETURN(instance, RafsInstance::Create(*config, options_.bootstrap, prefetch));
  } else if (!options_.prefetch_files.empty()) {
    return Status::InvalidArgument("--prefetch-files requires --bootstrap");
  }
  // The Vfs exists before the API serves: handlers read vfs_ (MountImage, GetFsMetrics)
  // without a lock, so it must not be assigned while they may run.
  fs::VfsOptions vfs_opts;
  if (instance != nullptr && options_.virtual_mountpoint == "/") {
    vfs_ = std::make_unique<fs::Vfs>(instance->Fs(), vfs_opts);
  } else {
    vfs_ = std::make_unique<fs::Vfs>(vfs_opts);
    if (instance != nullptr)
      RETURN_IF_ERROR(vfs_->Mount(options_.virtual_mountpoint, instance->Fs()));
  }
  if (instance != nullptr) {
    std::lock_guard<std::mutex> lock(instances_mu_);
    instances_[options_.virtual_mountpoint] = instance;
  }
  if (!options_.apisock.empty()) RETURN_IF_ERROR(StartApi());
  mountpoint_ = mountpoint;
  if (instance != nullptr && options_.erofs_when_cached && TryKernelMount(*instance, mountpoint)) {
    running_ = true;
    LOG_INFO("mounted {} at {} with the kernel's EROFS (every chunk cached) in {:.3f}s",
             options_.bootstrap, mountpoint, SecondsSince(t0));
    return Status::OK();
  }

  RETURN_IF_ERROR(CheckFuseDevice());
  fuse::FuseOptions fuse_opts;
  fuse_opts.threads = options_.fuse_threads;
  ASSIGN_OR_RETURN(std::unique_ptr<fuse::FuseSession> session,
                   fuse::FuseSession::Mount(mountpoint, vfs_.get(), fuse_opts));
  {
    std::lock_guard<std::mutex> lock(mu_);
    session_ = std::move(session);
    if (exit_requested_) session_->RequestExit();
    fuse::FuseSession* s = session_.get();
    vfs_->set_invalidate(
        [s](uint64_t parent, const std::string& name) { s->Invalidate(parent, name); });
  }
  running_ = true;
  LOG_INFO("mounted {} at {} ({} FUSE thread(s)) in {:.3f}s",
           options_.bootstrap.empty() ? std::string("an empty pseudo root") : options_.bootstrap,
           mountpoint, options_.fuse_threads, SecondsSince(t0));
  return Status::OK();
}

bool Daemon::TryKernelMount(RafsInstance& instance, const std::string& mountpoint) {
  if (options_.virtual_mountpoint != "/") {
    LOG_INFO("--erofs-when-cached: the image is mounted at {} inside the FUSE mount; FUSE it is",
             options_.virtual_mountpoint);
    return false;
  }
  Result<std::vector<std::string>> devices = instance.KernelDevices();
  if (!devices.ok()) {
    LOG_INFO("--erofs-when-cached: serving through FUSE: {}", devices.status().ToString());
    return false;
  }
  Status st = MountErofsFileBacked(std::filesystem::absolute(options_.bootstrap).string(), *devices,
                                   mountpoint);
  if (!st.ok()) {
    LOG_WARN("--erofs-when-cached: serving through FUSE: {}", st.ToString());
    return false;
  }
  kernel_mounted_ = true;
  return true;
}

Status Daemon::RunKernelMount() {
  bool removed = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    while (!exit_requested_) {
      exit_cv_.wait_for(lock, std::chrono::seconds(1));
      // mountpoint_ is CheckMountpoint's canonical path, as MountedFsType wants it. An
      // unreadable mount table is not taken as an unmount.
      Result<std::optional<std::string>> type = MountedFsType(mountpoint_);
      if (!exit_requested_ && type.ok() && *type != std::optional<std::string>("erofs")) {
        removed = true;
        break;
      }
    }
  }
  running_ = false;
  if (api_server_) api_server_->Stop();
  if (!removed) RETURN_IF_ERROR(UnmountKernel(mountpoint_));
  kernel_mounted_ = false;
  LOG_INFO("{} unmounted; {}", mountpoint_,
           removed ? "the mount was removed externally" : "exiting on request");
  return Status::OK();
}

Status Daemon::Run() {
  if (kernel_mounted_) return RunKernelMount();
  if (session_ == nullptr) return Status::Internal("Daemon::Run() before a successful Start()");
  Status st = session_->Run();
  running_ = false;
  if (api_server_) api_server_->Stop();
  vfs_->set_invalidate(nullptr);
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
  exit_cv_.notify_all();
}

Status Daemon::MountImage(const std::string& path, const std::string& bootstrap,
                          const DaemonConfig& config, std::vector<std::string> prefetch_files) {
  if (vfs_ == nullptr) return Status::Unavailable("the daemon is not running yet");
  if (kernel_mounted_) {
    return Status::NotSupported(
        "the --bootstrap image is mounted by the kernel's EROFS "
        "(--erofs-when-cached): there is no FUSE mount to add images to");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<RafsInstance> inst,
                   RafsInstance::Create(config, bootstrap, std::move(prefetch_files)));
  RETURN_IF_ERROR(vfs_->Mount(path, inst->Fs()));
  std::lock_guard<std::mutex> lock(instances_mu_);
  instances_[path] = std::move(inst);
  LOG_INFO("mounted {} at {} (API)", bootstrap, path);
  return Status::OK();
}

Status Daemon::RemountImage(const std::string& path, const std::string& bootstrap,
                            const DaemonConfig& config, std::vector<std::string> prefetch_files) {
  if (vfs_ == nullptr) return Status::Unavailable("the daemon is not running yet");
  ASSIGN_OR_RETURN(std::shared_ptr<RafsInstance> inst,
                   RafsInstance::Create(config, bootstrap, std::move(prefetch_files)));
  RETURN_IF_ERROR(vfs_->Remount(path, inst->Fs()));
  std::lock_guard<std::mutex> lock(instances_mu_);
  instances_[path] = std::move(inst);
  LOG_INFO("remounted {} at {} (API)", bootstrap, path);
  return Status::OK();
}

Status Daemon::UmountImage(const std::string& path) {
  if (vfs_ == nullptr) return Status::Unavailable("the daemon is not running yet");
  RETURN_IF_ERROR(vfs_->Umount(path));
  std::lock_guard<std::mutex> lock(instances_mu_);
  instances_.erase(path);
  LOG_INFO("unmounted {} (API)", path);
  return Status::OK();
}

Result<std::shared_ptr<RafsInstance>> Daemon::Instance(
    const std::optional<std::string>& path) const {
  std::lock_guard<std::mutex> lock(instances_mu_);
  if (!path.has_value()) {
    if (instances_.size() == 1) return instances_.begin()->second;
    return Status::NotFound(instances_.empty()
                                ? "no filesystem is mounted"
                                : "several filesystems are mounted: give ?id=<mountpoint>");
  }
  auto it = instances_.find(*path);
  if (it == instances_.end()) return Status::NotFound("nothing is mounted at " + *path);
  return it->second;
}

std::map<std::string, std::shared_ptr<RafsInstance>> Daemon::Instances() const {
  std::lock_guard<std::mutex> lock(instances_mu_);
  return instances_;
}

}  // namespace nydus::daemon
