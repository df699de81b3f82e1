// Inode-level checks of v6 bootstraps: dirents, inline/plain layouts, symlinks, chunk
// indexes, inline xattrs, hardlinks, devices, ids and times.
#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include <tuple>

#include "builder/bootstrap_writer.h"
#include "builder/bootstrap_writer_test_util.h"
#include "builder/v6_test_view.h"
#include "meta/rdev.h"
#include "testing/test_util.h"

namespace nydus::builder {
namespace {

using format::RafsV6InodeExtended;
using writer_test::MakeRichImage;
using writer_test::RichImage;
using writer_test::V6View;

TEST(V6InodesTest, InodesAndDirectories) {
  RichImage rich = MakeRichImage(format::kRafsVersionV6);
  ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV6(rich.image));
  V6View v(boot);
  RafsV6InodeExtended root = v.Inode(128);
  EXPECT_EQ(root.i_ino, 0u);
  EXPECT_EQ(root.i_format & 1, 1);
  // Root dirents: sorted bytewise including "." and "..", both pointing at the root.
  auto ents = v.Dirents(128);
  ASSERT_GE(ents.size(), 3u);
  for (size_t i = 1; i < ents.size(); ++i) EXPECT_LT(ents[i - 1].name, ents[i].name);
  for (const auto& d : ents) {
    if (d.name == "." || d.name == "..") {
      EXPECT_EQ(d.nid, 128u);
    }
  }
  // "many": 400 entries over several blocks; ".." is the root; types match.
  uint64_t many = v.Lookup("/many");
  auto many_ents = v.Dirents(many);
  EXPECT_EQ(many_ents.size(), 402u);
  EXPECT_GE(many_ents.back().block, 2u);
  EXPECT_GT(v.Inode(many).i_size, 4096 * many_ents.back().block);
  for (const auto& d : many_ents) {
    if (d.name == "..") {
      EXPECT_EQ(d.nid, 128u);
    }
    if (d.name == "e0050-" + std::string(50, 'n')) {
      EXPECT_EQ(d.type, format::kV6FtDir);
    }
  }
  // Inline and plain directories.
  EXPECT_EQ(v.Layout(v.Inode(v.Lookup("/inline-dir"))), format::kV6FlatInline);
  EXPECT_GT(v.Inode(v.Lookup("/inline-dir")).i_xattr_icount, 0);
  RafsV6InodeExtended plain = v.Inode(v.Lookup("/plain-dir"));
  EXPECT_EQ(v.Layout(plain), format::kV6FlatPlain);
  EXPECT_EQ(v.Dirents(v.Lookup("/plain-dir")).size(), 42u);
  // Long names.
  EXPECT_EQ(v.Inode(v.Lookup("/long/" + std::string(255, 'L'))).i_size, 300u);
  // Hardlinks share one inode slot; i_ino is the first name's index; nlink 2.
  uint64_t a = v.Lookup("/hl-a"), b = v.Lookup("/dir/hl-b");
  EXPECT_EQ(a, b);
  EXPECT_EQ(v.Inode(a).i_nlink, 2u);
  EXPECT_NE(v.Inode(a).i_ino, 0u);
  // Devices keep rdev in i_u.
  EXPECT_EQ(v.Inode(v.Lookup("/dev-big")).i_u, meta::EncodeRdev(makedev(300, 70000)));
  EXPECT_EQ(v.Inode(v.Lookup("/dev-blk")).i_u, meta::EncodeRdev(makedev(8, 1)));
  // Ids and times.
  RafsV6InodeExtended ids = v.Inode(v.Lookup("/big-ids"));
  EXPECT_EQ(ids.i_uid, 100000u);
  EXPECT_EQ(ids.i_gid, 4000000000u);
  EXPECT_EQ(static_cast<int64_t>(v.Inode(v.Lookup("/neg-mtime")).i_mtime), -1000000);
}

TEST(V6InodesTest, SymlinksInlineAndPlain) {
  RichImage rich = MakeRichImage(format::kRafsVersionV6);
  ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV6(rich.image));
  V6View v(boot);
  uint64_t s1003 = v.Lookup("/sym-1003");
  EXPECT_EQ(v.Layout(v.Inode(s1003)), format::kV6FlatInline);
  EXPECT_EQ(v.Data(s1003).size(), 1003u);
  EXPECT_EQ(v.Inode(s1003).i_xattr_icount, 6);
  uint64_t s4095 = v.Lookup("/sym-4095");
  EXPECT_EQ(v.Layout(v.Inode(s4095)), format::kV6FlatPlain);
  Bytes target = v.Data(s4095);
  EXPECT_EQ(std::string(target.begin(), target.end()), std::string(4095, 'p'));
}

TEST(V6InodesTest, ChunkIndexesAndFormat) {
  RichImage rich = MakeRichImage(format::kRafsVersionV6);
  ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV6(rich.image));
  V6View v(boot);
  const meta::Node* two = rich.image.root->FindChild("two-blobs.bin");
  uint64_t nid = v.Lookup("/two-blobs.bin");
  RafsV6InodeExtended i = v.Inode(nid);
  EXPECT_EQ(v.Layout(i), format::kV6ChunkBased);
  EXPECT_EQ(i.i_u, 0x20u);  // 4 KiB chunks: log2 - 12 = 0
  uint64_t arr = RoundUp(v.InodeOffset(nid) + 64 + v.IbodySize(i), 8);
  ASSERT_EQ(two->inode->chunks.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    const meta::ChunkInfo& c = two->inode->chunks[k];
    EXPECT_EQ(LoadLE16(boot.data() + arr + 8 * k), c.index & 0xffff);
    EXPECT_EQ(LoadLE16(boot.data() + arr + 8 * k + 2), c.blob_index + 1);
    EXPECT_EQ(LoadLE32(boot.data() + arr + 8 * k + 4), c.uncompressed_offset / 4096);
  }
  EXPECT_EQ(two->inode->chunks[1].blob_index, 1u);
  // Contiguous chunks of one blob advertise next_power_of_two(size) = 32 KiB.
  EXPECT_EQ(v.Inode(v.Lookup("/contig.bin")).i_u, 0x20u | 3);
  RafsV6InodeExtended empty = v.Inode(v.Lookup("/empty"));
  EXPECT_EQ(empty.i_size, 0u);
  EXPECT_EQ(empty.i_u, 0x20u);
}

TEST(V6InodesTest, InlineXattrEncoding) {
  RichImage rich = MakeRichImage(format::kRafsVersionV6);
  ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV6(rich.image));
  V6View v(boot);
  uint64_t nid = v.Lookup("/xattrs");
  RafsV6InodeExtended i = v.Inode(nid);
  const uint8_t* p = boot.data() + v.InodeOffset(nid) + 64 + 12;
  const uint8_t* end = boot.data() + v.InodeOffset(nid) + 64 + v.IbodySize(i);
  std::vector<std::tuple<int, std::string, std::string>> got;
  while (p < end) {
    uint8_t len = p[0], index = p[1];
    uint16_t vsize = LoadLE16(p + 2);
    got.emplace_back(index, std::string(reinterpret_cast<const char*>(p) + 4, len),
                     std::string(reinterpret_cast<const char*>(p) + 4 + len, vsize));
    p += RoundUp(4 + len + vsize, 4);
  }
  EXPECT_EQ(p, end);
  std::vector<std::tuple<int, std::string, std::string>> want = {
      {6, "capability", writer_test::CapabilityValue()},
      {2, "", writer_test::AclValue()},
      {4, "t", "x"},
      {1, "empty", ""},
      {1, "foo", "bar"}};
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace nydus::builder
