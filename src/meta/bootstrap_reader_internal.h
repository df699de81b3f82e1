// Internal helpers shared by the v5 and v6 bootstrap decoders (bootstrap_reader_v5.cc,
// bootstrap_reader_v6*.cc). Not part of the public API.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "format/v5.h"
#include "meta/bootstrap_reader.h"
#include "meta/image.h"

namespace nydus::meta::internal {

// Sets the image-wide settings both versions derive from the superblock flags.
void SetImageSettings(uint32_t version, uint64_t flags, uint32_t chunk_size, Image* image);

// Trees deeper than this are rejected: Node destruction and tree walks recurse per level.
constexpr uint32_t kMaxTreeDepth = 4096;
// Absolute paths longer than PATH_MAX - 1 bytes are rejected. Besides matching what Linux
// can open, this keeps path-building walks (WalkTree) linear in the number of nodes: an
// unbounded hostile nesting of 255-byte names would make them quadratic in time and memory.
constexpr uint64_t kMaxPathLen = 4095;

// printf-style formatting into a std::string.
std::string StrFormat(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Status::Corruption with a printf-style message.
Status Corrupt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// A byte range [off, off+len) of the bootstrap, with a name for messages.
struct Region {
  const char* what;
  uint64_t off;
  uint64_t len;
};
// True when the two non-empty ranges share a byte (no overflow: both ranges already lie
// inside the file).
inline bool Overlaps(const Region& a, const Region& b) {
  return a.len != 0 && b.len != 0 && a.off < b.off + b.len && b.off < a.off + a.len;
}

// Checks a directory entry name: 1..255 bytes, no '/' and no NUL. OK or a Corruption
// message without context (callers add it).
Status ValidateEntryName(std::string_view name);


// Sorts xattrs by name; Corruption on a duplicate name.
Status SortXattrs(std::vector<Xattr>* xattrs);

// Builds a ChunkInfo from an 80-byte chunk record.
ChunkInfo ChunkFromRecord(const format::RafsV5ChunkInfo& rec);

// Expected uncompressed size of chunk `i` of a file of `size` bytes, or 0 when `i` is past
// the end.
uint32_t ExpectedChunkSize(uint64_t size, uint32_t chunk_size, uint64_t i);
// ceil(size / chunk_size) without overflow.
inline uint64_t ChunkCount(uint64_t size, uint32_t chunk_size) {
  return size / chunk_size + (size % chunk_size != 0);
}

// Maps inode keys (v5 ino, v6 nid) to the first path (in pre-order) they appear at, to turn
// prefetch tables into paths.
using PathByKey = std::unordered_map<uint64_t, std::string>;
PathByKey FirstPaths(const Node& root, bool by_nid);

Result<Image> ReadBootstrapV5(ByteSpan data, const ReadOptions& opts);
Result<Image> ReadBootstrapV6(ByteSpan data, const ReadOptions& opts);

}  // namespace nydus::meta::internal
