#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <numeric>
#include <vector>

namespace nydus {
namespace {

TEST(ThreadPoolTest, SizeDefaultsToHardware) {
  ThreadPool pool(0);
  EXPECT_GE(pool.size(), 1u);
  ThreadPool three(3);
  EXPECT_EQ(three.size(), 3u);
}

TEST(ThreadPoolTest, ParallelSumWithWait) {
  ThreadPool pool(4);
  std::atomic<uint64_t> sum{0};
  for (uint64_t i = 1; i <= 10000; ++i) {
    pool.Submit([&sum, i] { sum.fetch_add(i, std::memory_order_relaxed); });
  }
  pool.Wait();
  EXPECT_EQ(sum.load(), 10000u * 10001u / 2);
  // The pool is reusable after Wait().
  pool.Submit([&sum] { sum.fetch_add(1); });
  pool.Wait();
  EXPECT_EQ(sum.load(), 10000u * 10001u / 2 + 1);
}

TEST(ThreadPoolTest, WaitWithNothingSubmittedReturns) {
  ThreadPool pool(2);
  pool.Wait();
  SUCCEED();
}

TEST(ThreadPoolTest, WaitCoversRunningTasks) {
  ThreadPool pool(2);
  std::atomic<int> done{0};
  for (int i = 0; i < 4; ++i) {
    pool.Submit([&done] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      done.fetch_add(1);
    });
  }
  pool.Wait();
  EXPECT_EQ(done.load(), 4);
}

TEST(ThreadPoolTest, SingleThreadRunsFifo) {
  ThreadPool pool(1);
  std::vector<int> order;  // only the one worker touches it
  for (int i = 0; i < 100; ++i) pool.Submit([&order, i] { order.push_back(i); });
  pool.Wait();
  std::vector<int> want(100);
  std::iota(want.begin(), want.end(), 0);
  EXPECT_EQ(order, want);
}

TEST(ThreadPoolTest, DestructorRunsQueuedTasks) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(1);
    for (int i = 0; i < 50; ++i) {
      pool.Submit([&ran] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ran.fetch_add(1);
      });
    }
    // No Wait(): most tasks are still queued when the pool is destroyed.
  }
  EXPECT_EQ(ran.load(), 50);
}

TEST(ThreadPoolTest, ParallelForFillsEverySlot) {
  ThreadPool pool(3);
  for (size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{1000}}) {
    std::vector<uint64_t> out(n, 0);
    ParallelFor(pool, n, [&out](size_t i) { out[i] = i * i + 1; });
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], i * i + 1) << "n=" << n << " i=" << i;
  }
}

TEST(ThreadPoolTest, NestedParallelForDoesNotDeadlock) {
  ThreadPool pool(1);  // the only worker runs the outer task and blocks in ParallelFor
  std::atomic<int> sum{0};
  pool.Submit([&] { ParallelFor(pool, 100, [&sum](size_t i) { sum += int(i); }); });
  pool.Wait();
  EXPECT_EQ(sum.load(), 4950);
}

}  // namespace
}  // namespace nydus
