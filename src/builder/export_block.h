// `nydus-image export --block`: a RAFS v6 image as one raw EROFS disk image.
//
// Layout (reference HEAD builder/src/core/v6.rs + service/src/block_device.rs):
//   [0, bootstrap size)            the v6 bootstrap, with each device slot's mapped_blkaddr
//                                  set (nothing else changes)
//   blob k at mapped_blkaddr_k     blob k's uncompressed data: every chunk at its
//                                  uncompressed_offset, holes read as zeros (sparse)
// where mapped_blkaddr_k = round_up(pos, 512 KiB) / 4096 and pos starts at the bootstrap
// size and advances past each blob's `blocks` (the reference's V6_BLOCK_SEG_ALIGNMENT).
// The chunk indexes keep their device ids; an EROFS reader given no extra devices maps
// device k+1's block b to mapped_blkaddr_k + b (Linux "flatdev", erofs-utils), so
// `mount -t erofs -o loop FILE` shows the whole tree with content.
//
// Only chunks referenced by files are written (data of deleted files stays a hole). Data is
// read through storage::ChunkReader (digests validated) one chunk at a time.
// Thread-safety: none; one call writes one file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace nydus::builder {

// 512 KiB: where each blob's data starts in the exported image.
inline constexpr uint64_t kBlockSegAlignment = 0x80000;

struct ExportBlockOptions {
  std::string bootstrap_path;  // a RAFS v6 bootstrap
  std::string blob_dir;        // localfs directory with the data blobs (--localfs-dir)
  std::string output_path;     // default: <blob_dir>/<bootstrap file name>.disk
  bool validate_digest = true;
};

struct ExportBlockResult {
  std::string output_path;
  uint64_t size = 0;                     // bytes of the disk image
  uint64_t chunks = 0;                   // distinct chunks written
  std::vector<uint32_t> mapped_blkaddr;  // per blob, in blob-table order
};

Result<ExportBlockResult> ExportBlock(const ExportBlockOptions& opts);

}  // namespace nydus::builder
