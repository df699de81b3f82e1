// Walks a source directory into an image tree (meta::Node), one Inode per distinct
// (st_dev, st_ino) so hardlinks share an Inode. Children are sorted by name bytes.
// Regular files keep their source path for the data stage. Xattrs are filtered to the
// namespaces RAFS accepts (user., security., trusted., system.posix_acl_access/default).
// Whiteouts are left as they are (see layering.h); with the overlayfs spec the
// trusted.overlay.opaque xattr is kept here and stripped by layering.
//
// The walk uses lstat semantics and dirfd-relative *at() calls: symlinks are recorded, never
// followed, the walk never leaves the source tree, and paths longer than PATH_MAX work. It
// holds one open descriptor per directory level. Thread-safety: none needed (no globals).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "base/file_util.h"
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

// Builds the tree of `root` (a directory; the root itself may be reached through a symlink).
// Per node: mode, uid/gid (0 when !explicit_uidgid), size (0 for directories: writers
// compute it), mtime + nsec (negative seconds as two's complement u64), rdev (dev_t as stat
// gives it; see meta/rdev.h for the on-disk u32), symlink target (any length), accepted
// xattrs sorted by name, projid 0, nlink = names of the inode in this tree (directories:
// 2 + subdirectories), ino = 1 for the root then a counter in pre-order (hardlinks share).
// Errors (with the offending path): a name over 255 bytes, an xattr key over 255 bytes or
// value over 64 KiB, any failing system call, a directory replaced during the walk.
Result<SourceTree> WalkDirectory(const std::string& root, const WalkOptions& opts);

// True when `name` is an xattr key RAFS stores (prefix match, as the reference does).
bool IsAcceptedXattr(const std::string& name);

// Opens a path from SourceTree::data_paths read-only. Unlike open(2) it also works when the
// path is longer than PATH_MAX (it descends in PATH_MAX-sized steps with openat). The last
// component is opened with O_NOFOLLOW.
Result<UniqueFd> OpenSourceFile(const std::string& path);

// Drops data_paths entries whose Inode no longer appears in tree->root (after layering
// removed whiteout markers or replaced nodes). Keys are compared, never dereferenced.
void PruneDataPaths(SourceTree* tree);

}  // namespace nydus::builder
