// The FUSE low-level operations table (RafsOps, at the bottom: the index of this adapter) and
// the inode and file handlers. Directory and xattr handlers live in fuse_dir_ops.cc and
// fuse_xattr_ops.cc, the EROFS answers to write-type requests in fuse_write_ops.cc.
#include <fcntl.h>
#include <sys/statvfs.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "base/logging.h"
#include "fuse/ops_internal.h"
#include "fuse/to_errno.h"

namespace nydus::fuse::internal {

void ReplyStatus(fuse_req_t req, const Status& status) {
  const int err = ToErrno(status);
  if (err == EIO) LOG_WARN("fuse: {}", status.ToString());
  fuse_reply_err(req, err);
}

struct stat ToStat(const fs::Attr& a) {
  struct stat st {};
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_rdev = a.rdev;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blocks = static_cast<blkcnt_t>(a.blocks);
  st.st_blksize = a.blksize;
  st.st_atim = {a.atime, a.atime_nsec};
  st.st_mtim = {a.mtime, a.mtime_nsec};
  st.st_ctim = {a.ctime, a.ctime_nsec};
  return st;
}

fuse_entry_param ToEntryParam(const OpsContext& cx, const fs::Entry& entry) {
  fuse_entry_param e{};
  e.ino = entry.ino;
  e.generation = entry.generation;
  e.attr = ToStat(entry.attr);
  e.attr_timeout = cx.attr_timeout;
  e.entry_timeout = cx.entry_timeout;
  return e;
}

namespace {

void Init(void* userdata, fuse_conn_info* conn) noexcept {
  auto want = [conn](unsigned cap) {
    if (conn->capable & cap) conn->want |= cap;
  };
  want(FUSE_CAP_ASYNC_READ);       // concurrent reads of one file
  want(FUSE_CAP_PARALLEL_DIROPS);  // concurrent lookups/readdirs in one directory
  want(FUSE_CAP_CACHE_SYMLINKS);   // the image never changes: cache readlink answers
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  auto* cx = static_cast<OpsContext*>(userdata);
  cx->no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
  cx->no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
  conn->max_read = kMaxRead;  // libfuse insists that this repeats the max_read mount option
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) noexcept {
  RunGuarded(req, [&] {
    const OpsContext& cx = Ctx(req);
    Result<fs::Entry> e = cx.fs->Lookup(parent, name);
    if (!e.ok() && e.status().code() == StatusCode::kNotFound) {
      // A negative entry (ino 0): the kernel caches the absence for entry_timeout.
      fuse_entry_param neg{};
      // Not under pseudo directories: an image may be mounted there later.
      neg.entry_timeout = cx.fs->Cacheable(parent) ? cx.entry_timeout : 0;
      fuse_reply_entry(req, &neg);
      return;
    }
    if (!e.ok()) return ReplyStatus(req, e.status());
    const fuse_entry_param param = ToEntryParam(cx, *e);
    fuse_reply_entry(req, &param);
  });
}

// Inode numbers are fixed for the image's lifetime: lookup counts need no bookkeeping.
void Forget(fuse_req_t req, fuse_ino_t, uint64_t) noexcept { fuse_reply_none(req); }
void ForgetMulti(fuse_req_t req, size_t, fuse_forget_data*) noexcept { fuse_reply_none(req); }

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) noexcept {
  RunGuarded(req, [&] {
    const OpsContext& cx = Ctx(req);
    Result<fs::Attr> a = cx.fs->GetAttr(ino);
    if (!a.ok()) return ReplyStatus(req, a.status());
    const struct stat st = ToStat(*a);
    fuse_reply_attr(req, &st, cx.attr_timeout);
  });
}

void ReadLink(fuse_req_t req, fuse_ino_t ino) noexcept {
  RunGuarded(req, [&] {
    Result<std::string> target = Ctx(req).fs->ReadLink(ino);
    if (!target.ok()) return ReplyStatus(req, target.status());
    fuse_reply_readlink(req, target->c_str());
  });
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept {
  RunGuarded(req, [&] {
    // Writing is refused as a read-only mount would (the kernel already does so for "ro").
    if (fs::IsWriteOpen(fi->flags)) return static_cast<void>(fuse_reply_err(req, EROFS));
    Status st = Ctx(req).fs->Open(ino, fi->flags, /*dir=*/false);
    if (!st.ok()) return ReplyStatus(req, st);
    // Declining (ENOSYS) succeeds this open and tells the kernel to skip later ones.
    if (Ctx(req).no_open) return static_cast<void>(fuse_reply_err(req, ENOSYS));
    fi->fh = 0;          // no per-open state
    fi->keep_cache = 1;  // file contents never change: keep the page cache across opens
    fuse_reply_open(req, fi);
  });
}

// A reply is written with one writev of the pieces plus libfuse's header (IOV_MAX is 1024);
// past this many pieces the rest of a read is copied into the buffer (ReadPieces).
constexpr size_t kMaxReplyPieces = 1000;

void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) noexcept {
  RunGuarded(req, [&] {
    if (off < 0) return static_cast<void>(fuse_reply_err(req, EINVAL));
    // One buffer per worker thread; requests are at most max_read (1 MiB) long.
    // It only grows (resize zero-fills, which on every request cost ~3% of a read).
    thread_local std::vector<uint8_t> buf;
    if (buf.size() < size) buf.resize(size);
    // The reply is gathered from pieces: ranges ready in the blob cache go from its mapped
    // file to the kernel in the reply's own write, decoded chunks from where they are; only
    // the rest goes through `buf`.
    thread_local ReadPieces pieces(kMaxReplyPieces);
    thread_local std::vector<iovec> iov;
    pieces.Clear();
    Result<size_t> n = Ctx(req).fs->Read(ino, static_cast<uint64_t>(off),
                                         std::span<uint8_t>(buf.data(), size), &pieces);
    if (!n.ok()) {
      pieces.Clear();
      return ReplyStatus(req, n.status());
    }
    if (pieces.pieces().empty()) return static_cast<void>(fuse_reply_buf(req, nullptr, 0));  // EOF
    iov.clear();
    for (const ReadPieces::Piece& p : pieces.pieces()) {
      iov.push_back(iovec{const_cast<uint8_t*>(p.data), p.size});
    }
    const int err = fuse_reply_iov(req, iov.data(), static_cast<int>(iov.size()));
    if (err != 0 && err != -ENOENT) {  // ENOENT: the request was interrupted meanwhile
      // The kernel ended the request with EIO (EFAULT: a cache file cut short under its
      // mapping by someone else); the reader sees an error, never other bytes.
      LOG_WARN("fuse: read reply for inode {} at {} (+{}) failed: {}", ino, off, *n,
               std::strerror(-err));
    }
    pieces.Clear();  // drop the owners' references now, not at the next read
  });
}

void Release(fuse_req_t req, fuse_ino_t, fuse_file_info*) noexcept { fuse_reply_err(req, 0); }

void StatFs(fuse_req_t req, fuse_ino_t ino) noexcept {
  RunGuarded(req, [&] {
    const fs::StatFs s = Ctx(req).fs->GetStatFs(ino);
    struct statvfs sv {};
    sv.f_bsize = s.bsize;
    sv.f_frsize = s.frsize;
    sv.f_blocks = s.blocks;
    sv.f_bfree = s.bfree;
    sv.f_bavail = s.bavail;
    sv.f_files = s.files;
    sv.f_ffree = s.ffree;
    sv.f_favail = s.favail;
    sv.f_namemax = s.namemax;
    fuse_reply_statfs(req, &sv);
  });
}

void Access(fuse_req_t req, fuse_ino_t ino, int mask) noexcept {
  RunGuarded(req, [&] {
    const fuse_ctx* c = fuse_req_ctx(req);
    ReplyStatus(req, Ctx(req).fs->Access(ino, mask, fs::Caller{c->uid, c->gid}));
  });
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops{};
  ops.init = Init;
  ops.lookup = Lookup;
  ops.forget = Forget;
  ops.forget_multi = ForgetMulti;
  ops.getattr = GetAttr;
  ops.readlink = ReadLink;
  ops.open = Open;
  ops.read = Read;
  ops.release = Release;
  ops.opendir = OpenDir;
  ops.readdir = ReadDir;
  ops.readdirplus = ReadDirPlus;
  ops.releasedir = ReleaseDir;
  ops.statfs = StatFs;
  ops.getxattr = GetXattr;
  ops.listxattr = ListXattr;
  ops.access = Access;
  SetReadOnlyOps(&ops);  // setattr, mknod, mkdir, unlink, ..., copy_file_range: EROFS
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& RafsOps() {
  static const fuse_lowlevel_ops ops = MakeOps();
  return ops;
}

}  // namespace nydus::fuse::internal
