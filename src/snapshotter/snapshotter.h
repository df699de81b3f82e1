// The snapshotter behind containerd's snapshots API: overlayfs snapshots on disk, plus the
// Nydus remote path (facts from the reference nydus-snapshotter, snapshot/process.go):
//
// * Prepare of an unpack (label containerd.io/snapshot.ref = chain id) whose labels mark a
//   Nydus data blob layer (containerd.io/snapshot/nydus-blob) commits an empty snapshot under
//   that chain id at once and answers AlreadyExists: containerd then finds it by
//   Walk(labels."containerd.io/snapshot.ref"==<chain id>,parent==<parent>) and neither fetches
//   nor unpacks the blob.
// * The meta layer (nydus-bootstrap) is unpacked by containerd like an OCI layer, into the
//   snapshot's fs/ directory: that leaves fs/image/image.boot, the image's bootstrap.
// * The mounts of any snapshot whose ancestry holds a meta layer use the mount of the nydusd
//   serving that image (FUSE, or the kernel's EROFS with erofs_when_cached and a complete
//   cache; DaemonControl::Ensure, started on first use) in place of that layer and everything
//   below it: overlay lowerdir=<layers above...>:<nydusd mountpoint>.
// * Removing the meta-layer snapshot (containerd's GC after the image is removed) stops its
//   nydusd, unmounts it and deletes its cache.
// Everything else is an overlayfs snapshotter like containerd's own: active snapshots are
// overlay mounts (upperdir fs/, workdir work/) over their parents' fs/ dirs, or a bind mount
// of fs/ with no parent; views are read-only.
//
// Layout: <root>/metadata/<id>.json (metadata_store.h), <root>/snapshots/<id>/{fs,work,mnt}.
// Thread-safety: every method may be called concurrently. One mutex guards the metadata; it is
// not held while a nydusd starts (DaemonControl::Ensure), so that does not stall other calls.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "snapshotter/filters.h"
#include "snapshotter/metadata_store.h"
#include "snapshotter/mount_util.h"
#include "snapshotter/nydusd_manager.h"

namespace nydus::snapshotter {

struct MountSpec {
  std::string type;  // "overlay", "bind"
  std::string source;
  std::vector<std::string> options;
};

class Snapshotter {
 public:
  // `daemons` runs nydusd for the Nydus images (NydusdManager, after its Recover()).
  static Result<std::unique_ptr<Snapshotter>> Open(const std::string& root,
                                                   std::unique_ptr<DaemonControl> daemons);

  Result<std::vector<MountSpec>> Prepare(const std::string& key, const std::string& parent,
                                         const Labels& labels);
  Result<std::vector<MountSpec>> View(const std::string& key, const std::string& parent,
                                      const Labels& labels);
  Result<std::vector<MountSpec>> Mounts(const std::string& key);
  Status Commit(const std::string& name, const std::string& key, const Labels& labels);
  // InvalidArgument when the snapshot has children (see HasChildren).
  Status Remove(const std::string& key);
  bool HasChildren(const std::string& key);
  Result<SnapshotInfo> Stat(const std::string& key);
  // Only labels can change: paths "labels" / "labels.<key>" (all labels when empty).
  Result<SnapshotInfo> Update(const std::string& name, const Labels& labels,
                              const std::vector<std::string>& paths);
  Result<std::vector<SnapshotInfo>> List(const std::vector<std::string>& filters);
  Result<DiskUsage> Usage(const std::string& key);
  // Deletes snapshot directories and nydusd state that no snapshot owns any more.
  Status Cleanup();

  const std::string& root() const { return root_; }
  std::string SnapshotDir(const std::string& id) const { return root_ + "/snapshots/" + id; }
  std::string BootstrapPath(const std::string& id) const {
    return SnapshotDir(id) + "/fs/image/image.boot";
  }
  std::string NydusMountpoint(const std::string& id) const { return SnapshotDir(id) + "/mnt"; }

 private:
  Snapshotter(std::string root, std::unique_ptr<MetadataStore> store,
              std::unique_ptr<DaemonControl> daemons);
  // A snapshot's mounts, and the meta layer whose nydusd they stand on (if any).
  struct MountPlan {
    std::vector<MountSpec> mounts;
    std::optional<SnapshotInfo> nydus_meta;
  };
  Result<std::vector<MountSpec>> Create(Kind kind, const std::string& key,
                                        const std::string& parent, const Labels& labels);
  Result<MountPlan> PlanMountsLocked(const SnapshotInfo& info);
  // Ensures the plan's nydusd; called without mu_ (a start may take a while).
  Result<std::vector<MountSpec>> Realize(MountPlan plan);
  // Removes snapshot `key` created as `id` by a Prepare/View that failed, if it is unchanged.
  void DiscardLocked(const std::string& key, const std::string& id);

  std::mutex mu_;
  std::string root_;
  std::unique_ptr<MetadataStore> store_;
  std::unique_ptr<DaemonControl> daemons_;
};

}  // namespace nydus::snapshotter
