#include "daemon/mount_check.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdlib>

#include "base/file_util.h"
#include "testing/test_util.h"

namespace nydus::daemon {
namespace {

TEST(MountCheckTest, Mountpoint) {
  testing::TempDir dir;
  char real[PATH_MAX];
  ASSERT_NE(::realpath(dir.path().c_str(), real), nullptr);
  ASSERT_OK_AND_ASSIGN(std::string canonical, CheckMountpoint(dir.path() + "/."));
  EXPECT_EQ(canonical, real);

  Result<std::string> r = CheckMountpoint(dir.Join("missing"));
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "mountpoint " + dir.Join("missing") + ": no such directory");

  ASSERT_OK(WriteWholeFile(dir.Join("file"), AsBytes("x")));
  r = CheckMountpoint(dir.Join("file"));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("not a directory"), std::string::npos);

  // "/" is always a mount point, hence busy.
  r = CheckMountpoint("/");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("busy"), std::string::npos) << r.status().message();
}

TEST(MountCheckTest, MountedFsType) {
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> root, MountedFsType("/"));
  EXPECT_TRUE(root.has_value());
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> proc, MountedFsType("/proc"));
  ASSERT_TRUE(proc.has_value());
  EXPECT_EQ(*proc, "proc");
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> none, MountedFsType(dir.path()));
  EXPECT_FALSE(none.has_value());
}

}  // namespace
}  // namespace nydus::daemon
