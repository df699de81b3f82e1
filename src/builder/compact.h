// `nydus-image compact` (experimental in the reference, builder/src/compact.rs): rewrites the
// data blobs of an image so that blobs mostly made of unreferenced chunks (data of files
// deleted or replaced by upper layers) shrink, and small blobs are merged.
//
// Per reference, in this order:
//   1. a blob no file references any more is dropped;
//   2. a blob whose used ratio (bytes of referenced chunks * 100 / blob size) is below
//      min_used_ratio is rebuilt with only its referenced chunks;
//   3. blobs (kept or rebuilt) smaller than compact_blob_size are merged greedily, smallest
//      first, while the merged data stays <= max_compact_size.
// Nothing happens when the image has fewer than layers_to_compact blobs, or when no blob
// changes. Rebuilt blobs keep the chunks' original order (blob, then chunk index); chunk
// data is read through storage::ChunkReader (digest-checked), compressed again with the
// image's compressor and written by BlobWriter (new CI array, new id = sha256). The new
// bootstrap refers to the surviving and new blobs in the original blob order.
// Old blobs are left in place (the caller decides when to delete them).
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace nydus::builder {

struct CompactOptions {
  std::string bootstrap_path;
  std::string output_bootstrap;  // default: bootstrap path with extension .bootstrap.compact
  std::string blobs_dir;         // where the blobs are read from and new blobs written
  uint32_t min_used_ratio = 0;   // 0..99; 0 disables step 2
  uint64_t compact_blob_size = 10ull << 20;
  uint64_t max_compact_size = 100ull << 20;
  uint64_t layers_to_compact = 0;
};

struct CompactResult {
  bool compacted = false;                  // false: nothing to do, no output written
  std::string bootstrap_path;              // the new bootstrap
  std::vector<std::string> blob_ids;       // its blob table
  std::vector<std::string> new_blobs;      // blobs written by this run
  std::vector<std::string> dropped_blobs;  // original blobs no longer referenced
  uint64_t blob_bytes_before = 0;          // sum of the original blob sizes
  uint64_t blob_bytes_after = 0;           // sum of the new table's blob sizes
};

// Parses the reference's JSON config ({"min_used_ratio": .., "compact_blob_size": ..,
// "max_compact_size": .., "layers_to_compact": .., "blobs_dir": ..}) into `opts`
// (fields absent keep their values).
Status ParseCompactConfig(const std::string& json, CompactOptions* opts);

Result<CompactResult> Compact(const CompactOptions& opts);

}  // namespace nydus::builder
