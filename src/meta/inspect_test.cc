#include "meta/inspect.h"

#include <gtest/gtest.h>

#include "base/file_util.h"
#include "meta/bootstrap_reader.h"
#include "meta/meta_test_util.h"
#include "testing/test_util.h"

namespace nydus::meta {
namespace {

using namespace nydus::meta::testing;

// The JSON array at the start of a repeatable/*.result file (md5 lines follow it).
Json ParseTreeResult(const std::string& path) {
  auto data = ReadWholeFile(path);
  EXPECT_TRUE(data.ok());
  std::string text(data->begin(), data->end());
  size_t end = text.find("\n]\n");
  EXPECT_NE(end, std::string::npos);
  return Json::parse(text.substr(0, end + 2));
}

class TreeListingTest : public ::testing::TestWithParam<const char*> {};

TEST_P(TreeListingTest, MatchesReferenceResultExactly) {
  NYDUS_REQUIRE_FIXTURE(boot, GetParam());
  NYDUS_REQUIRE_FIXTURE(result, std::string(GetParam()) + ".result");
  Image image = LoadImage(boot);
  ASSERT_NE(image.root, nullptr);
  Json want = ParseTreeResult(result);
  Json got = TreeListing(image);
  EXPECT_EQ(got, want) << "got:\n" << got.dump(1) << "\nwant:\n" << want.dump(1);
  EXPECT_EQ(got.back()["directories"], 26);
  EXPECT_EQ(got.back()["files"], 27);
}

INSTANTIATE_TEST_SUITE_P(Repeatable, TreeListingTest, ::testing::Values(kV5Sha256, kV5Blake3));

TEST(TreeListingTest, OrdersNamesLikeTreeVersionSort) {
  Image image;
  image.root = std::make_unique<Node>();
  image.root->name = "/";
  image.root->inode = std::make_shared<Inode>();
  image.root->inode->mode = S_IFDIR | 0755;
  for (const char* name : {"a10", "a2", "b", "fifo"}) {
    auto n = std::make_unique<Node>();
    n->name = name;
    n->inode = std::make_shared<Inode>();
    n->inode->mode = (std::string(name) == "fifo" ? S_IFIFO : S_IFREG) | 0644;
    image.root->PutChild(std::move(n));
  }
  Json got = TreeListing(image);
  const Json& c = got[0]["contents"];
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0]["name"], "a2");  // version sort: 2 < 10
  EXPECT_EQ(c[1]["name"], "a10");
  EXPECT_EQ(c[3]["type"], "fifo");
  EXPECT_EQ(got[1], (Json{{"type", "report"}, {"directories", 0}, {"files", 4}}));
}

TEST(InspectTest, StatsCountInodesAsTheSuperblock) {
  NYDUS_REQUIRE_FIXTURE(v6, kV6Boot);
  NYDUS_REQUIRE_FIXTURE(v5, kV5Sha256);
  EXPECT_EQ(InspectStats(LoadImage(v6)), (Json{{"inodes_count", 3}}));   // s_inos
  EXPECT_EQ(InspectStats(LoadImage(v5)), (Json{{"inodes_count", 51}}));  // s_inodes_count
}

TEST(InspectTest, StatsOfLegacyDaemonFixture) {
  NYDUS_REQUIRE_FIXTURE(v5, kV5Daemon);
  EXPECT_EQ(InspectStats(LoadImage(v5))["inodes_count"], 16816);
}

TEST(InspectTest, BlobsAndCheckLines) {
  NYDUS_REQUIRE_FIXTURE(v6, kV6Boot);
  NYDUS_REQUIRE_FIXTURE(v5, kV5Sha256);
  Image image = LoadImage(v6);
  Json blobs = InspectBlobs(image);
  Json want = Json::array({Json{{"blob_id", kV6BlobId},
                                {"readahead_offset", 0},
                                {"readahead_size", 0},
                                {"decompressed_size", 36864},
                                {"compressed_size", 14554},
                                {"uncompressed_size", 36864}}});
  EXPECT_EQ(blobs, want);
  EXPECT_EQ(
      FormatBlobTable(image),
      std::string("\t 0: ") + kV6BlobId +
          ", compressed data size 0x1e7a, compressed file size 0x38da, uncompressed file "
          "size 0x9000, chunks: 0x2, features: aligned cap_toc chunk-digest tar-header toc\n");
  EXPECT_EQ(FormatBlobTable(LoadImage(v5)),
            "\t 0: 7334a2594e133cf8ae364189c2276b090fc490c627bcc3fb1077f0419a538e00, compressed "
            "data size 0x358a1e, compressed file size 0x358a1e, uncompressed file size 0x358a1e, "
            "chunks: 0x17, features: \n");
}

TEST(InspectTest, LsAndStatUseNidsForV6) {
  NYDUS_REQUIRE_FIXTURE(v6, kV6Boot);
  Image image = LoadImage(v6);
  ASSERT_OK_AND_ASSIGN(Json ls, InspectLs(image, "/"));
  EXPECT_EQ(ls, Json::parse(R"([{"type":"-","inode":133,"name":"lib.rs"},
                                {"type":"-","inode":136,"name":"sync_io.rs"}])"));
  ASSERT_OK_AND_ASSIGN(Json st, InspectStat(image, "/sync_io.rs"));
  EXPECT_EQ(st["inode_number"], 136);
  EXPECT_EQ(st["name"], "sync_io.rs");
  EXPECT_EQ(st["parent"], 128);
  EXPECT_EQ(st["size"], 13400);
  EXPECT_EQ(st["permissions"], "100644");
  EXPECT_EQ(st["blocks"], 27);
  ASSERT_EQ(st["chunks"].size(), 1u);
  EXPECT_EQ(st["chunks"][0]["chunk_index"], 1);
  EXPECT_EQ(st["chunks"][0]["decompressed_offset"], 20480);
  EXPECT_EQ(st["chunks"][0]["compressed_offset"], 4828);
  EXPECT_EQ(st["chunks"][0]["compressed_size"], 2974);
  EXPECT_EQ(st["chunks"][0]["blob_id"], kV6BlobId);
  EXPECT_EQ(st["chunks"][0]["chunk_id"].get<std::string>().substr(0, 8), "812465bc");
  ASSERT_OK_AND_ASSIGN(Json root, InspectStat(image, "/"));
  EXPECT_EQ(root["inode_number"], 128);
  EXPECT_EQ(root["parent"], 128);

  EXPECT_EQ(InspectStat(image, "/nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(InspectLs(image, "/lib.rs").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(InspectLs(image, "/lib.rs/x").status().code(), StatusCode::kInvalidArgument);
}

TEST(InspectTest, LsUsesStoredInoForV5) {
  NYDUS_REQUIRE_FIXTURE(v5, kV5Sha256);
  Image image = LoadImage(v5);
  ASSERT_OK_AND_ASSIGN(Json ls, InspectLs(image, "/hardlink-test"));
  EXPECT_EQ(ls, Json::parse(R"([{"type":"-","inode":5,"name":"foo"},
                                {"type":"-","inode":5,"name":"test.sh"}])"));
  ASSERT_OK_AND_ASSIGN(Json links, InspectLs(image, "symlink-test"));
  EXPECT_EQ(links[0]["type"], "l");
}

TEST(InspectTest, PrefetchShapes) {
  NYDUS_REQUIRE_FIXTURE(v6, kV6Boot);
  NYDUS_REQUIRE_FIXTURE(v5, kV5Sha256);
  Image a = LoadImage(v5);
  EXPECT_EQ(InspectPrefetch(a), Json::array());
  a.prefetch = {"/", "/hardlink-test/foo"};
  EXPECT_EQ(InspectPrefetch(a), Json::parse(R"([{"inode":1,"path":["/"]},
                                                {"inode":5,"path":["/hardlink-test/foo"]}])"));
  Image b = LoadImage(v6);
  b.prefetch = {"/", "/lib.rs"};
  EXPECT_EQ(InspectPrefetch(b), Json::parse(R"([{"inode":128,"path":[""]},
                                                {"inode":133,"path":["/lib.rs"]}])"));
}

}  // namespace
}  // namespace nydus::meta
