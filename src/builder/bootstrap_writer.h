// Encodes an Image into RAFS v5 or v6 bootstrap bytes (reference spec §3.2, §3.3).
//
// REQUIRES: the tree is normalized (layering.h NormalizeTree), children sorted, every
// chunk's blob_index valid in image.blobs, blob infos complete (for v6: CI offsets/sizes,
// features with ALIGNED, 4K-aligned uncompressed offsets). Output is deterministic: the
// same Image gives the same bytes (xattrs are written sorted by name).
#pragma once

#include "base/bytes.h"
#include "base/result.h"
#include "meta/image.h"

namespace nydus::builder {

Result<Bytes> WriteBootstrapV6(const meta::Image& image);
Result<Bytes> WriteBootstrapV5(const meta::Image& image);
inline Result<Bytes> WriteBootstrap(const meta::Image& image) {
  return image.IsV6() ? WriteBootstrapV6(image) : WriteBootstrapV5(image);
}

}  // namespace nydus::builder
