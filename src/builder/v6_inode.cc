#include "builder/v6_inode.h"

#include <algorithm>
#include <bit>
#include <string_view>

#include "format/rafs.h"

namespace nydus::builder::v6 {
namespace {

struct XattrPrefix {
  std::string_view prefix;
  uint8_t index;
};

// Matched in this order, first hit wins (the ACL names are whole-name prefixes).
constexpr XattrPrefix kXattrPrefixes[] = {
    {"user.", format::kV6XattrUser},
    {"system.posix_acl_access", format::kV6XattrPosixAclAccess},
    {"system.posix_acl_default", format::kV6XattrPosixAclDefault},
    {"trusted.", format::kV6XattrTrusted},
    {"security.", format::kV6XattrSecurity},
};

constexpr size_t kIbodyHeaderSize = sizeof(format::RafsV6XattrIbodyHeader);
constexpr size_t kXattrEntrySize = sizeof(format::RafsV6XattrEntry);

const XattrPrefix* MatchXattrPrefix(std::string_view name) {
  for (const XattrPrefix& p : kXattrPrefixes) {
    if (name.substr(0, p.prefix.size()) == p.prefix) return &p;
  }
  return nullptr;
}

Status AppendXattrEntry(const meta::Xattr& x, Bytes* out) {
  const XattrPrefix* prefix = MatchXattrPrefix(x.name);
  if (prefix == nullptr) {
    return Status::InvalidArgument("v6 xattr: unsupported name prefix: " + x.name);
  }
  std::string_view suffix = std::string_view(x.name).substr(prefix->prefix.size());
  if (suffix.size() > 255) return Status::InvalidArgument("v6 xattr: name too long: " + x.name);
  if (x.value.size() > 0xffff) {
    return Status::InvalidArgument("v6 xattr: value of " + x.name + " over 65535 bytes");
  }
  format::RafsV6XattrEntry entry{};
  entry.e_name_len = static_cast<uint8_t>(suffix.size());
  entry.e_name_index = prefix->index;
  entry.e_value_size = static_cast<uint16_t>(x.value.size());
  AppendPod(out, entry);
  out->insert(out->end(), suffix.begin(), suffix.end());
  out->insert(out->end(), x.value.begin(), x.value.end());
  out->resize(RoundUp(out->size(), kXattrEntrySize), 0);
  return Status::OK();
}

}  // namespace

Result<Bytes> EncodeXattrIbody(const std::vector<meta::Xattr>& xattrs) {
  Bytes out;
  if (xattrs.empty()) return out;
  std::vector<const meta::Xattr*> sorted;
  for (const meta::Xattr& x : xattrs) sorted.push_back(&x);
  std::sort(sorted.begin(), sorted.end(),
            [](const meta::Xattr* a, const meta::Xattr* b) { return a->name < b->name; });
  AppendPod(&out, format::RafsV6XattrIbodyHeader{});
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0 && sorted[i - 1]->name == sorted[i]->name) {
      return Status::InvalidArgument("v6 xattr: duplicate name " + sorted[i]->name);
    }
    RETURN_IF_ERROR(AppendXattrEntry(*sorted[i], &out));
  }
  if ((out.size() - kIbodyHeaderSize) / kXattrEntrySize + 1 > 0xffff) {
    return Status::InvalidArgument("v6 xattr: inline xattrs too big for an inode");
  }
  return out;
}

uint16_t XattrIcount(size_t ibody_size) {
  if (ibody_size == 0) return 0;
  return static_cast<uint16_t>((ibody_size - kIbodyHeaderSize) / kXattrEntrySize + 1);
}

uint32_t ChunkFormat(const meta::Inode& inode, uint32_t chunk_size) {
  bool contiguous = true;
  for (size_t i = 1; i < inode.chunks.size(); ++i) {
    const meta::ChunkInfo& prev = inode.chunks[i - 1];
    const meta::ChunkInfo& cur = inode.chunks[i];
    if (prev.blob_index != cur.blob_index ||
        prev.uncompressed_offset + chunk_size != cur.uncompressed_offset) {
      contiguous = false;
      break;
    }
  }
  uint64_t bits_size = chunk_size;
  if (contiguous && inode.size > chunk_size) {
    uint64_t shared = std::bit_ceil(inode.size);
    // The format keeps 5 bits of log2 - 12; beyond that stay with the fs chunk size.
    if (std::countr_zero(shared) - 12 <= 0x1f) bits_size = shared;
  }
  uint32_t log2 = static_cast<uint32_t>(std::countr_zero(bits_size));
  return format::kV6ChunkFormatIndexes | (log2 - format::kV6BlockBits);
}

Result<Bytes> EncodeChunkIndexes(const std::vector<meta::ChunkInfo>& chunks) {
  Bytes out;
  out.reserve(chunks.size() * sizeof(format::RafsV6InodeChunkAddr));
  for (const meta::ChunkInfo& c : chunks) {
    if (!IsAligned(c.uncompressed_offset, format::kBlockSize) ||
        c.uncompressed_offset / format::kBlockSize > 0xffffffffull) {
      return Status::InvalidArgument("v6 chunk: uncompressed offset " +
                                     std::to_string(c.uncompressed_offset) +
                                     " not 4K aligned or too big");
    }
    if (c.index > format::kMaxChunksPerBlob) {
      return Status::InvalidArgument("v6 chunk: CI index " + std::to_string(c.index) +
                                     " over 24 bits");
    }
    if (c.blob_index >= 255) {
      return Status::InvalidArgument("v6 chunk: blob index " + std::to_string(c.blob_index) +
                                     " does not fit a device id byte");
    }
    format::RafsV6InodeChunkAddr addr{};
    addr.c_blob_addr_lo = static_cast<uint16_t>(c.index & 0xffff);
    addr.c_blob_addr_hi = static_cast<uint16_t>(((c.index >> 16) & 0xff) << 8 | (c.blob_index + 1));
    addr.c_blk_addr = static_cast<uint32_t>(c.uncompressed_offset / format::kBlockSize);
    AppendPod(&out, addr);
  }
  return out;
}

format::RafsV6InodeExtended MakeExtendedInode(const meta::Inode& inode, const InodeFields& f) {
  format::RafsV6InodeExtended di{};
  di.i_format = static_cast<uint16_t>(format::kV6InodeLayoutExtended | (f.layout << 1));
  di.i_xattr_icount = f.xattr_icount;
  di.i_mode = static_cast<uint16_t>(inode.mode);
  di.i_size = f.size;
  di.i_u = f.i_u;
  di.i_ino = f.ino;
  di.i_uid = inode.uid;
  di.i_gid = inode.gid;
  di.i_mtime = inode.mtime;
  di.i_mtime_nsec = inode.mtime_nsec;
  di.i_nlink = inode.nlink;
  return di;
}

}  // namespace nydus::builder::v6
