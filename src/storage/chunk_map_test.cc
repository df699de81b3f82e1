// ChunkMap: reference file layout, persistence and the reset rules.

#include "storage/chunk_map.h"

#include <unistd.h>

#include "base/bytes.h"
#include "base/file_util.h"
#include "testing/test_util.h"

namespace nydus::storage {
namespace {

using ::nydus::testing::TempDir;

uint32_t U32At(const Bytes& b, size_t off) {
  return b[off] | b[off + 1] << 8 | b[off + 2] << 16 | static_cast<uint32_t>(b[off + 3]) << 24;
}

TEST(ChunkMapTest, ReferenceLayoutMsbFirst) {
  TempDir dir;
  std::string path = dir.Join("blob.chunk_map");
  {
    ASSERT_OK_AND_ASSIGN(auto map, ChunkMap::Open(path, 10, 0));
    EXPECT_TRUE(map->fresh());
    EXPECT_EQ(map->ready_count(), 0u);
    map->SetReady(0);
    map->SetReady(9);
    map->SetReady(9);   // idempotent
    map->SetReady(10);  // out of range: ignored
    EXPECT_TRUE(map->IsReady(0));
    EXPECT_FALSE(map->IsReady(1));
    EXPECT_TRUE(map->IsReady(9));
    EXPECT_FALSE(map->IsReady(10));
    EXPECT_EQ(map->ready_count(), 2u);
  }
  ASSERT_OK_AND_ASSIGN(Bytes file, ReadWholeFile(path));
  ASSERT_EQ(file.size(), 4096u + 2);
  EXPECT_EQ(U32At(file, 0), 0x424D4150u);
  EXPECT_EQ(U32At(file, 4), 1u);
  EXPECT_EQ(U32At(file, 8), 0x434D4150u);
  EXPECT_EQ(U32At(file, 12), 0u);  // not all ready
  EXPECT_EQ(file[4096], 0x80);     // chunk 0 = MSB of byte 0
  EXPECT_EQ(file[4097], 0x40);     // chunk 9 = second bit of byte 1
}

TEST(ChunkMapTest, PersistsAndMarksAllReady) {
  TempDir dir;
  std::string path = dir.Join("m");
  {
    ASSERT_OK_AND_ASSIGN(auto map, ChunkMap::Open(path, 3, 0));
    map->SetReady(1);
  }
  {
    ASSERT_OK_AND_ASSIGN(auto map, ChunkMap::Open(path, 3, 0));
    EXPECT_FALSE(map->fresh());
    EXPECT_TRUE(map->IsReady(1));
    EXPECT_EQ(map->ready_count(), 1u);
    map->SetReady(0);
    map->SetReady(2);
  }
  ASSERT_OK_AND_ASSIGN(Bytes file, ReadWholeFile(path));
  EXPECT_EQ(U32At(file, 12), 0x4D4D4150u);
  EXPECT_EQ(file[4096], 0xE0);
}

TEST(ChunkMapTest, ResetsInsteadOfTrustingABadFile) {
  TempDir dir;
  std::string path = dir.Join("m");
  auto fill = [&] {
    ASSERT_OK_AND_ASSIGN(auto map, ChunkMap::Open(path, 16, 0));
    for (uint32_t i = 0; i < 16; ++i) map->SetReady(i);
  };
  // Wrong size (e.g. another chunk count).
  fill();
  {
    ASSERT_OK_AND_ASSIGN(auto map, ChunkMap::Open(path, 17, 0));
    EXPECT_TRUE(map->fresh());
    EXPECT_EQ(map->ready_count(), 0u);
  }
  // Garbage header with bits set.
  ASSERT_OK(WriteWholeFile(path, Bytes(4096 + 2, 0xff)));
  {
    ASSERT_OK_AND_ASSIGN(auto map, ChunkMap::Open(path, 16, 0));
    EXPECT_TRUE(map->fresh());
    EXPECT_EQ(map->ready_count(), 0u);
  }
  // All zero: a creation cut short between resize and header.
  ASSERT_OK(WriteWholeFile(path, Bytes(4096 + 2, 0)));
  {
    ASSERT_OK_AND_ASSIGN(auto map, ChunkMap::Open(path, 16, 0));
    EXPECT_TRUE(map->fresh());
  }
  // Bits written for the other data layout.
  fill();
  {
    ASSERT_OK_AND_ASSIGN(auto map, ChunkMap::Open(path, 16, 1));
    EXPECT_TRUE(map->fresh());
    EXPECT_EQ(map->ready_count(), 0u);
  }
  // Header fine, bits kept.
  {
    ASSERT_OK_AND_ASSIGN(auto map, ChunkMap::Open(path, 16, 1));
    EXPECT_FALSE(map->fresh());
  }
}

TEST(ChunkMapTest, ClearAll) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto map, ChunkMap::Open(dir.Join("m"), 9, 0));
  for (uint32_t i = 0; i < 9; ++i) map->SetReady(i);
  EXPECT_EQ(map->ready_count(), 9u);
  map->ClearAll();
  EXPECT_EQ(map->ready_count(), 0u);
  for (uint32_t i = 0; i < 9; ++i) EXPECT_FALSE(map->IsReady(i));
}

TEST(ChunkMapTest, RejectsZeroChunks) {
  TempDir dir;
  EXPECT_FALSE(ChunkMap::Open(dir.Join("m"), 0, 0).ok());
}

}  // namespace
}  // namespace nydus::storage
