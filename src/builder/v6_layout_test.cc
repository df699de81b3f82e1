#include "builder/v6_layout.h"

#include <gtest/gtest.h>

#include "builder/v6_dirents.h"
#include "builder/v6_inode.h"
#include "format/v6.h"
#include "testing/test_util.h"

namespace nydus::builder::v6 {
namespace {

// The placement sequence of the reference's own allocator test (node.rs
// test_set_v6_offset, 32-byte inodes, allocation starting at 0), expectation by expectation.
TEST(V6LayoutTest, MatchesReferenceAllocatorSequence) {
  MetaAllocator a(0);
  Placement p = PlaceChunkFile(&a, 32, 0, 0);
  EXPECT_EQ(p.offset, 0u);
  EXPECT_EQ(a.cursor(), 32u);

  p = PlaceWithTail(&a, 32, 4064);
  EXPECT_EQ(p.layout, format::kV6FlatInline);
  EXPECT_EQ(p.offset, 4096u);
  EXPECT_EQ(a.cursor(), 8192u);

  p = PlaceWithTail(&a, 32, 4096);
  EXPECT_EQ(p.layout, format::kV6FlatPlain);
  EXPECT_EQ(p.offset, 32u);  // reuses the free tail of block 0
  EXPECT_EQ(p.data_offset, 8192u);
  EXPECT_EQ(a.cursor(), 8192u + 4096);

  p = PlaceWithTail(&a, 32, 8160);
  EXPECT_EQ(p.layout, format::kV6FlatInline);
  EXPECT_EQ(p.offset, 8192u + 4096);
  EXPECT_EQ(p.data_offset, 8192u + 4096 + 4096);
  EXPECT_EQ(a.cursor(), 8192u + 4096 + 8192);

  p = PlaceWithTail(&a, 32, 8161);
  EXPECT_EQ(p.layout, format::kV6FlatPlain);
  EXPECT_EQ(p.offset, 64u);
  EXPECT_EQ(p.data_offset, 8192u + 4096 + 8192);
  EXPECT_EQ(a.cursor(), 8192u + 4096 + 8192 + 8192);

  p = PlaceWithTail(&a, 32, 4096 + 3968);
  EXPECT_EQ(p.layout, format::kV6FlatInline);
  EXPECT_EQ(p.offset, 96u);
  EXPECT_EQ(p.data_offset, 8192u + 4096 + 8192 + 8192);
  EXPECT_EQ(a.cursor(), 8192u + 4096 + 8192 + 8192 + 4096);

  p = PlaceWithTail(&a, 32, 4096 + 2048);
  EXPECT_EQ(p.layout, format::kV6FlatInline);
  EXPECT_EQ(p.offset, 8192u + 4096 + 8192 + 8192 + 4096);
  EXPECT_EQ(p.data_offset, 8192u + 4096 + 8192 + 8192 + 4096 + 4096);
  EXPECT_EQ(a.cursor(), 8192u + 4096 + 8192 + 8192 + 4096 + 8192);

  p = PlaceWithTail(&a, 32, 1985);
  EXPECT_EQ(p.layout, format::kV6FlatInline);
  EXPECT_EQ(p.offset, 8192u + 4096 + 8192 + 8192 + 4096 + 8192);
  EXPECT_EQ(a.cursor(), 8192u + 4096 + 8192 + 8192 + 4096 + 8192 + 32 + 1985);

  a.Align(32);
  p = PlaceWithTail(&a, 32, 1984);
  EXPECT_EQ(p.layout, format::kV6FlatInline);
  EXPECT_EQ(p.offset, 8192u + 4096 + 8192 + 8192 + 4096 + 2048 + 32);
  EXPECT_EQ(a.cursor(), 8192u + 4096 + 8192 + 8192 + 4096 + 8192 + RoundUp(32 + 1985, 32));
}

TEST(V6LayoutTest, InlineDataNeverCrossesABlock) {
  MetaAllocator a;
  for (uint64_t size : {100, 3000, 4000, 17, 4031, 2500, 4095, 64, 1000}) {
    Placement p = PlaceWithTail(&a, 64, size);
    a.Align(32);
    if (p.layout == format::kV6FlatInline) {
      EXPECT_EQ(p.offset / 4096, (p.offset + 64 + size % 4096 - 1) / 4096) << size;
    }
    EXPECT_EQ(p.data_offset % 4096 == 0 || size < 4096, true) << size;
  }
}

TEST(V6LayoutTest, ChunkFileUsesPartialBlocksAndAlignsArray) {
  MetaAllocator a;
  a.Take(100);
  a.RecordPartial(a.cursor());  // 3996 free bytes in block 1 from 4224 (32-aligned)
  a.Align(4096);
  Placement p = PlaceChunkFile(&a, 76, 5000, 2);  // round_up(76, 8) + 16 = 96 bytes
  EXPECT_EQ(p.offset, 4096u + 128);
  EXPECT_EQ(p.layout, format::kV6ChunkBased);
  // Too big for a partly used block: sequential, array 8-aligned after the inode.
  Placement q = PlaceChunkFile(&a, 76, 1 << 30, 1024);
  EXPECT_EQ(q.offset, 8192u);
  EXPECT_EQ(a.cursor(), 8192u + 80 + 1024 * 8);
}

// Entries viewing `names`, which must outlive them.
std::vector<DirEntry> Entries(const std::vector<std::string>& names) {
  std::vector<DirEntry> out;
  for (const std::string& n : names) out.push_back({n, 7, format::kV6FtRegular});
  return out;
}

TEST(V6DirentsTest, EntriesNeverStraddleBlocks) {
  // 15 entries of 12 + 255 bytes = 4005 bytes; the 16th would cross 4096.
  std::vector<std::string> names;
  for (int i = 0; i < 20; ++i) names.push_back(std::string(254, 'a' + i) + "x");
  std::vector<DirEntry> e = Entries(names);
  Bytes data = PackDirents(e);
  EXPECT_EQ(data.size(), DirentsSize(e));
  EXPECT_EQ(data.size(), 4096u + 5 * 267);
  EXPECT_EQ(LoadLE16(data.data() + 8) / 12, 15u);        // entries in block 0
  EXPECT_EQ(LoadLE16(data.data() + 4096 + 8) / 12, 5u);  // entries in block 1
  EXPECT_EQ(data[4095], 0);                              // padding after the names
  EXPECT_EQ(std::string(data.begin() + 4096 + 60, data.begin() + 4096 + 60 + 255), names[15]);
}

TEST(V6DirentsTest, DotEntriesSortBytewise) {
  std::vector<std::string> names = {"-dash", ".", "..", ".hidden", "A", "a"};
  std::vector<DirEntry> e = Entries(names);
  std::sort(e.begin(), e.end(), [](auto& x, auto& y) { return x.name < y.name; });
  Bytes data = PackDirents(e);
  std::string packed(data.begin() + 6 * 12, data.end());
  EXPECT_EQ(packed, "-dash....hiddenAa");
  EXPECT_EQ(DirentsSize(e), 6 * 12 + 17u);
}

TEST(V6InodeTest, XattrIbodyLikeReference) {
  // Reference test_rafs_xattr_count_v6/size_v6: user.a=1, trusted.b=2 -> 28 bytes, icount 5.
  ASSERT_OK_AND_ASSIGN(Bytes body, EncodeXattrIbody({{"user.a", "\x01"}, {"trusted.b", "\x02"}}));
  EXPECT_EQ(body.size(), 28u);
  EXPECT_EQ(XattrIcount(body.size()), 5);
  // Sorted by full name: trusted.b first.
  const uint8_t want[] = {1, 4, 1, 0, 'b', 2, 0, 0, 1, 1, 1, 0, 'a', 1, 0, 0};
  EXPECT_TRUE(std::equal(std::begin(want), std::end(want), body.begin() + 12));
  ASSERT_OK_AND_ASSIGN(Bytes none, EncodeXattrIbody({}));
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(XattrIcount(0), 0);
  EXPECT_FALSE(EncodeXattrIbody({{"user.a", "1"}, {"user.a", "2"}}).ok());
  EXPECT_FALSE(EncodeXattrIbody({{"user.v", std::string(65536, 'v')}}).ok());
}

TEST(V6InodeTest, ChunkFormatAndIndexes) {
  meta::Inode f;
  f.mode = S_IFREG | 0644;
  f.size = 3 * 0x100000 - 1;
  for (uint32_t k = 0; k < 3; ++k) {
    meta::ChunkInfo c;
    c.blob_index = 2;
    c.index = 0x12345 + k;
    c.uncompressed_offset = 0x100000ull * (k + 8);
    f.chunks.push_back(c);
  }
  EXPECT_EQ(ChunkFormat(f, 0x100000), 0x20u | 10);  // 4 MiB: contiguous, bigger than a chunk
  f.chunks[2].uncompressed_offset += 4096;
  EXPECT_EQ(ChunkFormat(f, 0x100000), 0x20u | 8);
  ASSERT_OK_AND_ASSIGN(Bytes idx, EncodeChunkIndexes(f.chunks));
  ASSERT_EQ(idx.size(), 24u);
  EXPECT_EQ(LoadLE16(idx.data()), 0x2345);
  EXPECT_EQ(LoadLE16(idx.data() + 2), 0x0103);  // CI bits 16..23 = 1, device 2 + 1
  EXPECT_EQ(LoadLE32(idx.data() + 4), 0x100000u * 8 / 4096);
  f.chunks[0].uncompressed_offset += 1;
  EXPECT_FALSE(EncodeChunkIndexes(f.chunks).ok());
}

}  // namespace
}  // namespace nydus::builder::v6
