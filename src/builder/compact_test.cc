#include "builder/compact.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "base/file_util.h"
#include "builder/tar_test_util.h"
#include "builder/unpack.h"
#include "meta/bootstrap_reader.h"
#include "testing/test_util.h"

namespace nydus::builder {
namespace {

using testutil::TarEntry;
using testutil::TarOptions;
using testutil::WriteTar;

// Regular files with incompressible content (compaction is about stored bytes).
TarEntry F(const std::string& p, std::string data) { return testutil::File(p, std::move(data)); }
using testutil::Noise;

struct Layers {
  testing::TempDir tmp;
  std::string boot;  // top layer's bootstrap
};

// Layer 1: big1, big2, keep; layer 2 deletes big1 and big2 and adds new; layer 3 adds top.
void BuildLayers(Layers* l) {
  const std::vector<std::vector<TarEntry>> layers = {
      {F("big1", Noise(200000, 1)), F("big2", Noise(150000, 2)), F("keep", Noise(5000, 3))},
      {F(".wh.big1", ""), F(".wh.big2", ""), F("new", Noise(30000, 4))},
      {F("top", Noise(1000, 5))}};
  std::string parent;
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string tar = l->tmp.Join("l" + std::to_string(i) + ".tar");
    WriteTar(tar, layers[i]);
    BuildOptions o = TarOptions(tar, l->tmp.path(), "l" + std::to_string(i));
    o.chunk_size = 0x10000;
    o.parent_bootstrap = parent;
    ASSERT_OK_AND_ASSIGN(BuildResult r, Build(o));
    parent = r.bootstrap_path;
  }
  l->boot = parent;
}

std::string TarOf(const Layers& l, const std::string& boot, const std::string& name) {
  UnpackOptions u;
  u.bootstrap_path = boot;
  u.blob_dir = l.tmp.path();
  u.output_path = l.tmp.Join(name);
  EXPECT_OK(Unpack(u).status());
  auto b = ReadWholeFile(u.output_path);
  return b.ok() ? std::string(b->begin(), b->end()) : "";
}

TEST(CompactTest, RebuildsMostlyUnusedBlobAndKeepsTheTree) {
  Layers l;
  ASSERT_NO_FATAL_FAILURE(BuildLayers(&l));
  CompactOptions o;
  o.bootstrap_path = l.boot;
  o.blobs_dir = l.tmp.path();
  o.min_used_ratio = 10;    // layer 1 uses 1%; layer 3 (1000 B + blob meta) ~20%
  o.compact_blob_size = 0;  // no merging
  ASSERT_OK_AND_ASSIGN(CompactResult r, Compact(o));
  ASSERT_TRUE(r.compacted);
  EXPECT_EQ(r.bootstrap_path, l.tmp.path() + "/l2.bootstrap.compact");
  EXPECT_EQ(r.blob_ids.size(), 3u);
  EXPECT_EQ(r.new_blobs.size(), 1u);
  EXPECT_LT(r.blob_bytes_after + 300000, r.blob_bytes_before);
  EXPECT_EQ(TarOf(l, l.boot, "a.tar"), TarOf(l, r.bootstrap_path, "b.tar"));
  ASSERT_OK_AND_ASSIGN(meta::Image img, meta::ReadBootstrapFile(r.bootstrap_path));
  EXPECT_EQ(img.blobs[0].blob_id, r.new_blobs[0]);  // rebuilt blob keeps its slot
}

TEST(CompactTest, MergesSmallBlobs) {
  Layers l;
  ASSERT_NO_FATAL_FAILURE(BuildLayers(&l));
  CompactOptions o;
  o.bootstrap_path = l.boot;
  o.output_bootstrap = l.tmp.Join("out.boot");
  o.blobs_dir = l.tmp.path();
  o.compact_blob_size = 1 << 20;  // every blob is small
  ASSERT_OK_AND_ASSIGN(CompactResult r, Compact(o));
  ASSERT_TRUE(r.compacted);
  EXPECT_EQ(r.blob_ids.size(), 1u);
  EXPECT_EQ(TarOf(l, l.boot, "a.tar"), TarOf(l, r.bootstrap_path, "b.tar"));
}

// A blob that cannot be read while it is rebuilt: Compact fails with the read error and leaves
// neither a temporary blob nor an output bootstrap behind.
TEST(CompactTest, FailedRebuildLeavesNoTemporaryBlob) {
  Layers l;
  ASSERT_NO_FATAL_FAILURE(BuildLayers(&l));
  ASSERT_OK_AND_ASSIGN(meta::Image img, meta::ReadBootstrapFile(l.boot));
  const std::string blob0 = l.tmp.Join(img.blobs[0].blob_id);
  ASSERT_EQ(::truncate(blob0.c_str(), 4096), 0);
  CompactOptions o;
  o.bootstrap_path = l.boot;
  o.blobs_dir = l.tmp.path();
  o.min_used_ratio = 10;
  o.compact_blob_size = 0;
  EXPECT_FALSE(Compact(o).ok());
  for (const auto& e : std::filesystem::directory_iterator(l.tmp.path())) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".compact-"), std::string::npos) << name;
    EXPECT_EQ(name.find(".tmp."), std::string::npos) << name;
  }
  EXPECT_FALSE(std::filesystem::exists(l.tmp.path() + "/l2.bootstrap.compact"));
}

TEST(CompactTest, NothingToDo) {
  Layers l;
  ASSERT_NO_FATAL_FAILURE(BuildLayers(&l));
  CompactOptions o;
  o.bootstrap_path = l.boot;
  o.blobs_dir = l.tmp.path();
  o.compact_blob_size = 0;
  ASSERT_OK_AND_ASSIGN(CompactResult r, Compact(o));
  EXPECT_FALSE(r.compacted);
  o.min_used_ratio = 99;
  o.layers_to_compact = 4;  // only 3 blobs
  ASSERT_OK_AND_ASSIGN(r, Compact(o));
  EXPECT_FALSE(r.compacted);
}

TEST(CompactTest, ParseConfig) {
  CompactOptions o;
  ASSERT_OK(ParseCompactConfig(
      R"({"min_used_ratio": 30, "compact_blob_size": 100, "max_compact_size": 200,
          "layers_to_compact": 2, "blobs_dir": "/b"})",
      &o));
  EXPECT_EQ(o.min_used_ratio, 30u);
  EXPECT_EQ(o.compact_blob_size, 100u);
  EXPECT_EQ(o.max_compact_size, 200u);
  EXPECT_EQ(o.layers_to_compact, 2u);
  EXPECT_EQ(o.blobs_dir, "/b");
  EXPECT_FALSE(ParseCompactConfig(R"({"min_used_ratio": 100})", &o).ok());
  EXPECT_FALSE(ParseCompactConfig("[", &o).ok());
}

}  // namespace
}  // namespace nydus::builder
