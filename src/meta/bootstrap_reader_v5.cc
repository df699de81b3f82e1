// RAFS v5 decoder (reference spec §3.2): superblock, inode table, blob tables, prefetch
// table and the inode records, walked from the root (index 1) through the children ranges.
//
// Besides the documented layout this also reads the legacy inode layout of pre-2.0 images
// (e.g. tests/texture/bootstrap/nydusd_daemon_test_bootstrap): uid/gid/projid collapsed into
// one zero word, nlink at byte 64, names and symlinks sized with their 8-byte padding, no
// rdev/mtime. It is selected only when the root record is not a directory in the current
// layout but is one in the legacy layout.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "format/rafs.h"
#include "format/v5.h"
#include "meta/bootstrap_reader_internal.h"

namespace nydus::meta::internal {
namespace {

using format::RafsV5ChunkInfo;
using format::RafsV5ExtBlobEntry;
using format::RafsV5Inode;
using format::RafsV5SuperBlock;

constexpr uint64_t kSbSize = format::kV5SuperBlockSize;
constexpr uint64_t kKnownInodeFlags = 0xf;
constexpr uint32_t kKnownChunkFlags = format::kChunkCompressed | format::kChunkHole;
constexpr uint32_t kKnownV5BlobFeatures = format::kBlobKnownIncompat | 0x7000'0000;
constexpr uint32_t kMaxXattrValue = 64 * 1024;
// Resource bound on blob table entries (v6 stores the count in a u16; real images have a
// few hundred at most).
constexpr size_t kMaxBlobs = 0xffff;

// The fixed part of an inode record, normalised over both layouts, plus its name and
// symlink target.
struct V5Record {
  RafsV5Inode raw{};  // fields as in the current layout
  std::string name;
  std::string symlink;
  uint64_t tail = 0;  // offset of the xattr area / chunk records
};

enum class V5Layout { kCurrent, kLegacy };

// A directory whose children still have to be read.
struct DirWork {
  Node* node;
  std::string path;
  uint32_t child_index;
  uint32_t child_count;
  uint32_t depth;
};

class V5Reader {
 public:
  V5Reader(ByteSpan data, const ReadOptions& opts) : data_(data), opts_(opts) {}
  Result<Image> Read();

 private:
  Status ReadSuperBlock();
  Status CheckTables();
  Status ReadBlobTables();
  void DetectLayout();
  Result<uint64_t> RecordOffset(uint32_t index);
  Result<V5Record> ReadRecord(uint32_t index);
  void ReadFixedLegacy(uint64_t off, RafsV5Inode* raw, uint32_t* name_len, uint32_t* link_len);
  Status ReadString(uint64_t off, uint32_t len, bool trim, const char* what, std::string* out);
  Status ReadXattrs(uint64_t* pos, std::vector<Xattr>* out);
  Status ReadChunks(const V5Record& r, uint64_t pos, std::vector<ChunkInfo>* out);
  Result<std::shared_ptr<Inode>> DecodeInode(const V5Record& r);
  Status AddChild(Node* parent, const std::string& parent_path, uint32_t index,
                  std::vector<DirWork>* work, uint32_t depth, std::string* prev_name);
  Status BuildTree();
  Status ReadPrefetch();

  ByteSpan data_;
  ReadOptions opts_;
  RafsV5SuperBlock sb_{};
  V5Layout layout_ = V5Layout::kCurrent;
  std::vector<Region> tables_;
  std::vector<bool> visited_;
  std::unordered_map<uint64_t, std::shared_ptr<Inode>> by_ino_;
  uint64_t nodes_ = 0;
  Image image_;
};

Status V5Reader::ReadSuperBlock() {
  uint64_t size = data_.size();
  if (size <= kSbSize) return Corrupt("v5: bootstrap size %lu is not above 8192", size);
  if (!IsAligned(size, 8)) return Corrupt("v5: bootstrap size %lu is not 8-byte aligned", size);
  ReadPod(data_, 0, &sb_);
  if (sb_.s_fs_version != format::kRafsVersionV5) {
    return Corrupt("v5: unsupported version 0x%x", sb_.s_fs_version);
  }
  if (sb_.s_sb_size != kSbSize) return Corrupt("v5: superblock size %u != 8192", sb_.s_sb_size);
  uint32_t bs = sb_.s_block_size;
  if (!IsPowerOfTwo(bs) || bs < format::kMinChunkSize || bs > format::kMaxChunkSize) {
    return Corrupt("v5: invalid chunk size 0x%x", bs);
  }
  if (sb_.s_flags & ~format::kKnownSuperFlags) {
    return Corrupt("v5: unknown superblock flags 0x%lx", sb_.s_flags & ~format::kKnownSuperFlags);
  }
  if (sb_.s_inode_table_entries == 0) return Corrupt("v5: empty inode table");
  if (sb_.s_inodes_count > sb_.s_inode_table_entries) {
    return Corrupt("v5: inodes count %lu exceeds inode table entries %u", sb_.s_inodes_count,
                   sb_.s_inode_table_entries);
  }
  if (sb_.s_inode_table_entries > opts_.max_nodes) {
    return Corrupt("v5: %u inode table entries exceed the limit of %lu nodes",
                   sb_.s_inode_table_entries, opts_.max_nodes);
  }
  return CheckTables();
}

Status V5Reader::CheckTables() {
  tables_ = {
      {"inode table", sb_.s_inode_table_offset, uint64_t{sb_.s_inode_table_entries} * 4},
      {"blob table", sb_.s_blob_table_offset, sb_.s_blob_table_size},
      {"extended blob table", sb_.s_extended_blob_table_offset,
       uint64_t{sb_.s_extended_blob_table_entries} * sizeof(RafsV5ExtBlobEntry)},
      {"prefetch table", sb_.s_prefetch_table_offset, uint64_t{sb_.s_prefetch_table_entries} * 4},
  };
  for (size_t i = 0; i < tables_.size(); ++i) {
    const Region& t = tables_[i];
    if (t.len == 0 && i != 0) continue;
    if (t.off < kSbSize || !RangeInside(t.off, t.len, data_.size())) {
      return Corrupt("v5: %s [%lu, +%lu) outside the metadata area (size %zu)", t.what, t.off,
                     t.len, data_.size());
    }
    if (!IsAligned(t.off, 8)) return Corrupt("v5: %s offset %lu not 8-aligned", t.what, t.off);
    for (size_t j = 0; j < i; ++j) {
      if (Overlaps(t, tables_[j])) return Corrupt("v5: %s overlaps %s", t.what, tables_[j].what);
    }
  }
  return Status::OK();
}

Status V5Reader::ReadBlobTables() {
  std::vector<RafsV5ExtBlobEntry> ext(sb_.s_extended_blob_table_entries);
  for (size_t i = 0; i < ext.size(); ++i) {
    ReadPod(data_, sb_.s_extended_blob_table_offset + i * sizeof(RafsV5ExtBlobEntry), &ext[i]);
    if (ext[i].features & ~kKnownV5BlobFeatures) {
      return Corrupt("v5: extended blob entry %zu: invalid features 0x%x", i, ext[i].features);
    }
  }
  // An empty table's offset is not range-checked (CheckTables skips empty tables), so only
  // a non-empty one may be sliced out of the data.
  ByteSpan table = sb_.s_blob_table_size == 0
                       ? ByteSpan()
                       : data_.subspan(sb_.s_blob_table_offset, sb_.s_blob_table_size);
  size_t pos = 0;
  while (table.size() - pos > 8) {  // an entry needs two u32 and at least one id byte
    size_t idx = image_.blobs.size();
    if (idx == kMaxBlobs) return Corrupt("v5: blob table has more than %zu entries", kMaxBlobs);
    size_t end = pos + 8;
    while (end < table.size() && table[end] != 0) ++end;
    std::string id(reinterpret_cast<const char*>(table.data() + pos + 8), end - pos - 8);
    if (id.empty()) return Corrupt("v5: blob table entry %zu has an empty blob id", idx);
    for (unsigned char c : id) {
      if (c < 0x20 || c == 0x7f) return Corrupt("v5: blob %zu: control byte in blob id", idx);
    }
    BlobInfo b;
    b.blob_id = std::move(id);
    b.readahead_offset = LoadLE32(table.data() + pos);
    b.readahead_size = LoadLE32(table.data() + pos + 4);
    b.compressor = format::CompressorFromFlags(sb_.s_flags);
    b.digester = format::DigesterFromFlags(sb_.s_flags);
    b.chunk_size = sb_.s_block_size;
    if (!ext.empty()) {
      if (idx >= ext.size()) {
        return Corrupt("v5: extended blob table (%zu entries) shorter than blob table", ext.size());
      }
      b.chunk_count = ext[idx].chunk_count;
      b.features = ext[idx].features;
      b.uncompressed_size = ext[idx].uncompressed_size;
      b.compressed_size = ext[idx].compressed_size;
    } else {
      b.features = format::kBlobV5NoExtBlobTable;
    }
    image_.blobs.push_back(std::move(b));
    pos = end == table.size() ? end : end + 1;
  }
  return Status::OK();
}

Result<uint64_t> V5Reader::RecordOffset(uint32_t index) {
  uint64_t off =
      uint64_t{LoadLE32(data_.data() + sb_.s_inode_table_offset + uint64_t{index - 1} * 4)} << 3;
  Region rec{"inode record", off, sizeof(RafsV5Inode)};
  if (off < kSbSize || !RangeInside(off, rec.len, data_.size())) {
    return Corrupt("record offset %lu outside the file", off);
  }
  for (const Region& t : tables_) {
    if (Overlaps(rec, t)) return Corrupt("record at %lu overlaps the %s", off, t.what);
  }
  return off;
}

void V5Reader::DetectLayout() {
  auto off = RecordOffset(1);
  if (!off.ok()) return;  // reported later with the current layout
  const uint8_t* p = data_.data() + *off;
  uint32_t cur_mode = LoadLE32(p + offsetof(RafsV5Inode, i_mode));
  if (S_ISDIR(cur_mode)) return;
  uint32_t legacy_mode = LoadLE32(p + 52);
  uint16_t legacy_name = LoadLE16(p + 96);
  bool tail_zero = true;
  for (int i = 100; i < 128; ++i) tail_zero &= p[i] == 0;
  if (S_ISDIR(legacy_mode) && legacy_name != 0 && legacy_name % 8 == 0 && tail_zero) {
    layout_ = V5Layout::kLegacy;
  }
}

void V5Reader::ReadFixedLegacy(uint64_t off, RafsV5Inode* raw, uint32_t* name_len,
                               uint32_t* link_len) {
  const uint8_t* p = data_.data() + off;
  *raw = RafsV5Inode{};
  std::memcpy(raw->i_digest, p, 32);
  raw->i_parent = LoadLE64(p + 32);
  raw->i_ino = LoadLE64(p + 40);
  raw->i_mode = LoadLE32(p + 52);
  raw->i_size = LoadLE64(p + 56);
  raw->i_nlink = LoadLE32(p + 64);
  raw->i_blocks = LoadLE64(p + 72);
  raw->i_flags = LoadLE64(p + 80);
  raw->i_child_index = LoadLE32(p + 88);
  raw->i_child_count = LoadLE32(p + 92);
  *name_len = LoadLE16(p + 96);
  *link_len = LoadLE16(p + 98);
}

Status V5Reader::ReadString(uint64_t off, uint32_t len, bool trim, const char* what,
                            std::string* out) {
  if (!RangeInside(off, len, data_.size())) {
    return Corrupt("%s of %u bytes at %lu beyond end of file", what, len, off);
  }
  size_t n = len;
  if (trim) {
    while (n > 0 && data_[off + n - 1] == 0) --n;
  }
  out->assign(reinterpret_cast<const char*>(data_.data() + off), n);
  return Status::OK();
}

Result<V5Record> V5Reader::ReadRecord(uint32_t index) {
  ASSIGN_OR_RETURN(uint64_t off, RecordOffset(index));
  V5Record r;
  uint32_t name_len, link_len;
  bool legacy = layout_ == V5Layout::kLegacy;
  if (legacy) {
    ReadFixedLegacy(off, &r.raw, &name_len, &link_len);
  } else {
    ReadPod(data_, off, &r.raw);
    name_len = r.raw.i_name_size;
    link_len = r.raw.i_symlink_size;
  }
  const RafsV5Inode& in = r.raw;
  if (!IsKnownFileType(in.i_mode)) return Corrupt("invalid file type in mode 0%o", in.i_mode);
  if (in.i_flags & ~kKnownInodeFlags) return Corrupt("unknown inode flags 0x%lx", in.i_flags);
  bool is_link = in.i_flags & format::kV5InodeSymlink;
  if (is_link != S_ISLNK(in.i_mode)) {
    return Corrupt("symlink flag %d disagrees with mode 0%o", is_link, in.i_mode);
  }
  uint64_t pos = off + sizeof(RafsV5Inode);
  RETURN_IF_ERROR(ReadString(pos, name_len, legacy, "name", &r.name));
  pos += RoundUp(name_len, 8);
  if (is_link) {
    if (link_len == 0) return Corrupt("symlink with an empty target");
    RETURN_IF_ERROR(ReadString(pos, link_len, legacy, "symlink target", &r.symlink));
    if (r.symlink.empty() || r.symlink.find('\0') != std::string::npos) {
      return Corrupt("invalid symlink target");
    }
    pos += RoundUp(link_len, 8);
  } else if (link_len != 0) {
    return Corrupt("symlink size %u on a non-symlink", link_len);
  }
  r.tail = pos;
  return r;
}

Status V5Reader::ReadXattrs(uint64_t* pos, std::vector<Xattr>* out) {
  if (!RangeInside(*pos, 8, data_.size())) return Corrupt("xattr header beyond end of file");
  uint64_t size = LoadLE64(data_.data() + *pos);
  uint64_t p = *pos + 8;
  if (!RangeInside(p, size, data_.size())) return Corrupt("xattr area of %lu bytes", size);
  uint64_t end = p + size;
  while (p < end) {
    if (end - p < 4) return Corrupt("truncated xattr pair at %lu", p);
    uint32_t len = LoadLE32(data_.data() + p);
    p += 4;
    if (len > end - p) return Corrupt("xattr pair of %u bytes crosses the xattr area", len);
    std::string_view pair(reinterpret_cast<const char*>(data_.data() + p), len);
    size_t nul = pair.find('\0');
    if (nul == std::string_view::npos || nul == 0 || nul > format::kMaxNameLen) {
      return Corrupt("malformed xattr key at %lu", p);
    }
    if (len - nul - 1 > kMaxXattrValue) return Corrupt("xattr value too large at %lu", p);
    out->push_back({std::string(pair.substr(0, nul)), std::string(pair.substr(nul + 1))});
    p += len;
  }
  *pos += RoundUp(8 + size, 8);
  return SortXattrs(out);
}

Status V5Reader::ReadChunks(const V5Record& r, uint64_t pos, std::vector<ChunkInfo>* out) {
  uint32_t cs = sb_.s_block_size;
  uint64_t count = r.raw.i_child_count;
  if (count != ChunkCount(r.raw.i_size, cs)) {
    return Corrupt("%lu chunks for size %lu (chunk size 0x%x)", count, r.raw.i_size, cs);
  }
  if (!RangeInside(pos, count * sizeof(RafsV5ChunkInfo), data_.size())) {
    return Corrupt("%lu chunk records at %lu beyond end of file", count, pos);
  }
  out->reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    RafsV5ChunkInfo rec{};
    ReadPod(data_, pos + i * sizeof(rec), &rec);
    if (rec.blob_index >= image_.blobs.size()) {
      return Corrupt("chunk %lu: blob index %u out of range (%zu blobs)", i, rec.blob_index,
                     image_.blobs.size());
    }
    const BlobInfo& blob = image_.blobs[rec.blob_index];
    if (rec.flags & ~kKnownChunkFlags) return Corrupt("chunk %lu: flags 0x%x", i, rec.flags);
    if (rec.uncompressed_size != ExpectedChunkSize(r.raw.i_size, cs, i) ||
        rec.file_offset != i * cs || rec.compressed_size == 0) {
      return Corrupt("chunk %lu: sizes %u/%u at file offset %lu inconsistent with file size %lu", i,
                     rec.compressed_size, rec.uncompressed_size, rec.file_offset, r.raw.i_size);
    }
    if (blob.chunk_count != 0 && rec.index >= blob.chunk_count) {
      return Corrupt("chunk %lu: index %u beyond blob chunk count %u", i, rec.index,
                     blob.chunk_count);
    }
    out->push_back(ChunkFromRecord(rec));
  }
  return Status::OK();
}

Result<std::shared_ptr<Inode>> V5Reader::DecodeInode(const V5Record& r) {
  const RafsV5Inode& in = r.raw;
  auto inode = std::make_shared<Inode>();
  inode->mode = in.i_mode;
  inode->uid = in.i_uid;
  inode->gid = in.i_gid;
  inode->projid = in.i_projid;
  inode->size = in.i_size;
  inode->mtime = in.i_mtime;
  inode->mtime_nsec = in.i_mtime_nsec;
  inode->nlink = in.i_nlink;
  inode->rdev = in.i_rdev;
  inode->ino = in.i_ino;
  inode->symlink = r.symlink;
  std::copy(std::begin(in.i_digest), std::end(in.i_digest), inode->v5_digest.begin());
  uint64_t pos = r.tail;
  if (in.i_flags & format::kV5InodeXattr) RETURN_IF_ERROR(ReadXattrs(&pos, &inode->xattrs));
  if (inode->IsReg()) RETURN_IF_ERROR(ReadChunks(r, pos, &inode->chunks));
  return inode;
}

Status V5Reader::AddChild(Node* parent, const std::string& parent_path, uint32_t index,
                          std::vector<DirWork>* work, uint32_t depth, std::string* prev_name) {
  if (visited_[index]) return Corrupt("reachable twice (cycle or shared children range)");
  visited_[index] = true;
  if (++nodes_ > opts_.max_nodes) return Corrupt("more than %lu nodes", opts_.max_nodes);
  ASSIGN_OR_RETURN(V5Record r, ReadRecord(index));
  Status st = ValidateEntryName(r.name);
  if (!st.ok()) return st;
  if (r.name == "." || r.name == "..") return Corrupt("entry named \"%s\"", r.name.c_str());
  if (!prev_name->empty() && r.name <= *prev_name) {
    return Corrupt("name \"%s\" not sorted after \"%s\"", r.name.c_str(), prev_name->c_str());
  }
  *prev_name = r.name;
  if (r.raw.i_ino == 0 || r.raw.i_ino > sb_.s_inode_table_entries) {
    return Corrupt("ino %lu outside the inode table", r.raw.i_ino);
  }
  ASSIGN_OR_RETURN(std::shared_ptr<Inode> inode, DecodeInode(r));
  auto [it, fresh] = by_ino_.emplace(r.raw.i_ino, inode);
  if (!fresh) {
    if (it->second->IsDir() || inode->IsDir()) {
      return Corrupt("directory shares ino %lu with another node", r.raw.i_ino);
    }
    inode = it->second;  // hardlink: every name shares the first link's inode
  }
  uint64_t path_len = (parent_path == "/" ? 0 : parent_path.size()) + 1 + r.name.size();
  if (path_len > kMaxPathLen) return Corrupt("path longer than %lu bytes", kMaxPathLen);
  auto node = std::make_unique<Node>();
  node->name = r.name;
  node->inode = inode;
  if (inode->IsDir()) {
    std::string path = ChildPath(parent_path, r.name);
    if (depth + 1 > kMaxTreeDepth) return Corrupt("directory tree deeper than %u", kMaxTreeDepth);
    work->push_back({node.get(), path, r.raw.i_child_index, r.raw.i_child_count, depth + 1});
  }
  parent->children.push_back(std::move(node));
  return Status::OK();
}

Status V5Reader::BuildTree() {
  visited_.assign(uint64_t{sb_.s_inode_table_entries} + 1, false);
  auto root_rec = ReadRecord(1);
  if (!root_rec.ok()) return root_rec.status().WithContext("v5: root inode (index 1)");
  if (!S_ISDIR(root_rec->raw.i_mode)) {
    return Corrupt("v5: root inode (index 1) is not a directory");
  }
  auto root_inode = DecodeInode(*root_rec);
  if (!root_inode.ok()) return root_inode.status().WithContext("v5: root inode (index 1)");
  visited_[1] = true;
  nodes_ = 1;
  image_.root = std::make_unique<Node>();
  image_.root->name = "/";
  image_.root->inode = *root_inode;
  by_ino_.emplace(root_rec->raw.i_ino, *root_inode);
  std::vector<DirWork> work{
      {image_.root.get(), "/", root_rec->raw.i_child_index, root_rec->raw.i_child_count, 0}};
  while (!work.empty()) {
    DirWork dir = std::move(work.back());
    work.pop_back();
    if (dir.child_count == 0) continue;
    uint64_t first = dir.child_index;
    uint64_t last = first + dir.child_count - 1;
    if (first < 1 || last > sb_.s_inode_table_entries) {
      return Corrupt("v5: directory %s: children [%lu, %lu] outside the inode table (%u entries)",
                     dir.path.c_str(), first, last, sb_.s_inode_table_entries);
    }
    std::string prev;
    dir.node->children.reserve(dir.child_count);
    for (uint64_t idx = first; idx <= last; ++idx) {
      Status st = AddChild(dir.node, dir.path, static_cast<uint32_t>(idx), &work, dir.depth, &prev);
      if (!st.ok()) {
        return st.WithContext(
            StrFormat("v5: directory %s: inode index %lu", dir.path.c_str(), idx));
      }
    }
  }
  return Status::OK();
}

Status V5Reader::ReadPrefetch() {
  if (sb_.s_prefetch_table_entries == 0) return Status::OK();
  PathByKey path_by_ino = FirstPaths(*image_.root, /*by_nid=*/false);
  for (uint32_t i = 0; i < sb_.s_prefetch_table_entries; ++i) {
    uint32_t ino = LoadLE32(data_.data() + sb_.s_prefetch_table_offset + uint64_t{i} * 4);
    if (ino == 0) break;  // padding
    auto it = path_by_ino.find(ino);
    if (it == path_by_ino.end()) {
      return Corrupt("v5: prefetch entry %u: inode %u not in the tree", i, ino);
    }
    image_.prefetch.push_back(it->second);
  }
  return Status::OK();
}

Result<Image> V5Reader::Read() {
  RETURN_IF_ERROR(ReadSuperBlock());
  RETURN_IF_ERROR(ReadBlobTables());
  DetectLayout();
  RETURN_IF_ERROR(BuildTree());
  RETURN_IF_ERROR(ReadPrefetch());
  SetImageSettings(format::kRafsVersionV5, sb_.s_flags, sb_.s_block_size, &image_);
  return std::move(image_);
}

}  // namespace

Result<Image> ReadBootstrapV5(ByteSpan data, const ReadOptions& opts) {
  return V5Reader(data, opts).Read();
}

}  // namespace nydus::meta::internal
