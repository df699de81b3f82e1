// NydusdManager without FUSE: what it refuses before starting nydusd, a nydusd that exits at
// once, dropping the state of dead daemons on recovery, and Release; as root, the liveness of
// daemons whose mount is the kernel's EROFS (--erofs-when-cached), with a fake nydusd.
#include "snapshotter/nydusd_manager.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "base/json.h"
#include "converter/mount.h"
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

// A fake nydusd --erofs-when-cached with a complete cache: mounts its --bootstrap (an EROFS
// image) at --mountpoint, answers GET /api/v1/daemon with state RUNNING on --apisock, and
// unmounts and exits on SIGTERM, as nydusd does.
constexpr char kFakeErofsNydusd[] = R"(#!/usr/bin/python3
import http.server, os, signal, socketserver, subprocess, sys
a = sys.argv[1:]
print("args:", " ".join(a), flush=True)
opt = {a[i]: a[i + 1] for i in range(len(a) - 1) if a[i].startswith("--")}
mnt = opt["--mountpoint"]
subprocess.run(["mount", "-t", "erofs", "-o", "ro", opt["--bootstrap"], mnt], check=True)
def term(*_):
    subprocess.run(["umount", mnt], stderr=subprocess.DEVNULL)
    os._exit(0)
signal.signal(signal.SIGTERM, term)
class Api(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"state": "RUNNING"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
socketserver.UnixStreamServer(opt["--apisock"], Api).serve_forever()
)";

class ErofsDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
    if (::access("/usr/bin/mkfs.erofs", X_OK) != 0) GTEST_SKIP() << "mkfs.erofs missing";
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "python3 missing";
    ::mkdir(dir_.Join("src").c_str(), 0755);
    std::ofstream(dir_.Join("src/hello")) << "hello\n";
    const std::string mkfs =
        "mkfs.erofs --quiet " + Boot() + " " + dir_.Join("src") + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(mkfs.c_str()), 0);
    ::mkdir(dir_.Join("probe").c_str(), 0755);
    if (std::system(("mount -t erofs -o ro " + Boot() + " " + dir_.Join("probe")).c_str()) != 0) {
      GTEST_SKIP() << "the kernel cannot mount an EROFS image";
    }
    ASSERT_EQ(std::system(("umount " + dir_.Join("probe")).c_str()), 0);
    std::ofstream(Fake()) << kFakeErofsNydusd;
    ::chmod(Fake().c_str(), 0755);
  }
  void TearDown() override {
    for (pid_t pid : started_) {
      if (ProcessStartTime(pid) != 0) ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, WNOHANG);
    }
    if (!converter::MountedFsType(Mnt()).empty()) ::umount2(Mnt().c_str(), MNT_DETACH);
  }
  std::string Boot() const { return dir_.Join("boot"); }
  std::string Fake() const { return dir_.Join("fake-nydusd"); }
  std::string Mnt() const { return dir_.Join("mnt"); }
  NydusdOptions Opts(bool erofs_when_cached) const {
    NydusdOptions o = Options(dir_.path(), Fake());
    o.erofs_when_cached = erofs_when_cached;
    return o;
  }
  // Ensure for snapshot "7"; returns its pid (also killed in TearDown).
  pid_t EnsureDaemon(NydusdManager& m) {
    Status st = m.Ensure(Meta({{kLabelCriImageRef, "127.0.0.1:1/app:1"}}), Boot(), Mnt());
    EXPECT_TRUE(st.ok()) << st.ToString();
    pid_t pid = m.PidOf("7");
    if (pid > 0) started_.push_back(pid);
    return pid;
  }
  Json State() const {
    std::ifstream in(dir_.Join("daemons/7/state.json"));
    std::string text((std::istreambuf_iterator<char>(in)), {});
    return Json::parse(text, nullptr, /*allow_exceptions=*/false);
  }
  void WriteState(const Json& j) const {
    std::ofstream(dir_.Join("daemons/7/state.json")) << j.dump();
  }

  testing::TempDir dir_;
  std::vector<pid_t> started_;
};

TEST_F(ErofsDaemonTest, ErofsMountOfADaemonStartedWithTheOptionIsAlive) {
  NydusdManager m(Opts(true));
  const pid_t pid = EnsureDaemon(m);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(converter::MountedFsType(Mnt()), "erofs");
  std::ifstream log(dir_.Join("daemons/7/nydusd.log"));
  std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(text.find(" --erofs-when-cached"), std::string::npos) << text;
  EXPECT_EQ(State().value("erofs_when_cached", false), true) << State().dump();
  // Alive: the next container of the image uses it.
  EXPECT_EQ(EnsureDaemon(m), pid);
  // A restarted snapshotter re-attaches, by the state's flag whatever its own option is now.
  NydusdManager again(Opts(false));
  EXPECT_EQ(again.Recover(), std::vector<std::string>{"7"});
  EXPECT_EQ(again.PidOf("7"), pid);
  EXPECT_EQ(EnsureDaemon(again), pid);
  // Release stops it; the kernel mount goes with it.
  ASSERT_OK(again.Release("7"));
  EXPECT_EQ(ProcessStartTime(pid), 0u);
  EXPECT_EQ(converter::MountedFsType(Mnt()), "");
  EXPECT_FALSE(Exists(dir_.Join("daemons/7")));
}

TEST_F(ErofsDaemonTest, ErofsMountIsNoDaemonOfOneStartedWithoutTheOption) {
  NydusdManager m(Opts(true));
  const pid_t pid = EnsureDaemon(m);
  ASSERT_GT(pid, 0);
  // The same process and mount, recorded as started without the option (as by an older
  // snapshotter): an EROFS mount there is not how it serves, so it is not re-attached.
  Json state = State();
  ASSERT_TRUE(state.is_object());
  state.erase("erofs_when_cached");
  WriteState(state);
  NydusdManager again(Opts(true));
  EXPECT_TRUE(again.Recover().empty());
  EXPECT_FALSE(Exists(dir_.Join("daemons/7/state.json")));
  EXPECT_EQ(converter::MountedFsType(Mnt()), "");  // lazily unmounted
  ASSERT_OK(m.Release("7"));                       // stops the process
  EXPECT_EQ(ProcessStartTime(pid), 0u);
}

TEST_F(ErofsDaemonTest, DaemonWhoseErofsMountWentAwayIsReplaced) {
  NydusdManager m(Opts(true));
  const pid_t pid = EnsureDaemon(m);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::umount2(Mnt().c_str(), MNT_DETACH), 0);
  // It still runs and answers its API, but serves nothing: Ensure stops it and starts another.
  const pid_t next = EnsureDaemon(m);
  ASSERT_GT(next, 0);
  EXPECT_NE(next, pid);
  EXPECT_EQ(ProcessStartTime(pid), 0u);
  EXPECT_EQ(converter::MountedFsType(Mnt()), "erofs");
  ASSERT_OK(m.Release("7"));
  EXPECT_EQ(ProcessStartTime(next), 0u);
  EXPECT_EQ(converter::MountedFsType(Mnt()), "");
}

}  // namespace
}  // namespace nydus::snapshotter
