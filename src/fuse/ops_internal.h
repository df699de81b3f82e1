// Internal to src/fuse: what the FUSE request handlers share. Each handler decodes the
// request, calls the Vfs, and replies exactly once; the work is in fs/. The handlers are
// noexcept: RunGuarded turns an escaping exception into an EIO reply (an exception crossing
// into libfuse's C frames would terminate the daemon).
// Thread-safety: handlers run concurrently on libfuse's worker threads; they only read the
// OpsContext and call the thread-safe Vfs.
#pragma once

#include <atomic>

#include <sys/stat.h>

#include "base/status.h"
#include "fs/fs_types.h"
#include "fs/vfs.h"
#include "fuse/lowlevel.h"

namespace nydus::fuse::internal {

// Largest read request (the max_read mount option; init() must announce the same value).
inline constexpr unsigned kMaxRead = 1u << 20;

// The userdata of a session: the filesystem it serves and the cache timeouts it replies with.
struct OpsContext {
  const fs::Vfs* fs = nullptr;  // borrowed; outlives the session
  double attr_timeout = 0;
  double entry_timeout = 0;
  // Set in init when the kernel lets us decline OPEN/OPENDIR (FUSE_CAP_NO_OPEN_SUPPORT /
  // FUSE_CAP_NO_OPENDIR_SUPPORT). The image is immutable and opens carry no state, so
  // declining saves one round trip per open and release; the kernel then keeps the page
  // cache and the directory cache as FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR would.
  std::atomic<bool> no_open{false};
  std::atomic<bool> no_opendir{false};
};

// The table of every operation (fuse_ops.cc: the index of this adapter).
const fuse_lowlevel_ops& RafsOps();

inline const OpsContext& Ctx(fuse_req_t req) {
  return *static_cast<const OpsContext*>(fuse_req_userdata(req));
}

// Runs `fn` (which must reply); replies EIO if it throws before replying.
template <typename Fn>
void RunGuarded(fuse_req_t req, Fn&& fn) noexcept {
  try {
    fn();
  } catch (...) {
    fuse_reply_err(req, EIO);
  }
}

// Replies fuse_reply_err with ToErrno(status) (0 for OK: the "success, no data" reply).
void ReplyStatus(fuse_req_t req, const Status& status);
struct stat ToStat(const fs::Attr& attr);
fuse_entry_param ToEntryParam(const OpsContext& cx, const fs::Entry& entry);

// Handlers defined outside fuse_ops.cc.
void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept;
void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) noexcept;
void ReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                 fuse_file_info* fi) noexcept;
void ReleaseDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept;
void GetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) noexcept;
void ListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) noexcept;
// Fills every write-type operation of `ops` with a handler that answers EROFS.
void SetReadOnlyOps(fuse_lowlevel_ops* ops);

}  // namespace nydus::fuse::internal
