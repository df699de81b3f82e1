// Walks a source directory into an image tree (meta::Node), one Inode per distinct
// (st_dev, st_ino) so hardlinks share an Inode. Children are sorted by name bytes.
// Regular files keep their source path for the data stage. Xattrs are filtered to the
// namespaces RAFS accepts (user., security., trusted., system.posix_acl_access/default).
// Whiteouts are left as they are (see layering.h); with the overlayfs spec the
// trusted.overlay.opaque xattr is kept here and stripped by layering.
#pragma once

#include <string>
#include <unordered_map>

#include "base/result.h"
#include "meta/image.h"

namespace nydus::builder {

struct SourceTree {
  std::unique_ptr<meta::Node> root;
  // Source path of each regular file's data, keyed by its Inode.
  std::unordered_map<const meta::Inode*, std::string> data_paths;
};

struct WalkOptions {
  bool explicit_uidgid = true;  // false: uid/gid stored as 0
};

Result<SourceTree> WalkDirectory(const std::string& root, const WalkOptions& opts);

// True when `name` is an xattr key RAFS stores.
bool IsAcceptedXattr(const std::string& name);

}  // namespace nydus::builder
