// Reads and validates the blob meta of a RAFS v6 data blob (reference spec §3.4, §3.6):
// the compression-info (CI) array with its 4 KiB header, and the table of contents (ToC)
// at the blob's tail. The blob bytes are untrusted: every size and offset is checked before
// use and any inconsistency is a Corruption naming it.
//
// Thread-safety: the functions are reentrant; `read` is called from the calling thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/digest.h"
#include "base/result.h"
#include "format/blob_meta.h"
#include "format/rafs.h"
#include "meta/image.h"

namespace nydus::meta {

// Reads exactly buf.size() bytes at byte `off` of the blob; a short read is an error.
// For SEPARATE (zran / tar-ref) blobs the CI array lives in the meta blob, so the function
// must read from that one.
using BlobReadFn = std::function<Status(uint64_t off, std::span<uint8_t> buf)>;

// Checks a blob-meta header against the blob table entry: both magics, entry count,
// CI compressor, offset and sizes, the CI size rules and the ZRAN fields.
Status ValidateBlobMetaHeader(const BlobInfo& blob, const format::BlobMetaHeader& header);

// Pure decode (no I/O): `ci_data` is the uncompressed CI data (ci_uncompressed_size bytes)
// and `header` the 4096-byte header that followed it. Returns one record per chunk, in CI
// (chunk index) order, each validated against the blob's sizes and features; uncompressed
// ranges must be ascending and must not overlap.
Result<std::vector<format::ChunkCompressInfo>> DecodeBlobChunkInfos(const BlobInfo& blob,
                                                                    ByteSpan ci_data,
                                                                    ByteSpan header);

// Reads ci_compressed_size + 4096 bytes at ci_offset, decompresses the CI data with the CI
// compressor and decodes it as above.
Result<std::vector<format::ChunkCompressInfo>> ReadBlobChunkInfos(const BlobInfo& blob,
                                                                  const BlobReadFn& read);

// One decoded ToC entry.
struct TocEntryInfo {
  std::string name;  // e.g. "image.blob", "blob.meta", "blob.meta.header", "blob.digest"
  uint32_t flags = 0;
  Digest uncompressed_digest{};  // sha256 of the uncompressed content
  uint64_t compressed_offset = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;

  // zstd if the ZSTD flag is set, else lz4 if LZ4 is set, else none (reference rule).
  format::Compressor compressor() const;
};

struct BlobToc {
  std::vector<TocEntryInfo> entries;
  Digest digest{};    // sha256 over the entries and their tar header (blob_toc_digest)
  uint32_t size = 0;  // entries + 512 (blob_toc_size)

  // The entry named `name`, or nullptr.
  const TocEntryInfo* Find(std::string_view name) const;
};

// Parses a ToC from the tail of a blob: `tail` ends with the 512-byte `rafs.blob.toc` tar
// header and holds at least the entries that header announces, which precede it.
Result<BlobToc> ParseBlobToc(ByteSpan tail);

// Reads the ToC of a blob whose whole file is blob.compressed_size bytes. With a non-zero
// blob_toc_size the location is exact and, when blob_toc_digest is non-zero, the digest is
// verified; otherwise the last min(4096, size rounded down to 128) bytes are searched, as
// the reference does. NotFound when the blob has no HAS_TOC feature.
Result<BlobToc> ReadBlobToc(const BlobInfo& blob, const BlobReadFn& read);

}  // namespace nydus::meta
