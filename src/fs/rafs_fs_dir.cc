// RafsFs directory operations: Lookup and ReadDir, forwarded to the ImageView with the root
// swap applied to every number in and out.
#include <string>

#include "fs/rafs_fs.h"

namespace nydus::fs {

Result<Entry> RafsFs::Lookup(uint64_t parent, const std::string& name) const {
  if (parent == 0) return Status::NotFound("fs: inode 0 does not exist");
  Result<meta::ViewEntry> found = view_->Lookup(Swap(parent), name);
  if (!found.ok()) return found.status().WithContext("fs: inode " + std::to_string(parent));
  Entry e;
  e.ino = Swap(found->id);
  e.attr = MakeAttr(e.ino, found->attrs);
  e.generation = 0;
  return e;
}

Status RafsFs::ReadDir(uint64_t ino, uint64_t offset, const DirFn& fn) const {
  if (ino == 0) return Status::NotFound("fs: inode 0 does not exist");
  DirEntry e;
  Status st = view_->ReadDir(
      Swap(ino), offset, [&](std::string_view name, uint64_t id, uint32_t dtype, uint64_t next) {
        e.name.assign(name);
        e.ino = Swap(id);
        e.type = dtype;
        e.next_offset = next;
        return fn(e);
      });
  if (!st.ok()) return st.WithContext("fs: inode " + std::to_string(ino));
  return Status::OK();
}

}  // namespace nydus::fs
