// RAFS v6 bootstrap writer (reference spec §3.3): ties the node array, the metadata
// placement (v6_layout), inode/dirent encoding (v6_inode, v6_dirents) and the tables
// (v6_tables) into one EROFS image.
//
// File layout: zeros | EROFS superblock @1024 | RAFS ext superblock @1152 | device table
// @1408 | blob table @4K | prefetch table | (empty block) | inodes, inline tails, dirent and
// symlink blocks, chunk index arrays | chunk table (4K aligned) | padding to 4K.
#include <cstring>

#include "builder/bootstrap_nodes.h"
#include "builder/bootstrap_writer.h"
#include "builder/v6_dirents.h"
#include "builder/v6_inode.h"
#include "builder/v6_layout.h"
#include "builder/v6_tables.h"
#include "format/rafs.h"
#include "meta/rdev.h"

namespace nydus::builder {
namespace {

using internal::FlatNode;
using v6::Placement;

constexpr uint64_t kBlock = format::kBlockSize;

void PutAt(Bytes* out, uint64_t off, ByteSpan data) {
  if (out->size() < off + data.size()) out->resize(off + data.size(), 0);
  if (!data.empty()) std::memcpy(out->data() + off, data.data(), data.size());
}

template <typename T>
void PutPodAt(Bytes* out, uint64_t off, const T& v) {
  PutAt(out, off, ByteSpan(reinterpret_cast<const uint8_t*>(&v), sizeof(T)));
}

// Everything the inode pass needs, computed once.
struct V6Plan {
  std::vector<FlatNode> nodes;
  std::vector<Bytes> ibodies;         // per node index - 1; empty for hardlink copies
  std::vector<Placement> placements;  // per node index - 1
  std::vector<uint64_t> nids;         // per node index - 1
  bool has_xattr = false;
  uint64_t meta_addr = 0;
};

Result<V6Plan> MakePlan(const meta::Image& image) {
  V6Plan plan;
  ASSIGN_OR_RETURN(plan.nodes, internal::FlattenTree(*image.root));
  plan.ibodies.resize(plan.nodes.size());
  std::vector<uint32_t> ibody_sizes(plan.nodes.size());
  for (const FlatNode& n : plan.nodes) {
    if (!n.IsFirstLink()) {
      ibody_sizes[n.index - 1] = ibody_sizes[n.first_link - 1];
      continue;
    }
    if (n.inode->IsReg()) {
      RETURN_IF_ERROR(internal::ValidateFileChunks(n, image.chunk_size, image.blobs.size(), true));
    }
    auto ibody = v6::EncodeXattrIbody(n.inode->xattrs);
    if (!ibody.ok()) return ibody.status().WithContext(n.path);
    plan.ibodies[n.index - 1] = std::move(ibody).value();
    ibody_sizes[n.index - 1] = static_cast<uint32_t>(plan.ibodies[n.index - 1].size());
    plan.has_xattr |= !n.inode->xattrs.empty();
  }
  ASSIGN_OR_RETURN(plan.placements, v6::PlaceNodes(plan.nodes, ibody_sizes));
  for (const Placement& p : plan.placements) {
    plan.nids.push_back(p.offset / format::kV6InodeSlotSize);
  }
  return plan;
}

// Writes the inode at its placement, then its xattrs, then its data: dirents or symlink
// target (inline tail after the xattrs, full blocks at data_offset) or chunk indexes.
Status WriteNode(const meta::Image& image, const V6Plan& plan, const FlatNode& n, Bytes* out) {
  const meta::Inode& inode = *n.inode;
  const Placement& p = plan.placements[n.index - 1];
  const uint64_t base = plan.meta_addr;
  v6::InodeFields f;
  f.layout = p.layout;
  f.size = p.size;
  f.ino = n.index == 1 ? 0 : n.first_link;
  f.xattr_icount = v6::XattrIcount(plan.ibodies[n.index - 1].size());
  Bytes data;
  if (inode.IsReg()) {
    f.i_u = v6::ChunkFormat(inode, image.chunk_size);
    auto idx = v6::EncodeChunkIndexes(inode.chunks);
    if (!idx.ok()) return idx.status().WithContext(n.path);
    PutAt(out, base + RoundUp(p.offset + p.inode_size, sizeof(format::RafsV6InodeChunkAddr)), *idx);
  } else if (inode.IsDir() || inode.IsSymlink()) {
    data = inode.IsDir() ? v6::PackDirents(v6::DirEntriesOf(n, plan.nodes, plan.nids))
                         : Bytes(inode.symlink.begin(), inode.symlink.end());
    if (data.size() != p.size) return Status::Internal("v6: data size mismatch at " + n.path);
    f.i_u = static_cast<uint32_t>((base + p.data_offset) / kBlock);
    uint64_t in_blocks = p.layout == format::kV6FlatInline ? RoundDown(p.size, kBlock) : p.size;
    PutAt(out, base + p.data_offset, ByteSpan(data.data(), in_blocks));
    PutAt(out, base + p.offset + p.inode_size,
          ByteSpan(data.data() + in_blocks, data.size() - in_blocks));
  } else {  // device, fifo or socket: no data, i_size 0 (placement size)
    f.i_u = meta::EncodeRdev(static_cast<dev_t>(inode.rdev));
  }
  PutPodAt(out, base + p.offset, v6::MakeExtendedInode(inode, f));
  PutAt(out, base + p.offset + sizeof(format::RafsV6InodeExtended), plan.ibodies[n.index - 1]);
  return Status::OK();
}

Status WriteHeaders(const meta::Image& image, const v6::HeaderLayout& h,
                    const v6::SuperBlockParams& params, const std::vector<uint32_t>& prefetch,
                    Bytes* out) {
  PutPodAt(out, format::kV6SuperBlockOffset, v6::MakeSuperBlock(image, params));
  PutPodAt(out, format::kV6ExtSuperBlockOffset, v6::MakeExtSuperBlock(image, h, params));
  for (size_t i = 0; i < image.blobs.size(); ++i) {
    PutPodAt(out, format::kV6DeviceTableOffset + i * sizeof(format::RafsV6Device),
             v6::MakeDevice(image.blobs[i]));
    PutPodAt(out, h.blob_table_offset + i * sizeof(format::RafsV6Blob),
             v6::MakeBlobEntry(image.blobs[i], static_cast<uint32_t>(i)));
  }
  for (size_t i = 0; i < prefetch.size() && h.prefetch_table_size > 0; ++i) {
    PutPodAt(out, h.prefetch_table_offset + i * sizeof(uint32_t), prefetch[i]);
  }
  return Status::OK();
}

// Nids of the prefetch matches, as u32.
Result<std::vector<uint32_t>> PrefetchNids(const meta::Image& image, const V6Plan& plan) {
  std::vector<uint32_t> out;
  for (uint32_t index : internal::MatchPrefetch(plan.nodes, image.prefetch)) {
    uint64_t nid = plan.nids[index - 1];
    if (nid > 0xffffffffu) return Status::InvalidArgument("v6: prefetch nid over 32 bits");
    out.push_back(static_cast<uint32_t>(nid));
  }
  return out;
}

}  // namespace

Result<Bytes> WriteBootstrapV6(const meta::Image& image) {
  RETURN_IF_ERROR(internal::ValidateImageForWrite(image));
  RETURN_IF_ERROR(v6::ValidateBlobs(image.blobs));
  ASSIGN_OR_RETURN(V6Plan plan, MakePlan(image));
  if (plan.placements[0].offset != kBlock) return Status::Internal("v6: root not at nid 128");
  ASSIGN_OR_RETURN(std::vector<uint32_t> prefetch, PrefetchNids(image, plan));
  v6::HeaderLayout header = v6::ComputeHeaderLayout(image.blobs.size(), prefetch.size());
  plan.meta_addr = header.meta_addr;

  Bytes out(plan.meta_addr + kBlock, 0);
  for (const FlatNode& n : plan.nodes) {
    if (n.IsFirstLink()) RETURN_IF_ERROR(WriteNode(image, plan, n, &out));
  }
  v6::SuperBlockParams params;
  params.root_nid = plan.nids[0];
  params.inode_count = plan.nodes.size();
  params.meta_addr = plan.meta_addr;
  params.flags = v6::SuperFlags(image, plan.has_xattr);
  params.chunk_table_offset = RoundUp(out.size(), kBlock);
  Bytes chunk_table = v6::EncodeChunkTable(plan.nodes);
  params.chunk_table_size = chunk_table.size();
  PutAt(&out, params.chunk_table_offset, chunk_table);
  out.resize(RoundUp(out.size(), kBlock), 0);
  RETURN_IF_ERROR(WriteHeaders(image, header, params, prefetch, &out));
  return out;
}

}  // namespace nydus::builder
