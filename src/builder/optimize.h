// `nydus-image optimize` (reference HEAD, builder/src/optimize_prefetch.rs): prefetch-driven
// blob re-layout. The chunks of the files a workload reads first (a prefetch-files list,
// usually recorded by nydusd's access pattern: `nydusctl access-pattern --format json`) are
// copied, in list order, into one new data blob appended to the image's blob table and marked
// with format::kBlobSeparatedPrefetch; every reference to a copied chunk is rewritten to the
// copy, and a new bootstrap is written. nydusd's prefetcher fetches such a blob first and
// whole, so a container's first reads become a few large sequential requests instead of many
// scattered misses. The original blobs are unchanged and stay referenced by the other chunks.
//
// Prefetch-files list, either
//   - the reference's JSON: {"version": "v1", "files": [{"path": "/abs", "ranges":
//     [[offset, size], ...] | null}]}: with ranges, only the chunks overlapping them are
//     copied (a file read sparsely costs only what was read);
//   - or plain text, one absolute path per line (the reference's help text; blank lines and
//     lines starting with '#' are skipped): whole files.
// Relative paths, missing paths and non-regular files are skipped with a warning, as in the
// reference. Chunks are read through storage::ChunkReader (digest-checked) from `backend`,
// compressed again with the image's compressor and written by BlobWriter (its own CI array,
// id = sha256 of the blob). A chunk listed twice (two files sharing data) is copied once.
//
// Differences from the reference, on purpose:
//   - an image that already has a separated prefetch blob is refused (optimize the original
//     bootstrap instead) rather than getting a second one;
//   - a list that selects no chunk is an error, not an image with an empty blob;
//   - all references to a copied chunk move (not only those of the listed paths), so data
//     shared with other files is read from the prefetched blob too.
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "builder/prefetch_files.h"
#include "meta/image.h"
#include "storage/blob_backend.h"

namespace nydus::builder {

struct OptimizeOptions {
  std::string output_bootstrap = "optimized_bootstrap";  // the reference's default
  std::string output_blob_dir;                           // required; the new blob goes here
};

struct OptimizeResult {
  std::string bootstrap_path;
  meta::BlobInfo prefetch_blob;       // the new blob (its file: output_blob_dir/blob_id)
  std::vector<std::string> blob_ids;  // the new bootstrap's blob table
  uint64_t files = 0;                 // regular files whose chunks were selected
  uint64_t skipped = 0;               // entries skipped (missing, relative, not regular)
  uint64_t chunks = 0;                // distinct chunks copied
  uint64_t bytes_uncompressed = 0;    // their data
};

// Reads the bootstrap at `bootstrap_path`, copies the listed chunks from `backend` (which
// serves the image's blobs by id) and writes the new blob and bootstrap.
Result<OptimizeResult> OptimizePrefetch(const std::string& bootstrap_path,
                                        storage::BlobBackend* backend,
                                        const std::vector<PrefetchFileEntry>& files,
                                        const OptimizeOptions& options);

}  // namespace nydus::builder
