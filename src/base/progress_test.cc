#include "base/progress.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>

namespace nydus {
namespace {

TEST(ProgressTest, RenderBarShapes) {
  EXPECT_EQ(RenderBar(0, 10), "[>         ]");
  EXPECT_EQ(RenderBar(0.5, 10), "[=====>    ]");
  EXPECT_EQ(RenderBar(0.99, 10), "[=========>]");
  EXPECT_EQ(RenderBar(1, 10), "[==========]");
  EXPECT_EQ(RenderBar(7, 4), "[====]");        // clamped
  EXPECT_EQ(RenderBar(-1, 4), "[>   ]");       // clamped
  EXPECT_EQ(RenderBar(std::nan(""), 4), "[>   ]");
  EXPECT_EQ(RenderBar(0.5, 0), "[>]");         // width at least 1
}

TEST(ProgressTest, HumanBytesUnits) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(999), "999 B");
  EXPECT_EQ(HumanBytes(1000), "1.00 kB");
  EXPECT_EQ(HumanBytes(17168876), "17.2 MB");
  EXPECT_EQ(HumanBytes(120700000), "121 MB");
  EXPECT_EQ(HumanBytes(1050000000), "1.05 GB");
}

// Test binaries' stderr is not a terminal (ctest captures it): the ticker must stay off and
// never call render again after construction.
TEST(ProgressTest, TickerIsInactiveWithoutTerminal) {
  std::atomic<int> calls{0};
  {
    StatusTicker t([&] {
      ++calls;
      return std::string("x");
    }, std::chrono::milliseconds(1));
    if (t.active()) GTEST_SKIP() << "stderr is a terminal here";
  }
  EXPECT_EQ(calls.load(), 1);
}

}  // namespace
}  // namespace nydus
