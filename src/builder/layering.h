// Whiteouts and layering (reference spec §3.8; behaviour taken from the reference builder
// v2.2.5 `builder/directory.rs`, `core/bootstrap.rs`, `core/tree.rs`, and HEAD
// `builder/src/core/tree.rs` for type changes).
//
// Whiteout markers, per WhiteoutSpec:
//   kOci:       a node named `.wh.<name>` removes <name>; `.wh..wh..opq` makes its directory
//               opaque. Only names that are valid UTF-8 count (as in the reference).
//   kOverlayfs: a char device 0:0 removes the same name; a directory with xattr
//               trusted.overlay.opaque = "y" is opaque (its lower children are dropped).
//   kNone:      nothing is special.
//
// Single-layer directory builds (no parent): the reference directory builder skips whiteout
// markers (the OCI names and overlayfs 0:0 devices, with their subtrees) and keeps overlayfs
// opaque directories minus the opaque xattr; see PrepareSingleLayer. (Its tar builder keeps
// markers; converters pass --whiteout-spec none so that merge sees them.)
//
// Layered builds (--parent-bootstrap) and merge apply an upper tree onto the lower image
// tree, directory by directory from the root: first the whiteouts of that directory
// (removals, opaque), then additions/modifications, then recursion into upper directories.
// A modified directory keeps its lower children (unless opaque) but takes the upper Inode;
// a non-directory replacing a directory, or a directory replacing a non-directory, replaces
// the whole subtree. Nodes are replaced by swapping Inode pointers, never by editing a lower
// Inode, so other names of a lower hardlink group keep the lower Inode.
#pragma once

#include <memory>

#include "base/result.h"
#include "builder/build_options.h"
#include "meta/image.h"

namespace nydus::builder {

// For a build without a parent, as the reference directory builder does: removes every
// whiteout marker below the root (with its subtree) and strips trusted.overlay.opaque from
// overlayfs opaque directories (the root is never treated as a marker and keeps its xattrs).
// With kNone nothing changes. Call PruneDataPaths afterwards when a SourceTree is involved.
void PrepareSingleLayer(meta::Node* root, WhiteoutSpec spec);

// Applies `upper` onto `lower` (both roots, both directories) per `spec`. Upper nodes are
// moved into `lower`; the upper root's Inode replaces the lower root's. An overlayfs-opaque
// upper root clears the lower root's children (and, as in the reference, keeps its xattr).
// Whiteout markers themselves do not appear in the result.
// Errors: InvalidArgument when a root is null or not a directory.
Status ApplyUpperLayer(meta::Node* lower, std::unique_ptr<meta::Node> upper, WhiteoutSpec spec);

// Repeatable-build normalisation before writing: root mtime 0 (and nsec 0); nlink recomputed
// (files: number of names of the inode in this tree; dirs: 2 + subdirectories); uid/gid 0
// when !explicit_uidgid; projid 0.
void NormalizeTree(meta::Node* root, bool explicit_uidgid);

}  // namespace nydus::builder
