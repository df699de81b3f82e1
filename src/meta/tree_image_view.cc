#include "meta/tree_image_view.h"

#include <dirent.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace nydus::meta {
namespace {

InodeAttrs AttrsOf(const Inode& in) {
  InodeAttrs a;
  a.mode = in.mode;
  a.uid = in.uid;
  a.gid = in.gid;
  a.size = in.size;
  a.mtime = in.mtime;
  a.mtime_nsec = in.mtime_nsec;
  a.nlink = in.nlink;
  a.rdev = in.rdev;
  return a;
}

std::string IdName(uint64_t id) { return "inode " + std::to_string(id); }

// Index of the first child not less than `name`.
uint64_t CountLess(const Node& dir, std::string_view name) {
  auto it = std::lower_bound(
      dir.children.begin(), dir.children.end(), name,
      [](const auto& child, std::string_view n) { return std::string_view(child->name) < n; });
  return static_cast<uint64_t>(it - dir.children.begin());
}

}  // namespace

Result<std::shared_ptr<const TreeImageView>> TreeImageView::Create(
    std::shared_ptr<const Image> image) {
  if (image == nullptr || image->root == nullptr || image->root->inode == nullptr) {
    return Status::InvalidArgument("image has no root");
  }
  if (!image->root->inode->IsDir()) return Status::InvalidArgument("image root is not a directory");
  std::shared_ptr<TreeImageView> view(new TreeImageView(std::move(image)));
  const Node& root = *view->image_->root;
  view->root_id_ = view->IdOf(*root.inode);
  if (view->root_id_ == 0) return Status::InvalidArgument("root has inode number 0");
  // Iterative pre-order walk: deep trees must not exhaust the stack.
  struct Item {
    const Node* node;
    uint64_t parent;
    std::string path;
  };
  std::vector<Item> stack;
  stack.push_back({&root, view->root_id_, "/"});
  while (!stack.empty()) {
    Item item = std::move(stack.back());
    stack.pop_back();
    RETURN_IF_ERROR(view->Add(*item.node, item.parent, item.path));
    if (!item.node->inode->IsDir()) continue;
    const uint64_t id = view->IdOf(*item.node->inode);
    // Push in reverse so children are visited in name order.
    for (auto it = item.node->children.rbegin(); it != item.node->children.rend(); ++it) {
      stack.push_back({it->get(), id, ChildPath(item.path, (*it)->name)});
    }
  }
  return std::shared_ptr<const TreeImageView>(std::move(view));
}

Status TreeImageView::Add(const Node& node, uint64_t parent, const std::string& path) {
  if (node.inode == nullptr) return Status::InvalidArgument(path + ": node has no inode");
  const uint64_t id = IdOf(*node.inode);
  if (id == 0) return Status::InvalidArgument(path + ": inode number 0");
  auto [it, inserted] = slots_.try_emplace(id, Slot{&node, parent});
  if (!inserted && it->second.node->inode != node.inode) {
    return Status::InvalidArgument(path + ": inode number " + std::to_string(id) +
                                   " already used by another inode");
  }
  if (!inserted && node.inode->IsDir()) {
    return Status::InvalidArgument(path + ": directory reached twice");
  }
  return Status::OK();
}

uint64_t TreeImageView::BlockCount(uint32_t bsize) const {
  uint64_t total = 0;
  for (const auto& [id, slot] : slots_) {
    const uint64_t size = slot.node->inode->size;
    total += size / bsize + (size % bsize != 0 ? 1 : 0);
  }
  return total;
}

const Node* TreeImageView::FindNode(uint64_t id) const {
  auto it = slots_.find(id);
  return it == slots_.end() ? nullptr : it->second.node;
}

Result<const TreeImageView::Slot*> TreeImageView::Find(uint64_t id) const {
  auto it = slots_.find(id);
  if (it == slots_.end()) return Status::NotFound(IdName(id) + " does not exist");
  return &it->second;
}

Result<const TreeImageView::Slot*> TreeImageView::FindDir(uint64_t id) const {
  ASSIGN_OR_RETURN(const Slot* slot, Find(id));
  if (!slot->node->inode->IsDir()) {
    return Status::InvalidArgument(IdName(id) + " is not a directory");
  }
  return slot;
}

Result<InodeAttrs> TreeImageView::GetInode(uint64_t id) const {
  ASSIGN_OR_RETURN(const Slot* slot, Find(id));
  return AttrsOf(*slot->node->inode);
}

Result<ViewEntry> TreeImageView::Lookup(uint64_t dir, std::string_view name) const {
  ASSIGN_OR_RETURN(const Slot* slot, FindDir(dir));
  const Node* node = nullptr;
  if (name == ".") {
    node = slot->node;
  } else if (name == "..") {
    ASSIGN_OR_RETURN(const Slot* up, Find(slot->parent));
    node = up->node;
  } else {
    const Node& d = *slot->node;
    const uint64_t i = CountLess(d, name);
    if (i < d.children.size() && d.children[i]->name == name) node = d.children[i].get();
  }
  if (node == nullptr) {
    return Status::NotFound(IdName(dir) + " has no entry named '" + std::string(name) + "'");
  }
  return ViewEntry{IdOf(*node->inode), AttrsOf(*node->inode)};
}

Status TreeImageView::ReadDir(uint64_t dir, uint64_t offset, const DirFn& fn) const {
  ASSIGN_OR_RETURN(const Slot* slot, FindDir(dir));
  const Node& d = *slot->node;
  const uint64_t count = d.children.size() + 2;
  // v5 lists "." and ".." first; v6 lists the on-disk dirents, which sort every name
  // bytewise, "." and ".." included.
  uint64_t dot = 0, dotdot = 1;
  if (image_->IsV6()) {
    dot = CountLess(d, ".");
    dotdot = CountLess(d, "..") + 1;
  }
  for (uint64_t i = offset; i < count; ++i) {
    const Node* node;
    std::string_view name;
    if (i == dot) {
      name = ".";
      node = &d;
    } else if (i == dotdot) {
      name = "..";
      ASSIGN_OR_RETURN(const Slot* up, Find(slot->parent));
      node = up->node;
    } else {
      const uint64_t child = i - (i > dot ? 1 : 0) - (i > dotdot ? 1 : 0);
      node = d.children[child].get();
      name = node->name;
    }
    if (!fn(name, IdOf(*node->inode), IFTODT(node->inode->mode), i + 1)) break;
  }
  return Status::OK();
}

Result<std::string> TreeImageView::ReadLink(uint64_t id) const {
  ASSIGN_OR_RETURN(const Slot* slot, Find(id));
  if (!slot->node->inode->IsSymlink()) {
    return Status::InvalidArgument(IdName(id) + " is not a symlink");
  }
  return slot->node->inode->symlink;
}

Result<std::vector<Xattr>> TreeImageView::Xattrs(uint64_t id) const {
  ASSIGN_OR_RETURN(const Slot* slot, Find(id));
  return slot->node->inode->xattrs;
}

Status TreeImageView::Chunks(uint64_t id, uint64_t offset, uint64_t len,
                             std::vector<ChunkInfo>* out) const {
  ASSIGN_OR_RETURN(const Slot* slot, Find(id));
  const Inode& in = *slot->node->inode;
  if (!in.IsReg()) return Status::InvalidArgument(IdName(id) + " is not a regular file");
  out->clear();
  if (len == 0 || offset >= in.size) return Status::OK();
  const uint64_t end = offset + std::min(len, in.size - offset);
  // The chunk holding `offset`: the last one starting at or before it.
  auto it = std::upper_bound(in.chunks.begin(), in.chunks.end(), offset,
                             [](uint64_t off, const ChunkInfo& c) { return off < c.file_offset; });
  if (it != in.chunks.begin()) --it;
  for (; it != in.chunks.end() && it->file_offset < end; ++it) out->push_back(*it);
  return Status::OK();
}

}  // namespace nydus::meta
