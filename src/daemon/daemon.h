// Daemon: the composition root of nydusd. It turns DaemonOptions into the object graph that
// serves one RAFS image over FUSE, and owns it:
//
//   config (file, or generated for --localfs-dir) ─┐
//   bootstrap ── meta::ReadBootstrapFile ──────────┼─► storage::BlobBackend (localfs)
//                                                   ├─► storage::ChunkReader (validate_digest)
//                                                   ├─► fs::RafsFs
//                                                   └─► fuse::FuseSession, mounted
//
// Lifecycle (nydusd_main.cc):
//   Daemon d(options);                    // cheap; RequestExit() is valid from here on
//   signal watcher → d.RequestExit()      // SIGINT/SIGTERM (daemon/signal_watcher.h)
//   RETURN_IF_ERROR(d.Start());           // everything up to a live mount, or why not
//   RETURN_IF_ERROR(d.Run());             // serves until RequestExit() or an external umount
//   // ~Daemon: unmounts if still mounted, then frees the graph in reverse order
//
// Start() fails (and leaves nothing mounted) with a message naming the cause: a bad or missing
// config (InvalidArgument/NotFound naming the file and key), a missing or corrupt bootstrap
// (the bootstrap reader's message, as `nydus-image check` prints it), a non-existent, non-
// directory or busy mountpoint, no permission on /dev/fuse, or a configuration this daemon
// cannot serve (NotSupported: backends other than localfs, fscache, mode "cached" on v6).
// Thread-safety: Start() and Run() on one thread; RequestExit() from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "base/result.h"
#include "daemon/config.h"
#include "daemon/options.h"
#include "fs/rafs_fs.h"
#include "fuse/fuse_session.h"
#include "meta/image.h"
#include "storage/blob_backend.h"
#include "storage/chunk_reader.h"

namespace nydus::daemon {

// The config for `options`: the file given by config_path, or the --localfs-dir one.
// InvalidArgument when neither or both are given.
Result<DaemonConfig> ResolveConfig(const DaemonOptions& options);

// Checks that `config` can serve `image` here: backend, cache and rafs sections present (the
// reference's "no configuration information for ..."), backend type localfs, cache type not
// fscache, and rafs.mode "direct" for v6 ("Rafs v6 does not support cached mode").
Status CheckConfigForImage(const DaemonConfig& config, const meta::Image& image);

// The localfs backend settings of `config`. REQUIRES: CheckConfigForImage passed.
storage::LocalfsConfig LocalfsSettings(const DaemonConfig& config);

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

  const DaemonConfig& config() const { return config_; }

 private:
  DaemonOptions options_;
  DaemonConfig config_;
  // Members are destroyed in reverse order: the session goes first, the image last.
  std::shared_ptr<const meta::Image> image_;  // shared with fs_; borrowed by reader_
  std::unique_ptr<storage::BlobBackend> backend_;
  std::unique_ptr<storage::ChunkReader> reader_;
  std::unique_ptr<fs::RafsFs> fs_;
  std::mutex mu_;  // guards session_ against RequestExit() from the signal thread
  std::unique_ptr<fuse::FuseSession> session_;
  std::atomic<bool> exit_requested_{false};
};

}  // namespace nydus::daemon
