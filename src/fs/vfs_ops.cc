// Vfs operations: resolve the inode to a mounted RafsFs (or a pseudo directory), call it,
// translate inode numbers back, and count the call.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <mutex>

#include "fs/vfs.h"
#include "fs/vfs_internal.h"

namespace nydus::fs {

namespace {

constexpr uint64_t kInnerMask = (uint64_t{1} << Vfs::kSlotShift) - 1;
constexpr uint32_t kBlock = 4096;

uint64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool IsOk(const Status& s) { return s.ok(); }
template <typename T>
bool IsOk(const Result<T>& r) {
  return r.ok();
}

template <typename Fn>
auto Counted(FsStats& stats, Fop op, Fn&& fn) {
  const uint64_t t0 = NowMicros();
  auto r = fn();
  stats.Record(op, IsOk(r), NowMicros() - t0);
  return r;
}

Status NotFoundIno(uint64_t ino) {
  return Status::NotFound("vfs: inode " + std::to_string(ino) + " does not exist");
}

Status IsDirError(uint64_t ino) {
  return Status::InvalidArgument("vfs: inode " + std::to_string(ino) + " is a directory");
}

}  // namespace

uint64_t Vfs::Outer(const Mounted& m, uint64_t inner) {
  return (uint64_t{m.slot} << kSlotShift) | inner;
}

Result<Vfs::Target> Vfs::Resolve(uint64_t ino, std::shared_lock<std::shared_mutex>* lock) const {
  Target t;
  if (root_mode()) {
    t.mount = root_.get();
    t.inner = ino;
    return t;
  }
  const uint64_t slot = ino >> kSlotShift;
  *lock = std::shared_lock<std::shared_mutex>(mu_);
  if (slot == 0) {
    auto it = dirs_.find(ino);
    if (it == dirs_.end()) return NotFoundIno(ino);
    if (it->second->slot != 0) return NotFoundIno(ino);  // hidden by its mount
    t.dir = it->second.get();
    return t;
  }
  if (slot > kMaxMounts || slots_[slot] == nullptr) return NotFoundIno(ino);
  t.keep = slots_[slot];
  t.mount = t.keep.get();
  t.inner = ino & kInnerMask;
  lock->unlock();  // the mount stays alive through `keep`
  return t;
}

Attr Vfs::PseudoAttr(const PseudoDir& dir) const {
  Attr a;
  a.ino = dir.ino;
  a.mode = S_IFDIR | 0755;
  a.nlink = 2;
  a.blksize = kBlock;
  a.atime = a.mtime = a.ctime = start_time_;
  return a;
}

Result<Entry> Vfs::MountRootEntry(const Mounted& m) const {
  ASSIGN_OR_RETURN(Attr a, Counted(m.stats, Fop::kLookup, [&] { return m.fs->GetAttr(kRootIno); }));
  a.ino = Outer(m, a.ino);
  return Entry{a.ino, a, 0};
}

bool Vfs::Cacheable(uint64_t ino) const { return root_mode() || (ino >> kSlotShift) != 0; }

void Vfs::CountFop(uint64_t ino, Fop op) const {
  std::shared_lock<std::shared_mutex> lock;
  Result<Target> t = Resolve(ino, &lock);
  if (t.ok() && t->mount != nullptr) t->mount->stats.Record(op, true, 0);
}

Result<Attr> Vfs::GetAttr(uint64_t ino) const { return AttrOf(ino, /*count=*/true); }

Result<Attr> Vfs::EntryAttr(uint64_t ino) const { return AttrOf(ino, /*count=*/false); }

Result<Attr> Vfs::AttrOf(uint64_t ino, bool count) const {
  std::shared_lock<std::shared_mutex> lock;
  ASSIGN_OR_RETURN(Target t, Resolve(ino, &lock));
  if (t.dir != nullptr) return PseudoAttr(*t.dir);
  auto get = [&] { return t.mount->fs->GetAttr(t.inner); };
  ASSIGN_OR_RETURN(Attr a, count ? Counted(t.mount->stats, Fop::kGetattr, get) : get());
  a.ino = Outer(*t.mount, a.ino);
  return a;
}

Result<Entry> Vfs::Lookup(uint64_t parent, const std::string& name) const {
  std::shared_lock<std::shared_mutex> lock;
  ASSIGN_OR_RETURN(Target t, Resolve(parent, &lock));
  if (t.dir != nullptr) {
    const PseudoDir* d = t.dir;
    if (name == "." || name == "..") {
      const PseudoDir& self = name == "." ? *d : *dirs_.at(d->parent);
      return Entry{self.ino, PseudoAttr(self), 0};
    }
    auto it = d->children.find(name);
    if (it == d->children.end()) {
      return Status::NotFound("vfs: no entry named '" + name + "' in the pseudo directory");
    }
    const PseudoDir& child = *dirs_.at(it->second);
    if (child.slot == 0) return Entry{child.ino, PseudoAttr(child), 0};
    std::shared_ptr<Mounted> m = slots_[child.slot];
    lock.unlock();
    return MountRootEntry(*m);
  }
  ASSIGN_OR_RETURN(Entry e, Counted(t.mount->stats, Fop::kLookup,
                                    [&] { return t.mount->fs->Lookup(t.inner, name); }));
  e.ino = e.attr.ino = Outer(*t.mount, e.ino);
  return e;
}

Status Vfs::ReadDir(uint64_t ino, uint64_t offset, const RafsFs::DirFn& fn, bool plus) const {
  std::shared_lock<std::shared_mutex> lock;
  ASSIGN_OR_RETURN(Target t, Resolve(ino, &lock));
  if (t.dir != nullptr) {
    std::vector<DirEntry> all;
    all.push_back({t.dir->ino, ".", DT_DIR, 1});
    all.push_back({t.dir->parent, "..", DT_DIR, 2});
    for (const auto& [name, child_ino] : t.dir->children) {
      const PseudoDir& child = *dirs_.at(child_ino);
      uint64_t reported = child.ino;
      if (child.slot != 0) reported = (uint64_t{child.slot} << kSlotShift) | kRootIno;
      all.push_back({reported, name, DT_DIR, all.size() + 1});
    }
    lock.unlock();
    for (uint64_t i = offset; i < all.size(); ++i) {
      if (!fn(all[i])) break;
    }
    return Status::OK();
  }
  Mounted& m = *t.mount;
  return Counted(m.stats, plus ? Fop::kReaddirplus : Fop::kReaddir, [&] {
    return m.fs->ReadDir(t.inner, offset, [&](const DirEntry& e) {
      DirEntry out = e;
      out.ino = Outer(m, e.ino);
      return fn(out);
    });
  });
}

Result<std::string> Vfs::ReadLink(uint64_t ino) const {
  std::shared_lock<std::shared_mutex> lock;
  ASSIGN_OR_RETURN(Target t, Resolve(ino, &lock));
  if (t.dir != nullptr) return Status::InvalidArgument("vfs: a directory is not a symlink");
  return Counted(t.mount->stats, Fop::kReadlink, [&] { return t.mount->fs->ReadLink(t.inner); });
}

Status Vfs::Open(uint64_t ino, int flags, bool dir) const {
  std::shared_lock<std::shared_mutex> lock;
  ASSIGN_OR_RETURN(Target t, Resolve(ino, &lock));
  if (t.dir != nullptr) {
    if (IsWriteOpen(flags)) return Status::NotSupported("vfs: read-only filesystem");
    return Status::OK();
  }
  return Counted(t.mount->stats, dir ? Fop::kOpendir : Fop::kOpen,
                 [&] { return t.mount->fs->Open(t.inner, flags); });
}

Result<size_t> Vfs::Read(uint64_t ino, uint64_t offset, std::span<uint8_t> out,
                         ReadPieces* pieces) const {
  std::shared_lock<std::shared_mutex> lock;
  ASSIGN_OR_RETURN(Target t, Resolve(ino, &lock));
  if (t.dir != nullptr) return IsDirError(ino);
  const uint64_t t0 = NowMicros();
  Result<size_t> n = t.mount->fs->Read(t.inner, offset, out, pieces);
  const uint64_t us = NowMicros() - t0;
  // After the read, with the bytes it returned: a read past EOF touches no block (and cannot
  // grow the block map beyond the file).
  if (t.mount->access != nullptr) t.mount->access->RecordRead(t.inner, offset, n.ok() ? *n : 0);
  t.mount->stats.Record(Fop::kRead, n.ok(), us);
  if (n.ok()) t.mount->stats.RecordRead(*n, us);
  return n;
}

Result<std::optional<std::string>> Vfs::GetXattr(uint64_t ino, const std::string& name) const {
  std::shared_lock<std::shared_mutex> lock;
  ASSIGN_OR_RETURN(Target t, Resolve(ino, &lock));
  if (t.dir != nullptr) return std::optional<std::string>();
  return Counted(t.mount->stats, Fop::kGetxattr,
                 [&] { return t.mount->fs->GetXattr(t.inner, name); });
}

Result<std::vector<std::string>> Vfs::ListXattr(uint64_t ino) const {
  std::shared_lock<std::shared_mutex> lock;
  ASSIGN_OR_RETURN(Target t, Resolve(ino, &lock));
  if (t.dir != nullptr) return std::vector<std::string>();
  return Counted(t.mount->stats, Fop::kListxattr, [&] { return t.mount->fs->ListXattr(t.inner); });
}

StatFs Vfs::GetStatFs(uint64_t ino) const {
  std::shared_lock<std::shared_mutex> lock;
  Result<Target> t = Resolve(ino, &lock);
  if (t.ok() && t->mount != nullptr) {
    t->mount->stats.Record(Fop::kStatfs, true, 0);
    return t->mount->fs->GetStatFs();
  }
  StatFs s;
  s.bsize = s.frsize = kBlock;
  s.namemax = 255;
  return s;
}

Status Vfs::Access(uint64_t ino, int mask, const Caller& caller) const {
  std::shared_lock<std::shared_mutex> lock;
  ASSIGN_OR_RETURN(Target t, Resolve(ino, &lock));
  if (t.dir != nullptr) {
    if ((mask & W_OK) && caller.uid != 0) return Status::PermissionDenied("vfs: access denied");
    return Status::OK();
  }
  return Counted(t.mount->stats, Fop::kAccess,
                 [&] { return t.mount->fs->Access(t.inner, mask, caller); });
}

}  // namespace nydus::fs
