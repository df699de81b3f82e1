// The `nydus-image create` pipeline for a directory source:
//   walk → (parent: apply layer | single: keep whiteouts) → normalize → prefetch order →
//   chunk/compress/digest/dedup → blob (+meta, ToC, inline bootstrap) → bootstrap → files.
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

// Checks option combinations the way the reference CLI does (chunk size power of two in
// [0x1000, 0x1000000], blob-toc only for v6, an output for blob and bootstrap, ...).
Status ValidateOptions(const BuildOptions& opts);

}  // namespace nydus::builder
