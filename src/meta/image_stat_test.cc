// ImageStat (nydus-image stat): counts, the dedup table, the target split, JSON and report.

#include "meta/image_stat.h"

#include <gtest/gtest.h>

#include "meta/bootstrap_reader.h"
#include "meta/meta_test_util.h"
#include "testing/test_util.h"

namespace nydus::meta {
namespace {

using namespace nydus::meta::testing;

// A chunk whose digest starts with `id`, `size` bytes (compressed to half).
ChunkInfo Chunk(uint8_t id, uint32_t size) {
  ChunkInfo c;
  c.digest[0] = id;
  c.uncompressed_size = size;
  c.compressed_size = size / 2;
  return c;
}

// An image with one regular file per entry of `files` (its chunks), plus one directory and
// one symlink.
Image HandImage(const std::vector<std::vector<ChunkInfo>>& files) {
  Image img;
  img.root = std::make_unique<Node>();
  img.root->name = "/";
  img.root->inode = std::make_shared<Inode>();
  img.root->inode->mode = S_IFDIR | 0755;
  auto add = [&](const std::string& name, uint32_t mode) -> Inode& {
    auto n = std::make_unique<Node>();
    n->name = name;
    n->inode = std::make_shared<Inode>();
    n->inode->mode = mode;
    Inode& ino = *n->inode;
    img.root->children.push_back(std::move(n));
    return ino;
  };
  add("d", S_IFDIR | 0755);
  add("l", S_IFLNK | 0777);
  for (size_t i = 0; i < files.size(); ++i) {
    Inode& f = add("f" + std::to_string(i), S_IFREG | 0644);
    f.chunks = files[i];
    for (const ChunkInfo& c : files[i]) f.size += c.uncompressed_size;
  }
  return img;
}

TEST(ImageStatTest, SingleImageWithoutDedup) {
  // -B: two files sharing chunk 1; no dedup table, no dedup fields.
  Image a = HandImage({{Chunk(1, 4096), Chunk(2, 100)}, {Chunk(1, 4096)}});
  ImageStat stat(/*dedup_enabled=*/false);
  stat.AddBase(a);
  stat.Finalize();
  const ImageInfo& b = stat.base();
  EXPECT_EQ(b.dirs, 2u);  // the root and d
  EXPECT_EQ(b.files, 2u);
  EXPECT_EQ(b.symlinks, 1u);
  EXPECT_EQ(b.chunks, 3u);
  EXPECT_EQ(b.file_size, 4196u + 4096u);
  EXPECT_EQ(b.padding_size, 8192u - 4196u);
  EXPECT_EQ(b.uncomp_size, 4196u + 4096u + (8192u - 4196u));
  EXPECT_EQ(b.comp_size, 2048u + 50u + 2048u);
  EXPECT_EQ(b.own_chunks, 2u);  // distinct digests
  EXPECT_EQ(b.own_uncomp_size, 4196u);
  EXPECT_EQ(b.dedup_chunks, 0u);
  EXPECT_EQ(b.file_sizes[13], 2u);       // 4196 and 4096 have 13 significant bits
  EXPECT_EQ(b.chunk_sizes[0], 2u + 1u);  // with 4 KiB chunks
  EXPECT_EQ(b.chunk_sizes[8], 1u + 1u);  // with 1 MiB chunks
  Json j = stat.ToJson();
  EXPECT_EQ(j["dedup_enabled"], false);
  EXPECT_EQ(j["target_enabled"], false);
  EXPECT_EQ(j["base_image"]["own_chunks"], 2);
  EXPECT_EQ(j["total_chunks"], 3);
  EXPECT_EQ(j["unique_chunks"], 2);
  const std::string r = stat.Report();
  EXPECT_EQ(r.find("Target Image Statistics"), std::string::npos);
  EXPECT_EQ(r.find("Chunk Deduplication Statistics"), std::string::npos);
  EXPECT_EQ(r.rfind("\n\nBase Image Statistics:\n\nDirectories:            2\n", 0), 0u) << r;
  EXPECT_NE(r.find("Owned Chunk Count:\t2\n"), std::string::npos);
  EXPECT_NE(r.find("\n13:\t\t\t2\n"), std::string::npos);
}

TEST(ImageStatTest, DedupTableCountsChunksByHowManyImagesHoldThem) {
  // Chunk 1 in all three images, chunk 2 in two, chunk 3 in one.
  Image a = HandImage({{Chunk(1, 4096), Chunk(2, 4096)}});
  Image b = HandImage({{Chunk(1, 4096), Chunk(2, 4096)}});
  Image c = HandImage({{Chunk(1, 4096), Chunk(3, 4096)}});
  ImageStat stat(/*dedup_enabled=*/true);
  for (const Image* i : {&a, &b, &c}) stat.AddBase(*i);
  stat.Finalize();
  EXPECT_EQ(stat.base().chunks, 6u);
  EXPECT_EQ(stat.base().own_chunks, 6u);  // summed per image
  EXPECT_EQ(stat.base().dedup_chunks, 3u);
  EXPECT_EQ(stat.base().dedup_uncomp_size, 3u * 4096);
  const auto& rows = stat.dedup_rows();
  // Threshold 1 and 2: chunks 1 and 2 stored once, chunk 3 once → 3. Threshold 3: chunk 2
  // (two images) is below it and stored twice → 4. From 4 on: every copy → 6.
  EXPECT_EQ(rows[0].dedup_chunks, 3u);
  EXPECT_EQ(rows[1].dedup_chunks, 3u);
  EXPECT_EQ(rows[2].dedup_chunks, 4u);
  EXPECT_EQ(rows[3].dedup_chunks, 6u);
  EXPECT_EQ(rows[19].dedup_chunks, 6u);
  for (const DedupRow& r : rows) EXPECT_EQ(r.raw_chunks, 6u);
  EXPECT_EQ(rows[2].uncomp_base_size, 4096u);       // chunk 1 only
  EXPECT_EQ(rows[2].uncomp_image_size, 3u * 4096);  // chunk 2 twice, chunk 3 once
  EXPECT_EQ(rows[2].comp_content_size, 6u * 2048);
  const std::string r = stat.Report();
  EXPECT_NE(r.find("\n\nChunk Deduplication Statistics:\nGlobal Dedup Thresh:"), std::string::npos);
  // Row 3: "3" padded to 24, then each value as 0x + hex padded to 14.
  std::string row3 = "3" + std::string(23, ' ') + "0x6" + std::string(13, ' ') + "0x4";
  EXPECT_NE(r.find("\n" + row3), std::string::npos) << r;
  EXPECT_EQ(stat.ToJson()["dedup_ratio"].get<double>(), 2.0);
}

TEST(ImageStatTest, TargetIsSplitIntoReferencedAndOwnedChunks) {
  Image base = HandImage({{Chunk(1, 4096), Chunk(2, 8192)}});
  Image target = HandImage({{Chunk(2, 8192), Chunk(4, 4096)}, {Chunk(4, 4096), Chunk(5, 100)}});
  ImageStat stat(/*dedup_enabled=*/false);
  stat.AddBase(base);
  stat.SetTarget(target);
  stat.Finalize();
  const ImageInfo& t = stat.target();
  EXPECT_EQ(t.chunks, 4u);
  EXPECT_EQ(t.ref_chunks, 1u);
  EXPECT_EQ(t.ref_uncomp_size, 8192u);
  EXPECT_EQ(t.ref_comp_size, 4096u);
  EXPECT_EQ(t.own_chunks, 2u);
  EXPECT_EQ(t.own_uncomp_size, 4196u);
  EXPECT_EQ(t.uncomp_size, 8192u + 4096u + 4096u + 100u + (4096u - 100u));
  Json j = stat.ToJson();
  EXPECT_EQ(j["target_enabled"], true);
  EXPECT_EQ(j["target_image"]["ref_chunks"], 1);
  EXPECT_EQ(j["base_image"]["ref_chunks"], 0);
  const std::string r = stat.Report();
  EXPECT_EQ(r.rfind("Target Image Statistics:\n\nDirectories:", 0), 0u) << r;
  EXPECT_NE(r.find("Referenced Chunk Count:\t1\n\n\nBase Image Statistics:"), std::string::npos);
}

TEST(ImageStatTest, ReferenceFixtureV6) {
  NYDUS_REQUIRE_FIXTURE(v6, kV6Boot);
  Image image = LoadImage(v6);
  ImageStat stat(/*dedup_enabled=*/true);
  stat.AddBase(image);
  stat.Finalize();
  Json s = stat.ToJson();
  const Json& base = s["base_image"];
  EXPECT_EQ(base["dirs"], 1);
  EXPECT_EQ(base["files"], 2);
  EXPECT_EQ(base["chunks"], 2);
  EXPECT_EQ(base["file_size"], 16931 + 13400);
  EXPECT_EQ(base["comp_size"], 4828 + 2974);
  EXPECT_EQ(base["padding_size"], (20480 - 16931) + (16384 - 13400));
  EXPECT_EQ(base["uncomp_size"], 20480 + 16384);  // chunk bytes plus 4K padding
  EXPECT_EQ(base["own_chunks"], 2);
  EXPECT_EQ(base["dedup_chunks"], 2);
  EXPECT_EQ(base["file_sizes"][15], 1);      // 16931 has 15 significant bits
  EXPECT_EQ(base["file_sizes"][14], 1);      // 13400 has 14
  EXPECT_EQ(base["chunk_sizes"][0], 5 + 4);  // 4 KiB chunks: ceil(16931/4096) + ceil(13400/4096)
  EXPECT_EQ(s["total_chunks"], 2);
  EXPECT_EQ(s["unique_chunks"], 2);
  EXPECT_DOUBLE_EQ(s["dedup_ratio"].get<double>(), 1.0);
  EXPECT_EQ(s["images"].size(), 1u);
  EXPECT_EQ(s["target_image"]["chunks"], 0);
}

TEST(ImageStatTest, ReferenceFixtureV5TwiceAndHardlinks) {
  NYDUS_REQUIRE_FIXTURE(v5, kV5Sha256);
  Image image = LoadImage(v5);
  ImageStat one(true), two(true);
  one.AddBase(image);
  two.AddBase(image);
  two.AddBase(image);
  one.Finalize();
  two.Finalize();
  Json j1 = one.ToJson(), j2 = two.ToJson();
  uint64_t chunks = j1["total_chunks"];
  uint64_t unique = j1["unique_chunks"];
  EXPECT_GT(chunks, 0u);
  EXPECT_LE(unique, 23u);  // the blob holds 23 chunks
  EXPECT_EQ(j2["total_chunks"], 2 * chunks);
  EXPECT_EQ(j2["unique_chunks"], unique);
  EXPECT_EQ(j2["base_image"]["dedup_chunks"], unique);
  EXPECT_DOUBLE_EQ(j2["dedup_ratio"].get<double>(), 2.0 * chunks / unique);
  EXPECT_EQ(j2["images"][0], j2["images"][1]);
  // Every chunk is in both images: from threshold 3 on, each is counted twice.
  EXPECT_EQ(two.dedup_rows()[1].dedup_chunks, unique);
  EXPECT_EQ(two.dedup_rows()[2].dedup_chunks, 2 * unique);
  // The hardlinked pair /hardlink-test/{foo,test.sh} counts as two files but one chunk set.
  EXPECT_EQ(j1["base_image"]["files"], 23);
  EXPECT_EQ(j1["base_image"]["symlinks"], 7);
  EXPECT_EQ(j1["base_image"]["dirs"], 24);
  // The image as its own target: every chunk is referenced.
  one.SetTarget(image);
  EXPECT_EQ(one.target().ref_chunks, unique);
  EXPECT_EQ(one.target().own_chunks, 0u);
}

}  // namespace
}  // namespace nydus::meta
