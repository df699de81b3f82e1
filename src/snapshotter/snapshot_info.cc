// Snapshot kinds by name (see the header).
#include "snapshotter/snapshot_info.h"

namespace nydus::snapshotter {

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kView:
      return "view";
    case Kind::kActive:
      return "active";
    case Kind::kCommitted:
      return "committed";
    default:
      return "unknown";
  }
}

Result<Kind> ParseKind(std::string_view s) {
  if (s == "view") return Kind::kView;
  if (s == "active") return Kind::kActive;
  if (s == "committed") return Kind::kCommitted;
  return Status::InvalidArgument("unknown snapshot kind '" + std::string(s) + "'");
}

}  // namespace nydus::snapshotter
