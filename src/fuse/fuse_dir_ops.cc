// Directory handlers: opendir, readdir, readdirplus, releasedir.
#include <fcntl.h>

#include <string>
#include <vector>

#include "fuse/ops_internal.h"

namespace nydus::fuse::internal {

namespace {

// Packs ReadDir entries into a reply buffer of at most `size` bytes (fuse_add_direntry[_plus]
// format) until it is full. `plus` adds each entry's attributes (readdirplus).
class DirBuffer {
 public:
  DirBuffer(fuse_req_t req, size_t size, bool plus) : req_(req), plus_(plus), buf_(size) {}

  // Appends `e`; false (and nothing appended) when it does not fit or its attributes cannot
  // be read (then error() says why).
  bool Add(const fs::DirEntry& e) {
    const size_t room = buf_.size() - used_;
    char* dst = buf_.data() + used_;
    const off_t next = static_cast<off_t>(e.next_offset);
    size_t need;
    if (plus_) {
      const OpsContext& cx = Ctx(req_);
      Result<fs::Attr> attr = cx.fs->EntryAttr(e.ino);
      if (!attr.ok()) {
        error_ = attr.status();
        return false;
      }
      const fuse_entry_param param = ToEntryParam(cx, fs::Entry{e.ino, *attr, 0});
      need = fuse_add_direntry_plus(req_, dst, room, e.name.c_str(), &param, next);
    } else {
      struct stat st {};
      st.st_ino = e.ino;
      st.st_mode = e.type << 12;  // DTTOIF: only the type bits are used
      need = fuse_add_direntry(req_, dst, room, e.name.c_str(), &st, next);
    }
    if (need > room) return false;
    used_ += need;
    return true;
  }

  // Replies with the packed entries, or with the error if none could be packed.
  void Reply(const Status& walk) {
    if (!walk.ok()) return ReplyStatus(req_, walk);
    if (used_ == 0 && !error_.ok()) return ReplyStatus(req_, error_);
    fuse_reply_buf(req_, buf_.data(), used_);
  }

 private:
  fuse_req_t req_;
  bool plus_;
  std::vector<char> buf_;
  size_t used_ = 0;
  Status error_;
};

void DoReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus) {
  if (off < 0) return static_cast<void>(fuse_reply_err(req, EINVAL));
  DirBuffer buf(req, size, plus);
  Status st = Ctx(req).fs->ReadDir(
      ino, static_cast<uint64_t>(off), [&buf](const fs::DirEntry& e) { return buf.Add(e); }, plus);
  buf.Reply(st);
}

}  // namespace

void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept {
  RunGuarded(req, [&] {
    // The kernel sends OPENDIR for directories only; ReadDir checks the type anyway.
    Status st = Ctx(req).fs->Open(ino, O_RDONLY | O_DIRECTORY, /*dir=*/true);
    if (!st.ok()) return ReplyStatus(req, st);
    if (Ctx(req).no_opendir) return static_cast<void>(fuse_reply_err(req, ENOSYS));
    fi->fh = 0;
    fi->cache_readdir = 1;  // listings never change (reference: CACHE_DIR | KEEP_CACHE)
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
  });
}

void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) noexcept {
  RunGuarded(req, [&] { DoReadDir(req, ino, size, off, /*plus=*/false); });
}

void ReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) noexcept {
  RunGuarded(req, [&] { DoReadDir(req, ino, size, off, /*plus=*/true); });
}

void ReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info*) noexcept { fuse_reply_err(req, 0); }

}  // namespace nydus::fuse::internal
