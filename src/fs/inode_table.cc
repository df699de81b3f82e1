#include "fs/inode_table.h"

#include <string>
#include <utility>
#include <vector>

#include "fs/fs_types.h"

namespace nydus::fs {

Result<InodeTable> InodeTable::Build(const meta::Image& image) {
  if (image.root == nullptr || image.root->inode == nullptr) {
    return Status::InvalidArgument("fs: image has no root");
  }
  if (!image.root->inode->IsDir()) {
    return Status::InvalidArgument("fs: image root is not a directory");
  }
  InodeTable table;
  table.v6_ = image.IsV6();
  table.root_raw_ = table.RawOf(*image.root->inode);
  if (table.root_raw_ == 0) {
    return Status::InvalidArgument("fs: root has inode number 0");
  }
  // Iterative pre-order walk: deep trees must not exhaust the stack.
  struct Item {
    const meta::Node* node;
    uint64_t parent_ino;
    std::string path;
  };
  std::vector<Item> stack;
  stack.push_back({image.root.get(), kRootIno, "/"});
  while (!stack.empty()) {
    Item item = std::move(stack.back());
    stack.pop_back();
    RETURN_IF_ERROR(table.Add(*item.node, item.parent_ino, item.path));
    if (!item.node->inode->IsDir()) continue;
    const uint64_t ino = table.InoOf(*item.node->inode);
    // Push in reverse so children are visited in name order.
    for (auto it = item.node->children.rbegin(); it != item.node->children.rend(); ++it) {
      stack.push_back({it->get(), ino, meta::ChildPath(item.path, (*it)->name)});
    }
  }
  return table;
}

Status InodeTable::Add(const meta::Node& node, uint64_t parent_ino, const std::string& path) {
  if (node.inode == nullptr) {
    return Status::InvalidArgument("fs: " + path + ": node has no inode");
  }
  const uint64_t raw = RawOf(*node.inode);
  if (raw == 0) {
    return Status::InvalidArgument("fs: " + path + ": inode number 0");
  }
  const uint64_t ino = Swap(raw);
  auto [it, inserted] = slots_.try_emplace(ino, Slot{&node, parent_ino});
  if (!inserted && it->second.node->inode != node.inode) {
    return Status::InvalidArgument("fs: " + path + ": inode number " + std::to_string(raw) +
                                   " already used by another inode");
  }
  if (!inserted && node.inode->IsDir()) {
    return Status::InvalidArgument("fs: " + path + ": directory reached twice");
  }
  return Status::OK();
}

const InodeTable::Slot* InodeTable::Find(uint64_t ino) const {
  auto it = slots_.find(ino);
  return it == slots_.end() ? nullptr : &it->second;
}

uint64_t InodeTable::RawOf(const meta::Inode& inode) const { return v6_ ? inode.nid : inode.ino; }

uint64_t InodeTable::Swap(uint64_t n) const {
  if (n == root_raw_) return kRootIno;
  if (n == kRootIno) return root_raw_;
  return n;
}

uint64_t InodeTable::InoOf(const meta::Inode& inode) const { return Swap(RawOf(inode)); }

uint64_t InodeTable::BlockCount(uint64_t block) const {
  uint64_t total = 0;
  for (const auto& [ino, slot] : slots_) {
    const uint64_t size = slot.node->inode->size;
    total += size / block + (size % block != 0 ? 1 : 0);
  }
  return total;
}

}  // namespace nydus::fs
