// The nydusd launcher and mount table helpers shared by nydusify and the snapshotter, without
// FUSE: a fake nydusd that exits at once shows what it was started with.
#include "converter/mount.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

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
  EXPECT_NE(msg.find("SigBlk:\t0000000000000000"), std::string::npos) << msg;
  EXPECT_NE(msg.find("auth=\n"), std::string::npos) << msg;  // not inherited

  l.auth = "dXNlcjpwdw==";
  auto again = LaunchNydusd(l);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("auth=dXNlcjpwdw=="), std::string::npos);
  ::unsetenv("IMAGE_PULL_AUTH");
  struct stat st;
  ASSERT_EQ(::stat(l.log_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace nydus::converter
