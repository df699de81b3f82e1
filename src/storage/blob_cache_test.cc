// The blob cache through ChunkReader: restart, merging, single fetch under concurrency,
// corrupted and torn cache files, Warm/IsReady. The kill -9 test is in blob_cache_kill_test.cc.

#include "storage/blob_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <tuple>

#include "base/file_util.h"
#include "storage/chunk_reader.h"
#include "storage/fake_backend.h"
#include "storage/storage_test_util.h"
#include "testing/test_util.h"

namespace nydus::storage {
namespace {

using format::Compressor;
using ::nydus::testing::TempDir;
using testing::HandImage;

constexpr uint32_t kChunk = 4096;
constexpr char kBlob[] = "hand-blob-0";

// One file of `chunks` chunks (the last one 100 bytes short).
std::unique_ptr<HandImage> OneFile(size_t chunks, Compressor algo = Compressor::kZstd) {
  return testing::OneFileImage(chunks, kChunk, algo);
}

ChunkReaderOptions CacheOptions(const std::string& dir, bool raw, bool validate,
                                uint64_t merge_size = 128 << 10) {
  ChunkReaderOptions o = testing::Options(validate, /*cache_bytes=*/0);  // no LRU: hit the disk
  o.work_dir = dir;
  o.cache_compressed = raw;
  o.merge_size = merge_size;
  return o;
}

Result<Bytes> ReadAll(ChunkReader& reader, const meta::Inode& ino) {
  Bytes out(ino.size);
  ASSIGN_OR_RETURN(size_t n, reader.ReadFile(ino.chunks, ino.size, 0, out));
  if (n != ino.size) return Status::Internal("short read");
  return out;
}

std::string DataPath(const TempDir& dir, bool raw) {
  return dir.Join(std::string(kBlob) + (raw ? ".blob.raw" : ""));
}

// Offset and size of a chunk in the data file.
std::pair<uint64_t, uint64_t> CacheRange(const meta::ChunkInfo& c, bool raw) {
  return raw ? std::pair<uint64_t, uint64_t>{c.compressed_offset, c.compressed_size}
             : std::pair<uint64_t, uint64_t>{c.uncompressed_offset, c.uncompressed_size};
}

void Overwrite(const std::string& path, uint64_t off, ByteSpan data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY));
  ASSERT_TRUE(fd.valid());
  ASSERT_EQ(::pwrite(fd.get(), data.data(), data.size(), off), static_cast<ssize_t>(data.size()));
}

class BlobCacheLayoutTest : public ::testing::TestWithParam<std::tuple<Compressor, bool>> {};

// A second reader on the same work_dir reads everything without touching the backend.
TEST_P(BlobCacheLayoutTest, SurvivesRestart) {
  auto [algo, raw] = GetParam();
  auto h = OneFile(12, algo);
  MemBackend mem;
  mem.Put(kBlob, h->blob);
  TempDir dir;
  {
    ChunkReader reader(h->image, &mem, CacheOptions(dir.path(), raw, true));
    ASSERT_OK_AND_ASSIGN(Bytes got, ReadAll(reader, h->file(0)));
    EXPECT_EQ(got, h->contents[0]);
    ChunkReader::Stats s = reader.stats();
    EXPECT_EQ(s.backend_reads, 1u);  // 12 chunks of ~4 KiB: one merged request
    EXPECT_EQ(s.backend_bytes, h->blob.size());
    EXPECT_EQ(s.blobcache_chunks_written, 12u);
    EXPECT_EQ(s.blobcache_merged_chunks, 11u);
    EXPECT_EQ(s.blobcache_ready_chunks, 12u);
  }
  uint64_t reads_before = mem.reads();
  ChunkReader again(h->image, &mem, CacheOptions(dir.path(), raw, true));
  for (const auto& c : h->file(0).chunks) EXPECT_TRUE(again.IsReady(c));
  ASSERT_OK_AND_ASSIGN(Bytes got, ReadAll(again, h->file(0)));
  EXPECT_EQ(got, h->contents[0]);
  EXPECT_EQ(mem.reads(), reads_before);
  EXPECT_EQ(again.stats().backend_bytes, 0u);
  EXPECT_EQ(again.stats().blobcache_disk_hits, 12u);
  // The files have the reference names and sizes.
  ASSERT_OK_AND_ASSIGN(Bytes data, ReadWholeFile(DataPath(dir, raw)));
  EXPECT_EQ(data.size(), raw ? h->blob.size() : h->contents[0].size());
  ASSERT_OK_AND_ASSIGN(Bytes map, ReadWholeFile(dir.Join(std::string(kBlob) + ".chunk_map")));
  EXPECT_EQ(map.size(), 4096u + 2);
  EXPECT_EQ(data, raw ? h->blob : h->contents[0]);
}

INSTANTIATE_TEST_SUITE_P(All, BlobCacheLayoutTest,
                         ::testing::Combine(::testing::Values(Compressor::kNone,
                                                              Compressor::kLz4Block,
                                                              Compressor::kGzip, Compressor::kZstd),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(format::CompressorName(std::get<0>(info.param))) +
                                  (std::get<1>(info.param) ? "_raw" : "_uncompressed");
                         });

TEST(BlobCacheTest, MergesAdjacentMissesUpToMergeSize) {
  auto h = OneFile(8, Compressor::kNone);  // stored size == chunk size
  MemBackend mem;
  mem.Put(kBlob, h->blob);
  TempDir dir;
  ChunkReader reader(h->image, &mem, CacheOptions(dir.path(), false, false, 2 * kChunk));
  const meta::Inode& ino = h->file(0);
  // One byte of chunk 0 brings chunk 1 with it (amplification past the requested range).
  Bytes one(1);
  ASSERT_OK_AND_ASSIGN(size_t n, reader.ReadFile(ino.chunks, ino.size, 0, one));
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(mem.reads(), 1u);
  EXPECT_TRUE(reader.IsReady(ino.chunks[1]));
  EXPECT_FALSE(reader.IsReady(ino.chunks[2]));
  // A run stops at a ready chunk: prefetch chunk 5, then read the whole file.
  ASSERT_OK(reader.Warm({ino.chunks[5]}, 1 << 20));
  EXPECT_EQ(mem.reads(), 2u);
  ASSERT_OK_AND_ASSIGN(Bytes got, ReadAll(reader, ino));
  EXPECT_EQ(got, h->contents[0]);
  // [2,3] [4] [6,7]
  EXPECT_EQ(mem.reads(), 5u);
  EXPECT_EQ(reader.stats().backend_bytes, h->blob.size());
}

TEST(BlobCacheTest, WarmFillsWithoutLruAndMerges) {
  auto h = OneFile(40, Compressor::kLz4Block);
  MemBackend mem;
  mem.Put(kBlob, h->blob);
  TempDir dir;
  ChunkReaderOptions opts = CacheOptions(dir.path(), false, true);
  opts.cache_bytes = 64 << 20;
  ChunkReader reader(h->image, &mem, opts);
  const auto& chunks = h->file(0).chunks;
  ASSERT_OK(reader.Warm(chunks, 64 << 10));
  ChunkReader::Stats s = reader.stats();
  EXPECT_EQ(s.cache_bytes, 0u);  // nothing entered the LRU
  EXPECT_EQ(s.blobcache_prefetch_chunks, 40u);
  EXPECT_EQ(s.blobcache_prefetch_bytes, h->blob.size());
  EXPECT_EQ(s.backend_reads, s.blobcache_prefetch_reads);
  EXPECT_LE(s.backend_reads, h->blob.size() / (64 << 10) + 2);
  EXPECT_GE(s.backend_reads, h->blob.size() / (64 << 10));
  for (const auto& c : chunks) EXPECT_TRUE(reader.IsReady(c));
  ASSERT_OK(reader.Warm(chunks, 64 << 10));  // all ready: no request
  EXPECT_EQ(reader.stats().backend_reads, s.backend_reads);
  ASSERT_OK_AND_ASSIGN(Bytes got, ReadAll(reader, h->file(0)));
  EXPECT_EQ(got, h->contents[0]);
  EXPECT_EQ(reader.stats().backend_reads, s.backend_reads);
}

TEST(BlobCacheTest, WarmWithoutCacheIsNotSupported) {
  auto h = OneFile(2);
  MemBackend mem;
  mem.Put(kBlob, h->blob);
  ChunkReader reader(h->image, &mem, testing::Options(false));
  EXPECT_FALSE(reader.has_blob_cache());
  EXPECT_EQ(reader.Warm(h->file(0).chunks, 1 << 20).code(), StatusCode::kNotSupported);
  EXPECT_FALSE(reader.IsReady(h->file(0).chunks[0]));
}

// 16 threads reading the same chunks in different orders: every chunk is fetched once.
TEST(BlobCacheTest, ConcurrentReadersFetchEachChunkOnce) {
  for (bool raw : {false, true}) {
    SCOPED_TRACE(raw);
    auto h = OneFile(64, Compressor::kZstd);
    MemBackend mem;
    mem.Put(kBlob, h->blob);
    TempDir dir;
    ChunkReader reader(h->image, &mem, CacheOptions(dir.path(), raw, true, 4 * kChunk));
    const meta::Inode& ino = h->file(0);
    std::atomic<int> bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
      threads.emplace_back([&, t] {
        for (int round = 0; round < 4; ++round) {
          for (size_t k = 0; k < ino.chunks.size(); ++k) {
            size_t i = (k * (t + 1) * 7 + round) % ino.chunks.size();
            const meta::ChunkInfo& c = ino.chunks[i];
            Bytes out(c.uncompressed_size);
            auto n = reader.ReadFile(ino.chunks, ino.size, c.file_offset, out);
            if (!n.ok() || *n != out.size() ||
                !std::equal(out.begin(), out.end(), h->contents[0].begin() + c.file_offset)) {
              ++bad;
            }
          }
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(bad.load(), 0);
    ChunkReader::Stats s = reader.stats();
    EXPECT_EQ(s.backend_bytes, h->blob.size());  // no chunk fetched twice
    EXPECT_EQ(s.blobcache_chunks_written, 64u);
    EXPECT_LE(mem.reads(), 64u);
  }
}

// Readers arriving while a merged request is held wait for it instead of fetching.
TEST(BlobCacheTest, ReadersJoinAMergedRequestInFlight) {
  auto h = OneFile(8, Compressor::kNone);
  MemBackend mem;
  mem.Put(kBlob, h->blob);
  FaultyBackend faulty(&mem);
  TempDir dir;
  ChunkReader reader(h->image, &faulty, CacheOptions(dir.path(), false, true));
  const meta::Inode& ino = h->file(0);
  faulty.HoldReads();
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  auto read_chunk = [&](size_t i) {
    const meta::ChunkInfo& c = ino.chunks[i];
    Bytes out(c.uncompressed_size);
    auto n = reader.ReadFile(ino.chunks, ino.size, c.file_offset, out);
    if (!n.ok() || !std::equal(out.begin(), out.end(), h->contents[0].begin() + c.file_offset)) {
      ++bad;
    }
  };
  threads.emplace_back(read_chunk, 0);
  ASSERT_TRUE(faulty.WaitForHeldReads(1, 5000));
  for (size_t i = 0; i < 16; ++i) threads.emplace_back(read_chunk, i % 8);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  faulty.ReleaseReads();
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(faulty.reads(), 1u);
}

// With validation on, a corrupted cache file is never served: the chunk is refetched and the
// cache repaired.
TEST(BlobCacheTest, CorruptedCacheFileIsRefetched) {
  for (bool raw : {false, true}) {
    SCOPED_TRACE(raw);
    auto h = OneFile(6, Compressor::kZstd);
    MemBackend mem;
    mem.Put(kBlob, h->blob);
    TempDir dir;
    {
      ChunkReader reader(h->image, &mem, CacheOptions(dir.path(), raw, true));
      ASSERT_OK(ReadAll(reader, h->file(0)).status());
    }
    const meta::ChunkInfo& c = h->file(0).chunks[2];
    auto [off, len] = CacheRange(c, raw);
    Overwrite(DataPath(dir, raw), off + len / 2, Bytes(8, 0x5a));
    uint64_t before = mem.reads();
    {
      ChunkReader reader(h->image, &mem, CacheOptions(dir.path(), raw, true));
      ASSERT_OK_AND_ASSIGN(Bytes got, ReadAll(reader, h->file(0)));
      EXPECT_EQ(got, h->contents[0]);
      EXPECT_EQ(reader.stats().blobcache_disk_bad, 1u);
      EXPECT_EQ(mem.reads(), before + 1);
    }
    ChunkReader reader(h->image, &mem, CacheOptions(dir.path(), raw, true));
    ASSERT_OK_AND_ASSIGN(Bytes got, ReadAll(reader, h->file(0)));
    EXPECT_EQ(got, h->contents[0]);
    EXPECT_EQ(mem.reads(), before + 1);  // repaired in place
  }
}

// A corrupted cache file while the backend is down: an error, never wrong bytes.
TEST(BlobCacheTest, CorruptedCacheAndBackendDownIsAnError) {
  auto h = OneFile(3, Compressor::kLz4Block);
  MemBackend mem;
  mem.Put(kBlob, h->blob);
  FaultyBackend faulty(&mem);
  TempDir dir;
  {
    ChunkReader reader(h->image, &faulty, CacheOptions(dir.path(), false, true));
    ASSERT_OK(ReadAll(reader, h->file(0)).status());
  }
  Overwrite(DataPath(dir, false), h->file(0).chunks[1].uncompressed_offset, Bytes(1, 0));
  faulty.FailAllReads(Status::IOError("backend down"));
  ChunkReader reader(h->image, &faulty, CacheOptions(dir.path(), false, true));
  EXPECT_EQ(ReadAll(reader, h->file(0)).status().code(), StatusCode::kIOError);
  Bytes first(100);
  ASSERT_OK_AND_ASSIGN(size_t n, reader.ReadFile(h->file(0).chunks, h->file(0).size, 0, first));
  EXPECT_EQ(n, 100u);  // chunk 0 is intact and still served
}

// Data written but the bit never set (killed in between): not trusted, fetched again.
TEST(BlobCacheTest, DataWithoutReadyBitIsRefetched) {
  auto h = OneFile(4, Compressor::kNone);
  MemBackend mem;
  mem.Put(kBlob, h->blob);
  TempDir dir;
  {
    ChunkReader reader(h->image, &mem, CacheOptions(dir.path(), false, false, 0));
    Bytes one(1);
    ASSERT_OK(reader.ReadFile(h->file(0).chunks, h->file(0).size, 0, one).status());
  }
  // A torn write of chunk 1: half of it, garbage.
  Overwrite(DataPath(dir, false), h->file(0).chunks[1].uncompressed_offset, Bytes(kChunk / 2, 1));
  ChunkReader reader(h->image, &mem, CacheOptions(dir.path(), false, false, 0));
  EXPECT_TRUE(reader.IsReady(h->file(0).chunks[0]));
  EXPECT_FALSE(reader.IsReady(h->file(0).chunks[1]));
  uint64_t before = mem.reads();
  ASSERT_OK_AND_ASSIGN(Bytes got, ReadAll(reader, h->file(0)));
  EXPECT_EQ(got, h->contents[0]);
  EXPECT_EQ(mem.reads(), before + 3);  // chunks 1..3, chunk 0 from the cache
}

// Bits set but the data file truncated: detected at open (all bits dropped) or, when it
// happens underneath a running reader, by the short read; refetched either way, even
// without validation.
TEST(BlobCacheTest, TruncatedDataFileIsRefetched) {
  for (bool raw : {false, true}) {
    SCOPED_TRACE(raw);
    auto h = OneFile(4, Compressor::kGzip);
    MemBackend mem;
    mem.Put(kBlob, h->blob);
    TempDir dir;
    ChunkReader first(h->image, &mem, CacheOptions(dir.path(), raw, false));
    ASSERT_OK(ReadAll(first, h->file(0)).status());
    // Under the running reader.
    ASSERT_EQ(::truncate(DataPath(dir, raw).c_str(), 10), 0);
    uint64_t before = mem.reads();
    ASSERT_OK_AND_ASSIGN(Bytes got, ReadAll(first, h->file(0)));
    EXPECT_EQ(got, h->contents[0]);
    EXPECT_GT(mem.reads(), before);
    // Before a restart.
    ASSERT_EQ(::truncate(DataPath(dir, raw).c_str(), 10), 0);
    ChunkReader second(h->image, &mem, CacheOptions(dir.path(), raw, false));
    for (const auto& c : h->file(0).chunks) EXPECT_FALSE(second.IsReady(c));
    ASSERT_OK_AND_ASSIGN(got, ReadAll(second, h->file(0)));
    EXPECT_EQ(got, h->contents[0]);
  }
}

// Switching cache.compressed never lets bits of one layout vouch for the other file.
TEST(BlobCacheTest, SwitchingLayoutDropsReadiness) {
  auto h = OneFile(4, Compressor::kZstd);
  MemBackend mem;
  mem.Put(kBlob, h->blob);
  TempDir dir;
  for (bool raw : {false, true, false, true}) {
    ChunkReader reader(h->image, &mem, CacheOptions(dir.path(), raw, false));
    ASSERT_OK_AND_ASSIGN(Bytes got, ReadAll(reader, h->file(0)));
    EXPECT_EQ(got, h->contents[0]);
  }
}

// An unusable work_dir degrades to uncached reads.
TEST(BlobCacheTest, UnusableWorkDirBypassesTheCache) {
  auto h = OneFile(3);
  MemBackend mem;
  mem.Put(kBlob, h->blob);
  ChunkReader reader(h->image, &mem, CacheOptions("/nonexistent/nydus-cache", false, true));
  ASSERT_OK_AND_ASSIGN(Bytes got, ReadAll(reader, h->file(0)));
  EXPECT_EQ(got, h->contents[0]);
  EXPECT_EQ(reader.stats().blobcache_bypassed, 3u);
  EXPECT_FALSE(reader.IsReady(h->file(0).chunks[0]));
}

// A backend error fails the read and marks nothing ready; the next read fetches again.
TEST(BlobCacheTest, FailedFetchMarksNothing) {
  auto h = OneFile(4);
  MemBackend mem;
  mem.Put(kBlob, h->blob);
  FaultyBackend faulty(&mem);
  TempDir dir;
  ChunkReader reader(h->image, &faulty, CacheOptions(dir.path(), false, true));
  faulty.FailNthRead(1, Status::IOError("injected"));
  EXPECT_FALSE(ReadAll(reader, h->file(0)).ok());
  for (const auto& c : h->file(0).chunks) EXPECT_FALSE(reader.IsReady(c));
  // A flipped bit in the backend data fails the digest and is not cached either.
  faulty.FlipBit(kBlob, h->file(0).chunks[0].compressed_offset + 3, 1);
  EXPECT_EQ(ReadAll(reader, h->file(0)).status().code(), StatusCode::kCorruption);
  EXPECT_FALSE(reader.IsReady(h->file(0).chunks[0]));
  faulty.ClearFaults();
  ASSERT_OK_AND_ASSIGN(Bytes got, ReadAll(reader, h->file(0)));
  EXPECT_EQ(got, h->contents[0]);
}

}  // namespace
}  // namespace nydus::storage
