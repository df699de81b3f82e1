// The nydusd launcher and mount table helpers shared by nydusify and the snapshotter, without
// FUSE: a fake nydusd that exits at once shows what it was started with; as root, one that
// mounts an EROFS image shows what LaunchNydusd's wait takes for nydusd's mount.
#include "converter/mount.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "testing/test_util.h"

namespace nydus::converter {
namespace {

TEST(MountTableTest, FsTypeOfMountpoints) {
  EXPECT_EQ(MountedFsType("/proc"), "proc");
  EXPECT_EQ(MountedFsType("/proc/self/.."), "proc");  // resolved before the lookup
  EXPECT_FALSE(IsFuseMount("/proc"));
  testing::TempDir dir;
  EXPECT_EQ(MountedFsType(dir.path()), "");
  bool proc_listed = false;
  for (const auto& m : ListMounts()) proc_listed |= m.mountpoint == "/proc";
  EXPECT_TRUE(proc_listed);
}

TEST(MountTableTest, WhatCountsAsTheMountOfANydusd) {
  EXPECT_TRUE(IsNydusdFsType("fuse.nydusd", false));
  EXPECT_TRUE(IsNydusdFsType("fuse", false));
  EXPECT_TRUE(IsNydusdFsType("fuse.nydusd", true));
  EXPECT_FALSE(IsNydusdFsType("erofs", false));
  EXPECT_TRUE(IsNydusdFsType("erofs", true));
  EXPECT_FALSE(IsNydusdFsType("", true));
  EXPECT_FALSE(IsNydusdFsType("overlay", true));
  EXPECT_FALSE(IsNydusdFsType("erofs.x", true));
  EXPECT_FALSE(IsNydusdMount("/proc", true));
  ASSERT_TRUE(TopMount("/proc").has_value());
  EXPECT_EQ(TopMount("/proc")->fs_type, "proc");
  EXPECT_GT(TopMount("/proc")->id, 0);
  testing::TempDir dir;
  EXPECT_FALSE(TopMount(dir.path()).has_value());
}

// The caller's blocked signals and IMAGE_PULL_AUTH handling do not leak into nydusd.
TEST(LaunchNydusdTest, ExitedNydusdIsUnavailableWithItsLog) {
  testing::TempDir dir;
  const std::string fake = dir.Join("fake-nydusd");
  std::ofstream(fake) << "#!/bin/sh\necho \"args: $*\"\ngrep SigBlk /proc/self/status\n"
                         "echo \"auth=$IMAGE_PULL_AUTH\"\nexit 3\n";
  ::chmod(fake.c_str(), 0755);
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old), 0);
  ::setenv("IMAGE_PULL_AUTH", "inherited", 1);

  NydusdLaunch l;
  l.nydusd = fake;
  l.config_path = dir.Join("cfg.json");
  l.bootstrap = dir.Join("boot");
  l.mountpoint = dir.Join("mnt");
  l.log_file = dir.Join("nydusd.log");
  l.api_socket = dir.Join("api.sock");
  l.fuse_threads = 3;
  l.inherit_pull_auth = false;
  l.timeout_ms = 10000;
  auto pid = LaunchNydusd(l);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_FALSE(pid.ok());
  const std::string& msg = pid.status().message();
  EXPECT_EQ(pid.status().code(), StatusCode::kUnavailable) << msg;
  EXPECT_NE(msg.find("--bootstrap " + l.bootstrap), std::string::npos) << msg;
  EXPECT_NE(msg.find("--apisock " + l.api_socket), std::string::npos) << msg;
  EXPECT_NE(msg.find("--fuse-threads 3"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("--erofs-when-cached"), std::string::npos) << msg;
  EXPECT_NE(msg.find("SigBlk:\t0000000000000000"), std::string::npos) << msg;
  EXPECT_NE(msg.find("auth=\n"), std::string::npos) << msg;  // not inherited

  l.auth = "dXNlcjpwdw==";
  l.erofs_when_cached = true;
  auto again = LaunchNydusd(l);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("auth=dXNlcjpwdw=="), std::string::npos);
  EXPECT_NE(again.status().message().find(" --erofs-when-cached"), std::string::npos);
  ::unsetenv("IMAGE_PULL_AUTH");
  struct stat st;
  ASSERT_EQ(::stat(l.log_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// LaunchNydusd's wait with kernel EROFS mounts (root, mkfs.erofs, an erofs-capable kernel): a
// fake nydusd mounts its --bootstrap, an EROFS image, at --mountpoint as nydusd
// --erofs-when-cached does with a complete cache, and unmounts it on SIGTERM.
class LaunchErofsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
    if (::access("/usr/bin/mkfs.erofs", X_OK) != 0) GTEST_SKIP() << "mkfs.erofs missing";
    ::mkdir(dir_.Join("src").c_str(), 0755);
    std::ofstream(dir_.Join("src/hello")) << "hello\n";
    const std::string mkfs =
        "mkfs.erofs --quiet " + dir_.Join("boot") + " " + dir_.Join("src") + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(mkfs.c_str()), 0);
    ::mkdir(dir_.Join("probe").c_str(), 0755);
    if (Mount(dir_.Join("probe")) != 0) GTEST_SKIP() << "the kernel cannot mount an EROFS image";
    ASSERT_EQ(Unmount(dir_.Join("probe")), 0);
    fake_ = dir_.Join("fake-nydusd");
    std::ofstream(fake_) << R"(#!/bin/sh
echo "args: $*"
while [ $# -gt 0 ]; do
  case $1 in --mountpoint) mnt=$2; shift ;; --bootstrap) boot=$2; shift ;; esac
  shift
done
if [ -z "$NO_MOUNT" ]; then mount -t erofs -o ro "$boot" "$mnt" || exit 1; mounted=1; fi
sleep 600 &
trap 'kill $!; [ -z "$mounted" ] || umount "$mnt"; exit 0' TERM
wait
)";
    ::chmod(fake_.c_str(), 0755);
    l_.nydusd = fake_;
    l_.config_path = dir_.Join("cfg.json");
    l_.bootstrap = dir_.Join("boot");
    l_.mountpoint = dir_.Join("mnt");
    l_.log_file = dir_.Join("nydusd.log");
    l_.timeout_ms = 10000;
  }
  int Mount(const std::string& at) {
    return std::system(("mount -t erofs -o ro " + dir_.Join("boot") + " " + at).c_str());
  }
  int Unmount(const std::string& at) { return std::system(("umount " + at).c_str()); }

  testing::TempDir dir_;
  std::string fake_;
  NydusdLaunch l_;
};

TEST_F(LaunchErofsTest, ErofsMountCountsOnlyWhenAsked) {
  l_.erofs_when_cached = true;
  ASSERT_OK_AND_ASSIGN(pid_t pid, LaunchNydusd(l_));
  EXPECT_EQ(MountedFsType(l_.mountpoint), "erofs");
  std::ifstream hello(l_.mountpoint + "/hello");
  std::string line;
  EXPECT_TRUE(std::getline(hello, line));
  EXPECT_EQ(line, "hello");
  hello.close();
  StopNydusd(pid, l_.mountpoint);  // nydusd takes its kernel mount down on SIGTERM
  EXPECT_EQ(MountedFsType(l_.mountpoint), "");
  EXPECT_NE(LogTail(l_.log_file).find("--erofs-when-cached"), std::string::npos);

  // Without the option an EROFS mount is not nydusd serving: the launch times out, and the
  // daemon is stopped.
  l_.erofs_when_cached = false;
  l_.timeout_ms = 1000;
  auto r = LaunchNydusd(l_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("did not mount"), std::string::npos) << r.status().message();
  EXPECT_EQ(MountedFsType(l_.mountpoint), "");
}

TEST_F(LaunchErofsTest, MountThatWasThereBeforeIsNotTheDaemons) {
  ::mkdir(l_.mountpoint.c_str(), 0755);
  ASSERT_EQ(Mount(l_.mountpoint), 0);
  ::setenv("NO_MOUNT", "1", 1);  // the fake starts and never mounts
  l_.erofs_when_cached = true;
  l_.timeout_ms = 1000;
  auto r = LaunchNydusd(l_);
  ::unsetenv("NO_MOUNT");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("did not mount"), std::string::npos) << r.status().message();
  EXPECT_EQ(MountedFsType(l_.mountpoint), "erofs");  // not the daemon's: left alone
  EXPECT_EQ(Unmount(l_.mountpoint), 0);
}

}  // namespace
}  // namespace nydus::converter
