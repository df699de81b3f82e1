// V6DirectView directory operations: Lookup (binary search over the directory blocks by
// their first name, then inside one block) and ReadDir (on-disk order, stable entry indexes).
#include <algorithm>
#include <string>
#include <vector>

#include "format/v6.h"
#include "meta/v6_direct_view.h"

namespace nydus::meta {

using internal::StrFormat;
using internal::V6Dirent;
using internal::V6Inode;

Result<ViewEntry> V6DirectView::Lookup(uint64_t dir, std::string_view name) const {
  ASSIGN_OR_RETURN(V6Inode d, LoadDir(dir));
  auto in_dir = [dir](const Status& st) {
    return st.WithContext(StrFormat("v6: inode nid %lu", dir));
  };
  const uint64_t nblocks = internal::V6DirBlocks(d);
  // The block that may hold `name`: the last one whose first name is <= name.
  uint64_t lo = 0, hi = nblocks;
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    Result<internal::V6DirBlockHead> head = internal::V6DirBlockFirst(h_.ctx, d, mid);
    if (!head.ok()) return in_dir(head.status());
    if (head->first <= name) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  Result<std::optional<internal::V6DirentAt>> found = internal::V6DirBlockFind(h_.ctx, d, lo, name);
  if (!found.ok()) return in_dir(found.status());
  if (!found->has_value()) {
    return Status::NotFound(StrFormat("v6: inode nid %lu has no entry named '%.*s'", dir,
                                      static_cast<int>(name.size()), name.data()));
  }
  const V6Dirent& e = (*found)->dirent;
  if (name == "." && (e.nid != dir || e.type != format::kV6FtDir)) {
    return in_dir(
        internal::Corrupt("\".\" entry points to nid %lu type %u, expected directory "
                          "nid %lu",
                          e.nid, e.type, dir));
  }
  // A dirent's target must be a valid inode: any failure, even "out of range", is corruption.
  V6Inode child;
  RETURN_IF_ERROR(internal::LoadV6Inode(h_.ctx, e.nid, &child, nullptr));
  if (e.type != format::V6FileTypeOfMode(child.attrs.mode)) {
    return internal::Corrupt(
        "v6: inode nid %lu: block %lu: dirent %zu \"%.*s\" type %u disagrees with mode 0%o of "
        "nid %lu",
        dir, lo, static_cast<size_t>((*found)->index), static_cast<int>(name.size()), name.data(),
        e.type, child.attrs.mode, e.nid);
  }
  return ViewEntry{e.nid, child.attrs};
}

Status V6DirectView::ReadDir(uint64_t dir, uint64_t offset, const DirFn& fn) const {
  ASSIGN_OR_RETURN(V6Inode d, LoadDir(dir));
  auto in_dir = [dir](const Status& st) {
    return st.WithContext(StrFormat("v6: inode nid %lu", dir));
  };
  const uint64_t nblocks = internal::V6DirBlocks(d);
  uint64_t index = 0;     // entry index of the first entry of block b
  std::string_view prev;  // last name of the previous block (points into the bootstrap)
  std::vector<V6Dirent> entries;
  for (uint64_t b = 0; b < nblocks; ++b) {
    if (prev.empty()) {
      // Skip whole blocks before `offset` reading only their headers.
      Result<internal::V6DirBlockHead> head = internal::V6DirBlockFirst(h_.ctx, d, b);
      if (!head.ok()) return in_dir(head.status());
      if (index + head->count <= offset) {
        index += head->count;
        continue;
      }
    }
    entries.clear();
    Status st = internal::ParseV6DirBlock(h_.ctx, d, b, &entries);
    if (!st.ok()) return in_dir(st);
    if (!prev.empty() && entries.front().name <= prev) {
      return in_dir(internal::Corrupt("block %lu: dirent 0 \"%.*s\" not sorted after \"%.*s\"", b,
                                      static_cast<int>(entries.front().name.size()),
                                      entries.front().name.data(), static_cast<int>(prev.size()),
                                      prev.data()));
    }
    prev = entries.back().name;
    for (const V6Dirent& e : entries) {
      const uint64_t i = index++;
      if (i < offset) continue;
      const uint32_t dtype = internal::V6DirentDtype(e.type);
      if (dtype == 0) {
        return in_dir(internal::Corrupt("block %lu: dirent \"%.*s\" has unknown file type %u", b,
                                        static_cast<int>(e.name.size()), e.name.data(), e.type));
      }
      if (!fn(e.name, e.nid, dtype, i + 1)) return Status::OK();
    }
  }
  return Status::OK();
}

}  // namespace nydus::meta
