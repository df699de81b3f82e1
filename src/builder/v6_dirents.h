// RAFS v6 (EROFS) directory blocks (reference spec §3.3.8). Internal to builder/.
//
// A directory's data is a sequence of 4 KiB blocks; each holds an array of 12-byte dirents
// followed by their names (no NUL). Entries, "." and ".." included, are sorted by name
// bytes across the whole directory, and an entry never shares a block with its name split
// off: when 12 + name_len would cross 4096 the next block starts. The directory's i_size
// counts every full block plus the used bytes of the last one.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "builder/bootstrap_nodes.h"

namespace nydus::builder::v6 {

struct DirEntry {
  std::string_view name;
  uint64_t nid = 0;
  uint8_t file_type = 0;  // format::V6FileType
};


// Entries of directory `dir` (its children, "." and ".."), sorted by name bytes. `nids`
// maps a node index to its nid (children use their first link's nid; ".." of the root is
// the root); pass an empty vector when only sizes are needed (all nids 0).
std::vector<DirEntry> DirEntriesOf(const internal::FlatNode& dir,
                                   const std::vector<internal::FlatNode>& nodes,
                                   const std::vector<uint64_t>& nids);

// Total dirent bytes (the i_size) of `sorted` under the per-block rule.
uint64_t DirentsSize(const std::vector<DirEntry>& sorted);

// Encodes `sorted` into directory data of exactly DirentsSize(sorted) bytes: each block but
// the last is zero-padded to 4096. REQUIRES: names of 1..255 bytes.
Bytes PackDirents(const std::vector<DirEntry>& sorted);

}  // namespace nydus::builder::v6
