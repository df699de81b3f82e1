// The snapshot record the snapshotter keeps (one JSON file per snapshot, metadata_store.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "snapshotter/labels.h"

namespace nydus::snapshotter {

// Numbers as in containerd's snapshots.proto Kind.
enum class Kind : int { kUnknown = 0, kView = 1, kActive = 2, kCommitted = 3 };

// "view", "active", "committed" (containerd's Kind.String(), used by filters and the JSON).
const char* KindName(Kind k);
Result<Kind> ParseKind(std::string_view s);

struct SnapshotInfo {
  std::string id;      // our directory name under <root>/snapshots
  std::string name;    // containerd's key (active, view) or name (committed)
  std::string parent;  // name of the committed parent, "" for none
  Kind kind = Kind::kUnknown;
  Labels labels;
  int64_t created_ns = 0;  // since the epoch
  int64_t updated_ns = 0;
};

}  // namespace nydus::snapshotter
