// The Snapshotter with a fake nydusd runner: the remote data-layer path, where the nydusd
// mount goes in the overlay, cleanup of the image's daemon, and a restart from disk.
#include "snapshotter/snapshotter.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <set>

#include "testing/test_util.h"

namespace nydus::snapshotter {
namespace {

struct FakeDaemons : DaemonControl {
  struct Log {
    std::vector<std::string> ensured;  // "id bootstrap mountpoint"
    std::vector<std::string> released;
    std::set<std::string> running;
    Status fail;
  };
  explicit FakeDaemons(Log* log) : log(log) {}
  Status Ensure(const SnapshotInfo& meta, const std::string& bootstrap,
                const std::string& mountpoint) override {
    if (!log->fail.ok()) return log->fail;
    log->ensured.push_back(meta.id + " " + bootstrap + " " + mountpoint);
    log->running.insert(meta.id);
    return Status::OK();
  }
  Status Release(const std::string& id) override {
    log->released.push_back(id);
    log->running.erase(id);
    return Status::OK();
  }
  std::vector<std::string> Known() const override {
    return {log->running.begin(), log->running.end()};
  }
  Log* log;
};

class SnapshotterTest : public ::testing::Test {
 protected:
  void Open() {
    sn_.reset();
    auto r = Snapshotter::Open(dir_.path(), std::make_unique<FakeDaemons>(&log_));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    sn_ = std::move(*r);
  }
  void SetUp() override { Open(); }

  // Prepare of an unpack the way containerd's unpacker sends it; commits when it mounts.
  void Unpack(const std::string& chain_id, const std::string& parent, Labels labels,
              bool expect_remote) {
    labels[kLabelSnapshotRef] = chain_id;
    auto m = sn_->Prepare("default/9/extract-" + chain_id, parent, labels);
    if (expect_remote) {
      ASSERT_EQ(m.status().code(), StatusCode::kAlreadyExists) << m.status().ToString();
      return;
    }
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    ASSERT_OK(sn_->Commit(chain_id, "default/9/extract-" + chain_id, labels));
  }
  std::string Fs(const std::string& name) {
    auto s = sn_->Stat(name);
    EXPECT_TRUE(s.ok());
    return sn_->SnapshotDir(s->id) + "/fs";
  }

  testing::TempDir dir_;
  FakeDaemons::Log log_;
  std::unique_ptr<Snapshotter> sn_;
};

TEST_F(SnapshotterTest, PlainOverlaySnapshots) {
  ASSERT_OK_AND_ASSIGN(auto m1, sn_->Prepare("k1", "", {}));
  ASSERT_EQ(m1.size(), 1u);
  EXPECT_EQ(m1[0].type, "bind");
  EXPECT_EQ(m1[0].options, (std::vector<std::string>{"rw", "rbind"}));
  ASSERT_OK(sn_->Commit("l1", "k1", {}));
  ASSERT_OK(sn_->Prepare("k2", "l1", {}).status());
  ASSERT_OK(sn_->Commit("l2", "k2", {}));
  ASSERT_OK_AND_ASSIGN(auto m3, sn_->Prepare("ctr", "l2", {}));
  ASSERT_EQ(m3.size(), 1u);
  EXPECT_EQ(m3[0].type, "overlay");
  ASSERT_OK_AND_ASSIGN(auto ctr, sn_->Stat("ctr"));
  const std::string d = sn_->SnapshotDir(ctr.id);
  EXPECT_EQ(m3[0].options, (std::vector<std::string>{"index=off", "workdir=" + d + "/work",
                                                     "upperdir=" + d + "/fs",
                                                     "lowerdir=" + Fs("l2") + ":" + Fs("l1")}));
  ASSERT_OK_AND_ASSIGN(auto again, sn_->Mounts("ctr"));
  EXPECT_EQ(again[0].options, m3[0].options);
  // Views are read-only: one layer is a bind mount, more an overlay without upper dir.
  ASSERT_OK_AND_ASSIGN(auto v1, sn_->View("v1", "l1", {}));
  EXPECT_EQ(v1[0].type, "bind");
  EXPECT_EQ(v1[0].source, Fs("l1"));
  EXPECT_EQ(v1[0].options, (std::vector<std::string>{"ro", "rbind"}));
  ASSERT_OK_AND_ASSIGN(auto v2, sn_->View("v2", "l2", {}));
  EXPECT_EQ(v2[0].options,
            (std::vector<std::string>{"index=off", "lowerdir=" + Fs("l2") + ":" + Fs("l1")}));
  EXPECT_FALSE(sn_->Mounts("l1").ok());  // committed
  EXPECT_TRUE(log_.ensured.empty());

  // Usage counts the snapshot's own files.
  std::ofstream(Fs("l1") + "/f") << std::string(10000, 'x');
  ASSERT_OK_AND_ASSIGN(auto du, sn_->Usage("l1"));
  EXPECT_GE(du.size, 10000);
  EXPECT_EQ(du.inodes, 2);

  EXPECT_TRUE(sn_->HasChildren("l2"));
  EXPECT_FALSE(sn_->Remove("l2").ok());
  ASSERT_OK(sn_->Remove("ctr"));
  EXPECT_NE(::access(d.c_str(), F_OK), 0);  // its directory is gone
}

TEST_F(SnapshotterTest, NydusImageUsesTheDaemonMount) {
  Labels blob{{kLabelNydusDataLayer, "true"}, {kLabelCriImageRef, "127.0.0.1:5000/py:nydus"}};
  Labels boot{{kLabelNydusMetaLayer, "true"}, {kLabelCriImageRef, "127.0.0.1:5000/py:nydus"}};
  Unpack("sha256:c1", "", blob, /*expect_remote=*/true);
  Unpack("sha256:c2", "sha256:c1", blob, true);
  // The data layers exist as committed snapshots under their chain ids, with the labels
  // containerd's metadata store looks them up by.
  ASSERT_OK_AND_ASSIGN(auto c2, sn_->Stat("sha256:c2"));
  EXPECT_EQ(c2.kind, Kind::kCommitted);
  EXPECT_EQ(c2.parent, "sha256:c1");
  ASSERT_OK_AND_ASSIGN(
      auto found,
      sn_->List({R"(labels."containerd.io/snapshot.ref"==sha256:c2,parent=="sha256:c1")"}));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].name, "sha256:c2");
  // A second unpack of the same layer (another namespace) is answered the same way.
  Unpack("sha256:c2", "sha256:c1", blob, true);

  // The meta layer is unpacked into a plain directory (its parents hold nothing).
  Labels bl = boot;
  bl[kLabelSnapshotRef] = "sha256:c3";
  ASSERT_OK_AND_ASSIGN(auto mm, sn_->Prepare("default/10/extract", "sha256:c2", bl));
  ASSERT_EQ(mm.size(), 1u);
  EXPECT_EQ(mm[0].type, "bind");
  ASSERT_OK(sn_->Commit("sha256:c3", "default/10/extract", bl));
  EXPECT_TRUE(log_.ensured.empty());  // no daemon before a container needs one

  ASSERT_OK_AND_ASSIGN(auto m, sn_->Prepare("default/11/ctr", "sha256:c3", {}));
  ASSERT_OK_AND_ASSIGN(auto meta, sn_->Stat("sha256:c3"));
  const std::string mnt = sn_->NydusMountpoint(meta.id);
  ASSERT_EQ(log_.ensured.size(), 1u);
  EXPECT_EQ(log_.ensured[0], meta.id + " " + sn_->BootstrapPath(meta.id) + " " + mnt);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].type, "overlay");
  EXPECT_EQ(m[0].options.back(), "lowerdir=" + mnt);
  // A layer committed on top (e.g. a container commit) goes above the nydusd mount.
  ASSERT_OK(sn_->Commit("top", "default/11/ctr", {}));
  ASSERT_OK_AND_ASSIGN(auto m2, sn_->Prepare("ctr2", "top", {}));
  EXPECT_EQ(m2[0].options.back(), "lowerdir=" + Fs("top") + ":" + mnt);
  ASSERT_OK_AND_ASSIGN(auto v, sn_->View("view", "sha256:c3", {}));
  EXPECT_EQ(v[0].type, "bind");
  EXPECT_EQ(v[0].source, mnt);

  // Removing the image's snapshots, children first: the meta layer releases its daemon.
  for (const char* k : {"ctr2", "view", "top"}) ASSERT_OK(sn_->Remove(k));
  EXPECT_TRUE(log_.released.empty());
  ASSERT_OK(sn_->Remove("sha256:c3"));
  EXPECT_EQ(log_.released, (std::vector<std::string>{meta.id}));
  ASSERT_OK(sn_->Remove("sha256:c2"));
  ASSERT_OK(sn_->Remove("sha256:c1"));
  EXPECT_EQ(log_.released.size(), 1u);
}

TEST_F(SnapshotterTest, DaemonFailureFailsThePrepareAndLeavesNothing) {
  Labels boot{{kLabelNydusMetaLayer, "true"}};
  Unpack("sha256:m", "", boot, false);
  log_.fail = Status::Unavailable("nydusd exited");
  auto m = sn_->Prepare("ctr", "sha256:m", {});
  EXPECT_EQ(m.status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(sn_->Stat("ctr").ok());
  EXPECT_FALSE(sn_->HasChildren("sha256:m"));
}

TEST_F(SnapshotterTest, StateSurvivesARestartAndCleanupRemovesOrphans) {
  Labels boot{{kLabelNydusMetaLayer, "true"}};
  Unpack("sha256:m", "", boot, false);
  ASSERT_OK(sn_->Prepare("ctr", "sha256:m", {}).status());
  ASSERT_OK_AND_ASSIGN(auto ctr, sn_->Stat("ctr"));
  Open();  // a new process over the same root
  ASSERT_OK_AND_ASSIGN(auto again, sn_->Stat("ctr"));
  EXPECT_EQ(again.id, ctr.id);
  EXPECT_EQ(again.parent, "sha256:m");
  ASSERT_OK_AND_ASSIGN(auto all, sn_->List({}));
  EXPECT_EQ(all.size(), 2u);
  ASSERT_OK(sn_->Mounts("ctr").status());

  // Orphans: a snapshot directory and daemon state nobody owns.
  ::mkdir((dir_.path() + "/snapshots/999").c_str(), 0755);
  log_.running.insert("998");
  ASSERT_OK(sn_->Cleanup());
  EXPECT_NE(::access((dir_.path() + "/snapshots/999").c_str(), F_OK), 0);
  EXPECT_EQ(log_.released, (std::vector<std::string>{"998"}));
  EXPECT_EQ(::access(sn_->SnapshotDir(ctr.id).c_str(), F_OK), 0);
}

TEST_F(SnapshotterTest, UpdateAndFilters) {
  ASSERT_OK(sn_->Prepare("a", "", {{"x", "1"}}).status());
  ASSERT_OK_AND_ASSIGN(auto u, sn_->Update("a", {{"x", "2"}}, {"labels.x"}));
  EXPECT_EQ(u.labels.at("x"), "2");
  ASSERT_OK_AND_ASSIGN(auto l, sn_->List({"labels.x==2"}));
  EXPECT_EQ(l.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto none, sn_->List({"kind==committed"}));
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(sn_->List({"(bad"}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nydus::snapshotter
