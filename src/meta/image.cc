#include "meta/image.h"

#include <algorithm>

namespace nydus::meta {

uint64_t BlobInfo::CompressedDataSize() const {
  using namespace format;
  if (features & kBlobSeparate) return compressed_size;
  if (!(features & kBlobCapTarToc)) return compressed_size;  // built by nydus 2.1 or older
  uint64_t tar = (features & kBlobHasTarHeader) ? 512 : 0;
  // v6 (valid CI): chunk data ends where the CI starts; v5: the whole blob minus the header.
  uint64_t end = (ci_compressed_size != 0 && ci_uncompressed_size != 0) ? ci_offset
                                                                         : compressed_size;
  return end >= tar ? end - tar : 0;
}

const Xattr* Inode::FindXattr(const std::string& name) const {
  for (const auto& x : xattrs) {
    if (x.name == name) return &x;
  }
  return nullptr;
}

static bool NameLess(const std::unique_ptr<Node>& a, const std::string& name) {
  return a->name < name;  // std::string compares as unsigned bytes via char_traits
}

Node* Node::FindChild(const std::string& name) const {
  auto it = std::lower_bound(children.begin(), children.end(), name, NameLess);
  return (it != children.end() && (*it)->name == name) ? it->get() : nullptr;
}

void Node::PutChild(std::unique_ptr<Node> child) {
  auto it = std::lower_bound(children.begin(), children.end(), child->name, NameLess);
  if (it != children.end() && (*it)->name == child->name) {
    *it = std::move(child);
  } else {
    children.insert(it, std::move(child));
  }
}

bool Node::RemoveChild(const std::string& name) {
  auto it = std::lower_bound(children.begin(), children.end(), name, NameLess);
  if (it == children.end() || (*it)->name != name) return false;
  children.erase(it);
  return true;
}

bool IsKnownFileType(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
    case S_IFDIR:
    case S_IFLNK:
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
    case S_IFSOCK:
      return true;
    default:
      return false;
  }
}

std::string ChildPath(const std::string& parent, const std::string& name) {
  return parent == "/" ? "/" + name : parent + "/" + name;
}

void Node::SortChildren() {
  std::sort(children.begin(), children.end(),
            [](const auto& a, const auto& b) { return a->name < b->name; });
}

}  // namespace nydus::meta
