// Daemon: the composition root of nydusd. It turns DaemonOptions into the object graph that
// serves RAFS images over FUSE, and owns it:
//
//   --bootstrap B + config ── RafsInstance (daemon/rafs_instance.h: view, backend, blob
//                             cache, ChunkReader, RafsFs, prefetch)
//   fs::Vfs: root mode (B at "/", nid/ino pass through) or pseudo mode (images mounted at
//            paths by -m or through the API) ── fuse::FuseSession, mounted
//   --apisock S ── http::UnixServer ── ApiRouter ── DaemonApi (daemon_api.cc)
//
// Lifecycle (nydusd_main.cc):
//   Daemon d(options);                    // cheap; RequestExit() is valid from here on
//   signal watcher → d.RequestExit()      // SIGINT/SIGTERM (daemon/signal_watcher.h)
//   RETURN_IF_ERROR(d.Start());           // everything up to a live mount, or why not
//   RETURN_IF_ERROR(d.Run());             // serves until RequestExit() or an external umount
//   // ~Daemon: stops the API, unmounts if still mounted, then frees the graph
//
// Start() fails (and leaves nothing mounted) with a message naming the cause: a bad or missing
// config (InvalidArgument/NotFound naming the file and key), a missing or corrupt bootstrap
// (the bootstrap reader's message, as `nydus-image check` prints it), rejected registry
// credentials, a non-existent, non-directory or busy mountpoint, no permission on /dev/fuse,
// an API socket another nydusd serves, or a configuration this daemon cannot serve
// (NotSupported). Without --bootstrap, --apisock is required: the FUSE mount starts empty and
// images are mounted with POST /api/v1/mount.
// With --erofs-when-cached and a --bootstrap image whose every chunk is already in the blob
// cache (RafsInstance::KernelDevices), Start() mounts it with the kernel's EROFS driver
// instead (daemon/kernel_mount.h) and Run() waits for RequestExit() or an external umount;
// the API still answers, but there is no FUSE mount to add images to. When any condition is
// not met, or the kernel refuses the mount, the image is served through FUSE as usual.
// Thread-safety: Start() and Run() on one thread; RequestExit() and the API from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/result.h"
#include "daemon/api_router.h"
#include "daemon/config.h"
#include "daemon/options.h"
#include "daemon/rafs_instance.h"
#include "fs/vfs.h"
#include "fuse/fuse_session.h"
#include "http/unix_server.h"

namespace nydus::daemon {

// The config for `options`: the file given by config_path, or the --localfs-dir one.
// InvalidArgument when neither or both are given.
Result<DaemonConfig> ResolveConfig(const DaemonOptions& options);

class DaemonApi;

class Daemon {
 public:
  explicit Daemon(DaemonOptions options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Builds the object graph and mounts. REQUIRES: called once, before Run().
  Status Start();
  // Serves FUSE requests until the mount goes away (RequestExit(), or an external umount),
  // then releases it. OK on a clean end. REQUIRES: Start() succeeded.
  Status Run();
  // Asks a running (or about to run) daemon to unmount and return from Run(). Idempotent;
  // safe from any thread at any time (a request before Start() ends Run() right away).
  void RequestExit();

  const DaemonOptions& options() const { return options_; }

  // Mount management (the API's POST/PUT/DELETE /api/v1/mount). `path` is the virtual
  // mountpoint inside the FUSE mount ("/sub").
  Status MountImage(const std::string& path, const std::string& bootstrap,
                    const DaemonConfig& config, std::vector<std::string> prefetch_files);
  Status RemountImage(const std::string& path, const std::string& bootstrap,
                      const DaemonConfig& config, std::vector<std::string> prefetch_files);
  Status UmountImage(const std::string& path);
  // The image mounted at `path`; nullopt `path` means the only one. NotFound otherwise.
  Result<std::shared_ptr<RafsInstance>> Instance(const std::optional<std::string>& path) const;
  std::map<std::string, std::shared_ptr<RafsInstance>> Instances() const;
  const fs::Vfs* vfs() const { return vfs_.get(); }
  bool running() const { return running_.load(); }
  // Whether the --bootstrap image is mounted by the kernel's EROFS (--erofs-when-cached).
  bool kernel_mounted() const { return kernel_mounted_.load(); }

 private:
  Status StartApi();
  // Mounts `instance` with the kernel's EROFS if --erofs-when-cached allows; false (and why,
  // in the log) when it is to be served through FUSE.
  bool TryKernelMount(RafsInstance& instance, const std::string& mountpoint);
  Status RunKernelMount();

  DaemonOptions options_;
  std::unique_ptr<fs::Vfs> vfs_;
  mutable std::mutex instances_mu_;                                 // guards instances_
  std::map<std::string, std::shared_ptr<RafsInstance>> instances_;  // by virtual mountpoint
  std::mutex mu_;  // guards session_ against RequestExit() from the signal thread
  std::unique_ptr<fuse::FuseSession> session_;
  std::atomic<bool> exit_requested_{false};
  std::atomic<bool> running_{false};
  std::atomic<bool> kernel_mounted_{false};
  std::string mountpoint_;           // the checked --mountpoint, set by Start()
  std::condition_variable exit_cv_;  // with mu_: RequestExit() wakes RunKernelMount()
  // Declared last: destroyed first, so no API request sees a half-destroyed daemon.
  std::unique_ptr<DaemonApi> api_;
  std::unique_ptr<ApiRouter> router_;
  std::unique_ptr<http::UnixServer> api_server_;
};

}  // namespace nydus::daemon
