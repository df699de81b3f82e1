// RAFS v6 decoder, second half (reference spec §3.3.6–3.3.9): compact and extended inodes,
// inline xattrs, directory blocks, symlinks and chunk-based files, walked from the root nid
// without recursion. Hardlinks (the same nid under several names) share one meta::Inode;
// a directory nid reached twice is rejected, which rules out cycles.

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "format/rafs.h"
#include "format/v6.h"
#include "meta/bootstrap_reader_v6.h"

namespace nydus::meta::internal {
namespace {

using format::RafsV6InodeCompact;
using format::RafsV6InodeExtended;

constexpr uint64_t kBlock = format::kBlockSize;
constexpr uint64_t kMaxSymlinkLen = 4095;  // PATH_MAX - 1

// An on-disk inode with the facts needed to reach its data.
struct V6Inode {
  uint64_t nid = 0;
  uint64_t off = 0;    // byte offset of the inode
  uint32_t isize = 0;  // 32 (compact) or 64 (extended)
  uint32_t xsize = 0;  // inline xattr area
  uint16_t layout = 0;
  uint64_t size = 0;
  uint32_t i_u = 0;
  std::shared_ptr<Inode> inode;
};

struct Dirent {
  std::string name;
  uint64_t nid;
  uint8_t type;
};

struct DirWork {
  Node* node;
  std::string path;
  V6Inode dir;
  uint64_t parent_nid;
  uint32_t depth;
};

const char* XattrPrefix(uint8_t index) {
  switch (index) {
    case format::kV6XattrUser:
      return "user.";
    case format::kV6XattrPosixAclAccess:
      return "system.posix_acl_access";
    case format::kV6XattrPosixAclDefault:
      return "system.posix_acl_default";
    case format::kV6XattrTrusted:
      return "trusted.";
    case format::kV6XattrSecurity:
      return "security.";
    default:
      return nullptr;
  }
}

class V6TreeReader {
 public:
  explicit V6TreeReader(const V6Context& ctx) : ctx_(ctx) {
    // Every non-directory is indexed by nid; sizing the table up front (at most one inode
    // per 64 bytes of metadata) avoids rehashing it while a large tree is read.
    shared_.reserve(std::min<uint64_t>(ctx.data.size() / 64, ctx.opts.max_nodes));
  }
  Status Read(uint64_t root_nid, Image* image);

 private:
  Result<V6Inode> LoadInode(uint64_t nid);
  Status DecodeInode(uint64_t nid, V6Inode* d);
  Status CheckRegion(const char* what, uint64_t off, uint64_t len) const;
  Status ReadXattrs(const V6Inode& d, std::vector<Xattr>* out) const;
  Result<ByteSpan> DataBlock(const V6Inode& d, uint64_t b) const;
  Status ReadSymlink(V6Inode* d) const;
  Status ReadChunks(V6Inode* d) const;
  Status ParseDirBlock(const V6Inode& d, uint64_t b, std::vector<Dirent>* out) const;
  Status CheckDots(const DirWork& w, const std::vector<Dirent>& entries) const;
  Status ExpandDir(DirWork& w, std::vector<DirWork>* work);
  // The inode behind dirent `e` of directory `w`: shared for hardlinks; a new directory is
  // queued on `work` (its Node pointer is filled in by the caller).
  Result<std::shared_ptr<Inode>> ChildInode(const DirWork& w, const Dirent& e,
                                            std::vector<DirWork>* work);

  const V6Context& ctx_;
  std::unordered_map<uint64_t, std::shared_ptr<Inode>> shared_;  // non-directories by nid
  std::unordered_set<uint64_t> dirs_;
  uint64_t nodes_ = 0;
};

Status V6TreeReader::CheckRegion(const char* what, uint64_t off, uint64_t len) const {
  if (!RangeInside(off, len, ctx_.data.size())) {
    return Corrupt("%s [%lu, +%lu) beyond end of file", what, off, len);
  }
  Region r{what, off, len};
  for (const Region& t : ctx_.tables) {
    if (Overlaps(r, t)) return Corrupt("%s at %lu overlaps the %s", what, off, t.what);
  }
  return Status::OK();
}

Result<V6Inode> V6TreeReader::LoadInode(uint64_t nid) {
  V6Inode d;
  Status st = DecodeInode(nid, &d);
  if (!st.ok()) return st.WithContext(StrFormat("v6: inode nid %lu", nid));
  return d;
}

Status V6TreeReader::DecodeInode(uint64_t nid, V6Inode* d) {
  if (nid > ctx_.data.size() / format::kV6InodeSlotSize) return Corrupt("nid beyond end of file");
  d->nid = nid;
  d->off = ctx_.meta_base + nid * format::kV6InodeSlotSize;
  RETURN_IF_ERROR(CheckRegion("inode", d->off, sizeof(RafsV6InodeCompact)));
  RafsV6InodeCompact c{};
  ReadPod(ctx_.data, d->off, &c);
  if (c.i_format & ~0xf) return Corrupt("unsupported i_format 0x%x", c.i_format);
  d->layout = (c.i_format >> 1) & 0x7;
  if (d->layout != format::kV6FlatPlain && d->layout != format::kV6FlatInline &&
      d->layout != format::kV6ChunkBased) {
    return Corrupt("unsupported data layout %u", d->layout);
  }
  auto inode = std::make_shared<Inode>();
  d->inode = inode;
  inode->nid = nid;
  if (c.i_format & format::kV6InodeLayoutExtended) {
    RETURN_IF_ERROR(CheckRegion("inode", d->off, sizeof(RafsV6InodeExtended)));
    RafsV6InodeExtended e{};
    ReadPod(ctx_.data, d->off, &e);
    d->isize = sizeof(e);
    d->size = e.i_size;
    d->i_u = e.i_u;
    inode->mode = e.i_mode;
    inode->uid = e.i_uid;
    inode->gid = e.i_gid;
    inode->size = e.i_size;
    inode->mtime = e.i_mtime;
    inode->mtime_nsec = e.i_mtime_nsec;
    inode->nlink = e.i_nlink;
    inode->ino = e.i_ino;
  } else {
    d->isize = sizeof(c);
    d->size = c.i_size;
    d->i_u = c.i_u;
    inode->mode = c.i_mode;
    inode->uid = c.i_uid;
    inode->gid = c.i_gid;
    inode->size = c.i_size;
    inode->nlink = c.i_nlink;  // compact inodes have no mtime
    inode->ino = c.i_ino;
  }
  d->xsize = c.i_xattr_icount ? 12 + (c.i_xattr_icount - 1u) * 4 : 0;
  RETURN_IF_ERROR(CheckRegion("inode xattrs", d->off, uint64_t{d->isize} + d->xsize));
  if (!IsKnownFileType(inode->mode)) return Corrupt("invalid file type in mode 0%o", inode->mode);
  if (inode->nlink == 0) return Corrupt("nlink is 0");
  RETURN_IF_ERROR(ReadXattrs(*d, &inode->xattrs));
  if (inode->IsReg()) return ReadChunks(d);
  if (d->layout == format::kV6ChunkBased) return Corrupt("chunk-based layout on a non-file");
  if (inode->IsSymlink()) return ReadSymlink(d);
  if (inode->IsDir() && d->size == 0) return Corrupt("empty directory data");
  if ((inode->IsChr() || inode->IsBlk()) && d->isize == sizeof(RafsV6InodeExtended)) {
    inode->rdev = d->i_u;  // compact inodes do not keep rdev
  }
  return Status::OK();
}

Status V6TreeReader::ReadXattrs(const V6Inode& d, std::vector<Xattr>* out) const {
  if (d.xsize == 0) return Status::OK();
  const uint8_t* area = ctx_.data.data() + d.off + d.isize;
  if (area[4] != 0) return Corrupt("shared xattrs (%u) are not supported", area[4]);
  uint64_t pos = 12;
  while (pos < d.xsize) {
    uint8_t name_len = area[pos];
    uint8_t index = area[pos + 1];
    uint16_t value_len = LoadLE16(area + pos + 2);
    uint64_t entry = RoundUp(4 + uint64_t{name_len} + value_len, 4);
    if (entry > d.xsize - pos) return Corrupt("xattr entry at +%lu crosses the xattr area", pos);
    const char* prefix = XattrPrefix(index);
    if (prefix == nullptr) return Corrupt("unknown xattr name index %u", index);
    bool acl = index == format::kV6XattrPosixAclAccess || index == format::kV6XattrPosixAclDefault;
    if (acl != (name_len == 0)) {
      return Corrupt("xattr name length %u for index %u", name_len, index);
    }
    std::string_view suffix(reinterpret_cast<const char*>(area + pos + 4), name_len);
    if (suffix.find('\0') != std::string_view::npos) return Corrupt("NUL in xattr name");
    Xattr x{std::string(prefix) + std::string(suffix),
            std::string(reinterpret_cast<const char*>(area + pos + 4 + name_len), value_len)};
    if (x.name.size() > format::kMaxNameLen) return Corrupt("xattr name longer than 255");
    out->push_back(std::move(x));
    pos += entry;
  }
  return SortXattrs(out);
}

Result<ByteSpan> V6TreeReader::DataBlock(const V6Inode& d, uint64_t b) const {
  uint64_t nblocks = ChunkCount(d.size, kBlock);
  uint64_t len = std::min<uint64_t>(kBlock, d.size - b * kBlock);
  if (d.layout == format::kV6FlatInline && b + 1 == nblocks && d.size % kBlock != 0) {
    uint64_t tail = d.off + d.isize + d.xsize;
    if (d.off % kBlock + d.isize + d.xsize + len > kBlock) {
      return Corrupt("inline tail of %lu bytes crosses the metadata block", len);
    }
    RETURN_IF_ERROR(CheckRegion("inline data", tail, len));
    return ctx_.data.subspan(tail, len);
  }
  uint64_t addr = uint64_t{d.i_u} * kBlock + b * kBlock;
  RETURN_IF_ERROR(CheckRegion("data block", addr, len));
  return ctx_.data.subspan(addr, len);
}

Status V6TreeReader::ReadSymlink(V6Inode* d) const {
  if (d->size == 0 || d->size > kMaxSymlinkLen) return Corrupt("symlink size %lu", d->size);
  ASSIGN_OR_RETURN(ByteSpan target, DataBlock(*d, 0));
  std::string s(reinterpret_cast<const char*>(target.data()), target.size());
  if (s.find('\0') != std::string::npos) return Corrupt("NUL in symlink target");
  d->inode->symlink = std::move(s);
  return Status::OK();
}

Status V6TreeReader::ReadChunks(V6Inode* d) const {
  if (d->layout != format::kV6ChunkBased) {
    if (d->size != 0) return Corrupt("regular file of %lu bytes without chunks", d->size);
    return Status::OK();
  }
  uint32_t fmt = d->i_u & 0xffff;
  if ((fmt & ~0x3fu) || !(fmt & format::kV6ChunkFormatIndexes)) {
    return Corrupt("unsupported chunk format 0x%x", fmt);
  }
  uint32_t cs = ctx_.chunk_size;
  if ((fmt & 0x1f) + 12 < static_cast<uint32_t>(std::countr_zero(cs))) {
    return Corrupt("chunk format 0x%x advertises chunks below the fs chunk size 0x%x", fmt, cs);
  }
  uint64_t count = ChunkCount(d->size, cs);
  uint64_t arr = RoundUp(d->off + d->isize + d->xsize, 8);
  RETURN_IF_ERROR(CheckRegion("chunk index array", arr, count * 8));
  const auto& blobs = *ctx_.blobs;
  d->inode->chunks.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    const uint8_t* p = ctx_.data.data() + arr + i * 8;
    uint16_t lo = LoadLE16(p), hi = LoadLE16(p + 2);
    uint32_t blk = LoadLE32(p + 4);
    uint32_t dev = hi & 0xff;
    if (dev == 0 || dev > blobs.size()) {
      return Corrupt("chunk %lu: device id %u out of range (%zu blobs)", i, dev, blobs.size());
    }
    V6ChunkKey key{dev - 1, static_cast<uint32_t>(hi >> 8) << 16 | lo, blk};
    if (key.ci_index >= blobs[key.blob_index].chunk_count) {
      return Corrupt("chunk %lu: CI index %u beyond blob %u chunk count %u", i, key.ci_index,
                     key.blob_index, blobs[key.blob_index].chunk_count);
    }
    const format::RafsV5ChunkInfo* rec = ctx_.chunks.Find(key);
    if (rec == nullptr) {
      return Corrupt("chunk %lu (blob %u, index %u, block %u) not in the chunk table", i,
                     key.blob_index, key.ci_index, blk);
    }
    if (rec->uncompressed_size != ExpectedChunkSize(d->size, cs, i)) {
      return Corrupt("chunk %lu: size %u inconsistent with file size %lu", i,
                     rec->uncompressed_size, d->size);
    }
    ChunkInfo c = ChunkFromRecord(*rec);
    c.file_offset = i * cs;
    d->inode->chunks.push_back(c);
  }
  return Status::OK();
}

Status V6TreeReader::ParseDirBlock(const V6Inode& d, uint64_t b, std::vector<Dirent>* out) const {
  ASSIGN_OR_RETURN(ByteSpan blk, DataBlock(d, b));
  uint64_t len = blk.size();
  if (len < format::kV6DirentSize) return Corrupt("block %lu: %lu bytes hold no dirent", b, len);
  uint32_t first = LoadLE16(blk.data() + 8);
  if (first < format::kV6DirentSize || first % format::kV6DirentSize != 0 || first >= len) {
    return Corrupt("block %lu: dirent 0 nameoff %u is not a valid entry count", b, first);
  }
  uint32_t count = first / format::kV6DirentSize;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* e = blk.data() + i * format::kV6DirentSize;
    uint32_t nameoff = LoadLE16(e + 8);
    if (nameoff >= len) {
      return Corrupt("block %lu: dirent %u nameoff %u beyond block", b, i, nameoff);
    }
    if (nameoff < first) {
      return Corrupt("block %lu: dirent %u nameoff %u inside the entries", b, i, nameoff);
    }
    uint64_t end;
    if (i + 1 < count) {
      end = LoadLE16(e + format::kV6DirentSize + 8);
      if (end > len) return Corrupt("block %lu: dirent %u nameoff %lu beyond block", b, i + 1, end);
      if (end <= nameoff) {
        return Corrupt("block %lu: dirent %u nameoff %lu not after dirent %u nameoff %u", b, i + 1,
                       end, i, nameoff);
      }
    } else {
      end = nameoff + strnlen(reinterpret_cast<const char*>(blk.data() + nameoff), len - nameoff);
    }
    std::string name(reinterpret_cast<const char*>(blk.data() + nameoff), end - nameoff);
    Status st = ValidateEntryName(name);
    if (!st.ok()) return st.WithContext(StrFormat("block %lu: dirent %u", b, i));
    if (!out->empty() && name <= out->back().name) {
      return Corrupt("block %lu: dirent %u \"%s\" not sorted after \"%s\"", b, i, name.c_str(),
                     out->back().name.c_str());
    }
    out->push_back({std::move(name), LoadLE64(e), e[10]});
    if (out->size() > ctx_.opts.max_nodes + 2) {
      return Corrupt("more than %lu entries", ctx_.opts.max_nodes);
    }
  }
  return Status::OK();
}

Status V6TreeReader::CheckDots(const DirWork& w, const std::vector<Dirent>& entries) const {
  bool dot = false, dotdot = false;
  for (const Dirent& e : entries) {
    if (e.name != "." && e.name != "..") continue;
    bool is_dot = e.name == ".";
    uint64_t want = is_dot ? w.dir.nid : w.parent_nid;
    if (e.nid != want || e.type != format::kV6FtDir) {
      return Corrupt("\"%s\" entry points to nid %lu type %u, expected directory nid %lu",
                     e.name.c_str(), e.nid, e.type, want);
    }
    (is_dot ? dot : dotdot) = true;
  }
  if (!dot || !dotdot) return Corrupt("directory lacks \"%s\"", dot ? ".." : ".");
  return Status::OK();
}

Status V6TreeReader::ExpandDir(DirWork& w, std::vector<DirWork>* work) {
  std::vector<Dirent> entries;
  uint64_t nblocks = ChunkCount(w.dir.size, kBlock);
  for (uint64_t b = 0; b < nblocks; ++b) {
    Status st = ParseDirBlock(w.dir, b, &entries);
    if (!st.ok()) return st.WithContext(StrFormat("v6: inode nid %lu", w.dir.nid));
  }
  Status st = CheckDots(w, entries);
  if (!st.ok()) return st.WithContext(StrFormat("v6: inode nid %lu", w.dir.nid));
  w.node->children.reserve(entries.size() - 2);
  for (size_t i = 0; i < entries.size(); ++i) {
    Dirent& e = entries[i];
    if (e.name == "." || e.name == "..") continue;
    if (++nodes_ > ctx_.opts.max_nodes) {
      return Corrupt("v6: more than %lu nodes", ctx_.opts.max_nodes);
    }
    ASSIGN_OR_RETURN(std::shared_ptr<Inode> inode, ChildInode(w, e, work));
    if (e.type != format::V6FileTypeOfMode(inode->mode)) {
      return Corrupt(
          "v6: inode nid %lu: dirent %zu \"%s\" type %u disagrees with mode 0%o of nid %lu",
          w.dir.nid, i, e.name.c_str(), e.type, inode->mode, e.nid);
    }
    auto node = std::make_unique<Node>();
    node->name = std::move(e.name);
    node->inode = std::move(inode);
    if (node->inode->IsDir()) work->back().node = node.get();
    w.node->children.push_back(std::move(node));
  }
  return Status::OK();
}

Result<std::shared_ptr<Inode>> V6TreeReader::ChildInode(const DirWork& w, const Dirent& e,
                                                        std::vector<DirWork>* work) {
  if ((w.path == "/" ? 0 : w.path.size()) + 1 + e.name.size() > kMaxPathLen) {
    return Corrupt("v6: inode nid %lu: path of \"%s\" longer than %lu bytes", w.dir.nid,
                   e.name.c_str(), kMaxPathLen);
  }
  if (auto it = shared_.find(e.nid); it != shared_.end()) return it->second;
  ASSIGN_OR_RETURN(V6Inode child, LoadInode(e.nid));
  std::shared_ptr<Inode> inode = child.inode;
  if (!inode->IsDir()) {
    shared_.emplace(e.nid, inode);  // later names of the same nid are hardlinks
    return inode;
  }
  if (!dirs_.insert(e.nid).second) {
    return Corrupt("v6: inode nid %lu: directory nid %lu reachable twice", w.dir.nid, e.nid);
  }
  if (w.depth + 1 > kMaxTreeDepth) return Corrupt("v6: tree deeper than %u", kMaxTreeDepth);
  work->push_back({nullptr, ChildPath(w.path, e.name), std::move(child), w.dir.nid, w.depth + 1});
  return inode;
}

Status V6TreeReader::Read(uint64_t root_nid, Image* image) {
  ASSIGN_OR_RETURN(V6Inode root, LoadInode(root_nid));
  if (!root.inode->IsDir()) return Corrupt("v6: root nid %lu is not a directory", root_nid);
  image->root = std::make_unique<Node>();
  image->root->name = "/";
  image->root->inode = root.inode;
  dirs_.insert(root_nid);
  nodes_ = 1;
  std::vector<DirWork> work;
  work.push_back({image->root.get(), "/", std::move(root), root_nid, 0});
  while (!work.empty()) {
    DirWork w = std::move(work.back());
    work.pop_back();
    RETURN_IF_ERROR(ExpandDir(w, &work));
  }
  return Status::OK();
}

}  // namespace

Status ReadV6Tree(const V6Context& ctx, uint64_t root_nid, Image* image) {
  return V6TreeReader(ctx).Read(root_nid, image);
}

}  // namespace nydus::meta::internal
