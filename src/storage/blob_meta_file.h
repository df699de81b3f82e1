// The local copy of a v6 blob's CI array, `<work_dir>/<blob_id>.blob.meta` (reference spec
// §3.4): the uncompressed CI data padded with zeros to a 4 KiB boundary, then the 4096-byte
// blob-meta header at round_up_4k(ci_uncompressed_size); file size exactly
// round_up_4k(ci_uncompressed_size) + 4096.
//
// LoadOrFetchBlobMeta uses a valid copy when there is one (fully re-validated against the
// blob table, like a fetched one) and otherwise reads the CI from the blob and writes the
// copy atomically (temporary file + rename), so a killed daemon leaves either no copy or a
// complete one. A copy that is invalid for any reason is replaced; failing to write the copy
// is logged and is not an error (the records are still returned).
// Thread-safety: reentrant; concurrent calls for one blob write the same bytes and the last
// rename wins.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "format/blob_meta.h"
#include "meta/blob_meta_reader.h"
#include "meta/image.h"

namespace nydus::storage {

// "<work_dir>/<blob_id>.blob.meta".
std::string BlobMetaPath(const std::string& work_dir, const std::string& blob_id);

// Decodes a `.blob.meta` file image; Corruption when its size or content is invalid.
Result<std::vector<format::ChunkCompressInfo>> DecodeBlobMetaFile(const meta::BlobInfo& blob,
                                                                  ByteSpan file);

struct BlobMetaLoad {
  std::vector<format::ChunkCompressInfo> ci;
  bool fetched = false;  // read from the blob (not from the local copy)
  uint64_t fetched_bytes = 0;
};

// `path` empty: no local copy, always read from the blob.
Result<BlobMetaLoad> LoadOrFetchBlobMeta(const std::string& path, const meta::BlobInfo& blob,
                                         const meta::BlobReadFn& read);

}  // namespace nydus::storage
