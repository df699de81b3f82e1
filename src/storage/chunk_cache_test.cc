// ChunkCache (byte-bounded LRU) and SingleFlight unit tests.

#include "storage/chunk_cache.h"

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "storage/single_flight.h"
#include "testing/test_util.h"

namespace nydus::storage {
namespace {

CachedChunk Chunk(size_t size, uint8_t fill) {
  CachedChunk c;
  c.digest[0] = fill;
  c.data = std::make_shared<const Bytes>(size, fill);
  return c;
}

TEST(ChunkCacheTest, LookupMissThenHit) {
  ChunkCache cache(100);
  EXPECT_EQ(cache.Lookup({0, 1}).data, nullptr);
  cache.Insert({0, 1}, Chunk(10, 1));
  CachedChunk hit = cache.Lookup({0, 1});
  ASSERT_NE(hit.data, nullptr);
  EXPECT_EQ(*hit.data, Bytes(10, 1));
  EXPECT_EQ(hit.digest[0], 1);
  EXPECT_EQ(cache.Lookup({1, 1}).data, nullptr);  // other blob, same index
  EXPECT_EQ(cache.size_bytes(), 10u);
}

TEST(ChunkCacheTest, EvictsLeastRecentlyUsedByBytes) {
  ChunkCache cache(30);
  cache.Insert({0, 0}, Chunk(10, 0));
  cache.Insert({0, 1}, Chunk(10, 1));
  cache.Insert({0, 2}, Chunk(10, 2));
  ASSERT_NE(cache.Lookup({0, 0}).data, nullptr);  // 0 becomes most recent
  cache.Insert({0, 3}, Chunk(15, 3));             // needs 15: evicts 1 and 2
  EXPECT_NE(cache.Lookup({0, 0}).data, nullptr);
  EXPECT_EQ(cache.Lookup({0, 1}).data, nullptr);
  EXPECT_EQ(cache.Lookup({0, 2}).data, nullptr);
  EXPECT_NE(cache.Lookup({0, 3}).data, nullptr);
  EXPECT_EQ(cache.size_bytes(), 25u);
  EXPECT_EQ(cache.entries(), 2u);
  EXPECT_EQ(cache.evictions(), 2u);
}

TEST(ChunkCacheTest, ReplaceAndOversizeAndZeroCapacity) {
  ChunkCache cache(20);
  cache.Insert({0, 0}, Chunk(10, 0));
  cache.Insert({0, 0}, Chunk(5, 9));  // replaces, re-charges
  EXPECT_EQ(cache.size_bytes(), 5u);
  EXPECT_EQ(cache.Lookup({0, 0}).digest[0], 9);
  cache.Insert({0, 1}, Chunk(21, 1));  // larger than the whole cache: not kept
  EXPECT_EQ(cache.Lookup({0, 1}).data, nullptr);
  EXPECT_EQ(cache.size_bytes(), 5u);

  ChunkCache off(0);
  off.Insert({0, 0}, Chunk(1, 0));
  EXPECT_EQ(off.Lookup({0, 0}).data, nullptr);
  EXPECT_EQ(off.entries(), 0u);
}

TEST(ChunkCacheTest, EvictedValueStaysAliveForHolder) {
  ChunkCache cache(10);
  cache.Insert({0, 0}, Chunk(10, 4));
  std::shared_ptr<const Bytes> held = cache.Lookup({0, 0}).data;
  cache.Insert({0, 1}, Chunk(10, 5));
  EXPECT_EQ(cache.Lookup({0, 0}).data, nullptr);
  EXPECT_EQ(*held, Bytes(10, 4));
}

TEST(SingleFlightTest, SequentialCallsEachRun) {
  SingleFlight<int, int> flight;
  int runs = 0;
  EXPECT_EQ(flight.Do(1, [&] { return ++runs; }), 1);
  EXPECT_EQ(flight.Do(1, [&] { return ++runs; }), 2);  // nothing remembered
  EXPECT_EQ(flight.joins(), 0u);
  EXPECT_EQ(flight.in_flight(), 0u);
}

TEST(SingleFlightTest, ConcurrentCallersShareOneRun) {
  SingleFlight<int, int> flight;
  std::atomic<int> runs{0};
  std::atomic<bool> release{false};
  std::vector<int> results(6, -1);
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      results[t] = flight.Do(7, [&] {
        ++runs;
        while (!release.load()) std::this_thread::yield();
        return 42;
      });
    });
  }
  while (flight.joins() < 5) std::this_thread::yield();
  release = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(runs.load(), 1);
  for (int r : results) EXPECT_EQ(r, 42);
}

TEST(SingleFlightTest, ThrowingLeaderDoesNotStrandWaiters) {
  SingleFlight<int, int> flight;
  std::atomic<bool> release{false};
  std::atomic<bool> threw{false};
  int follower_result = -1;
  std::thread leader([&] {
    try {
      flight.Do(3, [&]() -> int {
        while (!release.load()) std::this_thread::yield();
        throw std::runtime_error("boom");
      });
    } catch (const std::runtime_error&) {
      threw = true;
    }
  });
  while (flight.in_flight() == 0) std::this_thread::yield();
  std::thread follower([&] { follower_result = flight.Do(3, [] { return 5; }); });
  while (flight.joins() == 0) std::this_thread::yield();
  release = true;
  leader.join();
  follower.join();
  EXPECT_TRUE(threw.load());
  EXPECT_EQ(follower_result, 5);  // the follower ran fn itself
  EXPECT_EQ(flight.in_flight(), 0u);
}

}  // namespace
}  // namespace nydus::storage
