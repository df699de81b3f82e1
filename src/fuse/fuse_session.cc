#include "fuse/fuse_session.h"

#include <sys/mount.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>

#include "fuse/ops_internal.h"

namespace nydus::fuse {

namespace {

constexpr uint32_t kMaxThreads = 1024;  // nydusd --fuse-threads upper bound

Status ValidateOptions(const FuseOptions& o) {
  if (o.threads < 1 || o.threads > kMaxThreads) {
    return Status::InvalidArgument("fuse: threads must be 1.." + std::to_string(kMaxThreads) +
                                   ", got " + std::to_string(o.threads));
  }
  for (const std::string* s : {&o.fsname, &o.subtype}) {
    if (s->find_first_of(",\\") != std::string::npos) {
      return Status::InvalidArgument("fuse: ',' and '\\' are not allowed in '" + *s + "'");
    }
  }
  if (o.fsname.empty()) return Status::InvalidArgument("fuse: empty fsname");
  return Status::OK();
}

// The "-o" mount option string libfuse passes to mount(2).
std::string MountOptionString(const FuseOptions& o) {
  std::string s = o.read_only ? "ro" : "rw";
  if (o.default_permissions) s += ",default_permissions";
  if (o.allow_other) s += ",allow_other";
  s += ",fsname=" + o.fsname;
  if (!o.subtype.empty()) s += ",subtype=" + o.subtype;
  s += ",max_read=" + std::to_string(internal::kMaxRead);
  return s;
}

}  // namespace

struct FuseSession::Impl {
  std::string mountpoint;  // absolute
  FuseOptions options;
  internal::OpsContext ctx;
  fuse_session* se = nullptr;

  std::atomic<bool> detached{false};
  std::atomic<int> detach_errno{0};

  std::mutex mu;
  std::condition_variable cv;
  bool running = false;   // guarded by mu
  bool ran = false;       // guarded by mu
  bool released = false;  // guarded by mu: fuse_session_unmount done

  int Loop();
};

Result<std::unique_ptr<FuseSession>> FuseSession::Mount(const std::string& mountpoint,
                                                        const fs::Vfs* fs,
                                                        const FuseOptions& options) {
  if (fs == nullptr) return Status::InvalidArgument("fuse: no filesystem");
  RETURN_IF_ERROR(ValidateOptions(options));
  char resolved[PATH_MAX];
  if (realpath(mountpoint.c_str(), resolved) == nullptr) {
    return Status::FromErrno(errno, "fuse: mountpoint " + mountpoint);
  }
  auto impl = std::make_unique<Impl>();
  impl->mountpoint = resolved;
  impl->options = options;
  impl->ctx.fs = fs;
  impl->ctx.attr_timeout = fs->options().attr_timeout_sec;
  impl->ctx.entry_timeout = fs->options().entry_timeout_sec;

  const std::string opts = MountOptionString(options);
  fuse_args args = FUSE_ARGS_INIT(0, nullptr);
  if (fuse_opt_add_arg(&args, "nydusd") != 0 || fuse_opt_add_arg(&args, "-o") != 0 ||
      fuse_opt_add_arg(&args, opts.c_str()) != 0) {
    fuse_opt_free_args(&args);
    return Status::Internal("fuse: out of memory building arguments");
  }
  const fuse_lowlevel_ops& ops = internal::RafsOps();
  impl->se = fuse_session_new(&args, &ops, sizeof(ops), &impl->ctx);
  fuse_opt_free_args(&args);
  if (impl->se == nullptr) return Status::IOError("fuse: cannot create session (-o " + opts + ")");
  if (fuse_session_mount(impl->se, impl->mountpoint.c_str()) != 0) {
    fuse_session_destroy(impl->se);
    return Status::IOError("fuse: cannot mount at " + impl->mountpoint);
  }
  return std::unique_ptr<FuseSession>(new FuseSession(std::move(impl)));
}

FuseSession::FuseSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FuseSession::~FuseSession() {
  (void)Unmount();
  fuse_session_destroy(impl_->se);
}

const std::string& FuseSession::mountpoint() const { return impl_->mountpoint; }

int FuseSession::Impl::Loop() {
  if (options.threads == 1) return fuse_session_loop(se);
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  if (cfg == nullptr) return -ENOMEM;
  fuse_loop_cfg_set_max_threads(cfg, options.threads);
  fuse_loop_cfg_set_idle_threads(cfg, options.threads);  // keep the workers alive
  const int res = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  return res;
}

Status FuseSession::Run() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->ran) return Status::Internal("fuse: Run() called twice");
    if (impl_->released) return Status::Unavailable("fuse: already unmounted");
    impl_->ran = impl_->running = true;
  }
  const int res = impl_->Loop();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->running = false;
  }
  impl_->cv.notify_all();
  if (res == 0) return Status::OK();
  return Status::IOError("fuse: request loop at " + impl_->mountpoint + " failed: " +
                         (res < 0 ? std::strerror(-res) : "signal " + std::to_string(res)));
}

void FuseSession::RequestExit() {
  // No fuse_session_exit(): the loop must keep answering until the kernel ends the connection,
  // or requests already queued (and files still open) would hang.
  if (impl_->detached.exchange(true)) return;
  if (umount2(impl_->mountpoint.c_str(), MNT_DETACH) != 0) impl_->detach_errno = errno;
}

void FuseSession::Invalidate(uint64_t parent, const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (!impl_->running || impl_->released) return;
  }
  // Errors (ENOENT: the kernel had nothing cached) need no handling.
  (void)fuse_lowlevel_notify_inval_entry(impl_->se, parent, name.c_str(), name.size());
  (void)fuse_lowlevel_notify_inval_inode(impl_->se, parent, 0, 0);
}

Status FuseSession::Unmount() {
  RequestExit();
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait(lock, [this] { return !impl_->running; });
  if (!impl_->released) {
    impl_->released = true;
    fuse_session_unmount(impl_->se);  // closes /dev/fuse; unmounts if the detach did not
  }
  const int err = impl_->detach_errno.load();
  if (err != 0 && err != EINVAL && err != ENOENT) {
    return Status::FromErrno(err, "fuse: unmount " + impl_->mountpoint);
  }
  return Status::OK();
}

}  // namespace nydus::fuse
