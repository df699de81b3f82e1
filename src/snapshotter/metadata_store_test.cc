// MetadataStore: containerd's snapshot rules and the files that survive a restart.
#include "snapshotter/metadata_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "testing/test_util.h"

namespace nydus::snapshotter {
namespace {

TEST(MetadataStore, CreateCommitRemoveAndReload) {
  testing::TempDir dir;
  {
    ASSERT_OK_AND_ASSIGN(auto store, MetadataStore::Open(dir.path()));
    ASSERT_OK_AND_ASSIGN(auto a, store->Create(Kind::kActive, "ns/1/extract", "", {{"x", "1"}}));
    EXPECT_EQ(a.id, "1");
    ASSERT_OK_AND_ASSIGN(auto c, store->Commit("ns/1/extract", "sha256:l1", {{"y", "2"}}));
    EXPECT_EQ(c.id, "1");
    EXPECT_EQ(c.kind, Kind::kCommitted);
    EXPECT_EQ(c.labels, (Labels{{"x", "1"}, {"y", "2"}}));
    EXPECT_EQ(store->Find("ns/1/extract"), nullptr);
    ASSERT_OK_AND_ASSIGN(auto b, store->Create(Kind::kActive, "ctr", "sha256:l1", {}));
    EXPECT_EQ(b.id, "2");
    EXPECT_TRUE(store->HasChildren("sha256:l1"));
    ASSERT_OK_AND_ASSIGN(auto v, store->Create(Kind::kView, "view", "sha256:l1", {}));
    ASSERT_OK(store->Remove("view"));
    struct stat st;
    ASSERT_EQ(::stat(dir.Join("1.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);  // labels may hold pull credentials
  }
  ASSERT_OK_AND_ASSIGN(auto store, MetadataStore::Open(dir.path()));
  ASSERT_OK_AND_ASSIGN(auto l1, store->Get("sha256:l1"));
  EXPECT_EQ(l1.kind, Kind::kCommitted);
  EXPECT_EQ(l1.labels.at("y"), "2");
  ASSERT_OK_AND_ASSIGN(auto ctr, store->Get("ctr"));
  EXPECT_EQ(ctr.parent, "sha256:l1");
  EXPECT_EQ(ctr.kind, Kind::kActive);
  EXPECT_EQ(store->Find("view"), nullptr);
  ASSERT_OK_AND_ASSIGN(auto chain, store->Chain("ctr"));
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[1].name, "sha256:l1");
  // Ids are not reused, even the one of the removed view (3).
  ASSERT_OK_AND_ASSIGN(auto n, store->Create(Kind::kActive, "new", "", {}));
  EXPECT_EQ(n.id, "4");
}

TEST(MetadataStore, ContainerdRules) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, MetadataStore::Open(dir.path()));
  ASSERT_OK(store->Create(Kind::kActive, "a", "", {}).status());
  EXPECT_EQ(store->Create(Kind::kActive, "a", "", {}).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store->Create(Kind::kActive, "b", "nope", {}).status().code(), StatusCode::kNotFound);
  // The parent must be committed.
  EXPECT_EQ(store->Create(Kind::kActive, "b", "a", {}).status().code(),
            StatusCode::kInvalidArgument);
  ASSERT_OK(store->Commit("a", "A", {}).status());
  EXPECT_EQ(store->Commit("A", "A2", {}).status().code(), StatusCode::kInvalidArgument);
  ASSERT_OK(store->Create(Kind::kActive, "b", "A", {}).status());
  EXPECT_EQ(store->Commit("b", "A", {}).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store->Remove("A").code(), StatusCode::kInvalidArgument);  // has a child
  EXPECT_EQ(store->Remove("zz").code(), StatusCode::kNotFound);
  ASSERT_OK(store->Remove("b"));
  ASSERT_OK(store->Remove("A"));
  EXPECT_TRUE(store->List().empty());
}

TEST(MetadataStore, UpdateLabelsByPath) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, MetadataStore::Open(dir.path()));
  ASSERT_OK(store->Create(Kind::kActive, "a", "", {{"k1", "v1"}, {"k2", "v2"}}).status());
  ASSERT_OK_AND_ASSIGN(
      auto u, store->UpdateLabels("a", {{"k1", "n1"}, {"k3", "n3"}}, {"labels.k1", "labels.k2"}));
  EXPECT_EQ(u.labels, (Labels{{"k1", "n1"}}));
  ASSERT_OK_AND_ASSIGN(auto all, store->UpdateLabels("a", {{"z", "1"}}, {}));
  EXPECT_EQ(all.labels, (Labels{{"z", "1"}}));
  EXPECT_FALSE(store->UpdateLabels("a", {}, {"name"}).ok());
}

TEST(MetadataStore, CorruptFilesAreErrors) {
  testing::TempDir dir;
  std::ofstream(dir.Join("5.json")) << "{not json";
  auto r = MetadataStore::Open(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("5.json"), std::string::npos);

  testing::TempDir dir2;
  SnapshotInfo orphan;
  orphan.id = "3";
  orphan.name = "child";
  orphan.parent = "missing";
  orphan.kind = Kind::kActive;
  std::ofstream(dir2.Join("3.json")) << EncodeSnapshotInfo(orphan);
  auto r2 = MetadataStore::Open(dir2.path());
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("missing"), std::string::npos);
}

// Damage that cannot be parsed as a number is an error or ignored, never an exception.
TEST(MetadataStore, DamagedIdsDoNotThrow) {
  testing::TempDir dir;
  std::ofstream(dir.Join("last_id")) << "\n";
  ASSERT_OK_AND_ASSIGN(auto store, MetadataStore::Open(dir.path()));
  ASSERT_OK_AND_ASSIGN(auto a, store->Create(Kind::kActive, "a", "", {}));
  EXPECT_EQ(a.id, "1");

  testing::TempDir dir2;
  SnapshotInfo big;
  big.id = "123456789012345678901234";
  big.name = "big";
  big.kind = Kind::kActive;
  std::ofstream(dir2.Join(big.id + ".json")) << EncodeSnapshotInfo(big);
  auto r = MetadataStore::Open(dir2.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
}

TEST(MetadataStore, EncodeDecodeRoundTrip) {
  SnapshotInfo i;
  i.id = "12";
  i.name = "k8s.io/3/sha256:x";
  i.parent = "sha256:p";
  i.kind = Kind::kView;
  i.labels = {{"containerd.io/snapshot.ref", "sha256:x"}};
  i.created_ns = 1700000000123456789;
  i.updated_ns = 1700000000987654321;
  ASSERT_OK_AND_ASSIGN(auto d, DecodeSnapshotInfo(EncodeSnapshotInfo(i)));
  EXPECT_EQ(d.id, i.id);
  EXPECT_EQ(d.name, i.name);
  EXPECT_EQ(d.parent, i.parent);
  EXPECT_EQ(d.kind, i.kind);
  EXPECT_EQ(d.labels, i.labels);
  EXPECT_EQ(d.created_ns, i.created_ns);
  EXPECT_EQ(d.updated_ns, i.updated_ns);
  EXPECT_FALSE(DecodeSnapshotInfo(R"({"id":"x","name":"a","parent":"","kind":"active",
      "labels":{},"created":1,"updated":1})")
                   .ok());
  EXPECT_FALSE(DecodeSnapshotInfo(R"({"id":"1","name":"a","parent":"","kind":"bogus",
      "labels":{},"created":1,"updated":1})")
                   .ok());
}

}  // namespace
}  // namespace nydus::snapshotter
