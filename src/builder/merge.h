// `nydus-image merge`: per-layer bootstraps (lowest first) → one image bootstrap
// (reference spec §2.2; behaviour of the reference v2.2.5 `src/bin/nydus-image/merge.rs`).
//
//  - The tree starts as --parent-bootstrap (if given) or the first source as it is; each
//    further source is applied on top with the OCI whiteout rules (layering.h
//    ApplyUpperLayer), whatever spec it was built with.
//  - Blob table: the parent's blobs, then each source's blobs in its table order, a blob id
//    entering once. Each source may bring at most one blob that is not in the --chunk-dict
//    bootstrap; that blob's id becomes original_blob_ids[i], else the source file name
//    without every extension ("layer1.boot" → "layer1"); blob_digests[i] then replaces the
//    id (or sets blob_meta_digest for SEPARATE blobs); blob_sizes[i] sets compressed_size
//    (blob_meta_size for SEPARATE); blob_toc_digests[i] / blob_toc_sizes[i] the ToC fields.
//    Chunks are re-pointed to the output table by blob id.
//  - RAFS version, chunk size and explicit uid/gid must agree (and the digester for v5);
//    compressor and digester of the output come from the sources.
//  - Prefetch policy fs: the patterns become the prefetch table.
//
// One deliberate difference from the reference (documented, see InheritPlaceholderDirs):
// a per-layer bootstrap cannot say that a directory was only implied by deeper tar paths;
// the reference tar builder writes such a directory as 0755, 0:0, mtime 0, no xattrs, and
// merging would then overwrite the lower directory's attributes with that placeholder. With
// `inherit_placeholder_dirs` (default on) an upper directory with exactly those attributes
// keeps the attributes of the lower directory it lands on, which is what OCI layer
// semantics (and the chained tar build, see tar_source.h InheritImpliedDirs) give.
//
// Thread-safety: none needed. Memory: every source image is held while it is applied.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "builder/build_options.h"
#include "meta/image.h"

namespace nydus::builder {

struct MergeOptions {
  std::vector<std::string> sources;  // per-layer bootstraps, lowest first
  std::string bootstrap_path;        // -B; empty: <blob_dir>/<sha256 of bootstrap>
  std::string blob_dir;              // -D
  std::string parent_bootstrap;
  std::string chunk_dict;  // bootstrap path ("bootstrap=" prefix already removed)
  // One entry per source when given.
  std::optional<std::vector<std::string>> blob_digests;  // hex sha256
  std::optional<std::vector<std::string>> original_blob_ids;
  std::optional<std::vector<uint64_t>> blob_sizes;
  std::optional<std::vector<std::string>> blob_toc_digests;  // hex sha256
  std::optional<std::vector<uint64_t>> blob_toc_sizes;
  PrefetchPolicy prefetch_policy = PrefetchPolicy::kNone;
  std::vector<std::string> prefetch_patterns;
  // -C/--config given: the reference then treats blobs as accessible and keeps each
  // source's own blob id (before --blob-digests) instead of original ids / file names.
  bool blob_accessible = false;
  bool inherit_placeholder_dirs = true;
  bool verify_after_build = true;
};

struct MergeResult {
  std::string bootstrap_path;
  std::vector<std::string> blob_ids;  // blobs with data, table order
  meta::Image image;
};

Result<MergeResult> Merge(const MergeOptions& options);

// The blob id the reference derives from a bootstrap path: the file name with every
// extension removed ("/x/abc.boot.v6" → "abc"). InvalidArgument when nothing is left.
Result<std::string> BlobIdFromMetaPath(const std::string& path);

// For merge: every directory below `upper`'s root that carries exactly the reference tar
// builder's placeholder attributes (S_IFDIR|0755, uid 0, gid 0, mtime 0.0, no xattrs) and
// lands on a directory of `lower` takes that lower directory's attributes.
void InheritPlaceholderDirs(const meta::Node& lower, meta::Node* upper);

}  // namespace nydus::builder
