// RAFS v6 (EROFS) inode encoding: extended inodes, inline xattrs ("ibody") and the chunk
// index array of chunk-based files (reference spec §3.3.6, §3.3.7, §3.3.9). Internal to
// builder/. Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "format/v6.h"
#include "meta/image.h"

namespace nydus::builder::v6 {

// Encodes the inline xattr area of an inode: a 12-byte header (no shared xattrs) and one
// entry per xattr, `u8 name_len | u8 name_index | u16 value_size | suffix | value`, each
// padded to 4, in name order. Empty output for no xattrs. Fails with InvalidArgument on a
// name outside user./trusted./security./system.posix_acl_{access,default}, a duplicate
// name, a suffix over 255 bytes, a value over 65535 bytes, or an area too big for a u16
// icount.
Result<Bytes> EncodeXattrIbody(const std::vector<meta::Xattr>& xattrs);

// i_xattr_icount for an ibody of `ibody_size` bytes (0 for none).
uint16_t XattrIcount(size_t ibody_size);

// The i_u chunk format of a chunk-based file: 0x20 | (log2(chunk bits size) - 12). The size
// is the fs chunk size, or next_power_of_two(i_size) when every chunk lies in one blob, each
// `chunk_size` after the previous one, and the file is bigger than one chunk (reference
// page-cache-sharing layout).
uint32_t ChunkFormat(const meta::Inode& inode, uint32_t chunk_size);

// Encodes one 8-byte chunk index entry per chunk: {u16 CI index bits 0..15, u16 (CI index
// bits 16..23 << 8 | blob_index + 1), u32 uncompressed_offset / 4096}. Fails with
// InvalidArgument if an uncompressed offset is not 4 KiB aligned or its block does not fit
// u32, a CI index is 2^24 or more, or a blob index is 255 or more.
Result<Bytes> EncodeChunkIndexes(const std::vector<meta::ChunkInfo>& chunks);

// Fields of an extended inode that the layout decides.
struct InodeFields {
  uint16_t layout = format::kV6FlatPlain;  // data layout (not yet shifted into i_format)
  uint64_t size = 0;                       // i_size
  uint32_t i_u = 0;                        // raw block, chunk format or rdev
  uint32_t ino = 0;                        // i_ino (builder index numbering)
  uint16_t xattr_icount = 0;
};

// Builds the 64-byte extended inode for `inode` (mode, uid, gid, mtime, nlink from it).
format::RafsV6InodeExtended MakeExtendedInode(const meta::Inode& inode, const InodeFields& f);

}  // namespace nydus::builder::v6
