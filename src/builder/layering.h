// Whiteouts and layering (reference spec §3.8).
//
// Single-layer builds keep whiteout entries (PrepareSingleLayer strips only the overlayfs
// opaque xattr). Layered builds (--parent-bootstrap) and merge apply an upper tree onto the
// lower image tree: removals first (whiteouts, opaque dirs), then additions/modifications
// top-down; a replaced directory keeps its lower children unless opaque.
#pragma once

#include "base/result.h"
#include "builder/build_options.h"
#include "meta/image.h"

namespace nydus::builder {

// For a build without a parent: with the overlayfs spec, drop trusted.overlay.opaque.
void PrepareSingleLayer(meta::Node* root, WhiteoutSpec spec);

// Applies `upper` onto `lower` (both roots) per `spec`. Upper nodes are moved into `lower`.
// Whiteout markers themselves do not appear in the result.
Status ApplyUpperLayer(meta::Node* lower, std::unique_ptr<meta::Node> upper, WhiteoutSpec spec);

// Repeatable-build normalisation before writing: root mtime 0; nlink recomputed (files:
// number of names of the inode in this tree; dirs: 2 + subdirectories); uid/gid 0 when
// !explicit_uidgid; projid 0.
void NormalizeTree(meta::Node* root, bool explicit_uidgid);

}  // namespace nydus::builder
