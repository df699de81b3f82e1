// RAFS v6 decoder, per-inode part (reference spec §3.3.6–3.3.9): compact and extended
// inodes, inline xattrs, symlink targets, chunk index entries and directory blocks. Shared by
// the full tree walk (bootstrap_reader_v6_tree.cc) and V6DirectView; see
// bootstrap_reader_v6.h.

#include <dirent.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "format/rafs.h"
#include "format/v6.h"
#include "meta/bootstrap_reader_v6.h"

namespace nydus::meta::internal {
namespace {

using format::RafsV6InodeCompact;
using format::RafsV6InodeExtended;

constexpr uint64_t kBlock = format::kBlockSize;
constexpr uint64_t kMaxSymlinkLen = 4095;  // PATH_MAX - 1

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

Status CheckRegion(const V6Context& ctx, const char* what, uint64_t off, uint64_t len) {
  if (!RangeInside(off, len, ctx.data.size())) {
    return Corrupt("%s [%lu, +%lu) beyond end of file", what, off, len);
  }
  Region r{what, off, len};
  for (const Region& t : ctx.tables) {
    if (Overlaps(r, t)) return Corrupt("%s at %lu overlaps the %s", what, off, t.what);
  }
  return Status::OK();
}

Result<ByteSpan> DataBlock(const V6Context& ctx, const V6Inode& d, uint64_t b) {
  const uint64_t size = d.attrs.size;
  uint64_t nblocks = ChunkCount(size, kBlock);
  uint64_t len = std::min<uint64_t>(kBlock, size - b * kBlock);
  if (d.layout == format::kV6FlatInline && b + 1 == nblocks && size % kBlock != 0) {
    uint64_t tail = d.off + d.isize + d.xsize;
    if (d.off % kBlock + d.isize + d.xsize + len > kBlock) {
      return Corrupt("inline tail of %lu bytes crosses the metadata block", len);
    }
    RETURN_IF_ERROR(CheckRegion(ctx, "inline data", tail, len));
    return ctx.data.subspan(tail, len);
  }
  uint64_t addr = uint64_t{d.i_u} * kBlock + b * kBlock;
  RETURN_IF_ERROR(CheckRegion(ctx, "data block", addr, len));
  return ctx.data.subspan(addr, len);
}

// Checks the dirent-0 header of a directory block; returns the entry count.
Result<uint32_t> DirBlockCount(ByteSpan blk, uint64_t b) {
  uint64_t len = blk.size();
  if (len < format::kV6DirentSize) return Corrupt("block %lu: %lu bytes hold no dirent", b, len);
  uint32_t first = LoadLE16(blk.data() + 8);
  if (first < format::kV6DirentSize || first % format::kV6DirentSize != 0 || first >= len) {
    return Corrupt("block %lu: dirent 0 nameoff %u is not a valid entry count", b, first);
  }
  return first / format::kV6DirentSize;
}

// The name of dirent `i` of a block of `count` entries, bounds- and name-checked.
Result<std::string_view> DirentName(ByteSpan blk, uint64_t b, uint32_t i, uint32_t count) {
  const uint64_t len = blk.size();
  const uint32_t first = count * format::kV6DirentSize;
  const uint8_t* e = blk.data() + i * format::kV6DirentSize;
  uint32_t nameoff = LoadLE16(e + 8);
  if (nameoff >= len) return Corrupt("block %lu: dirent %u nameoff %u beyond block", b, i, nameoff);
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
  std::string_view name(reinterpret_cast<const char*>(blk.data() + nameoff), end - nameoff);
  Status st = ValidateEntryName(name);
  if (!st.ok()) return st.WithContext(StrFormat("block %lu: dirent %u", b, i));
  return name;
}

}  // namespace

Status DecodeV6InodeCore(const V6Context& ctx, uint64_t nid, V6Inode* d) {
  if (nid > ctx.data.size() / format::kV6InodeSlotSize) return Corrupt("nid beyond end of file");
  d->nid = nid;
  d->off = ctx.meta_base + nid * format::kV6InodeSlotSize;
  RETURN_IF_ERROR(CheckRegion(ctx, "inode", d->off, sizeof(RafsV6InodeCompact)));
  RafsV6InodeCompact c{};
  ReadPod(ctx.data, d->off, &c);
  if (c.i_format & ~0xf) return Corrupt("unsupported i_format 0x%x", c.i_format);
  d->layout = (c.i_format >> 1) & 0x7;
  if (d->layout != format::kV6FlatPlain && d->layout != format::kV6FlatInline &&
      d->layout != format::kV6ChunkBased) {
    return Corrupt("unsupported data layout %u", d->layout);
  }
  InodeAttrs& a = d->attrs;
  if (c.i_format & format::kV6InodeLayoutExtended) {
    RETURN_IF_ERROR(CheckRegion(ctx, "inode", d->off, sizeof(RafsV6InodeExtended)));
    RafsV6InodeExtended e{};
    ReadPod(ctx.data, d->off, &e);
    d->isize = sizeof(e);
    d->i_u = e.i_u;
    d->ino = e.i_ino;
    a.mode = e.i_mode;
    a.uid = e.i_uid;
    a.gid = e.i_gid;
    a.size = e.i_size;
    a.mtime = e.i_mtime;
    a.mtime_nsec = e.i_mtime_nsec;
    a.nlink = e.i_nlink;
  } else {
    d->isize = sizeof(c);
    d->i_u = c.i_u;
    d->ino = c.i_ino;
    a.mode = c.i_mode;
    a.uid = c.i_uid;
    a.gid = c.i_gid;
    a.size = c.i_size;
    a.nlink = c.i_nlink;  // compact inodes have no mtime
  }
  d->xsize = c.i_xattr_icount ? 12 + (c.i_xattr_icount - 1u) * 4 : 0;
  RETURN_IF_ERROR(CheckRegion(ctx, "inode xattrs", d->off, uint64_t{d->isize} + d->xsize));
  if (!IsKnownFileType(a.mode)) return Corrupt("invalid file type in mode 0%o", a.mode);
  if (a.nlink == 0) return Corrupt("nlink is 0");
  return Status::OK();
}

Status ReadV6Xattrs(const V6Context& ctx, const V6Inode& d, std::vector<Xattr>* out) {
  if (d.xsize == 0) return Status::OK();
  const uint8_t* area = ctx.data.data() + d.off + d.isize;
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

Status CheckV6InodeData(const V6Context& ctx, V6Inode* d) {
  const InodeAttrs& a = d->attrs;
  if (a.IsReg()) {
    if (d->layout != format::kV6ChunkBased) {
      if (a.size != 0) return Corrupt("regular file of %lu bytes without chunks", a.size);
      return Status::OK();
    }
    uint32_t fmt = d->i_u & 0xffff;
    if ((fmt & ~0x3fu) || !(fmt & format::kV6ChunkFormatIndexes)) {
      return Corrupt("unsupported chunk format 0x%x", fmt);
    }
    uint32_t cs = ctx.chunk_size;
    if ((fmt & 0x1f) + 12 < static_cast<uint32_t>(std::countr_zero(cs))) {
      return Corrupt("chunk format 0x%x advertises chunks below the fs chunk size 0x%x", fmt, cs);
    }
    uint64_t count = ChunkCount(a.size, cs);
    uint64_t arr = RoundUp(d->off + d->isize + d->xsize, 8);
    return CheckRegion(ctx, "chunk index array", arr, count * 8);
  }
  if (d->layout == format::kV6ChunkBased) return Corrupt("chunk-based layout on a non-file");
  if (a.IsSymlink()) {
    if (a.size == 0 || a.size > kMaxSymlinkLen) return Corrupt("symlink size %lu", a.size);
    return Status::OK();
  }
  if (a.IsDir() && a.size == 0) return Corrupt("empty directory data");
  if ((S_ISCHR(a.mode) || S_ISBLK(a.mode)) && d->isize == sizeof(RafsV6InodeExtended)) {
    d->attrs.rdev = d->i_u;  // compact inodes do not keep rdev
  }
  return Status::OK();
}

Status LoadV6Inode(const V6Context& ctx, uint64_t nid, V6Inode* d, std::vector<Xattr>* xattrs) {
  Status st = DecodeV6InodeCore(ctx, nid, d);
  if (st.ok()) {
    std::vector<Xattr> scratch;
    st = ReadV6Xattrs(ctx, *d, xattrs != nullptr ? xattrs : &scratch);
  }
  if (st.ok()) st = CheckV6InodeData(ctx, d);
  if (!st.ok()) return st.WithContext(StrFormat("v6: inode nid %lu", nid));
  return Status::OK();
}

Result<std::string> ReadV6Symlink(const V6Context& ctx, const V6Inode& d) {
  ASSIGN_OR_RETURN(ByteSpan target, DataBlock(ctx, d, 0));
  std::string s(reinterpret_cast<const char*>(target.data()), target.size());
  if (s.find('\0') != std::string::npos) return Corrupt("NUL in symlink target");
  return s;
}

Status ReadV6Chunk(const V6Context& ctx, const V6ChunkTable& table, const V6Inode& d, uint64_t i,
                   ChunkInfo* out) {
  const uint32_t cs = ctx.chunk_size;
  const uint64_t arr = RoundUp(d.off + d.isize + d.xsize, 8);
  const auto& blobs = *ctx.blobs;
  const uint8_t* p = ctx.data.data() + arr + i * 8;
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
  format::RafsV5ChunkInfo rec{};
  if (!table.Find(key, &rec)) {
    return Corrupt("chunk %lu (blob %u, index %u, block %u) not in the chunk table", i,
                   key.blob_index, key.ci_index, blk);
  }
  if (rec.uncompressed_size != ExpectedChunkSize(d.attrs.size, cs, i)) {
    return Corrupt("chunk %lu: size %u inconsistent with file size %lu", i, rec.uncompressed_size,
                   d.attrs.size);
  }
  *out = ChunkFromRecord(rec);
  out->file_offset = i * cs;
  return Status::OK();
}

Result<V6DirBlockHead> V6DirBlockFirst(const V6Context& ctx, const V6Inode& d, uint64_t b) {
  ASSIGN_OR_RETURN(ByteSpan blk, DataBlock(ctx, d, b));
  ASSIGN_OR_RETURN(uint32_t count, DirBlockCount(blk, b));
  ASSIGN_OR_RETURN(std::string_view first, DirentName(blk, b, 0, count));
  return V6DirBlockHead{count, first};
}

Result<std::optional<V6DirentAt>> V6DirBlockFind(const V6Context& ctx, const V6Inode& d, uint64_t b,
                                                 std::string_view name) {
  ASSIGN_OR_RETURN(ByteSpan blk, DataBlock(ctx, d, b));
  ASSIGN_OR_RETURN(uint32_t count, DirBlockCount(blk, b));
  uint32_t lo = 0, hi = count;  // the answer, if any, is in [lo, hi)
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    ASSIGN_OR_RETURN(std::string_view probe, DirentName(blk, b, mid, count));
    if (probe == name) {
      const uint8_t* e = blk.data() + mid * format::kV6DirentSize;
      return std::optional<V6DirentAt>(V6DirentAt{mid, {probe, LoadLE64(e), e[10]}});
    }
    if (probe < name) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return std::optional<V6DirentAt>();
}

Status ParseV6DirBlock(const V6Context& ctx, const V6Inode& d, uint64_t b,
                       std::vector<V6Dirent>* out) {
  ASSIGN_OR_RETURN(ByteSpan blk, DataBlock(ctx, d, b));
  ASSIGN_OR_RETURN(uint32_t count, DirBlockCount(blk, b));
  for (uint32_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(std::string_view name, DirentName(blk, b, i, count));
    if (!out->empty() && name <= out->back().name) {
      return Corrupt("block %lu: dirent %u \"%.*s\" not sorted after \"%.*s\"", b, i,
                     static_cast<int>(name.size()), name.data(),
                     static_cast<int>(out->back().name.size()), out->back().name.data());
    }
    const uint8_t* e = blk.data() + i * format::kV6DirentSize;
    out->push_back({name, LoadLE64(e), e[10]});
    if (out->size() > ctx.opts.max_nodes + 2) {
      return Corrupt("more than %lu entries", ctx.opts.max_nodes);
    }
  }
  return Status::OK();
}

uint32_t V6DirentDtype(uint8_t type) {
  switch (type) {
    case format::kV6FtRegular:
      return DT_REG;
    case format::kV6FtDir:
      return DT_DIR;
    case format::kV6FtChrdev:
      return DT_CHR;
    case format::kV6FtBlkdev:
      return DT_BLK;
    case format::kV6FtFifo:
      return DT_FIFO;
    case format::kV6FtSock:
      return DT_SOCK;
    case format::kV6FtSymlink:
      return DT_LNK;
    default:
      return 0;
  }
}

}  // namespace nydus::meta::internal
