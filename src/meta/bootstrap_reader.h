// Decodes a RAFS v5 or v6 bootstrap into an Image, validating every table, offset and count
// on the way (this is what `nydus-image check` runs). The input is untrusted: any bytes give
// either an Image or a Corruption status naming the first inconsistency; never a crash,
// an out-of-bounds read or an endless loop.
#pragma once

#include "base/bytes.h"
#include "base/result.h"
#include "meta/image.h"

namespace nydus::meta {

struct ReadOptions {
  // Upper bound on nodes (protects memory against hostile counts).
  uint64_t max_nodes = 1ull << 24;
};

// Detects the version from the magic (v5 at offset 0, EROFS at 1024).
Result<Image> ReadBootstrap(ByteSpan data, const ReadOptions& opts = {});
Result<Image> ReadBootstrapFile(const std::string& path, const ReadOptions& opts = {});

}  // namespace nydus::meta
