// Test-only: a minimal RAFS v6 decoder for checking what the writer produced (the real
// reader lives in meta/). Header-only; included by *_test.cc files only.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "format/v6.h"

namespace nydus::builder::writer_test {

// Decodes superblocks, inodes by nid, directory and symlink data, dirents and paths.
class V6View {
 public:
  explicit V6View(const Bytes& b) : b_(b) {
    EXPECT_TRUE(ReadPod(b_, format::kV6SuperBlockOffset, &sb_));
    EXPECT_TRUE(ReadPod(b_, format::kV6ExtSuperBlockOffset, &ext_));
  }
  const format::RafsV6SuperBlock& sb() const { return sb_; }
  const format::RafsV6SuperBlockExt& ext() const { return ext_; }
  uint64_t InodeOffset(uint64_t nid) const { return sb_.s_meta_blkaddr * 4096ull + nid * 32; }
  format::RafsV6InodeExtended Inode(uint64_t nid) const {
    format::RafsV6InodeExtended i{};
    EXPECT_TRUE(ReadPod(b_, InodeOffset(nid), &i));
    return i;
  }
  uint64_t IbodySize(const format::RafsV6InodeExtended& i) const {
    return i.i_xattr_icount == 0 ? 0 : 12 + (i.i_xattr_icount - 1) * 4ull;
  }
  uint16_t Layout(const format::RafsV6InodeExtended& i) const { return (i.i_format >> 1) & 7; }
  // Data bytes of a directory or symlink, reassembled from blocks and the inline tail.
  Bytes Data(uint64_t nid) const {
    format::RafsV6InodeExtended i = Inode(nid);
    uint64_t in_blocks = Layout(i) == format::kV6FlatInline ? RoundDown(i.i_size, 4096) : i.i_size;
    Bytes out(b_.begin() + i.i_u * 4096ull, b_.begin() + i.i_u * 4096ull + in_blocks);
    uint64_t tail = InodeOffset(nid) + 64 + IbodySize(i);
    out.insert(out.end(), b_.begin() + tail, b_.begin() + tail + (i.i_size - in_blocks));
    return out;
  }
  struct Dirent {
    std::string name;
    uint64_t nid;
    uint8_t type;
    size_t block;
  };
  std::vector<Dirent> Dirents(uint64_t nid) const {
    Bytes d = Data(nid);
    std::vector<Dirent> out;
    for (size_t blk = 0; blk * 4096 < d.size(); ++blk) {
      const uint8_t* p = d.data() + blk * 4096;
      size_t limit = std::min<size_t>(4096, d.size() - blk * 4096);
      size_t count = LoadLE16(p + 8) / 12;
      for (size_t k = 0; k < count; ++k) {
        size_t off = LoadLE16(p + k * 12 + 8);
        size_t end = k + 1 < count ? LoadLE16(p + (k + 1) * 12 + 8) : limit;
        while (k + 1 == count && end > off && p[end - 1] == 0) --end;
        out.push_back({std::string(reinterpret_cast<const char*>(p) + off, end - off),
                       LoadLE64(p + k * 12), p[k * 12 + 10], blk});
      }
    }
    return out;
  }
  uint64_t Lookup(const std::string& path) const {
    uint64_t nid = sb_.s_root_nid;
    size_t pos = 1;
    while (pos < path.size()) {
      size_t end = path.find('/', pos);
      if (end == std::string::npos) end = path.size();
      std::string name = path.substr(pos, end - pos);
      bool found = false;
      for (const Dirent& d : Dirents(nid)) {
        if (d.name == name) {
          nid = d.nid;
          found = true;
          break;
        }
      }
      EXPECT_TRUE(found) << path;
      pos = end + 1;
    }
    return nid;
  }

 private:
  const Bytes& b_;
  format::RafsV6SuperBlock sb_{};
  format::RafsV6SuperBlockExt ext_{};
};

}  // namespace nydus::builder::writer_test
