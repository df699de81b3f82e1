#include "builder/v6_dirents.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "format/rafs.h"
#include "format/v6.h"

namespace nydus::builder::v6 {
namespace {

constexpr uint64_t kBlock = format::kBlockSize;

// Splits `sorted` into per-block ranges [begin, end) following the "never cross a block"
// rule; returns the start index of every block.
std::vector<size_t> BlockStarts(const std::vector<DirEntry>& sorted) {
  std::vector<size_t> starts;
  uint64_t used = kBlock;  // forces a first block
  for (size_t i = 0; i < sorted.size(); ++i) {
    uint64_t len = format::kV6DirentSize + sorted[i].name.size();
    if (used + len > kBlock) {
      starts.push_back(i);
      used = 0;
    }
    used += len;
  }
  return starts;
}

}  // namespace

std::vector<DirEntry> DirEntriesOf(const internal::FlatNode& dir,
                                   const std::vector<internal::FlatNode>& nodes,
                                   const std::vector<uint64_t>& nids) {
  auto nid_of = [&](uint32_t index) -> uint64_t {
    return nids.empty() ? 0 : nids[nodes[index - 1].first_link - 1];
  };
  std::vector<DirEntry> entries;
  entries.reserve(dir.child_count + 2);
  entries.push_back({".", nid_of(dir.index), format::kV6FtDir});
  entries.push_back({"..", nid_of(dir.parent == 0 ? dir.index : dir.parent), format::kV6FtDir});
  for (uint32_t i = 0; i < dir.child_count; ++i) {
    const internal::FlatNode& child = nodes[dir.child_index + i - 1];
    entries.push_back({child.node->name, nid_of(child.index), format::V6FileTypeOfMode(child.inode->mode)});
  }
  std::sort(entries.begin(), entries.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return entries;
}

uint64_t DirentsSize(const std::vector<DirEntry>& sorted) {
  std::vector<size_t> starts = BlockStarts(sorted);
  if (starts.empty()) return 0;
  uint64_t last = 0;
  for (size_t i = starts.back(); i < sorted.size(); ++i) {
    last += format::kV6DirentSize + sorted[i].name.size();
  }
  return (starts.size() - 1) * kBlock + last;
}

Bytes PackDirents(const std::vector<DirEntry>& sorted) {
  std::vector<size_t> starts = BlockStarts(sorted);
  Bytes out;
  for (size_t b = 0; b < starts.size(); ++b) {
    size_t begin = starts[b];
    size_t end = b + 1 < starts.size() ? starts[b + 1] : sorted.size();
    uint64_t block_base = out.size();
    uint64_t nameoff = (end - begin) * format::kV6DirentSize;
    for (size_t i = begin; i < end; ++i) {
      format::RafsV6Dirent de{};
      de.e_nid = sorted[i].nid;
      de.e_nameoff = static_cast<uint16_t>(nameoff);
      de.e_file_type = sorted[i].file_type;
      AppendPod(&out, de);
      nameoff += sorted[i].name.size();
    }
    for (size_t i = begin; i < end; ++i) {
      out.insert(out.end(), sorted[i].name.begin(), sorted[i].name.end());
    }
    if (b + 1 < starts.size()) out.resize(block_base + kBlock, 0);
  }
  return out;
}

}  // namespace nydus::builder::v6
