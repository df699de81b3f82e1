#include "base/read_pieces.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace nydus {
namespace {

TEST(ReadPiecesTest, ContiguousPiecesMergeOthersStaySeparate) {
  uint8_t a[16] = {};
  uint8_t b[8] = {};
  ReadPieces p;
  p.Add(a, 4);
  p.Add(a + 4, 4);  // continues the first: merged
  p.Add(b, 8);
  p.Add(a + 12, 0);  // empty: ignored
  p.Add(a + 12, 4);  // a gap after a+8: a new piece
  ASSERT_EQ(p.pieces().size(), 3u);
  EXPECT_EQ(p.pieces()[0].data, a);
  EXPECT_EQ(p.pieces()[0].size, 8u);
  EXPECT_EQ(p.pieces()[1].data, b);
  EXPECT_EQ(p.pieces()[2].data, a + 12);
  EXPECT_EQ(p.total(), 20u);
}

TEST(ReadPiecesTest, KeepHoldsOwnersUntilClear) {
  auto owner = std::make_shared<std::vector<uint8_t>>(64);
  std::weak_ptr<std::vector<uint8_t>> weak = owner;
  ReadPieces p;
  p.Keep(owner);
  p.Keep(owner);  // the same owner again: held once
  p.Add(owner->data(), owner->size());
  owner.reset();
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(weak.use_count(), 1);
  p.Clear();
  EXPECT_TRUE(weak.expired());
  EXPECT_TRUE(p.pieces().empty());
  EXPECT_EQ(p.total(), 0u);
}

// A bounded list: referencing stops with room for one buffer piece, and the buffer's
// consecutive ranges that follow merge into it.
TEST(ReadPiecesTest, BoundedListKeepsRoomForTheBuffer) {
  uint8_t mapped[8][4] = {};
  uint8_t buf[64] = {};
  ReadPieces p(4);
  size_t at = 0;
  for (int i = 0; i < 8; ++i) {
    if (p.CanReference()) {
      p.Add(mapped[i], 2);  // mapped[i] + 2 != mapped[i + 1]: never merges
    } else {
      p.Add(buf + at, 2);
    }
    at += 2;
  }
  ASSERT_EQ(p.pieces().size(), 4u);  // 3 referenced, then the buffer from byte 6 on
  EXPECT_EQ(p.pieces()[2].data, mapped[2]);
  EXPECT_EQ(p.pieces()[3].data, buf + 6);
  EXPECT_EQ(p.pieces()[3].size, 10u);
  EXPECT_EQ(p.total(), 16u);
  EXPECT_FALSE(p.CanReference());
  p.Clear();
  EXPECT_TRUE(p.CanReference());
}

}  // namespace
}  // namespace nydus
