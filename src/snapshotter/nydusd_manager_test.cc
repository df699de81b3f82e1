// NydusdManager without FUSE: what it refuses before starting nydusd, a nydusd that exits at
// once, dropping the state of dead daemons on recovery, and Release.
#include "snapshotter/nydusd_manager.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "snapshotter/nydusd_config.h"
#include "testing/test_util.h"

namespace nydus::snapshotter {
namespace {

NydusdOptions Options(const std::string& root, const std::string& nydusd) {
  NydusdOptions o;
  o.root = root;
  o.nydusd = nydusd;
  o.config_template = DefaultNydusdConfig();
  o.start_timeout_ms = 5000;
  return o;
}

SnapshotInfo Meta(Labels labels) {
  SnapshotInfo m;
  m.id = "7";
  m.name = "k8s.io/5/sha256:meta";
  m.kind = Kind::kCommitted;
  m.labels = std::move(labels);
  return m;
}

bool Exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

TEST(NydusdManager, ProcessStartTime) {
  EXPECT_GT(ProcessStartTime(::getpid()), 0u);
  EXPECT_EQ(ProcessStartTime(0x3fffffff), 0u);
}

TEST(NydusdManager, RefusesWithoutImageRefOrBootstrap) {
  testing::TempDir dir;
  NydusdManager m(Options(dir.path(), "/bin/true"));
  Status st = m.Ensure(Meta({{kLabelNydusMetaLayer, "true"}}), dir.Join("boot"), dir.Join("mnt"));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find(kLabelCriImageRef), std::string::npos);
  st =
      m.Ensure(Meta({{kLabelCriImageRef, "127.0.0.1:1/app:1"}}), dir.Join("boot"), dir.Join("mnt"));
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
  EXPECT_TRUE(m.Known().empty());
}

TEST(NydusdManager, NydusdThatExitsIsAnErrorWithItsLog) {
  testing::TempDir dir;
  const std::string fake = dir.Join("fake-nydusd");
  std::ofstream(fake) << "#!/bin/sh\necho \"fake nydusd: $*\"\nexit 3\n";
  ::chmod(fake.c_str(), 0755);
  std::ofstream(dir.Join("boot")) << "x";
  NydusdManager m(Options(dir.path(), fake));
  Status st =
      m.Ensure(Meta({{kLabelCriImageRef, "127.0.0.1:1/app:1"}}), dir.Join("boot"), dir.Join("mnt"));
  ASSERT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  // The log tail shows the command line it was given.
  EXPECT_NE(st.message().find("--bootstrap " + dir.Join("boot")), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("--apisock " + dir.Join("daemons/7/api.sock")), std::string::npos);
  EXPECT_TRUE(m.Known().empty());
  // The config it wrote names the image's registry and never credentials.
  std::ifstream cfg(dir.Join("daemons/7/config.json"));
  std::string text((std::istreambuf_iterator<char>(cfg)), {});
  EXPECT_NE(text.find("\"host\": \"127.0.0.1:1\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"work_dir\": \"" + dir.Join("cache/7") + "\""), std::string::npos);
  struct stat sb;
  ASSERT_EQ(::stat(dir.Join("daemons/7/config.json").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  ASSERT_OK(m.Release("7"));
  EXPECT_FALSE(Exists(dir.Join("daemons/7")));
  EXPECT_FALSE(Exists(dir.Join("cache/7")));
}

TEST(NydusdManager, RecoverDropsDeadDaemons) {
  testing::TempDir dir;
  ::mkdir(dir.Join("daemons").c_str(), 0755);
  ::mkdir(dir.Join("daemons/3").c_str(), 0755);
  std::ofstream(dir.Join("daemons/3/state.json"))
      << R"({"pid": 1073741823, "start_time": 5, "mountpoint": ")" << dir.Join("mnt")
      << R"(", "api_socket": "/nonexistent.sock", "image": "x/y:z"})";
  NydusdManager m(Options(dir.path(), "/bin/true"));
  EXPECT_TRUE(m.Recover().empty());
  EXPECT_TRUE(m.Known().empty());
  EXPECT_FALSE(Exists(dir.Join("daemons/3/state.json")));
  EXPECT_EQ(m.PidOf("3"), -1);
}

TEST(NydusdManager, RecoverSurvivesStateOfWrongTypes) {
  testing::TempDir dir;
  ::mkdir(dir.Join("daemons").c_str(), 0755);
  ::mkdir(dir.Join("daemons/4").c_str(), 0755);
  std::ofstream(dir.Join("daemons/4/state.json"))
      << R"({"pid": "12", "start_time": -1, "mountpoint": 5, "api_socket": null, "image": []})";
  NydusdManager m(Options(dir.path(), "/bin/true"));
  EXPECT_TRUE(m.Recover().empty());
  EXPECT_FALSE(Exists(dir.Join("daemons/4/state.json")));
}

}  // namespace
}  // namespace nydus::snapshotter
