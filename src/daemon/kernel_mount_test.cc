#include "daemon/kernel_mount.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/file_util.h"
#include "daemon/mount_check.h"
#include "testing/test_util.h"

namespace nydus::daemon {
namespace {

// What the daemon's kernel mount loop asks of the mount table.
bool IsMountedAs(const std::string& path, const std::string& type) {
  Result<std::optional<std::string>> t = MountedFsType(path);
  return t.ok() && *t == std::optional<std::string>(type);
}

TEST(KernelMountTest, IsMountedAsReadsTheMountTable) {
  EXPECT_TRUE(IsMountedAs("/proc", "proc"));
  EXPECT_FALSE(IsMountedAs("/proc", "erofs"));
  EXPECT_FALSE(IsMountedAs("/proc/self", "proc"));  // inside a mount, not one
}

// /proc/self/mountinfo escapes blanks in paths (\040); the lookup the daemon uses for its
// kernel mount (MountedFsType) must undo that.
TEST(KernelMountTest, IsMountedAsFindsPathsWithBlanks) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  ::nydus::testing::TempDir dir;
  const std::string mnt = dir.Join("a b\tc");
  ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
  ASSERT_EQ(::mount("t", mnt.c_str(), "tmpfs", 0, nullptr), 0) << strerror(errno);
  EXPECT_TRUE(IsMountedAs(mnt, "tmpfs"));
  ASSERT_OK(UnmountKernel(mnt));
  EXPECT_FALSE(IsMountedAs(mnt, "tmpfs"));
}

TEST(KernelMountTest, MountErrorsNameTheStep) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  ::nydus::testing::TempDir dir;
  const std::string mnt = dir.Join("m");
  ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
  // Not an EROFS image: the kernel refuses at create; nothing is mounted.
  const std::string junk = dir.Join("junk.boot");
  ASSERT_OK(WriteFileAtomically(junk, Bytes(8192, 0)));
  Status st = MountErofsFileBacked(junk, {}, mnt);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("kernel EROFS mount"), std::string::npos) << st.ToString();
  EXPECT_FALSE(IsMountedAs(mnt, "erofs"));
  EXPECT_FALSE(UnmountKernel(mnt).ok());  // nothing there to unmount
}

}  // namespace
}  // namespace nydus::daemon
