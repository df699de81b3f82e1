// Prefetch patterns and the blob data order they imply (reference spec §2.1
// `--prefetch-policy`, §3.0 "Blob data order", §3.2.3 / §3.3.10 prefetch tables; behaviour
// of the reference v2.2.5 `core/prefetch.rs` and `core/layout.rs`).
//
// Patterns are absolute paths inside the image. A pattern naming a directory stands for the
// directory (in the prefetch table) and for every regular file below it (in the data order).
// All functions are pure; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "meta/image.h"

namespace nydus::builder {

// Normalises raw pattern lines (as read from stdin), keeping input order:
//  - trims ASCII whitespace at both ends and drops lines left empty;
//  - requires an absolute path: InvalidArgument naming the line otherwise;
//  - collapses repeated '/', drops "." components and a trailing '/' ("/a//b/./" -> "/a/b");
//    ".." is kept literally (the tree has no such name, so it matches nothing);
//  - drops a pattern equal to, or nested under, an earlier kept pattern. Nesting is
//    component-wise: "/a/bc" is not under "/a/b"; everything is under "/".
Result<std::vector<std::string>> NormalizePrefetchPatterns(std::vector<std::string> raw);

// The nodes named by `patterns` (normalised), in pattern order: what the prefetch table
// lists (v5: their ino; v6: their nid). Patterns naming nothing are skipped, and so are empty
// regular files, as in the reference. Hardlinked names may both appear.
std::vector<const meta::Node*> MatchPrefetch(const meta::Node& root,
                                             const std::vector<std::string>& patterns);

// The order in which regular-file data goes into the blob: first the inodes of regular files
// at or under a matched pattern, in tree pre-order (meta::WalkTree order); then every other
// regular file in tree pre-order. Each Inode appears once (a hardlink group at its first
// name). Inodes without new data (e.g. lower-layer files in a layered build) are included;
// the caller skips those it has no source for.
std::vector<const meta::Inode*> DataOrder(const meta::Node& root,
                                          const std::vector<std::string>& patterns);

}  // namespace nydus::builder
