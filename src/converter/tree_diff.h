// Compares two directory trees the way `nydusify check` does: every path present in one tree
// and not the other, and for paths in both: file type, permission bits (07777), uid, gid,
// size (regular files, symlinks), rdev (devices), symlink target, xattrs (names and values),
// and the sha256 of regular file contents. The roots themselves are not compared (one is a
// mountpoint). A file that cannot be read (e.g. EIO from a corrupted blob) is a difference,
// not an error. Hardlinks are compared as the files they are.
// Thread-safety: no shared state. Reads every file once: cost is the size of both trees.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/result.h"

namespace nydus::converter {

struct TreeDiffOptions {
  bool compare_content = true;
  size_t max_differences = 1000;  // stop collecting after this many
};

struct TreeDiffResult {
  std::vector<std::string> differences;  // "/path: what" lines, sorted by path
  uint64_t entries = 0;                  // paths compared
  uint64_t bytes_hashed = 0;
};

// IOError only if a root itself cannot be read.
Result<TreeDiffResult> DiffTrees(const std::string& expected, const std::string& actual,
                                 const TreeDiffOptions& options = {});

}  // namespace nydus::converter
