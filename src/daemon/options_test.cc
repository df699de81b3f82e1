#include "daemon/options.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include "testing/test_util.h"

namespace nydus::daemon {
namespace {

TEST(OptionsTest, ParseThreadCount) {
  ASSERT_OK_AND_ASSIGN(uint32_t n, ParseThreadCount("4"));
  EXPECT_EQ(n, 4u);
  ASSERT_OK_AND_ASSIGN(n, ParseThreadCount("1024"));
  EXPECT_EQ(n, 1024u);
  EXPECT_EQ(ParseThreadCount("0").status().message(),
            "invalid thread number 0, valid range: [1-1024]");
  EXPECT_EQ(ParseThreadCount("1025").status().message(),
            "invalid thread number 1025, valid range: [1-1024]");
  EXPECT_EQ(ParseThreadCount("four").status().message(),
            "invalid thread number configuration: four");
  EXPECT_FALSE(ParseThreadCount("").ok());
  EXPECT_FALSE(ParseThreadCount("-1").ok());
  EXPECT_FALSE(ParseThreadCount("4 ").ok());
}

TEST(OptionsTest, LogFilePathAddsLogWithoutExtension) {
  EXPECT_EQ(LogFilePath("nydusd"), "nydusd.log");
  EXPECT_EQ(LogFilePath("/var/log/nydusd"), "/var/log/nydusd.log");
  EXPECT_EQ(LogFilePath("/var/log/nydusd.txt"), "/var/log/nydusd.txt");
  EXPECT_EQ(LogFilePath("logs/a.b.c"), "logs/a.b.c");
  EXPECT_EQ(LogFilePath("/a.d/nydusd"), "/a.d/nydusd.log");  // the dot is in the directory
  EXPECT_EQ(LogFilePath("/var/log/.hidden"), "/var/log/.hidden.log");
}

TEST(OptionsTest, RaiseNofileLimit) {
  struct rlimit before;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  ASSERT_OK_AND_ASSIGN(uint64_t set, RaiseNofileLimit(0));
  EXPECT_EQ(set, 0u);  // 0 leaves the limit alone
  struct rlimit after;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, before.rlim_cur);
  EXPECT_EQ(after.rlim_max, before.rlim_max);

  // Asking for the current soft limit sets soft = hard = that value, which is always allowed.
  ASSERT_OK_AND_ASSIGN(set, RaiseNofileLimit(before.rlim_cur));
  EXPECT_EQ(set, before.rlim_cur);
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, before.rlim_cur);
  EXPECT_EQ(after.rlim_max, before.rlim_cur);
}

}  // namespace
}  // namespace nydus::daemon
