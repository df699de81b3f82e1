#include "fs/vfs.h"
#include "fs/vfs_internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <mutex>
#include <utility>

namespace nydus::fs {

namespace {

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 1;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

}  // namespace

Vfs::Vfs(std::shared_ptr<const RafsFs> root, const VfsOptions& options)
    : options_(options), root_(std::make_shared<Mounted>(std::move(root), "/", 0)) {}

Vfs::Vfs(const VfsOptions& options) : options_(options) {
  auto root = std::make_unique<PseudoDir>();
  root->ino = kRootIno;
  root->parent = kRootIno;
  root->name = "/";
  dirs_.emplace(kRootIno, std::move(root));
  slots_.resize(kMaxMounts + 1);
  start_time_ = static_cast<int64_t>(std::time(nullptr));
}

Vfs::~Vfs() = default;

void Vfs::set_invalidate(VfsInvalidateFn fn) {
  std::unique_lock lock(mu_);
  invalidate_ = std::move(fn);
}

Status Vfs::ValidatePath(const std::string& path) const {
  if (root_mode()) {
    return Status::InvalidArgument("vfs: an image is mounted at the root; nydusd started with "
                                   "--bootstrap serves only that image");
  }
  if (path.size() < 2 || path[0] != '/' || path.back() == '/') {
    return Status::InvalidArgument("vfs: mountpoint '" + path +
                                   "' must be an absolute path below '/', like /sub");
  }
  for (const std::string& part : SplitPath(path)) {
    if (part.empty() || part == "." || part == ".." || part.size() > 255) {
      return Status::InvalidArgument("vfs: mountpoint '" + path + "' has an invalid component");
    }
  }
  return Status::OK();
}

Status Vfs::Mount(const std::string& path, std::shared_ptr<const RafsFs> fs) {
  if (fs == nullptr) return Status::InvalidArgument("vfs: no filesystem");
  RETURN_IF_ERROR(ValidatePath(path));
  VfsInvalidateFn notify;
  std::pair<uint64_t, std::string> changed;
  {
    std::unique_lock lock(mu_);
    // Find a free slot, preferring ones never used (so stale numbers stay stale).
    uint32_t slot = 0;
    for (uint32_t n = 0; n < kMaxMounts && slot == 0; ++n) {
      const uint32_t s = (next_slot_ - 1 + n) % kMaxMounts + 1;
      if (slots_[s] == nullptr) slot = s;
    }
    if (slot == 0) return Status::Unavailable("vfs: 255 images are mounted already; unmount one first");
    // Walk/create the pseudo directories; none on the way may be a mountpoint, and the
    // target must be new.
    PseudoDir* dir = dirs_.at(kRootIno).get();
    std::vector<std::string> parts = SplitPath(path);
    std::vector<uint64_t> created;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (dir->slot != 0) {
        return Status::AlreadyExists("vfs: an image is mounted above " + path);
      }
      auto it = dir->children.find(parts[i]);
      if (it != dir->children.end()) {
        dir = dirs_.at(it->second).get();
        if (i + 1 == parts.size()) {
          return Status::AlreadyExists("vfs: " + path + " is already " +
                                       (dir->slot ? "mounted" : "a directory above a mount"));
        }
        continue;
      }
      auto child = std::make_unique<PseudoDir>();
      child->ino = next_pseudo_ino_++;
      child->parent = dir->ino;
      child->name = parts[i];
      dir->children.emplace(parts[i], child->ino);
      if (created.empty()) changed = {dir->ino, parts[i]};
      created.push_back(child->ino);
      PseudoDir* next = child.get();
      dirs_.emplace(child->ino, std::move(child));
      dir = next;
    }
    dir->slot = slot;
    slots_[slot] = std::make_shared<Mounted>(std::move(fs), path, slot);
    next_slot_ = slot % kMaxMounts + 1;
    notify = invalidate_;
  }
  if (notify) notify(changed.first, changed.second);
  return Status::OK();
}

Status Vfs::Remount(const std::string& path, std::shared_ptr<const RafsFs> fs) {
  if (fs == nullptr) return Status::InvalidArgument("vfs: no filesystem");
  RETURN_IF_ERROR(ValidatePath(path));
  std::unique_lock lock(mu_);
  for (auto& m : slots_) {
    if (m == nullptr || m->path != path) continue;
    // A new Mounted keeps operations in flight on the old image valid until they finish.
    m = std::make_shared<Mounted>(std::move(fs), path, m->slot);
    return Status::OK();
  }
  return Status::NotFound("vfs: nothing is mounted at " + path);
}

Status Vfs::Umount(const std::string& path) {
  RETURN_IF_ERROR(ValidatePath(path));
  VfsInvalidateFn notify;
  std::pair<uint64_t, std::string> changed;
  {
    std::unique_lock lock(mu_);
    std::shared_ptr<Mounted>* found = nullptr;
    for (auto& m : slots_) {
      if (m != nullptr && m->path == path) found = &m;
    }
    if (found == nullptr) return Status::NotFound("vfs: nothing is mounted at " + path);
    // Find the pseudo directory of the mount, then prune empty pseudo directories upwards.
    PseudoDir* dir = dirs_.at(kRootIno).get();
    for (const std::string& part : SplitPath(path)) dir = dirs_.at(dir->children.at(part)).get();
    dir->slot = 0;
    found->reset();
    while (dir->ino != kRootIno && dir->children.empty() && dir->slot == 0) {
      PseudoDir* parent = dirs_.at(dir->parent).get();
      changed = {parent->ino, dir->name};
      parent->children.erase(dir->name);
      dirs_.erase(dir->ino);
      dir = parent;
    }
    notify = invalidate_;
  }
  if (notify && changed.first != 0) notify(changed.first, changed.second);
  return Status::OK();
}

std::vector<std::string> Vfs::Mountpoints() const {
  if (root_mode()) return {"/"};
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  for (const auto& m : slots_) {
    if (m != nullptr) out.push_back(m->path);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::shared_ptr<const RafsFs> Vfs::FsAt(const std::string& path) const {
  if (root_mode()) return path == "/" ? root_->fs : nullptr;
  std::shared_lock lock(mu_);
  for (const auto& m : slots_) {
    if (m != nullptr && m->path == path) return m->fs;
  }
  return nullptr;
}

std::optional<AccessPatternInfo> Vfs::AccessPatternAt(const std::string& path) const {
  auto info = [](const Mounted& m) {
    AccessPatternInfo i;
    i.enabled = m.access != nullptr;
    if (i.enabled) i.records = m.access->Snapshot();
    return i;
  };
  if (root_mode()) {
    if (path != "/") return std::nullopt;
    return info(*root_);
  }
  std::shared_ptr<const Mounted> found;
  {
    std::shared_lock lock(mu_);
    for (const auto& m : slots_) {
      if (m != nullptr && m->path == path) {
        found = m;
        break;
      }
    }
  }
  if (found == nullptr) return std::nullopt;
  return info(*found);  // the snapshot is taken without holding the mount table
}

std::optional<FsStatsSnapshot> Vfs::StatsAt(const std::string& path) const {
  if (root_mode()) {
    if (path != "/") return std::nullopt;
    return root_->stats.Snapshot();
  }
  std::shared_lock lock(mu_);
  for (const auto& m : slots_) {
    if (m != nullptr && m->path == path) return m->stats.Snapshot();
  }
  return std::nullopt;
}

}  // namespace nydus::fs
