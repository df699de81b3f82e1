// FuseSession: serves a Vfs (one RafsFs, or several under pseudo directories) at a mountpoint through the kernel FUSE driver (libfuse 3
// low-level API; the handlers are in fuse_ops.cc). No libfuse type appears in this header.
//
// Lifecycle:
//   ASSIGN_OR_RETURN(auto session, FuseSession::Mount("/mnt", fs.get(), opts));
//   std::thread loop([&] { Status st = session->Run(); ... });   // or Run() on this thread
//   ... later, from any thread (or a signal handler):
//   session->RequestExit();        // detaches the mount; Run() returns once it is gone
//   loop.join();
//   session.reset();               // unmounts if still mounted, closes /dev/fuse
//
// Mount behaviour follows the reference nydusd (fuse-backend-rs): read-only, kernel-side
// permission checks (default_permissions), fsname "rafs", no subtype, attr/entry timeouts
// from VfsOptions (1 << 32 s by default). Reads of up to 1 MiB (max_read) are answered
// from the fs; opened files and directories keep the page cache (the image is immutable).
//
// Ownership: borrows the Vfs, which must outlive the session.
// Thread-safety: Run() may be called once, on any thread; RequestExit() and Unmount() may be
// called from any thread concurrently with Run(). RequestExit() is async-signal-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "fs/vfs.h"

namespace nydus::fuse {

struct FuseOptions {
  // Worker threads of the request loop (nydusd --fuse-threads, default 4, 1..1024). With 1
  // the loop is single-threaded.
  uint32_t threads = 4;
  // Let users other than the mounting one access the mount (needs root or user_allow_other).
  bool allow_other = true;
  // Mount with MS_RDONLY, so the kernel refuses writes itself. Write requests that reach the
  // daemon (rw mount) are answered EROFS either way.
  bool read_only = true;
  // Let the kernel check permissions from the reported mode/uid/gid (then ACCESS requests are
  // not sent).
  bool default_permissions = true;
  std::string fsname = "rafs";  // the "source" column of /proc/mounts
  std::string subtype;          // non-empty: the type is "fuse.<subtype>"
};

class FuseSession {
 public:
  // Creates the FUSE session and mounts it at `mountpoint` (an existing directory).
  // InvalidArgument for bad options (threads out of range, ',' or '\' in fsname/subtype);
  // IOError when libfuse cannot create the session or mount (see its stderr message).
  static Result<std::unique_ptr<FuseSession>> Mount(const std::string& mountpoint,
                                                    const fs::Vfs* fs,
                                                    const FuseOptions& options);
  // Unmounts (if still mounted) and frees the session. If Run() is active on another thread,
  // requests exit and waits for it to return first.
  ~FuseSession();
  FuseSession(const FuseSession&) = delete;
  FuseSession& operator=(const FuseSession&) = delete;

  // Serves requests until the mount goes away (RequestExit, Unmount, or an external umount).
  // OK on a clean end; IOError when the loop failed. REQUIRES: called at most once.
  Status Run();

  // Asks Run() to stop by lazily detaching the mount (umount2 MNT_DETACH); requests on files
  // still open keep being served until they are closed. Idempotent.
  void RequestExit();

  // RequestExit(), waits for an active Run() to return, then releases the kernel connection.
  // Idempotent; IOError only when the detach itself failed for a reason other than
  // "not mounted".
  Status Unmount();

  // Tells the kernel to forget the cached entry `name` in directory `parent` and the cached
  // listing of `parent` (after the Vfs mounted or unmounted an image there). Safe from any
  // thread except a request handler; a no-op when not running.
  void Invalidate(uint64_t parent, const std::string& name);

  const std::string& mountpoint() const;

 private:
  struct Impl;
  explicit FuseSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nydus::fuse
