// The snapshotter (see the header).
#include "snapshotter/snapshotter.h"

#include <dirent.h>

#include <algorithm>
#include <set>

#include "base/logging.h"
#include "converter/mount.h"

namespace nydus::snapshotter {

Result<std::unique_ptr<Snapshotter>> Snapshotter::Open(const std::string& root,
                                                       std::unique_ptr<DaemonControl> daemons) {
  RETURN_IF_ERROR(converter::MakeDirs(root + "/snapshots"));
  ASSIGN_OR_RETURN(auto store, MetadataStore::Open(root + "/metadata"));
  return std::unique_ptr<Snapshotter>(new Snapshotter(root, std::move(store), std::move(daemons)));
}

Snapshotter::Snapshotter(std::string root, std::unique_ptr<MetadataStore> store,
                         std::unique_ptr<DaemonControl> daemons)
    : root_(std::move(root)), store_(std::move(store)), daemons_(std::move(daemons)) {}

Result<Snapshotter::MountPlan> Snapshotter::PlanMountsLocked(const SnapshotInfo& info) {
  const std::string dir = SnapshotDir(info.id);
  RETURN_IF_ERROR(converter::MakeDirs(dir + "/fs"));
  ASSIGN_OR_RETURN(auto chain, store_->Chain(info.name));
  MountPlan plan;
  // Lower dirs, nearest parent first. A Nydus data layer holds nothing; a meta layer stands
  // for itself and everything below it through its nydusd mount.
  std::vector<std::string> lowers;
  for (size_t i = 1; i < chain.size(); ++i) {
    const SnapshotInfo& a = chain[i];
    if (IsNydusMetaLayer(a.labels)) {
      plan.nydus_meta = a;
      lowers.push_back(NydusMountpoint(a.id));
      break;
    }
    if (IsNydusDataLayer(a.labels)) continue;
    lowers.push_back(SnapshotDir(a.id) + "/fs");
  }
  auto join = [&] {
    std::string s = "lowerdir=";
    for (size_t i = 0; i < lowers.size(); ++i) s += (i ? ":" : "") + lowers[i];
    return s;
  };
  if (info.kind == Kind::kActive) {
    if (lowers.empty()) {
      plan.mounts = {{"bind", dir + "/fs", {"rw", "rbind"}}};
      return plan;
    }
    RETURN_IF_ERROR(converter::MakeDirs(dir + "/work"));
    plan.mounts = {{"overlay",
                    "overlay",
                    {"index=off", "workdir=" + dir + "/work", "upperdir=" + dir + "/fs", join()}}};
    return plan;
  }
  // A view: read-only.
  if (lowers.empty()) {
    plan.mounts = {{"bind", dir + "/fs", {"ro", "rbind"}}};
  } else if (lowers.size() == 1) {
    plan.mounts = {{"bind", lowers[0], {"ro", "rbind"}}};
  } else {
    plan.mounts = {{"overlay", "overlay", {"index=off", join()}}};
  }
  return plan;
}

Result<std::vector<MountSpec>> Snapshotter::Realize(MountPlan plan) {
  if (plan.nydus_meta) {
    const SnapshotInfo& m = *plan.nydus_meta;
    RETURN_IF_ERROR(daemons_->Ensure(m, BootstrapPath(m.id), NydusMountpoint(m.id)));
  }
  return std::move(plan.mounts);
}

void Snapshotter::DiscardLocked(const std::string& key, const std::string& id) {
  const SnapshotInfo* s = store_->Find(key);
  if (s == nullptr || s->id != id || store_->HasChildren(key)) return;  // changed meanwhile
  (void)store_->Remove(key);
  (void)RemoveTree(SnapshotDir(id));
}

Result<std::vector<MountSpec>> Snapshotter::Create(Kind kind, const std::string& key,
                                                   const std::string& parent,
                                                   const Labels& labels) {
  MountPlan plan;
  std::string id;
  {
    std::lock_guard<std::mutex> l(mu_);
    const std::string target = TargetSnapshotRef(labels);
    if (!target.empty()) {
      const SnapshotInfo* t = store_->Find(target);
      if (t != nullptr && t->kind == Kind::kCommitted) {
        return Status::AlreadyExists("target snapshot '" + target + "' already exists");
      }
    }
    if (kind == Kind::kActive && ChoosePrepareAction(labels) == PrepareAction::kSkipRemote) {
      ASSIGN_OR_RETURN(SnapshotInfo info, store_->Create(Kind::kCommitted, target, parent, labels));
      RETURN_IF_ERROR(converter::MakeDirs(SnapshotDir(info.id) + "/fs"));
      LOG_INFO("nydus data layer {} (parent '{}'): committed as a remote snapshot", target, parent);
      return Status::AlreadyExists("target snapshot '" + target + "' (nydus data layer)");
    }
    ASSIGN_OR_RETURN(SnapshotInfo info, store_->Create(kind, key, parent, labels));
    id = info.id;
    auto p = PlanMountsLocked(info);
    if (!p.ok()) {
      DiscardLocked(key, id);  // leave nothing behind for a Prepare that failed
      return p.status();
    }
    plan = std::move(*p);
  }
  // Starting nydusd may take a while: other requests go on meanwhile.
  auto mounts = Realize(std::move(plan));
  if (!mounts.ok()) {
    std::lock_guard<std::mutex> l(mu_);
    DiscardLocked(key, id);
  }
  return mounts;
}

Result<std::vector<MountSpec>> Snapshotter::Prepare(const std::string& key,
                                                    const std::string& parent,
                                                    const Labels& labels) {
  return Create(Kind::kActive, key, parent, labels);
}

Result<std::vector<MountSpec>> Snapshotter::View(const std::string& key, const std::string& parent,
                                                 const Labels& labels) {
  return Create(Kind::kView, key, parent, labels);
}

Result<std::vector<MountSpec>> Snapshotter::Mounts(const std::string& key) {
  MountPlan plan;
  {
    std::lock_guard<std::mutex> l(mu_);
    ASSIGN_OR_RETURN(SnapshotInfo info, store_->Get(key));
    if (info.kind == Kind::kCommitted) {
      return Status::InvalidArgument("snapshot '" + key + "' is committed: it has no mounts");
    }
    ASSIGN_OR_RETURN(plan, PlanMountsLocked(info));
  }
  return Realize(std::move(plan));
}

Status Snapshotter::Commit(const std::string& name, const std::string& key, const Labels& labels) {
  std::lock_guard<std::mutex> l(mu_);
  return store_->Commit(key, name, labels).status();
}

bool Snapshotter::HasChildren(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  return store_->HasChildren(key);
}

Status Snapshotter::Remove(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(SnapshotInfo info, store_->Get(key));
  if (store_->HasChildren(key)) {
    return Status::InvalidArgument("snapshot '" + key + "' has children");
  }
  if (IsNydusMetaLayer(info.labels)) {
    RETURN_IF_ERROR(daemons_->Release(info.id));
  }
  RETURN_IF_ERROR(store_->Remove(key));
  Status st = RemoveTree(SnapshotDir(info.id));
  if (!st.ok()) LOG_WARN("snapshot {} removed, but not its directory: {}", key, st.ToString());
  return Status::OK();
}

Result<SnapshotInfo> Snapshotter::Stat(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  return store_->Get(key);
}

Result<SnapshotInfo> Snapshotter::Update(const std::string& name, const Labels& labels,
                                         const std::vector<std::string>& paths) {
  std::lock_guard<std::mutex> l(mu_);
  return store_->UpdateLabels(name, labels, paths);
}

Result<std::vector<SnapshotInfo>> Snapshotter::List(const std::vector<std::string>& filters) {
  ASSIGN_OR_RETURN(FilterSet set, FilterSet::Parse(filters));
  std::lock_guard<std::mutex> l(mu_);
  std::vector<SnapshotInfo> out;
  for (auto& info : store_->List()) {
    if (set.Match(info)) out.push_back(std::move(info));
  }
  return out;
}

Result<DiskUsage> Snapshotter::Usage(const std::string& key) {
  std::string dir;
  {
    std::lock_guard<std::mutex> l(mu_);
    ASSIGN_OR_RETURN(SnapshotInfo info, store_->Get(key));
    dir = SnapshotDir(info.id) + "/fs";
  }
  return TreeUsage(dir);
}

Status Snapshotter::Cleanup() {
  std::lock_guard<std::mutex> l(mu_);
  std::set<std::string> ids, meta_ids;
  for (const auto& info : store_->List()) {
    ids.insert(info.id);
    if (IsNydusMetaLayer(info.labels)) meta_ids.insert(info.id);
  }
  for (const auto& id : daemons_->Known()) {
    if (!meta_ids.count(id)) {
      LOG_INFO("cleanup: nydusd of snapshot {} has no snapshot any more", id);
      RETURN_IF_ERROR(daemons_->Release(id));
    }
  }
  for (const char* sub : {"/snapshots", "/daemons", "/cache"}) {
    const std::string dir = root_ + sub;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) continue;
    std::vector<std::string> orphans;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      if (!ids.count(n)) orphans.push_back(n);
    }
    ::closedir(d);
    for (const auto& n : orphans) {
      LOG_INFO("cleanup: removing {}/{}", dir, n);
      RETURN_IF_ERROR(RemoveTree(dir + "/" + n));
    }
  }
  return Status::OK();
}

}  // namespace nydus::snapshotter
