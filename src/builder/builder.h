// The `nydus-image create` pipeline. Directory source:
//   walk → (parent: apply layer | single: drop whiteouts) → normalize → prefetch order →
//   chunk/compress/digest/dedup → blob (+meta, ToC, inline bootstrap) → bootstrap → files.
// Tar source (--type tar-rafs / targz-rafs, tar_source.h): one streaming pass over the
// archive chunks/dedups/writes file data in archive order while building the tree; then
// (parent: implied dirs inherit, apply layer | single: keep whiteouts) → normalize → same tail.
// Each stage lives in its own file (dir_walker, layering, prefetch, chunk_pipeline,
// blob_writer, bootstrap_writer); this is only the composition.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "builder/build_options.h"
#include "meta/image.h"

namespace nydus::builder {

struct BuildResult {
  std::string bootstrap_path;       // empty for inline-meta builds
  std::string blob_path;            // empty when no blob was written
  uint64_t blob_size = 0;           // bytes of the new data blob (0 if none)
  std::vector<std::string> blob_ids;  // every blob with data, blob-table order
  meta::Image image;                // what the bootstrap describes
};

// REQUIRES: options validated by ValidateOptions.
Result<BuildResult> Build(const BuildOptions& opts);

// RAFS superblock flags for `image` (compressor, digester, explicit uid/gid, has-xattr,
// v6 inlined chunk digest when every blob has it), as create and merge write them.
uint64_t ComputeSuperFlags(const meta::Image& image);

// Checks option combinations the way the reference CLI does (chunk size power of two in
// [0x1000, 0x1000000], blob-toc only for v6, an output for blob and bootstrap, ...).
Status ValidateOptions(const BuildOptions& opts);

}  // namespace nydus::builder
