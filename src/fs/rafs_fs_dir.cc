// RafsFs directory operations: Lookup and ReadDir.
#include <dirent.h>

#include <algorithm>
#include <string>

#include "fs/rafs_fs.h"

namespace nydus::fs {

namespace {

// Where "." and ".." sit in a directory listing of `dir`: v5 lists them first; v6 lists the
// on-disk dirents, which sort every name bytewise, "." and ".." included.
struct DotPositions {
  uint64_t dot = 0;
  uint64_t dotdot = 1;
};

uint64_t CountLess(const meta::Node& dir, const std::string& name) {
  auto it =
      std::lower_bound(dir.children.begin(), dir.children.end(), name,
                       [](const auto& child, const std::string& n) { return child->name < n; });
  return static_cast<uint64_t>(it - dir.children.begin());
}

DotPositions FindDots(const meta::Node& dir, bool v6) {
  if (!v6) return DotPositions{};
  return DotPositions{CountLess(dir, "."), CountLess(dir, "..") + 1};
}

}  // namespace

Result<const InodeTable::Slot*> RafsFs::FindDir(uint64_t ino) const {
  ASSIGN_OR_RETURN(const InodeTable::Slot* slot, FindSlot(ino));
  if (!slot->node->inode->IsDir()) {
    return Status::InvalidArgument("fs: inode " + std::to_string(ino) + " is not a directory");
  }
  return slot;
}

Result<Entry> RafsFs::Lookup(uint64_t parent, const std::string& name) const {
  ASSIGN_OR_RETURN(const InodeTable::Slot* dir, FindDir(parent));
  if (name == ".") return MakeEntry(*dir->node);
  if (name == "..") {
    ASSIGN_OR_RETURN(const InodeTable::Slot* up, FindSlot(dir->parent_ino));
    return MakeEntry(*up->node);
  }
  const meta::Node* child = dir->node->FindChild(name);
  if (child == nullptr) {
    return Status::NotFound("fs: inode " + std::to_string(parent) + " has no entry named '" + name +
                            "'");
  }
  return MakeEntry(*child);
}

Status RafsFs::ReadDir(uint64_t ino, uint64_t offset, const DirFn& fn) const {
  ASSIGN_OR_RETURN(const InodeTable::Slot* dir, FindDir(ino));
  const uint64_t count = dir->node->children.size() + 2;
  const DotPositions dots = FindDots(*dir->node, image_->IsV6());
  for (uint64_t i = offset; i < count; ++i) {
    DirEntry e;
    const meta::Node* node;
    if (i == dots.dot) {
      e.name = ".";
      node = dir->node;
    } else if (i == dots.dotdot) {
      e.name = "..";
      ASSIGN_OR_RETURN(const InodeTable::Slot* up, FindSlot(dir->parent_ino));
      node = up->node;
    } else {
      const uint64_t child = i - (i > dots.dot ? 1 : 0) - (i > dots.dotdot ? 1 : 0);
      node = dir->node->children[child].get();
      e.name = node->name;
    }
    e.ino = table_.InoOf(*node->inode);
    e.type = IFTODT(node->inode->mode);
    e.next_offset = i + 1;
    if (!fn(e)) break;
  }
  return Status::OK();
}

}  // namespace nydus::fs
