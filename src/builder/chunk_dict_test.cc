#include "builder/chunk_dict.h"

#include <string>
#include <vector>

#include "testing/test_util.h"

namespace nydus::builder {
namespace {

Digest TagDigest(uint8_t tag) {
  Digest d{};
  d.fill(tag);
  return d;
}

meta::ChunkInfo Chunk(uint8_t tag, uint32_t size, uint32_t blob, uint32_t index) {
  meta::ChunkInfo c;
  c.digest = TagDigest(tag);
  c.uncompressed_size = size;
  c.compressed_size = size / 2;
  c.blob_index = blob;
  c.index = index;
  c.compressed_offset = 1000 * index;
  c.uncompressed_offset = 4096 * index;
  c.file_offset = 777;  // must not leak into the dict
  return c;
}

meta::BlobInfo Blob(const std::string& id, uint32_t features = 0) {
  meta::BlobInfo b;
  b.blob_id = id;
  b.features = features;
  return b;
}

// An image whose root holds one regular file per entry of `files`.
meta::Image MakeImage(std::vector<meta::BlobInfo> blobs,
                      const std::vector<std::vector<meta::ChunkInfo>>& files,
                      format::Digester digester = format::Digester::kBlake3) {
  meta::Image image;
  image.digester = digester;
  image.blobs = std::move(blobs);
  image.root = std::make_unique<meta::Node>();
  image.root->name = "/";
  image.root->inode = std::make_shared<meta::Inode>();
  image.root->inode->mode = S_IFDIR | 0755;
  for (size_t i = 0; i < files.size(); ++i) {
    auto node = std::make_unique<meta::Node>();
    node->name = "f" + std::to_string(i);
    node->inode = std::make_shared<meta::Inode>();
    node->inode->mode = S_IFREG | 0644;
    node->inode->chunks = files[i];
    image.root->PutChild(std::move(node));
  }
  return image;
}

TEST(ChunkDictTest, ParentChunksKeepBlobIndexes) {
  ChunkDict dict(format::Digester::kBlake3);
  meta::Image parent = MakeImage({Blob("p0"), Blob("p1", format::kBlobInlinedFsMeta | 1)},
                                 {{Chunk(1, 100, 0, 0)}, {Chunk(2, 200, 1, 0)}});
  ASSERT_OK(dict.AddParent(parent));
  ASSERT_EQ(dict.blobs().size(), 2u);
  EXPECT_EQ(dict.blobs()[1].features, 1u);  // INLINED_FS_META dropped
  EXPECT_EQ(dict.size(), 2u);

  const ChunkDict::Entry* e = dict.Find(TagDigest(2), 200);
  ASSERT_NE(e, nullptr);
  ASSERT_OK_AND_ASSIGN(meta::ChunkInfo c, dict.Use(*e));
  EXPECT_EQ(c.blob_index, 1u);
  EXPECT_EQ(c.file_offset, 0u);
  EXPECT_EQ(dict.Find(TagDigest(2), 201), nullptr);  // size is part of the key
  EXPECT_EQ(dict.Find(TagDigest(3), 200), nullptr);

  ASSERT_OK_AND_ASSIGN(uint32_t idx, dict.NewBlobIndex());
  EXPECT_EQ(idx, 2u);
  ASSERT_OK_AND_ASSIGN(uint32_t again, dict.NewBlobIndex());
  EXPECT_EQ(again, 2u);
  EXPECT_EQ(dict.blobs().size(), 3u);
  EXPECT_FALSE(dict.AddParent(parent).ok());  // too late
}

TEST(ChunkDictTest, DictBlobsJoinTableOnFirstUseInOrder) {
  ChunkDict dict(format::Digester::kBlake3);
  ASSERT_OK(dict.AddParent(MakeImage({Blob("p0")}, {{Chunk(1, 100, 0, 0)}})));
  ASSERT_OK(dict.AddDictImage(MakeImage({Blob("d0"), Blob("d1"), Blob("d2")},
                                        {{Chunk(10, 100, 2, 5), Chunk(11, 100, 0, 6)}})));
  EXPECT_EQ(dict.blobs().size(), 1u);  // dict blobs are not in the table yet

  ASSERT_OK_AND_ASSIGN(meta::ChunkInfo a, dict.Use(*dict.Find(TagDigest(10), 100)));
  EXPECT_EQ(a.blob_index, 1u);  // d2 appended after the parent blob
  EXPECT_EQ(a.index, 5u);
  ASSERT_OK_AND_ASSIGN(uint32_t mine, dict.NewBlobIndex());
  EXPECT_EQ(mine, 2u);
  ASSERT_OK_AND_ASSIGN(meta::ChunkInfo b, dict.Use(*dict.Find(TagDigest(11), 100)));
  EXPECT_EQ(b.blob_index, 3u);  // d0 after the new blob
  ASSERT_OK_AND_ASSIGN(meta::ChunkInfo a2, dict.Use(*dict.Find(TagDigest(10), 100)));
  EXPECT_EQ(a2.blob_index, 1u);  // no second copy
  ASSERT_EQ(dict.blobs().size(), 4u);
  EXPECT_EQ(dict.blobs()[1].blob_id, "d2");
  EXPECT_EQ(dict.blobs()[3].blob_id, "d0");
}

TEST(ChunkDictTest, DictBlobAlreadyInTableIsReused) {
  ChunkDict dict(format::Digester::kBlake3);
  ASSERT_OK(dict.AddParent(MakeImage({Blob("same")}, {})));
  ASSERT_OK(dict.AddDictImage(MakeImage({Blob("same")}, {{Chunk(5, 10, 0, 0)}})));
  ASSERT_OK_AND_ASSIGN(meta::ChunkInfo c, dict.Use(*dict.Find(TagDigest(5), 10)));
  EXPECT_EQ(c.blob_index, 0u);
  EXPECT_EQ(dict.blobs().size(), 1u);
}

TEST(ChunkDictTest, DictSearchedBeforeLayeredAndFirstChunkWins) {
  ChunkDict dict(format::Digester::kBlake3);
  ASSERT_OK(dict.AddParent(MakeImage({Blob("p")}, {{Chunk(7, 50, 0, 0), Chunk(7, 50, 0, 9)}})));
  ASSERT_OK(dict.AddDictImage(MakeImage({Blob("d")}, {{Chunk(7, 50, 0, 3)}})));
  const ChunkDict::Entry* e = dict.Find(TagDigest(7), 50);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->source, ChunkDict::Source::kDict);
  EXPECT_EQ(e->chunk.index, 3u);

  ChunkDict only_parent(format::Digester::kBlake3);
  ASSERT_OK(only_parent.AddParent(
      MakeImage({Blob("p")}, {{Chunk(7, 50, 0, 0), Chunk(7, 50, 0, 9)}})));
  EXPECT_EQ(only_parent.Find(TagDigest(7), 50)->chunk.index, 0u);
  EXPECT_EQ(only_parent.size(), 1u);
}

TEST(ChunkDictTest, BuiltChunksAreFound) {
  ChunkDict dict(format::Digester::kSha256);
  ASSERT_OK_AND_ASSIGN(uint32_t idx, dict.NewBlobIndex());
  EXPECT_EQ(idx, 0u);
  EXPECT_FALSE(dict.Contains(TagDigest(4), 4096));
  dict.AddBuiltChunk(Chunk(4, 4096, idx, 0));
  ASSERT_TRUE(dict.Contains(TagDigest(4), 4096));
  ASSERT_OK_AND_ASSIGN(meta::ChunkInfo c, dict.Use(*dict.Find(TagDigest(4), 4096)));
  EXPECT_EQ(c.file_offset, 0u);
  EXPECT_EQ(c.compressed_size, 2048u);
}

TEST(ChunkDictTest, OtherDigesterIsIgnored) {
  ChunkDict dict(format::Digester::kBlake3);
  ASSERT_OK(dict.AddDictImage(
      MakeImage({Blob("d")}, {{Chunk(1, 10, 0, 0)}}, format::Digester::kSha256)));
  EXPECT_EQ(dict.size(), 0u);
}

TEST(ChunkDictTest, BadBlobIndexIsCorruption) {
  ChunkDict dict(format::Digester::kBlake3);
  Status st = dict.AddDictImage(MakeImage({Blob("d")}, {{Chunk(1, 10, 1, 0)}}));
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("/f0"), std::string::npos) << st.ToString();
  ChunkDict dict2(format::Digester::kBlake3);
  EXPECT_EQ(dict2.AddParent(MakeImage({}, {{Chunk(1, 10, 0, 0)}})).code(),
            StatusCode::kCorruption);
}

TEST(ChunkDictTest, BlobTableLimit) {
  ChunkDict dict(format::Digester::kBlake3);
  std::vector<meta::BlobInfo> blobs(ChunkDict::kMaxBlobs);
  for (size_t i = 0; i < blobs.size(); ++i) blobs[i].blob_id = "p" + std::to_string(i);
  ASSERT_OK(dict.AddParent(MakeImage(blobs, {})));
  EXPECT_EQ(dict.NewBlobIndex().status().code(), StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace nydus::builder
