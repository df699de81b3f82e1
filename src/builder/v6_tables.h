// RAFS v6 superblocks, device/blob/prefetch table placement and the chunk table
// (reference spec §3.3.1–§3.3.5, §3.3.10). Internal to builder/. Pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "builder/bootstrap_nodes.h"
#include "format/v6.h"
#include "meta/image.h"

namespace nydus::builder::v6 {

// Where the tables in front of the metadata area go.
struct HeaderLayout {
  uint64_t blob_table_offset = 0;      // round_up_4k(1408 + 128 * blobs)
  uint32_t blob_table_size = 0;        // 256 * blobs
  uint64_t prefetch_table_offset = 0;  // right after the blob table; 0 when absent
  uint32_t prefetch_table_size = 0;    // 4 * entries; 0 without blobs or entries
  uint64_t meta_addr = 0;              // metadata base: 4K after the tables, 0 without blobs
};
HeaderLayout ComputeHeaderLayout(size_t blob_count, size_t prefetch_entries);

// Checks what the v6 tables need from each blob: an id of 1..64 bytes, fewer than 255 blobs
// (device ids are one byte in chunk indexes), 4K-aligned uncompressed sizes whose block
// counts (and their sum) fit u32.
Status ValidateBlobs(const std::vector<meta::BlobInfo>& blobs);

// Device slot and blob table entry of blob `index`.
format::RafsV6Device MakeDevice(const meta::BlobInfo& blob);
format::RafsV6Blob MakeBlobEntry(const meta::BlobInfo& blob, uint32_t index);

struct SuperBlockParams {
  uint64_t root_nid = 0;
  uint64_t inode_count = 0;  // s_inos: number of nodes
  uint64_t meta_addr = 0;
  uint64_t flags = 0;  // RafsSuperFlags
  uint64_t chunk_table_offset = 0;
  uint64_t chunk_table_size = 0;
};
format::RafsV6SuperBlock MakeSuperBlock(const meta::Image& image, const SuperBlockParams& p);
format::RafsV6SuperBlockExt MakeExtSuperBlock(const meta::Image& image, const HeaderLayout& h,
                                              const SuperBlockParams& p);

// Superblock flags: BaseSuperFlags plus INLINED_CHUNK_DIGEST when every blob (vacuously
// true without blobs, as in the reference) has the INLINED_CHUNK_DIGEST feature.
uint64_t SuperFlags(const meta::Image& image, bool has_xattr);

// The chunk table: one 80-byte record per distinct (digest, blob_index) over all regular
// files in node order (a later chunk with the same key replaces an earlier one), sorted by
// digest bytes then blob index.
Bytes EncodeChunkTable(const std::vector<internal::FlatNode>& nodes);

}  // namespace nydus::builder::v6
