#include "builder/merge.h"

#include <sys/stat.h>

#include "base/file_util.h"
#include "builder/builder.h"
#include "builder/tar_test_util.h"
#include "meta/bootstrap_reader.h"
#include "testing/test_util.h"

namespace nydus::builder {
namespace {

using testutil::DescribeTree;
using testutil::Dir;
using testutil::File;
using testutil::TarEntry;
using testutil::TarOptions;
using testutil::WriteTar;

TEST(MergeTest, BlobIdFromMetaPath) {
  EXPECT_EQ(*BlobIdFromMetaPath("/x/abc.boot"), "abc");
  EXPECT_EQ(*BlobIdFromMetaPath("abc.boot.v6"), "abc");
  EXPECT_EQ(*BlobIdFromMetaPath("/x/deadbeef"), "deadbeef");
  EXPECT_FALSE(BlobIdFromMetaPath("/x/").ok());
}

// Three layers: per-layer bootstraps merged == the chained (--parent-bootstrap) build.
TEST(MergeTest, MergeEqualsChainedBuild) {
  testing::TempDir tmp;
  std::vector<std::vector<TarEntry>> layers = {
      {Dir("./", 0755, 10), Dir("etc", 0755, 11), File("etc/a", std::string(9000, 'a')),
       File("etc/b", "b"), Dir("usr", 0700, 12), Dir("usr/lib", 0755, 13), File("usr/lib/x", "x"),
       Dir("opq", 0755, 14), File("opq/old", "old")},
      {File("etc/.wh.b", ""), File("etc/c", std::string(9000, 'c')), File("usr/lib/y", "y"),
       File("opq/.wh..wh..opq", ""), File("opq/new", "new")},
      {Dir("./", 0755, 30), File("usr/.wh.lib", ""), File("usr/lib2/z", "z"),
       File("etc/a", "replaced")},
  };
  std::vector<std::string> per_layer, blob_ids;
  std::string parent;
  meta::Image chained;
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string tar = tmp.Join("l" + std::to_string(i) + ".tar");
    WriteTar(tar, layers[i]);
    BuildOptions o = TarOptions(tar, tmp.path(), "single" + std::to_string(i));
    o.chunk_size = 0x1000;
    ASSERT_OK(ValidateOptions(o));
    ASSERT_OK_AND_ASSIGN(BuildResult single, Build(o));
    per_layer.push_back(single.bootstrap_path);
    ASSERT_EQ(single.blob_ids.size(), 1u);
    blob_ids.push_back(single.blob_ids[0]);
    o.bootstrap_path = tmp.Join("chain" + std::to_string(i) + ".boot");
    o.parent_bootstrap = parent;
    ASSERT_OK_AND_ASSIGN(BuildResult ch, Build(o));
    parent = ch.bootstrap_path;
    ASSERT_OK_AND_ASSIGN(chained, meta::ReadBootstrapFile(parent));
  }
  MergeOptions m;
  m.sources = per_layer;
  m.bootstrap_path = tmp.Join("merged.boot");
  m.original_blob_ids = blob_ids;
  ASSERT_OK_AND_ASSIGN(MergeResult res, Merge(m));
  ASSERT_OK_AND_ASSIGN(meta::Image merged, meta::ReadBootstrapFile(res.bootstrap_path));
  EXPECT_EQ(DescribeTree(merged), DescribeTree(chained));
  EXPECT_EQ(res.blob_ids, blob_ids);
  // usr/lib2 was implied in layer 3; usr (implied in 2 and 3) kept layer 1's attributes.
  const meta::Node* usr = merged.root->FindChild("usr");
  ASSERT_NE(usr, nullptr);
  EXPECT_EQ(usr->inode->mode, S_IFDIR | 0700u);
  EXPECT_EQ(usr->inode->mtime, 12u);
  EXPECT_EQ(usr->FindChild("lib"), nullptr);
  ASSERT_OK_AND_ASSIGN(Bytes a, ReadWholeFile(res.bootstrap_path));
  ASSERT_OK_AND_ASSIGN(Bytes b, ReadWholeFile(parent));
  EXPECT_TRUE(a == b) << "merged and chained bootstraps differ in bytes";

  // Without --original-blob-ids the ids are the bootstrap file stems (which must then be
  // valid v6 blob ids).
  m.original_blob_ids.reset();
  m.bootstrap_path = tmp.Join("stems.boot");
  auto bad = Merge(m);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().ToString().find("single0"), std::string::npos) << bad.status().ToString();
  std::vector<std::string> renamed;
  for (size_t i = 0; i < per_layer.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(Bytes boot, ReadWholeFile(per_layer[i]));
    renamed.push_back(tmp.Join(std::string(64, static_cast<char>('a' + i)) + ".boot"));
    ASSERT_OK(WriteWholeFile(renamed.back(), boot));
  }
  m.sources = renamed;
  ASSERT_OK_AND_ASSIGN(MergeResult stems, Merge(m));
  EXPECT_EQ(stems.blob_ids, (std::vector<std::string>{std::string(64, 'a'), std::string(64, 'b'),
                                                      std::string(64, 'c')}));
  // --blob-digests replaces the id, --blob-sizes the compressed size.
  m.blob_digests =
      std::vector<std::string>{std::string(64, 'a'), std::string(64, 'b'), std::string(64, 'c')};
  m.blob_sizes = std::vector<uint64_t>{1, 2, 3};
  m.bootstrap_path = tmp.Join("digests.boot");
  ASSERT_OK_AND_ASSIGN(MergeResult dg, Merge(m));
  EXPECT_EQ(dg.image.blobs[1].blob_id, std::string(64, 'b'));
  EXPECT_EQ(dg.image.blobs[2].compressed_size, 3u);
  // Counts must match the sources.
  m.blob_sizes = std::vector<uint64_t>{1};
  EXPECT_FALSE(Merge(m).ok());
}

TEST(MergeTest, ParentBootstrapAndErrors) {
  testing::TempDir tmp;
  WriteTar(tmp.Join("a.tar"), {File("a", "a"), File("gone", "g")});
  WriteTar(tmp.Join("b.tar"), {File(".wh.gone", ""), File("b", "b")});
  std::string b_blob;
  for (const char* n : {"a", "b"}) {
    BuildOptions o = TarOptions(tmp.Join(std::string(n) + ".tar"), tmp.path(), n);
    ASSERT_OK(ValidateOptions(o));
    ASSERT_OK_AND_ASSIGN(BuildResult r, Build(o));
    b_blob = r.blob_ids.at(0);
  }
  MergeOptions m;
  m.original_blob_ids = std::vector<std::string>{b_blob};
  m.parent_bootstrap = tmp.Join("a.boot");
  m.sources = {tmp.Join("b.boot")};
  m.bootstrap_path = tmp.Join("m.boot");
  ASSERT_OK_AND_ASSIGN(MergeResult res, Merge(m));
  EXPECT_EQ(res.image.root->FindChild("gone"), nullptr);
  EXPECT_NE(res.image.root->FindChild("a"), nullptr);
  EXPECT_NE(res.image.root->FindChild("b"), nullptr);
  EXPECT_EQ(res.image.blobs.size(), 2u);
  EXPECT_EQ(res.image.blobs[1].blob_id, b_blob);
  // With a config (blobs accessible) the recorded id is kept, whatever the other lists say.
  m.original_blob_ids = std::vector<std::string>{std::string(64, 'f')};
  m.blob_accessible = true;
  m.bootstrap_path = tmp.Join("m2.boot");
  ASSERT_OK_AND_ASSIGN(MergeResult acc, Merge(m));
  EXPECT_EQ(acc.image.blobs[1].blob_id, b_blob);

  MergeOptions empty;
  empty.bootstrap_path = tmp.Join("x.boot");
  EXPECT_FALSE(Merge(empty).ok());
  MergeOptions incompatible;
  BuildOptions v5 = TarOptions(tmp.Join("a.tar"), tmp.path(), "a5");
  v5.fs_version = 5;
  v5.aligned_chunk = false;
  ASSERT_OK(Build(v5).status());
  incompatible.sources = {tmp.Join("a.boot"), tmp.Join("a5.boot")};
  incompatible.bootstrap_path = tmp.Join("y.boot");
  EXPECT_FALSE(Merge(incompatible).ok());
}

}  // namespace
}  // namespace nydus::builder
