// InodeTable: the index from the inode numbers RafsFs reports to the nodes of a meta::Image,
// built once when the filesystem is created.
//
// Inode numbers follow the reference nydusd:
//   - RAFS v6: the nid an inode was decoded from (meta::Inode::nid);
//   - RAFS v5: the stored i_ino (meta::Inode::ino); the root is already 1.
// The FUSE root must be 1 (FUSE_ROOT_ID), so the table swaps the image root's own number with
// 1: the root reports 1, and an inode whose own number is 1 (possible only in v6 images whose
// root nid is not 1) reports the root's number instead. The swap is its own inverse, so every
// inode keeps one stable number. Hardlinked names share one meta::Inode and hence one number.
//
// Ownership: borrows the Image's nodes; the Image must outlive the table and stay unchanged.
// Thread-safety: immutable after Build(); all const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>

#include "base/result.h"
#include "meta/image.h"

namespace nydus::fs {

class InodeTable {
 public:
  struct Slot {
    const meta::Node* node = nullptr;  // the first name reached in pre-order (for hardlinks)
    uint64_t parent_ino = 0;           // reported number of the directory holding `node`
  };

  // Indexes every node of `image`. InvalidArgument when the image has no root, the root is not
  // a directory, an inode number is 0, or two different inodes share a number.
  static Result<InodeTable> Build(const meta::Image& image);

  // The slot of reported inode number `ino`, or nullptr when no inode has it.
  const Slot* Find(uint64_t ino) const;

  // The reported number of `inode` (which must belong to the indexed image).
  uint64_t InoOf(const meta::Inode& inode) const;

  // Number of distinct inodes.
  uint64_t size() const { return slots_.size(); }
  // Sum over distinct inodes of ceil(size / block).
  uint64_t BlockCount(uint64_t block) const;

 private:
  InodeTable() = default;
  // Maps an image number (nid / i_ino) to the reported one and back (a swap with 1).
  uint64_t Swap(uint64_t n) const;
  uint64_t RawOf(const meta::Inode& inode) const;
  Status Add(const meta::Node& node, uint64_t parent_ino, const std::string& path);

  bool v6_ = true;
  uint64_t root_raw_ = 1;
  std::unordered_map<uint64_t, Slot> slots_;  // keyed by reported number
};

}  // namespace nydus::fs
