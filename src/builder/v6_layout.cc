#include "builder/v6_layout.h"

#include "base/bytes.h"
#include "builder/v6_dirents.h"
#include "format/rafs.h"
#include "format/v6.h"

namespace nydus::builder::v6 {
namespace {

constexpr uint64_t kBlock = format::kBlockSize;
constexpr uint64_t kSlot = format::kV6InodeSlotSize;
constexpr uint64_t kChunkAddrSize = sizeof(format::RafsV6InodeChunkAddr);
constexpr uint64_t kMaxSymlink = 4095;  // PATH_MAX - 1

Result<Placement> PlaceNonDir(MetaAllocator* alloc, const internal::FlatNode& node,
                              uint32_t inode_size) {
  const meta::Inode& inode = *node.inode;
  if (inode.IsReg()) return PlaceChunkFile(alloc, inode_size, inode.size, inode.chunks.size());
  if (inode.IsSymlink()) {
    if (inode.symlink.empty() || inode.symlink.size() > kMaxSymlink) {
      return Status::InvalidArgument("v6 layout: " + node.path + ": symlink target of " +
                                     std::to_string(inode.symlink.size()) + " bytes");
    }
    return PlaceWithTail(alloc, inode_size, inode.symlink.size());
  }
  Placement p;  // devices, fifos, sockets: the inode alone
  p.inode_size = inode_size;
  p.layout = format::kV6FlatPlain;
  p.offset = alloc->Take(inode_size);
  return p;
}

}  // namespace

Placement PlaceWithTail(MetaAllocator* alloc, uint32_t inode_size, uint64_t data_size) {
  Placement p;
  p.inode_size = inode_size;
  p.size = data_size;
  uint64_t tail = data_size % kBlock;
  if (tail != 0 && inode_size + tail <= kBlock) {
    p.layout = format::kV6FlatInline;
    p.offset = alloc->TakeFromPartial(inode_size + tail);
    if (p.offset == 0) {
      if (kBlock - alloc->cursor() % kBlock < inode_size + tail) {
        alloc->RecordPartial(alloc->cursor());
        alloc->Align(kBlock);
      }
      p.offset = alloc->Take(inode_size + tail);
    }
    if (data_size != tail) {
      alloc->RecordPartial(alloc->cursor());
      alloc->Align(kBlock);
    }
    p.data_offset = alloc->Take(RoundDown(data_size, kBlock));
    return p;
  }
  p.layout = format::kV6FlatPlain;
  p.offset = alloc->TakeFromPartial(inode_size);
  if (p.offset == 0) p.offset = alloc->Take(inode_size);
  alloc->RecordPartial(alloc->cursor());
  alloc->Align(kBlock);
  p.data_offset = alloc->Take(data_size);
  alloc->Align(kBlock);
  return p;
}

Placement PlaceChunkFile(MetaAllocator* alloc, uint32_t inode_size, uint64_t file_size,
                         uint64_t chunk_count) {
  Placement p;
  p.inode_size = inode_size;
  p.size = file_size;
  p.layout = format::kV6ChunkBased;
  uint64_t array_size = chunk_count * kChunkAddrSize;
  p.offset = alloc->TakeFromPartial(RoundUp(inode_size, kChunkAddrSize) + array_size);
  if (p.offset == 0) {
    p.offset = alloc->Take(inode_size);
    alloc->Align(kChunkAddrSize);
    alloc->Take(array_size);
  }
  return p;
}

void MetaAllocator::Align(uint64_t alignment) { cursor_ = RoundUp(cursor_, alignment); }

uint64_t MetaAllocator::Take(uint64_t size) {
  uint64_t off = cursor_;
  cursor_ += size;
  return off;
}

uint64_t MetaAllocator::TakeFromPartial(uint64_t size) {
  if (size >= kBlock) return 0;
  size_t min_slots = (size + kSlot - 1) / kSlot;
  for (size_t slots = min_slots; slots < kClasses; ++slots) {
    if (partial_[slots].empty()) continue;
    uint64_t block = partial_[slots].front();
    partial_[slots].pop_front();
    uint64_t off = block + kBlock - slots * kSlot;
    RecordPartial(off + min_slots * kSlot);
    return off;
  }
  return 0;
}

void MetaAllocator::RecordPartial(uint64_t offset) {
  uint64_t used = offset % kBlock;
  if (used == 0) return;
  partial_[(kBlock - used) / kSlot].push_back(offset - used);
}

Result<std::vector<Placement>> PlaceNodes(const std::vector<internal::FlatNode>& nodes,
                                          const std::vector<uint32_t>& ibody_sizes) {
  std::vector<Placement> out(nodes.size());
  auto inode_size = [&](uint32_t index) {
    return static_cast<uint32_t>(sizeof(format::RafsV6InodeExtended) + ibody_sizes[index - 1]);
  };
  MetaAllocator alloc;
  std::vector<uint32_t> pending{1};  // directories to visit, top visited next
  while (!pending.empty()) {
    const internal::FlatNode& dir = nodes[pending.back() - 1];
    pending.pop_back();
    uint64_t dirents_size = DirentsSize(DirEntriesOf(dir, nodes, {}));
    out[dir.index - 1] = PlaceWithTail(&alloc, inode_size(dir.index), dirents_size);
    alloc.Align(kSlot);
    std::vector<uint32_t> subdirs;
    for (uint32_t c = dir.child_index; c < dir.child_index + dir.child_count; ++c) {
      const internal::FlatNode& child = nodes[c - 1];
      if (child.inode->IsDir()) {
        subdirs.push_back(c);
      } else if (!child.IsFirstLink()) {
        out[c - 1] = out[child.first_link - 1];
      } else {
        ASSIGN_OR_RETURN(out[c - 1], PlaceNonDir(&alloc, child, inode_size(c)));
        alloc.Align(kSlot);
      }
    }
    pending.insert(pending.end(), subdirs.rbegin(), subdirs.rend());
  }
  return out;
}

}  // namespace nydus::builder::v6
