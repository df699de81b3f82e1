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
//
// A CI array read from the blob is accepted (and only then saved) when
//   - it decompresses to exactly ci_uncompressed_size bytes and its header and every record
//     pass meta::DecodeBlobChunkInfos (sizes, bounds, ascending uncompressed ranges);
//   - CheckCiLayout holds (ascending, disjoint stored ranges);
//   - for a blob with a ToC (HAS_TOC): the sha256 of the uncompressed CI data and of the
//     header equal the ToC's `blob.meta` / `blob.meta.header` digests. When the blob table
//     pins the ToC (blob_toc_size and blob_toc_digest set) the ToC must be readable and
//     match; an unpinned ToC (inline-meta builds) that cannot be read or parsed only skips
//     the check, one that parses and disagrees rejects the CI.
// Anything else is a Corruption and nothing is written, so the next open reads it again.
// A copy that passes these checks can still be wrong in a way only its use shows (a flipped
// bit in a record that stays plausible); BlobChunkSource then deletes it with
// RemoveBlobMetaFile and fetches the CI again.
//
// Thread-safety: reentrant; concurrent calls for one blob write the same bytes and the last
// rename wins.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "format/blob_meta.h"
#include "meta/blob_meta_reader.h"
#include "meta/image.h"

namespace nydus::storage {

// "<work_dir>/<blob_id>.blob.meta".
std::string BlobMetaPath(const std::string& work_dir, const std::string& blob_id);

// Decodes a `.blob.meta` file image; Corruption when its size or content is invalid
// (including CheckCiLayout).
Result<std::vector<format::ChunkCompressInfo>> DecodeBlobMetaFile(const meta::BlobInfo& blob,
                                                                  ByteSpan file);

// Layout rule the reference relies on (it binary-searches a native blob's CI array by
// compressed offset, storage/src/meta/mod.rs): in chunk-index order the stored ranges of a
// native blob ascend and do not overlap. Not checked for SEPARATE and ZRAN blobs, whose
// chunks may share stored bytes.
Status CheckCiLayout(const meta::BlobInfo& blob, std::span<const format::ChunkCompressInfo> ci);

// `path` empty: no local copy, always read from the blob.
Result<std::vector<format::ChunkCompressInfo>> LoadOrFetchBlobMeta(const std::string& path,
                                                                   const meta::BlobInfo& blob,
                                                                   const meta::BlobReadFn& read);

// Deletes the local copy at `path` (absent is fine); errors are logged, not returned.
void RemoveBlobMetaFile(const std::string& path);

}  // namespace nydus::storage
