// TreeImageView: the ImageView over a fully decoded meta::Image (what ReadBootstrap returns,
// or an Image built by hand in tests). Create() indexes every node once by raw id (v6: the
// nid; v5: the stored i_ino) together with its parent's id, and rejects trees that cannot be
// served: no root, a non-directory root, an id of 0, two different inodes with one id, or a
// directory reached twice.
//
// Ownership: shares the Image (kept alive by the view). Thread-safety: immutable after
// Create(); every method may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "meta/image_view.h"

namespace nydus::meta {

class TreeImageView final : public ImageView {
 public:
  // InvalidArgument (naming the path) for the trees described above.
  static Result<std::shared_ptr<const TreeImageView>> Create(std::shared_ptr<const Image> image);

  const Image& header() const override { return *image_; }
  uint64_t root_id() const override { return root_id_; }
  uint64_t inode_count() const override { return slots_.size(); }
  uint64_t BlockCount(uint32_t bsize) const override;

  Result<InodeAttrs> GetInode(uint64_t id) const override;
  Result<ViewEntry> Lookup(uint64_t dir, std::string_view name) const override;
  Status ReadDir(uint64_t dir, uint64_t offset, const DirFn& fn) const override;
  Result<std::string> ReadLink(uint64_t id) const override;
  Result<std::vector<Xattr>> Xattrs(uint64_t id) const override;
  Status Chunks(uint64_t id, uint64_t offset, uint64_t len,
                std::vector<ChunkInfo>* out) const override;

  // The first node (in pre-order) with `id`, or nullptr.
  const Node* FindNode(uint64_t id) const;

 private:
  struct Slot {
    const Node* node = nullptr;  // the first name reached in pre-order (for hardlinks)
    uint64_t parent = 0;         // id of the directory holding `node` (the root's is itself)
  };

  explicit TreeImageView(std::shared_ptr<const Image> image) : image_(std::move(image)) {}
  uint64_t IdOf(const Inode& inode) const { return image_->IsV6() ? inode.nid : inode.ino; }
  Status Add(const Node& node, uint64_t parent, const std::string& path);
  Result<const Slot*> Find(uint64_t id) const;
  Result<const Slot*> FindDir(uint64_t id) const;

  std::shared_ptr<const Image> image_;
  uint64_t root_id_ = 0;
  std::unordered_map<uint64_t, Slot> slots_;
};

}  // namespace nydus::meta
