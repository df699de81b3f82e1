// RAFS v5 bootstrap writer (reference spec §3.2).
//
// Layout: superblock (8192) | inode table (u32 record offset >> 3 per node index, padded
// to 8) | prefetch table (u32 inos, padded to 8) | blob table | extended blob table (64 bytes
// per blob) | inode records in index order. Every name gets its own record (hardlinks repeat
// the inode, chunks included) and shares the first name's i_ino.
#include <algorithm>
#include <cstring>

#include "base/digest.h"
#include "builder/bootstrap_nodes.h"
#include "builder/bootstrap_writer.h"
#include "format/rafs.h"
#include "format/v5.h"
#include "meta/rdev.h"

namespace nydus::builder {
namespace {

using internal::FlatNode;

constexpr uint64_t kAlign = 8;
constexpr uint64_t kVirtualDirentSize = 8;  // per-child bytes of the synthetic dir size
constexpr size_t kMaxXattrValue = 0x10000;

void AppendPadded(Bytes* out, ByteSpan data) {
  out->insert(out->end(), data.begin(), data.end());
  out->resize(RoundUp(out->size(), kAlign), 0);
}

// Sum over pairs of u32 pair_len + key + NUL + value (the stored xattr "size").
Result<uint64_t> XattrPairsSize(const FlatNode& n) {
  uint64_t size = 0;
  for (const meta::Xattr& x : n.inode->xattrs) {
    if (x.name.empty() || x.name.size() > format::kMaxNameLen || x.value.size() > kMaxXattrValue) {
      return Status::InvalidArgument("v5: " + n.path + ": bad xattr " + x.name);
    }
    size += sizeof(uint32_t) + x.name.size() + 1 + x.value.size();
  }
  return size;
}

// Synthetic directory size: round_up_4k(sum of (name_len + 8)), 4096 when empty.
uint64_t DirSize(const FlatNode& dir, const std::vector<FlatNode>& nodes) {
  uint64_t size = 0;
  for (uint32_t c = dir.child_index; c < dir.child_index + dir.child_count; ++c) {
    size += nodes[c - 1].node->name.size() + kVirtualDirentSize;
  }
  return size == 0 ? format::kBlockSize : RoundUp(size, format::kBlockSize);
}

// Inode digests (§3.2.4), computed children first (children have higher indexes).
std::vector<Digest> InodeDigests(const meta::Image& image, const std::vector<FlatNode>& nodes) {
  auto algo = static_cast<DigestAlgo>(image.digester);
  std::vector<Digest> digests(nodes.size());
  for (size_t k = nodes.size(); k-- > 0;) {
    const FlatNode& n = nodes[k];
    std::unique_ptr<Hasher> h = NewHasher(algo);
    if (n.inode->IsDir()) {
      for (uint32_t c = n.child_index; c < n.child_index + n.child_count; ++c) {
        h->Update(digests[c - 1]);
      }
    } else if (n.inode->IsReg()) {
      for (const meta::ChunkInfo& chunk : n.inode->chunks) h->Update(chunk.digest);
    } else if (n.inode->IsSymlink()) {
      h->Update(AsBytes(n.inode->symlink));
    }
    digests[k] = h->Finish();
  }
  return digests;
}

format::RafsV5Inode MakeInode(const std::vector<FlatNode>& nodes, const FlatNode& n,
                              const Digest& digest, uint64_t xattr_size) {
  const meta::Inode& inode = *n.inode;
  format::RafsV5Inode r{};
  std::copy(digest.begin(), digest.end(), r.i_digest);
  r.i_parent = n.parent;  // directories are never hardlinked: index == ino
  r.i_ino = n.first_link;
  r.i_uid = inode.uid;
  r.i_gid = inode.gid;
  r.i_projid = inode.projid;
  r.i_mode = inode.mode;
  if (inode.IsDir()) {
    r.i_size = DirSize(n, nodes);
    r.i_child_index = n.child_index;
    r.i_child_count = n.child_count;
  } else if (inode.IsReg()) {
    r.i_size = inode.size;
    r.i_child_count = static_cast<uint32_t>(inode.chunks.size());
  } else if (inode.IsSymlink()) {
    r.i_size = inode.symlink.size();
    r.i_flags |= format::kV5InodeSymlink;
    r.i_symlink_size = static_cast<uint16_t>(inode.symlink.size());
  } else {
    r.i_rdev = meta::EncodeRdev(static_cast<dev_t>(inode.rdev));
  }
  if (!inode.xattrs.empty()) r.i_flags |= format::kV5InodeXattr;
  r.i_blocks = (r.i_size + RoundUp(xattr_size, kAlign) + 511) / 512;
  r.i_nlink = inode.nlink;
  r.i_name_size = static_cast<uint16_t>(n.index == 1 ? 1 : n.node->name.size());
  r.i_mtime_nsec = inode.mtime_nsec;
  r.i_mtime = inode.mtime;
  return r;
}

// Appends one inode record: inode, name, symlink target, xattrs, chunk records.
Status AppendRecord(const std::vector<FlatNode>& nodes, const FlatNode& n, const Digest& digest,
                    Bytes* out) {
  const meta::Inode& inode = *n.inode;
  ASSIGN_OR_RETURN(uint64_t xattr_size, XattrPairsSize(n));
  if (inode.IsSymlink() && (inode.symlink.empty() || inode.symlink.size() > 0xffff)) {
    return Status::InvalidArgument("v5: " + n.path + ": bad symlink target size");
  }
  AppendPod(out, MakeInode(nodes, n, digest, xattr_size));
  AppendPadded(out, AsBytes(n.index == 1 ? std::string_view("/") : n.node->name));
  if (inode.IsSymlink()) AppendPadded(out, AsBytes(inode.symlink));
  if (!inode.xattrs.empty()) {
    std::vector<const meta::Xattr*> sorted;
    for (const meta::Xattr& x : inode.xattrs) sorted.push_back(&x);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });
    Bytes area;
    AppendPod(&area, xattr_size);
    for (const meta::Xattr* x : sorted) {
      AppendPod(&area, static_cast<uint32_t>(x->name.size() + 1 + x->value.size()));
      area.insert(area.end(), x->name.begin(), x->name.end());
      area.push_back(0);
      area.insert(area.end(), x->value.begin(), x->value.end());
    }
    AppendPadded(out, area);
  }
  if (inode.IsReg()) {
    for (const meta::ChunkInfo& c : inode.chunks) AppendPod(out, internal::MakeChunkRecord(c));
  }
  return Status::OK();
}

Result<Bytes> EncodeBlobTable(const std::vector<meta::BlobInfo>& blobs) {
  Bytes out;
  for (size_t i = 0; i < blobs.size(); ++i) {
    const std::string& id = blobs[i].blob_id;
    if (id.empty() || id.find('\0') != std::string::npos) {
      return Status::InvalidArgument("v5: blob " + std::to_string(i) + ": invalid blob id");
    }
    if (i > 0) out.push_back(0);
    AppendPod(&out, uint32_t{0});  // readahead_offset: always 0
    AppendPod(&out, blobs[i].readahead_size);
    out.insert(out.end(), id.begin(), id.end());
  }
  out.resize(RoundUp(out.size(), kAlign), 0);
  return out;
}

Bytes EncodeExtBlobTable(const std::vector<meta::BlobInfo>& blobs) {
  Bytes out;
  for (const meta::BlobInfo& b : blobs) {
    format::RafsV5ExtBlobEntry e{};
    e.chunk_count = b.chunk_count;
    e.features = b.features;
    e.uncompressed_size = b.uncompressed_size;
    e.compressed_size = b.compressed_size;
    AppendPod(&out, e);
  }
  return out;
}

void CopyAt(Bytes* out, uint64_t off, const Bytes& data) {
  if (!data.empty()) std::memcpy(out->data() + off, data.data(), data.size());
}

Bytes EncodeU32Table(const std::vector<uint32_t>& values) {
  Bytes out;
  for (uint32_t v : values) AppendPod(&out, v);
  out.resize(RoundUp(out.size(), kAlign), 0);
  return out;
}

// The superblock without the blob table positions (they depend on the encoded tables).
format::RafsV5SuperBlock MakeSuperBlock(const meta::Image& image,
                                        const std::vector<FlatNode>& nodes, bool has_xattr,
                                        size_t prefetch_entries) {
  format::RafsV5SuperBlock sb{};
  sb.s_magic = format::kRafsV5Magic;
  sb.s_fs_version = format::kRafsVersionV5;
  sb.s_sb_size = format::kV5SuperBlockSize;
  sb.s_block_size = image.chunk_size;
  sb.s_flags = internal::BaseSuperFlags(image, has_xattr);
  sb.s_inodes_count = internal::CountDistinctInodes(nodes);
  sb.s_inode_table_offset = format::kV5SuperBlockSize;
  sb.s_inode_table_entries = static_cast<uint32_t>(nodes.size());
  sb.s_prefetch_table_offset = sb.s_inode_table_offset + RoundUp(nodes.size() * 4, kAlign);
  sb.s_prefetch_table_entries = static_cast<uint32_t>(prefetch_entries);
  sb.s_extended_blob_table_entries = static_cast<uint32_t>(image.blobs.size());
  return sb;
}

}  // namespace

Result<Bytes> WriteBootstrapV5(const meta::Image& image) {
  RETURN_IF_ERROR(internal::ValidateImageForWrite(image));
  ASSIGN_OR_RETURN(std::vector<FlatNode> nodes, internal::FlattenTree(*image.root));
  bool has_xattr = false;
  for (const FlatNode& n : nodes) {
    if (n.inode->IsReg()) {
      RETURN_IF_ERROR(internal::ValidateFileChunks(n, image.chunk_size, image.blobs.size(), false));
    }
    has_xattr |= !n.inode->xattrs.empty();
  }
  std::vector<uint32_t> prefetch;
  for (uint32_t index : internal::MatchPrefetch(nodes, image.prefetch)) {
    prefetch.push_back(nodes[index - 1].first_link);
  }
  ASSIGN_OR_RETURN(Bytes blob_table, EncodeBlobTable(image.blobs));
  Bytes ext_blob_table = EncodeExtBlobTable(image.blobs);
  Bytes prefetch_table = EncodeU32Table(prefetch);
  std::vector<uint32_t> inode_table(nodes.size());
  format::RafsV5SuperBlock sb = MakeSuperBlock(image, nodes, has_xattr, prefetch.size());
  sb.s_blob_table_offset = sb.s_prefetch_table_offset + prefetch_table.size();
  sb.s_blob_table_size = static_cast<uint32_t>(blob_table.size());
  sb.s_extended_blob_table_offset = sb.s_blob_table_offset + blob_table.size();

  Bytes out(sb.s_extended_blob_table_offset + ext_blob_table.size(), 0);
  std::vector<Digest> digests = InodeDigests(image, nodes);
  for (const FlatNode& n : nodes) {
    if (out.size() >= format::kMaxMetadataSize) {
      return Status::InvalidArgument("v5: bootstrap over 2 GiB");
    }
    inode_table[n.index - 1] = static_cast<uint32_t>(out.size() >> 3);
    RETURN_IF_ERROR(AppendRecord(nodes, n, digests[n.index - 1], &out));
  }
  std::memcpy(out.data(), &sb, sizeof(sb));
  CopyAt(&out, sb.s_inode_table_offset, EncodeU32Table(inode_table));
  CopyAt(&out, sb.s_prefetch_table_offset, prefetch_table);
  CopyAt(&out, sb.s_blob_table_offset, blob_table);
  CopyAt(&out, sb.s_extended_blob_table_offset, ext_blob_table);
  return out;
}

}  // namespace nydus::builder
