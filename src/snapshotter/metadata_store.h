// The snapshotter's metadata: one JSON file per snapshot, <dir>/<id>.json, written atomically
// (temporary file, fsync, rename, fsync of the directory) with mode 0600 (labels may carry pull
// credentials). <dir>/last_id holds the last id handed out, so ids are never reused while the
// snapshot directories of removed snapshots might still exist.
//
//   {"id":"7","name":"k8s.io/12/sha256:…","parent":"sha256:…","kind":"committed",
//    "labels":{…},"created":<ns>,"updated":<ns>}
//
// The store enforces containerd's snapshot rules: names are unique, a parent must exist and
// be committed, only an active snapshot can be committed, and a snapshot with children cannot
// be removed (FailedPrecondition-like errors are InvalidArgument here; the gRPC layer maps
// "has children" itself).
// Thread-safety: none; the Snapshotter serialises calls.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "snapshotter/snapshot_info.h"

namespace nydus::snapshotter {

class MetadataStore {
 public:
  // Creates `dir` if needed and loads every <id>.json in it. A file that does not parse is a
  // Corruption error naming it (the store is the only record of what containerd relies on).
  static Result<std::unique_ptr<MetadataStore>> Open(const std::string& dir);

  const SnapshotInfo* Find(const std::string& name) const;
  Result<SnapshotInfo> Get(const std::string& name) const;  // NotFound
  std::vector<SnapshotInfo> List() const;                   // ordered by id
  bool HasChildren(const std::string& name) const;
  // `name`, then its parent, grandparent... (the snapshot must exist).
  Result<std::vector<SnapshotInfo>> Chain(const std::string& name) const;

  // A new snapshot with a fresh id. AlreadyExists if the name is taken; NotFound if the parent
  // does not exist; InvalidArgument if the parent is not committed or kind is not a valid kind.
  Result<SnapshotInfo> Create(Kind kind, const std::string& name, const std::string& parent,
                              const Labels& labels);
  // Active `key` becomes committed `name` (same id), its labels merged with `labels`.
  Result<SnapshotInfo> Commit(const std::string& key, const std::string& name,
                              const Labels& labels);
  // Replaces the labels: all of them when `paths` is empty or holds "labels", otherwise only
  // the "labels.<key>" listed (a key absent from `labels` is deleted).
  Result<SnapshotInfo> UpdateLabels(const std::string& name, const Labels& labels,
                                    const std::vector<std::string>& paths);
  // InvalidArgument if it has children.
  Status Remove(const std::string& name);

  const std::string& dir() const { return dir_; }

 private:
  explicit MetadataStore(std::string dir) : dir_(std::move(dir)) {}
  Status Persist(const SnapshotInfo& info);
  Result<std::string> NextId();

  std::string dir_;
  uint64_t last_id_ = 0;
  std::map<std::string, SnapshotInfo> by_name_;
};

// The JSON form of one record (exposed for tests).
std::string EncodeSnapshotInfo(const SnapshotInfo& info);
Result<SnapshotInfo> DecodeSnapshotInfo(const std::string& text);

// Current time in ns since the epoch.
int64_t NowNs();

// Writes `data` to `path` atomically with the given mode (tmp, fsync, rename, fsync dir).
Status WriteFileAtomic(const std::string& path, const std::string& data, int mode);

}  // namespace nydus::snapshotter
