#include "daemon/daemon.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/file_util.h"
#include "daemon/mount_check.h"
#include "http/http_client.h"
#include "testing/test_util.h"

namespace nydus::daemon {
namespace {

DaemonConfig V1(const std::string& extra_top = "") {
  Result<DaemonConfig> c = ParseConfig(
      R"({"device":{"backend":{"type":"localfs","config":{"dir":"/blobs"}}},"mode":"direct")" +
          extra_top + "}",
      "t");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

meta::Image ImageOfVersion(uint32_t version) {
  meta::Image image;
  image.version = version;
  return image;
}

TEST(DaemonConfigTest, ResolveConfig) {
  DaemonOptions o;
  EXPECT_EQ(ResolveConfig(o).status().message(), "both --config and --localfs-dir are missing");
  o.localfs_dir = "/blobs";
  ASSERT_OK_AND_ASSIGN(DaemonConfig c, ResolveConfig(o));
  EXPECT_EQ(c.format, ConfigFormat::kLocalfsDir);
  o.config_path = "/x.json";
  EXPECT_EQ(ResolveConfig(o).status().code(), StatusCode::kInvalidArgument);
  o.localfs_dir.clear();
  EXPECT_NE(ResolveConfig(o).status().message().find("/x.json"), std::string::npos);
}

TEST(DaemonConfigTest, CheckConfigForImage) {
  const meta::Image v5 = ImageOfVersion(format::kRafsVersionV5);
  const meta::Image v6 = ImageOfVersion(format::kRafsVersionV6);
  EXPECT_OK(CheckConfigForImage(V1(), v6));
  EXPECT_OK(CheckConfigForImage(V1(R"(,"mode":"cached")"), v5));  // cached is fine for v5
  Status st = CheckConfigForImage(V1(R"(,"mode":"cached")"), v6);
  EXPECT_EQ(st.code(), StatusCode::kNotSupported);
  EXPECT_EQ(st.message(), "Rafs v6 does not support cached mode");

  DaemonConfig c = V1();
  c.backend->type = "registry";
  EXPECT_OK(CheckConfigForImage(c, v6));
  c.backend->type = "oss";
  st = CheckConfigForImage(c, v6);
  EXPECT_EQ(st.code(), StatusCode::kNotSupported);
  EXPECT_EQ(st.message(), "backend type 'oss' is not supported (localfs and registry are)");
  c = V1();
  c.cache->type = "fscache";
  EXPECT_EQ(CheckConfigForImage(c, v5).code(), StatusCode::kNotSupported);

  ASSERT_OK_AND_ASSIGN(DaemonConfig v2, ParseConfig(R"({"version":2,"backend":{"type":"localfs",
      "localfs":{"dir":"/b"}},"cache":{}})",
                                                    "t"));
  EXPECT_EQ(CheckConfigForImage(v2, v6).message(), "no configuration information for rafs");
  v2.cache.reset();
  EXPECT_EQ(CheckConfigForImage(v2, v6).message(), "no configuration information for cache");
  v2.backend.reset();
  EXPECT_EQ(CheckConfigForImage(v2, v6).message(), "no configuration information for backend");
}

class DaemonStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mnt_ = dir_.Join("mnt");
    ASSERT_EQ(::mkdir(mnt_.c_str(), 0755), 0);
    config_ = dir_.Join("c.json");
  }
  void WriteConfig(const std::string& blob_dir, const std::string& extra = "") {
    std::string text = R"({"device":{"backend":{"type":"localfs","config":{"dir":")" + blob_dir +
                       R"("}}},"mode":"direct","digest_validate":true)" + extra + "}";
    ASSERT_OK(WriteWholeFile(config_, AsBytes(text)));
  }
  DaemonOptions Opts(const std::string& bootstrap) const {
    DaemonOptions o;
    o.config_path = config_;
    o.mountpoint = mnt_;
    o.bootstrap = bootstrap;
    return o;
  }
  Status StartWith(const std::string& bootstrap) {
    Daemon d(Opts(bootstrap));
    return d.Start();
  }
  testing::TempDir dir_;
  std::string mnt_, config_;
};

TEST_F(DaemonStartTest, RefusesWithAReason) {
  NYDUS_REQUIRE_FIXTURE(boot, "bootstrap/rafs-v6-2.2.boot");
  NYDUS_REQUIRE_FIXTURE(blobs, "blobs");
  ASSERT_OK(WriteWholeFile(config_, AsBytes(R"({"device":{"backend":{"type":"localfs",
      "config":{"dri":"/b"}}},"mode":"direct"})")));
  Status st = StartWith(boot);
  EXPECT_EQ(st.message(), config_ + ": unknown key 'device.backend.config.dri'");

  WriteConfig(blobs);
  st = StartWith(dir_.Join("missing.boot"));
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
  EXPECT_NE(st.message().find("missing.boot"), std::string::npos);

  Result<Bytes> bytes = ReadWholeFile(boot);
  ASSERT_OK(bytes.status());
  bytes->resize(4096);
  ASSERT_OK(WriteWholeFile(dir_.Join("trunc.boot"), *bytes));
  st = StartWith(dir_.Join("trunc.boot"));
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_TRUE(st.message().starts_with("cannot load bootstrap: ")) << st.message();

  WriteConfig(blobs, R"(,"mode":"cached")");
  EXPECT_EQ(StartWith(boot).message(), "Rafs v6 does not support cached mode");

  WriteConfig(blobs);
  ASSERT_EQ(::rmdir(mnt_.c_str()), 0);
  st = StartWith(boot);
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("no such directory"), std::string::npos);
}

// The whole lifecycle on a real FUSE mount: needs root (or fusermount3) and /dev/fuse.
TEST_F(DaemonStartTest, MountsServesAndExitsOnRequest) {
  NYDUS_REQUIRE_FIXTURE(boot, "bootstrap/rafs-v6-2.2.boot");
  NYDUS_REQUIRE_FIXTURE(blobs, "blobs");
  if (::geteuid() != 0 || !CheckFuseDevice().ok()) GTEST_SKIP() << "needs root and /dev/fuse";
  WriteConfig(blobs);
  DaemonOptions o = Opts(boot);
  o.fuse_threads = 2;
  Daemon d(o);
  ASSERT_OK(d.Start());
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> type, MountedFsType(mnt_));
  ASSERT_EQ(type, std::optional<std::string>("fuse"));
  Status run_status = Status::Internal("not run");
  std::thread runner([&] { run_status = d.Run(); });
  Result<Bytes> lib = ReadWholeFile(mnt_ + "/lib.rs");
  EXPECT_OK(lib.status());
  if (lib.ok()) {
    EXPECT_EQ(lib->size(), 16931u);
  }
  d.RequestExit();
  d.RequestExit();  // idempotent
  runner.join();
  EXPECT_OK(run_status);
  ASSERT_OK_AND_ASSIGN(type, MountedFsType(mnt_));
  EXPECT_FALSE(type.has_value());
}

// --erofs-when-cached: FUSE while a chunk is missing; once a full read filled the blob cache,
// the kernel's EROFS mounts the bootstrap over the cache file; the mount goes away on exit,
// and also when the daemon is destroyed without Run().
TEST_F(DaemonStartTest, KernelMountOnceEveryChunkIsCached) {
  NYDUS_REQUIRE_FIXTURE(boot, "bootstrap/rafs-v6-2.2.boot");
  NYDUS_REQUIRE_FIXTURE(blobs, "blobs");
  if (::geteuid() != 0 || !CheckFuseDevice().ok()) GTEST_SKIP() << "needs root and /dev/fuse";
  const std::string cache = dir_.Join("cache");
  ASSERT_OK(WriteWholeFile(
      config_, AsBytes(R"({"device":{"backend":{"type":"localfs","config":{"dir":")" + blobs +
                       R"("}},"cache":{"type":"blobcache","config":{"work_dir":")" + cache +
                       R"("}}},"mode":"direct","digest_validate":false})")));
  DaemonOptions o = Opts(boot);
  o.erofs_when_cached = true;
  Bytes lib;
  {
    Daemon d(o);
    ASSERT_OK(d.Start());
    EXPECT_FALSE(d.kernel_mounted());
    ASSERT_OK_AND_ASSIGN(std::optional<std::string> type, MountedFsType(mnt_));
    ASSERT_EQ(type, std::optional<std::string>("fuse"));
    std::thread runner([&] { EXPECT_OK(d.Run()); });
    for (const auto& e : std::filesystem::recursive_directory_iterator(mnt_)) {
      if (e.is_regular_file() && !e.is_symlink()) EXPECT_OK(ReadWholeFile(e.path()).status());
    }
    ASSERT_OK_AND_ASSIGN(lib, ReadWholeFile(mnt_ + "/lib.rs"));
    d.RequestExit();
    runner.join();
  }
  {
    Daemon d(o);
    ASSERT_OK(d.Start());
    ASSERT_OK_AND_ASSIGN(std::optional<std::string> type, MountedFsType(mnt_));
    if (type == std::optional<std::string>("fuse")) {
      GTEST_SKIP() << "the kernel did not mount a file-backed EROFS (Linux 6.12+ needed)";
    }
    ASSERT_EQ(type, std::optional<std::string>("erofs"));
    EXPECT_TRUE(d.kernel_mounted());
    std::thread runner([&] { EXPECT_OK(d.Run()); });
    ASSERT_OK_AND_ASSIGN(Bytes again, ReadWholeFile(mnt_ + "/lib.rs"));
    EXPECT_EQ(again, lib);
    d.RequestExit();
    runner.join();
    ASSERT_OK_AND_ASSIGN(type, MountedFsType(mnt_));
    EXPECT_FALSE(type.has_value());
  }
  {
    Daemon d(o);
    ASSERT_OK(d.Start());
    EXPECT_TRUE(d.kernel_mounted());
  }  // destroyed without Run()
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> type, MountedFsType(mnt_));
  EXPECT_FALSE(type.has_value());
}

TEST_F(DaemonStartTest, ExitRequestedBeforeStartEndsRunRightAway) {
  NYDUS_REQUIRE_FIXTURE(boot, "bootstrap/rafs-v6-2.2.boot");
  NYDUS_REQUIRE_FIXTURE(blobs, "blobs");
  if (::geteuid() != 0 || !CheckFuseDevice().ok()) GTEST_SKIP() << "needs root and /dev/fuse";
  WriteConfig(blobs);
  DaemonOptions o = Opts(boot);
  Daemon d(o);
  d.RequestExit();
  ASSERT_OK(d.Start());
  EXPECT_OK(d.Run());
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> type, MountedFsType(mnt_));
  EXPECT_FALSE(type.has_value());
}

// The API serves from its own threads as soon as Start() starts it, and its handlers read the
// Vfs without a lock: the Vfs must exist before the API server does. A handler reading vfs_
// while Start() assigned it was a data race (TSan reports it here). The client is a thread
// started before Start(), so that nothing but the daemon orders its requests after Start().
TEST_F(DaemonStartTest, ApiHandlersSeeTheVfs) {
  if (::geteuid() != 0 || !CheckFuseDevice().ok()) GTEST_SKIP() << "needs root and /dev/fuse";
  DaemonOptions o;
  o.mountpoint = mnt_;
  o.apisock = dir_.Join("api.sock");
  o.fuse_threads = 1;
  Daemon d(o);
  std::atomic<bool> started{false};
  std::atomic<int> answered{0};
  std::thread client([&] {
    http::ClientOptions co;
    co.unix_socket = o.apisock;
    co.timeout_sec = 5;
    http::HttpClient http(co);
    http::Request req;
    req.url = "http://localhost/api/v1/metrics?id=/nothing";
    // Until the socket answers (Start() is running), then a few requests more.
    for (int after = 0, i = 0; after < 20 && i < 20000; ++i) {
      if (started.load()) ++after;
      Result<http::Response> r = http.Do(req);
      if (r.ok() && r->status == 404) ++answered;  // reached Vfs::StatsAt: nothing mounted
    }
  });
  Status st = d.Start();
  started = true;
  client.join();
  ASSERT_OK(st);
  EXPECT_GT(answered.load(), 0);
  d.RequestExit();
  EXPECT_OK(d.Run());
}

}  // namespace
}  // namespace nydus::daemon
