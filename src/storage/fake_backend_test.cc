// MemBackend and FaultyBackend: the fakes must behave as documented, or the tests that
// use them prove nothing.

#include "storage/fake_backend.h"

#include <thread>

#include "testing/test_util.h"

namespace nydus::storage {
namespace {

Bytes Iota(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i);
  return b;
}

TEST(MemBackendTest, OpenReadAndNotFound) {
  MemBackend mem;
  mem.Put("a", Iota(100));
  EXPECT_EQ(mem.Open("b").status().code(), StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(auto r, mem.Open("a"));
  ASSERT_OK_AND_ASSIGN(uint64_t size, r->Size());
  EXPECT_EQ(size, 100u);
  Bytes buf(10);
  ASSERT_OK(r->ReadAt(90, buf));
  EXPECT_EQ(buf[0], 90);
  EXPECT_EQ(r->ReadAt(91, buf).code(), StatusCode::kIOError);
  EXPECT_EQ(mem.reads(), 2u);
  EXPECT_EQ(mem.opens(), 2u);
  mem.Remove("a");
  EXPECT_EQ(mem.Open("a").status().code(), StatusCode::kNotFound);
  ASSERT_OK(r->ReadAt(0, buf));  // an open reader keeps its bytes
}

TEST(FaultyBackendTest, FailNthReadAndFailAll) {
  MemBackend mem;
  mem.Put("a", Iota(100));
  FaultyBackend faulty(&mem);
  faulty.FailNthRead(2, Status::IOError("second"));
  ASSERT_OK_AND_ASSIGN(auto r, faulty.Open("a"));
  Bytes buf(4);
  EXPECT_OK(r->ReadAt(0, buf));
  EXPECT_EQ(r->ReadAt(0, buf).message(), "second");
  EXPECT_OK(r->ReadAt(0, buf));
  faulty.FailAllReads(Status::Unavailable("down"));
  EXPECT_EQ(r->ReadAt(0, buf).code(), StatusCode::kUnavailable);
  faulty.ClearFaults();
  EXPECT_OK(r->ReadAt(0, buf));
  EXPECT_EQ(faulty.reads(), 5u);
  EXPECT_EQ(mem.reads(), 3u);  // failed reads never reached the base
  faulty.FailOpens(Status::PermissionDenied("no"));
  EXPECT_EQ(faulty.Open("a").status().code(), StatusCode::kPermissionDenied);
}

TEST(FaultyBackendTest, TruncateGivesShortReads) {
  MemBackend mem;
  mem.Put("a", Iota(100));
  FaultyBackend faulty(&mem);
  faulty.Truncate("a", 50);
  ASSERT_OK_AND_ASSIGN(auto r, faulty.Open("a"));
  ASSERT_OK_AND_ASSIGN(uint64_t size, r->Size());
  EXPECT_EQ(size, 50u);
  Bytes buf(20, 0xff);
  Status st = r->ReadAt(40, buf);
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_EQ(buf[0], 40);     // the available prefix was read
  EXPECT_EQ(buf[10], 0xff);  // the rest was not
  EXPECT_OK(r->ReadAt(30, std::span(buf).first(20)));
}

TEST(FaultyBackendTest, FlipBitOnlyInCoveringReads) {
  MemBackend mem;
  mem.Put("a", Iota(100));
  FaultyBackend faulty(&mem);
  faulty.FlipBit("a", 10, 7);
  ASSERT_OK_AND_ASSIGN(auto r, faulty.Open("a"));
  Bytes buf(5);
  ASSERT_OK(r->ReadAt(8, buf));
  EXPECT_EQ(buf[2], 10 ^ 0x80);
  EXPECT_EQ(buf[1], 9);
  ASSERT_OK(r->ReadAt(11, buf));
  EXPECT_EQ(buf[0], 11);
}

TEST(FaultyBackendTest, CountedFlipOnlyInTheNextCoveringReads) {
  MemBackend mem;
  mem.Put("a", Iota(100));
  FaultyBackend faulty(&mem);
  faulty.FlipBit("a", 10, 0, /*count=*/2);
  ASSERT_OK_AND_ASSIGN(auto r, faulty.Open("a"));
  Bytes buf(5);
  ASSERT_OK(r->ReadAt(20, buf));  // does not cover byte 10: not counted
  EXPECT_EQ(faulty.flipped_reads(), 0u);
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK(r->ReadAt(8, buf));
    EXPECT_EQ(buf[2], 10 ^ 1);
  }
  ASSERT_OK(r->ReadAt(8, buf));
  EXPECT_EQ(buf[2], 10);
  EXPECT_EQ(faulty.flipped_reads(), 2u);
}

TEST(FaultyBackendTest, HoldAndReleaseReads) {
  MemBackend mem;
  mem.Put("a", Iota(100));
  FaultyBackend faulty(&mem);
  ASSERT_OK_AND_ASSIGN(auto r, faulty.Open("a"));
  faulty.HoldReads();
  Status results[2];
  std::thread t1([&] {
    Bytes b(1);
    results[0] = r->ReadAt(0, b);
  });
  std::thread t2([&] {
    Bytes b(1);
    results[1] = r->ReadAt(1, b);
  });
  EXPECT_TRUE(faulty.WaitForHeldReads(2, 5000));
  EXPECT_EQ(mem.reads(), 0u);
  faulty.ReleaseReads();
  t1.join();
  t2.join();
  EXPECT_OK(results[0]);
  EXPECT_OK(results[1]);
  EXPECT_EQ(mem.reads(), 2u);
  EXPECT_FALSE(faulty.WaitForHeldReads(1, 10));
}

}  // namespace
}  // namespace nydus::storage
