// Label decisions, filters, the TOML config and the nydusd config template.
#include "snapshotter/labels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "snapshotter/config.h"
#include "snapshotter/filters.h"
#include "snapshotter/nydusd_config.h"
#include "testing/test_util.h"

namespace nydus::snapshotter {
namespace {

TEST(Labels, DataLayerOfAnUnpackIsSkipped) {
  Labels l{{kLabelSnapshotRef, "sha256:aa"}, {kLabelNydusDataLayer, "true"}};
  EXPECT_EQ(ChoosePrepareAction(l), PrepareAction::kSkipRemote);
  EXPECT_TRUE(IsNydusDataLayer(l));
  EXPECT_FALSE(IsNydusMetaLayer(l));
}

TEST(Labels, MetaLayerAndOciLayersAreUnpacked) {
  Labels meta{{kLabelSnapshotRef, "sha256:bb"}, {kLabelNydusMetaLayer, "true"}};
  EXPECT_EQ(ChoosePrepareAction(meta), PrepareAction::kNormal);
  Labels oci{{kLabelSnapshotRef, "sha256:cc"}, {kLabelCriLayerDigest, "sha256:dd"}};
  EXPECT_EQ(ChoosePrepareAction(oci), PrepareAction::kNormal);
}

TEST(Labels, DataLabelWithoutUnpackRefIsAnOrdinarySnapshot) {
  // Only an unpack can be answered with "already exists".
  EXPECT_EQ(ChoosePrepareAction({{kLabelNydusDataLayer, "true"}}), PrepareAction::kNormal);
}

TEST(Labels, ImageRefFromCriLabel) {
  ASSERT_OK_AND_ASSIGN(
      auto ref, ImageRefFromLabels({{kLabelCriImageRef, "127.0.0.1:5000/python:bookworm-nydus"}}));
  EXPECT_EQ(ref.host, "127.0.0.1:5000");
  EXPECT_EQ(ref.repo, "python");
  EXPECT_EQ(ref.tag, "bookworm-nydus");
  auto missing = ImageRefFromLabels({});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(kLabelCriImageRef), std::string::npos);
}

TEST(Labels, CredentialsFromLabelsWinOverDockerConfig) {
  testing::TempDir dir;
  const std::string cfg = dir.Join("config.json");
  // base64("docker:pw")
  std::ofstream(cfg) << R"({"auths":{"reg.example:5000":{"auth":"ZG9ja2VyOnB3"}}})";
  ASSERT_OK_AND_ASSIGN(auto ref, converter::ParseImageRef("reg.example:5000/app:1"));
  ASSERT_OK_AND_ASSIGN(auto fromcfg, ImageCredentials({}, ref, cfg));
  EXPECT_EQ(fromcfg.username, "docker");
  EXPECT_EQ(fromcfg.password, "pw");
  Labels l{{kLabelPullUsername, "lab"}, {kLabelPullSecret, "secret"}};
  ASSERT_OK_AND_ASSIGN(auto fromlabels, ImageCredentials(l, ref, cfg));
  EXPECT_EQ(fromlabels.username, "lab");
  EXPECT_EQ(fromlabels.password, "secret");
  ASSERT_OK_AND_ASSIGN(auto other, converter::ParseImageRef("other.example/app:1"));
  ASSERT_OK_AND_ASSIGN(auto none, ImageCredentials({}, other, cfg));
  EXPECT_TRUE(none.empty());
}

SnapshotInfo Info(std::string name, std::string parent, Kind kind, Labels labels) {
  SnapshotInfo i;
  i.name = std::move(name);
  i.parent = std::move(parent);
  i.kind = kind;
  i.labels = std::move(labels);
  return i;
}

TEST(Filters, ContainerdMetadataWalkFilter) {
  // What containerd's metadata store sends after a remote Prepare answered AlreadyExists.
  ASSERT_OK_AND_ASSIGN(
      auto f, Filter::Parse(R"(labels."containerd.io/snapshot.ref"==sha256:abc,parent=="p1")"));
  EXPECT_TRUE(
      f.Match(Info("sha256:abc", "p1", Kind::kCommitted, {{kLabelSnapshotRef, "sha256:abc"}})));
  EXPECT_FALSE(
      f.Match(Info("sha256:abc", "p2", Kind::kCommitted, {{kLabelSnapshotRef, "sha256:abc"}})));
  EXPECT_FALSE(f.Match(Info("sha256:abc", "p1", Kind::kCommitted, {})));
  ASSERT_OK_AND_ASSIGN(
      auto root, Filter::Parse(R"(labels."containerd.io/snapshot.ref"==sha256:abc,parent=="")"));
  EXPECT_TRUE(root.Match(Info("x", "", Kind::kCommitted, {{kLabelSnapshotRef, "sha256:abc"}})));
}

TEST(Filters, OperatorsAndSets) {
  auto s = Info("k8s.io/1/x", "", Kind::kActive, {{"a.b", "v1"}, {"e", ""}});
  auto match = [&](const std::string& expr) {
    auto f = Filter::Parse(expr);
    EXPECT_TRUE(f.ok()) << expr << ": " << f.status().ToString();
    return f.ok() && f->Match(s);
  };
  EXPECT_TRUE(match("kind==active"));
  EXPECT_FALSE(match("kind==committed"));
  EXPECT_TRUE(match("kind!=view"));
  EXPECT_TRUE(match("labels.a.b==v1"));  // unquoted dotted key
  EXPECT_TRUE(match("labels.\"a.b\""));  // presence
  EXPECT_FALSE(match("labels.e"));       // present but empty
  EXPECT_FALSE(match("labels.zz"));
  EXPECT_TRUE(match("name~=^k8s\\.io/"));
  EXPECT_TRUE(match("name~=/[0-9]/"));
  EXPECT_FALSE(match("name~=^default/"));
  EXPECT_FALSE(Filter::Parse("name==\"open").ok());
  EXPECT_FALSE(Filter::Parse("name~=(").ok());
  EXPECT_FALSE(Filter::Parse("==x").ok());

  ASSERT_OK_AND_ASSIGN(auto none, FilterSet::Parse({}));
  EXPECT_TRUE(none.Match(s));
  ASSERT_OK_AND_ASSIGN(auto any, FilterSet::Parse({"kind==view", "name==k8s.io/1/x"}));
  EXPECT_TRUE(any.Match(s));
  ASSERT_OK_AND_ASSIGN(auto neither, FilterSet::Parse({"kind==view", "name==y"}));
  EXPECT_FALSE(neither.Match(s));
}

TEST(Config, TomlKeysOfTheReference) {
  SnapshotterConfig cfg;
  ASSERT_OK(ApplyConfigToml(R"(
version = 1
root = "/r"
address = "/s.sock"
daemon_mode = "dedicated"
[daemon]
nydusd_path = "/bin/nydusd"
nydusd_config = "/etc/n.json"
threads_number = 8
fs_driver = "fusedev"
[log]
level = "debug"
)",
                            &cfg));
  EXPECT_EQ(cfg.root, "/r");
  EXPECT_EQ(cfg.address, "/s.sock");
  EXPECT_EQ(cfg.nydusd_path, "/bin/nydusd");
  EXPECT_EQ(cfg.nydusd_config, "/etc/n.json");
  EXPECT_EQ(cfg.threads_number, 8);
  EXPECT_EQ(cfg.log_level, "debug");
  std::sort(cfg.warnings.begin(), cfg.warnings.end());
  EXPECT_EQ(cfg.warnings, (std::vector<std::string>{"daemon.fs_driver", "daemon_mode"}));
  SnapshotterConfig bad;
  EXPECT_FALSE(ApplyConfigToml("root = 3", &bad).ok());
  EXPECT_FALSE(ApplyConfigToml("[daemon]\nthreads_number = 5000", &bad).ok());
  auto st = ApplyConfigToml("root = \"x", &bad);
  EXPECT_NE(st.message().find("line 1"), std::string::npos) << st.ToString();
}

// Ours, not the reference's: a boolean under [daemon], off by default.
TEST(Config, ErofsWhenCached) {
  SnapshotterConfig cfg;
  EXPECT_FALSE(cfg.erofs_when_cached);
  ASSERT_OK(ApplyConfigToml("[daemon]\nthreads_number = 2\n", &cfg));
  EXPECT_FALSE(cfg.erofs_when_cached);
  ASSERT_OK(ApplyConfigToml("[daemon]\nerofs_when_cached = true\n", &cfg));
  EXPECT_TRUE(cfg.erofs_when_cached);
  EXPECT_TRUE(cfg.warnings.empty());
  ASSERT_OK(ApplyConfigToml("[daemon]\nerofs_when_cached = false\n", &cfg));
  EXPECT_FALSE(cfg.erofs_when_cached);
  for (const char* bad :
       {"[daemon]\nerofs_when_cached = 1\n", "[daemon]\nerofs_when_cached = \"true\"\n"}) {
    SnapshotterConfig c;
    Status st = ApplyConfigToml(bad, &c);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("'daemon.erofs_when_cached' must be a boolean"), std::string::npos)
        << st.ToString();
  }
  // At the top level it is not ours: unsupported, a warning.
  SnapshotterConfig top;
  ASSERT_OK(ApplyConfigToml("erofs_when_cached = true\n", &top));
  EXPECT_FALSE(top.erofs_when_cached);
  EXPECT_EQ(top.warnings, std::vector<std::string>{"erofs_when_cached"});
}

TEST(NydusdConfig, RegistryHostRepoAndCacheFilledIn) {
  ASSERT_OK_AND_ASSIGN(auto ref, converter::ParseImageRef("docker.io/library/python:3"));
  ASSERT_OK_AND_ASSIGN(Json cfg, BuildNydusdConfig(DefaultNydusdConfig(), ref, "/c/7"));
  EXPECT_EQ(cfg["device"]["backend"]["type"], "registry");
  EXPECT_EQ(cfg["device"]["backend"]["config"]["host"], "registry-1.docker.io");
  EXPECT_EQ(cfg["device"]["backend"]["config"]["repo"], "library/python");
  EXPECT_EQ(cfg["device"]["cache"]["config"]["work_dir"], "/c/7");
  EXPECT_FALSE(cfg["device"]["backend"]["config"].contains("auth"));
  EXPECT_EQ(cfg["fs_prefetch"]["enable"], false);

  ASSERT_OK_AND_ASSIGN(Json tmpl, ParseNydusdTemplate(R"({"device":{"backend":{"type":"registry",
      "config":{"scheme":"http","timeout":5}}},"mode":"direct"})"));
  ASSERT_OK_AND_ASSIGN(Json c2, BuildNydusdConfig(tmpl, ref, "/c/8"));
  EXPECT_EQ(c2["device"]["backend"]["config"]["scheme"], "http");
  EXPECT_EQ(c2["device"]["backend"]["config"]["timeout"], 5);
  EXPECT_EQ(c2["device"]["cache"]["type"], "blobcache");

  ASSERT_OK_AND_ASSIGN(
      Json local,
      ParseNydusdTemplate(R"({"device":{"backend":{"type":"localfs","config":{"dir":"/b"}}}})"));
  ASSERT_OK_AND_ASSIGN(Json c3, BuildNydusdConfig(local, ref, "/c/9"));
  EXPECT_FALSE(c3["device"]["backend"]["config"].contains("host"));
  EXPECT_FALSE(ParseNydusdTemplate("[]").ok());
  EXPECT_FALSE(ParseNydusdTemplate(R"({"version":2})").ok());
}

}  // namespace
}  // namespace nydus::snapshotter
