// Test-only helpers for the fs (and fuse) tests: building small meta::Images by hand.
#pragma once

#include <sys/stat.h>

#include <memory>
#include <string>
#include <utility>

#include "meta/image.h"

namespace nydus::fs::testing {

// Builds an Image node by node. Inode numbers go where the RAFS version keeps them: the nid
// for v6, i_ino for v5.
class ImageBuilder {
 public:
  // Starts an image whose root directory has `root_number` and mode 040000 | `root_perm`.
  ImageBuilder(uint32_t version, uint64_t root_number, uint32_t root_perm = 0755) {
    image_ = std::make_shared<meta::Image>();
    image_->version = version;
    image_->root = std::make_unique<meta::Node>();
    image_->root->name = "/";
    image_->root->inode = NewInode(S_IFDIR | root_perm, root_number);
    image_->root->inode->nlink = 2;
  }

  // A fresh inode with `mode`, inode number `number`, mtime 1000.000000500.
  std::shared_ptr<meta::Inode> NewInode(uint32_t mode, uint64_t number) const {
    auto inode = std::make_shared<meta::Inode>();
    inode->mode = mode;
    inode->mtime = 1000;
    inode->mtime_nsec = 500;
    if (image_->IsV6()) {
      inode->nid = number;
    } else {
      inode->ino = number;
    }
    return inode;
  }

  meta::Node* root() { return image_->root.get(); }
  meta::Image& image() { return *image_; }

  // Adds `name` → `inode` under `dir` and returns the new node.
  meta::Node* Add(meta::Node* dir, const std::string& name, std::shared_ptr<meta::Inode> inode) {
    auto node = std::make_unique<meta::Node>();
    node->name = name;
    node->inode = std::move(inode);
    meta::Node* raw = node.get();
    dir->PutChild(std::move(node));
    return raw;
  }
  meta::Node* AddDir(meta::Node* dir, const std::string& name, uint64_t number,
                     uint32_t perm = 0755) {
    auto inode = NewInode(S_IFDIR | perm, number);
    inode->nlink = 2;
    return Add(dir, name, std::move(inode));
  }
  meta::Node* AddFile(meta::Node* dir, const std::string& name, uint64_t number, uint64_t size = 0,
                      uint32_t perm = 0644) {
    auto inode = NewInode(S_IFREG | perm, number);
    inode->size = size;
    return Add(dir, name, std::move(inode));
  }
  meta::Node* AddSymlink(meta::Node* dir, const std::string& name, uint64_t number,
                         const std::string& target) {
    auto inode = NewInode(S_IFLNK | 0777, number);
    inode->symlink = target;
    inode->size = target.size();
    return Add(dir, name, std::move(inode));
  }

  std::shared_ptr<const meta::Image> Finish() { return std::move(image_); }

 private:
  std::shared_ptr<meta::Image> image_;
};

}  // namespace nydus::fs::testing
