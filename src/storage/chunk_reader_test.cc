// ChunkReader over hand-made v5-style images served from MemBackend / FaultyBackend.

#include "storage/chunk_reader.h"

#include <chrono>
#include <thread>
#include <tuple>

#include "storage/fake_backend.h"
#include "storage/storage_test_util.h"
#include "testing/test_util.h"

namespace nydus::storage {
namespace {

using format::Compressor;
using format::Digester;
using testing::HandImage;
using ::testing::HasSubstr;
using testing::MakeHandImage;
using testing::PatternBytes;

constexpr uint32_t kChunk = 4096;

// Three files: 2.5 chunks, exactly 2 chunks, 100 bytes.
std::unique_ptr<HandImage> ThreeFiles(Compressor algo = Compressor::kZstd,
                                      Digester digester = Digester::kBlake3) {
  return MakeHandImage(
      {PatternBytes(kChunk * 5 / 2, 1), PatternBytes(kChunk * 2, 2), PatternBytes(100, 3)}, kChunk,
      algo, digester);
}

Bytes Slice(const Bytes& b, uint64_t off, uint64_t len) {
  return Bytes(b.begin() + off, b.begin() + off + len);
}

// Polls `pred` for up to 5 s.
template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 5000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pred();
}

// Joins `threads` on scope exit, opening `gate` first, so that a failed ASSERT in the test
// body cannot leave threads blocked or unjoined.
class JoinOnExit {
 public:
  JoinOnExit(FaultyBackend* gate, std::vector<std::thread>* threads)
      : gate_(gate), threads_(threads) {}
  ~JoinOnExit() {
    gate_->ReleaseReads();
    for (auto& t : *threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  FaultyBackend* gate_;
  std::vector<std::thread>* threads_;
};

class ChunkReaderCompressorTest
    : public ::testing::TestWithParam<std::tuple<Compressor, Digester>> {};

TEST_P(ChunkReaderCompressorTest, ReadsFilesBackExactly) {
  auto [algo, digester] = GetParam();
  auto h = ThreeFiles(algo, digester);
  bool any_compressed = false;
  for (size_t f = 0; f < 3; ++f) {
    for (const auto& c : h->file(f).chunks) any_compressed |= c.compressed();
  }
  EXPECT_EQ(any_compressed, algo != Compressor::kNone);
  MemBackend mem;
  mem.Put("hand-blob-0", h->blob);
  ChunkReader reader(h->image, &mem, testing::Options(true));
  for (size_t f = 0; f < 3; ++f) {
    const meta::Inode& ino = h->file(f);
    Bytes out(ino.size + 10, 0xee);
    ASSERT_OK_AND_ASSIGN(size_t n, reader.ReadFile(ino.chunks, ino.size, 0, out));
    EXPECT_EQ(n, ino.size);
    EXPECT_EQ(Slice(out, 0, n), h->contents[f]);
    EXPECT_EQ(out[n], 0xee);  // nothing written past EOF
  }
  EXPECT_EQ(reader.stats().backend_reads, 6u);  // 3 + 2 + 1 chunks
}

INSTANTIATE_TEST_SUITE_P(
    All, ChunkReaderCompressorTest,
    ::testing::Combine(::testing::Values(Compressor::kNone, Compressor::kLz4Block,
                                         Compressor::kGzip, Compressor::kZstd),
                       ::testing::Values(Digester::kBlake3, Digester::kSha256)),
    [](const auto& info) {
      return std::string(format::CompressorName(std::get<0>(info.param))) + "_" +
             format::DigesterName(std::get<1>(info.param));
    });

TEST(ChunkReaderTest, ReadFileBoundaries) {
  auto h = ThreeFiles(Compressor::kLz4Block);
  MemBackend mem;
  mem.Put("hand-blob-0", h->blob);
  ChunkReader reader(h->image, &mem, testing::Options(true));
  const meta::Inode& ino = h->file(0);  // 10240 bytes in chunks of 4096, 4096, 2048
  const Bytes& want = h->contents[0];
  struct Case {
    uint64_t off, len, expect;
  } cases[] = {
      {100, 200, 200},            // inside the first chunk
      {4000, 200, 200},           // across the first border
      {4096, 4096, 4096},         // exactly the second chunk
      {4095, 4098, 4098},         // one byte of chunk 0, all of 1, one of 2
      {0, 10240, 10240},          // whole file
      {10000, 1000, 240},         // clamped at EOF
      {10239, 5, 1},              // last byte
      {10240, 10, 0},             // at EOF
      {20000, 10, 0},             // past EOF
      {5000, 0, 0},               // empty buffer
      {~uint64_t{0} - 3, 10, 0},  // huge offset
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "off=" << c.off << " len=" << c.len);
    Bytes out(c.len);
    ASSERT_OK_AND_ASSIGN(size_t n, reader.ReadFile(ino.chunks, ino.size, c.off, out));
    ASSERT_EQ(n, c.expect);
    if (n > 0) {
      EXPECT_EQ(Slice(out, 0, n), Slice(want, c.off, n));
    }
  }
  Bytes out(10);
  ASSERT_OK_AND_ASSIGN(size_t n, reader.ReadFile({}, 0, 0, out));  // empty file
  EXPECT_EQ(n, 0u);
}

TEST(ChunkReaderTest, MissingChunkInRangeIsCorruption) {
  auto h = ThreeFiles();
  MemBackend mem;
  mem.Put("hand-blob-0", h->blob);
  ChunkReader reader(h->image, &mem, {});
  const meta::Inode& ino = h->file(0);
  std::vector<meta::ChunkInfo> hole = {ino.chunks[0], ino.chunks[2]};
  Bytes out(ino.size);
  auto r = reader.ReadFile(hole, ino.size, 0, out);
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(r.status().message(), HasSubstr("file offset 4096"));
  // A range inside the first chunk does not need the missing one.
  ASSERT_OK_AND_ASSIGN(size_t n, reader.ReadFile(hole, ino.size, 0, std::span(out).first(4096)));
  EXPECT_EQ(n, 4096u);
  // Chunks that end before the file does.
  std::vector<meta::ChunkInfo> short_list = {ino.chunks[0], ino.chunks[1]};
  EXPECT_EQ(reader.ReadFile(short_list, ino.size, 8000, out).status().code(),
            StatusCode::kCorruption);
  // No chunks at all for a non-empty file.
  EXPECT_EQ(reader.ReadFile({}, 10, 0, out).status().code(), StatusCode::kCorruption);
}

TEST(ChunkReaderTest, LruEvictsLeastRecentlyUsed) {
  auto h =
      MakeHandImage({PatternBytes(kChunk * 4, 7)}, kChunk, Compressor::kZstd, Digester::kBlake3);
  MemBackend mem;
  mem.Put("hand-blob-0", h->blob);
  ChunkReader reader(h->image, &mem, testing::Options(false, 2 * kChunk));
  const auto& c = h->file(0).chunks;
  auto read = [&](int i) {
    auto r = reader.ReadChunk(c[i]);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(**r, Slice(h->contents[0], i * kChunk, kChunk));
  };
  read(0);
  read(1);
  EXPECT_EQ(mem.reads(), 2u);
  read(0);  // hit; chunk 0 becomes most recent
  EXPECT_EQ(mem.reads(), 2u);
  read(2);  // evicts chunk 1
  EXPECT_EQ(mem.reads(), 3u);
  read(0);  // still cached
  EXPECT_EQ(mem.reads(), 3u);
  read(1);  // was evicted
  EXPECT_EQ(mem.reads(), 4u);
  ChunkReader::Stats s = reader.stats();
  EXPECT_EQ(s.cache_hits, 2u);
  EXPECT_EQ(s.cache_misses, 4u);
  EXPECT_EQ(s.backend_reads, 4u);
  EXPECT_EQ(s.cache_evictions, 2u);
  EXPECT_LE(s.cache_bytes, 2u * kChunk);
}

TEST(ChunkReaderTest, ZeroCacheReadsBackendEveryTime) {
  auto h = ThreeFiles();
  MemBackend mem;
  mem.Put("hand-blob-0", h->blob);
  ChunkReader reader(h->image, &mem, testing::Options(false, 0));
  for (int i = 0; i < 3; ++i) ASSERT_OK(reader.ReadChunk(h->file(2).chunks[0]).status());
  EXPECT_EQ(mem.reads(), 3u);
  EXPECT_EQ(reader.stats().cache_bytes, 0u);
}

TEST(ChunkReaderTest, ConcurrentMissesShareOneBackendRead) {
  auto h = ThreeFiles();
  MemBackend mem;
  mem.Put("hand-blob-0", h->blob);
  FaultyBackend faulty(&mem);
  ChunkReader reader(h->image, &faulty, testing::Options(true));
  const meta::ChunkInfo& chunk = h->file(0).chunks[1];

  faulty.HoldReads();
  std::vector<std::shared_ptr<const Bytes>> got(8);
  std::vector<std::thread> threads;
  JoinOnExit join(&faulty, &threads);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto r = reader.ReadChunk(chunk);
      if (r.ok()) got[t] = *r;
    });
  }
  ASSERT_TRUE(faulty.WaitForHeldReads(1, 5000));
  ASSERT_TRUE(Eventually([&] { return reader.stats().coalesced == 7; }));
  EXPECT_FALSE(faulty.WaitForHeldReads(2, 50));  // the others wait on the first
  faulty.ReleaseReads();
  for (auto& th : threads) th.join();

  EXPECT_EQ(faulty.reads(), 1u);
  for (int t = 0; t < 8; ++t) {
    ASSERT_NE(got[t], nullptr) << "thread " << t;
    EXPECT_EQ(got[t].get(), got[0].get());
  }
  EXPECT_EQ(*got[0], Slice(h->contents[0], kChunk, kChunk));
}

TEST(ChunkReaderTest, SharedFailureReachesAllWaitersAndIsNotCached) {
  auto h = ThreeFiles();
  MemBackend mem;
  mem.Put("hand-blob-0", h->blob);
  FaultyBackend faulty(&mem);
  faulty.FailNthRead(1, Status::IOError("injected failure"));
  ChunkReader reader(h->image, &faulty, {});
  const meta::ChunkInfo& chunk = h->file(1).chunks[0];

  faulty.HoldReads();
  std::vector<Status> results(8);
  std::vector<std::thread> threads;
  JoinOnExit join(&faulty, &threads);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] { results[t] = reader.ReadChunk(chunk).status(); });
  }
  ASSERT_TRUE(faulty.WaitForHeldReads(1, 5000));
  ASSERT_TRUE(Eventually([&] { return reader.stats().coalesced == 7; }));
  faulty.ReleaseReads();
  for (auto& th : threads) th.join();
  for (const Status& st : results) {
    EXPECT_EQ(st.code(), StatusCode::kIOError);
    EXPECT_THAT(st.message(), HasSubstr("injected failure"));
    EXPECT_THAT(st.message(), HasSubstr("blob hand-blob-0 chunk " + std::to_string(chunk.index)));
  }
  EXPECT_EQ(reader.stats().errors, 1u);

  ASSERT_OK_AND_ASSIGN(auto data, reader.ReadChunk(chunk));  // retried, now succeeds
  EXPECT_EQ(*data, Slice(h->contents[1], 0, kChunk));
  EXPECT_EQ(faulty.reads(), 2u);
}

TEST(ChunkReaderTest, DigestMismatchIsCorruptionNamingBlobAndChunk) {
  auto h = ThreeFiles(Compressor::kNone, Digester::kSha256);
  MemBackend mem;
  mem.Put("hand-blob-0", h->blob);
  FaultyBackend faulty(&mem);
  const meta::ChunkInfo& chunk = h->file(0).chunks[2];
  faulty.FlipBit("hand-blob-0", chunk.compressed_offset + 17, 3);

  ChunkReader checked(h->image, &faulty, testing::Options(true));
  auto r = checked.ReadChunk(chunk);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(r.status().message(), HasSubstr("blob hand-blob-0 chunk 2: digest mismatch"));
  ASSERT_OK(checked.ReadChunk(h->file(0).chunks[1]).status());  // neighbours are fine

  // Without validation the flipped bit goes through: the check is what catches it.
  ChunkReader plain(h->image, &faulty, testing::Options(false));
  ASSERT_OK_AND_ASSIGN(auto data, plain.ReadChunk(chunk));
  Bytes want = Slice(h->contents[0], 2 * kChunk, chunk.uncompressed_size);
  want[17] ^= 1 << 3;
  EXPECT_EQ(*data, want);
}

TEST(ChunkReaderTest, CorruptCompressedChunkIsCorruption) {
  auto h = ThreeFiles(Compressor::kZstd);
  MemBackend mem;
  mem.Put("hand-blob-0", h->blob);
  FaultyBackend faulty(&mem);
  const meta::ChunkInfo& chunk = h->file(0).chunks[0];
  ASSERT_TRUE(chunk.compressed());
  for (uint64_t i = 0; i < chunk.compressed_size; i += 3) {
    faulty.FlipBit("hand-blob-0", chunk.compressed_offset + i, 5);
  }
  ChunkReader reader(h->image, &faulty, testing::Options(true));
  auto r = reader.ReadChunk(chunk);
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(r.status().message(), HasSubstr("blob hand-blob-0 chunk 0"));
}

TEST(ChunkReaderTest, ShortBlobIsIOError) {
  auto h = ThreeFiles();
  MemBackend mem;
  mem.Put("hand-blob-0", h->blob);
  FaultyBackend faulty(&mem);
  const meta::ChunkInfo& last = h->file(2).chunks[0];
  faulty.Truncate("hand-blob-0", last.compressed_offset + 1);
  ChunkReader reader(h->image, &faulty, {});
  auto r = reader.ReadChunk(last);
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
  EXPECT_THAT(r.status().message(), HasSubstr("hand-blob-0"));
  ASSERT_OK(reader.ReadChunk(h->file(0).chunks[0]).status());
}

TEST(ChunkReaderTest, MissingBlobIsRetriedOnNextRead) {
  auto h = ThreeFiles();
  MemBackend mem;
  ChunkReader reader(h->image, &mem, {});
  EXPECT_EQ(reader.ReadChunk(h->file(0).chunks[0]).status().code(), StatusCode::kNotFound);
  mem.Put("hand-blob-0", h->blob);
  ASSERT_OK(reader.ReadChunk(h->file(0).chunks[0]).status());
  EXPECT_EQ(mem.opens(), 2u);
  ASSERT_OK(reader.ReadChunk(h->file(0).chunks[1]).status());
  EXPECT_EQ(mem.opens(), 2u);  // the opened blob is kept
}

TEST(ChunkReaderTest, RejectsBadDescriptors) {
  auto h = ThreeFiles();
  MemBackend mem;
  mem.Put("hand-blob-0", h->blob);
  ChunkReader reader(h->image, &mem, {});
  const meta::ChunkInfo good = h->file(0).chunks[0];
  auto code = [&](auto mutate) {
    meta::ChunkInfo c = good;
    mutate(c);
    return reader.ReadChunk(c).status().code();
  };
  EXPECT_EQ(code([](auto& c) { c.blob_index = 1; }), StatusCode::kCorruption);
  EXPECT_EQ(code([](auto& c) { c.uncompressed_size = 0; }), StatusCode::kCorruption);
  EXPECT_EQ(code([](auto& c) { c.uncompressed_size = format::kMaxChunkSize + 1; }),
            StatusCode::kCorruption);
  EXPECT_EQ(code([](auto& c) { c.compressed_size = 0; }), StatusCode::kCorruption);
  EXPECT_EQ(code([](auto& c) { c.compressed_size = 1u << 30; }), StatusCode::kCorruption);
  EXPECT_EQ(code([](auto& c) { c.compressed_offset = ~uint64_t{0} - 5; }), StatusCode::kCorruption);
  EXPECT_EQ(code([](auto& c) {
              c.flags = 0;  // claims raw storage but sizes differ
            }),
            StatusCode::kCorruption);
  EXPECT_EQ(mem.reads(), 0u);  // all rejected before any I/O
  // A second descriptor for a cached index with another digest is not served the cache.
  ASSERT_OK(reader.ReadChunk(good).status());
  EXPECT_EQ(code([](auto& c) { c.digest[0] ^= 1; }), StatusCode::kCorruption);
}

TEST(ChunkReaderTest, ConcurrentRandomReadsMatchContent) {
  std::vector<Bytes> files;
  for (uint32_t i = 0; i < 6; ++i) files.push_back(PatternBytes(kChunk * (i + 1) + 123 * i, i));
  auto h = MakeHandImage(std::move(files), kChunk, Compressor::kLz4Block, Digester::kBlake3);
  MemBackend mem;
  mem.Put("hand-blob-0", h->blob);
  ChunkReader reader(h->image, &mem, testing::Options(true, 3 * kChunk));
  std::vector<int> bad(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      uint32_t x = 12345 + t;
      for (int i = 0; i < 300; ++i) {
        x = x * 1103515245u + 12345u;
        size_t f = (x >> 8) % 6;
        const meta::Inode& ino = h->file(f);
        uint64_t off = (x >> 4) % ino.size;
        Bytes out(1 + (x % 6000));
        auto n = reader.ReadFile(ino.chunks, ino.size, off, out);
        uint64_t want = std::min<uint64_t>(out.size(), ino.size - off);
        if (!n.ok() || *n != want || Slice(out, 0, want) != Slice(h->contents[f], off, want)) {
          ++bad[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(bad[t], 0) << "thread " << t;
  ChunkReader::Stats s = reader.stats();
  EXPECT_EQ(s.errors, 0u);
  EXPECT_LE(s.cache_bytes, 3u * kChunk);
  EXPECT_EQ(s.backend_reads, s.cache_misses);
}

}  // namespace
}  // namespace nydus::storage
