// Crash consistency of the blob cache: a child process fills the cache in a loop and is
// SIGKILLed at random points; after every kill each chunk marked ready must hold exactly its
// bytes (checked without digest validation, so only the write-then-mark order protects it).
// Also: the v6 `.blob.meta` copy over the reference fixture.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>
#include <tuple>

#include "base/file_util.h"
#include "meta/bootstrap_reader.h"
#include "storage/blob_cache_file.h"
#include "storage/blob_meta_file.h"
#include "storage/chunk_map.h"
#include "storage/chunk_reader.h"
#include "storage/fake_backend.h"
#include "storage/storage_test_util.h"
#include "testing/test_util.h"

namespace nydus::storage {
namespace {

using format::Compressor;
using ::nydus::testing::TempDir;

constexpr char kBlob[] = "hand-blob-0";
ChunkReaderOptions KillOptions(const std::string& dir, bool raw, uint64_t merge) {
  ChunkReaderOptions o = testing::Options(false, 0);
  o.work_dir = dir;
  o.cache_compressed = raw;
  o.merge_size = merge;
  return o;
}

// The child: fill the cache forever with random on-demand reads and prefetches. Never
// returns; only async-signal-unsafe work of its own (the parent has no other threads).
// Writes one byte to `ready_fd` once set up, so the kill delay does not depend on how slow
// the setup is (sanitizer builds).
[[noreturn]] void FillForever(const testing::HandImage& h, const std::string& dir, bool raw,
                              unsigned seed, int ready_fd) {
  MemBackend mem;
  mem.Put(kBlob, h.blob);
  char one = 1;
  (void)!::write(ready_fd, &one, 1);
  std::mt19937 rng(seed);
  const meta::Inode& ino = h.file(0);
  const uint64_t kChunk = h.image.chunk_size;
  while (true) {
    ChunkReader reader(h.image, &mem, KillOptions(dir, raw, (rng() % 4) * kChunk));
    for (int i = 0; i < 64; ++i) {
      size_t c = rng() % ino.chunks.size();
      if (rng() % 3 == 0) {
        std::vector<meta::ChunkInfo> some(ino.chunks.begin() + c,
                                          ino.chunks.begin() + std::min(c + 5, ino.chunks.size()));
        (void)reader.Warm(some, 3 * kChunk);
      } else {
        Bytes out(kChunk);
        (void)reader.ReadFile(ino.chunks, ino.size, ino.chunks[c].file_offset, out);
      }
    }
    // Forget everything every other round so that the next round writes again.
    if (rng() % 2 == 0) ::truncate((dir + "/" + kBlob + ".chunk_map").c_str(), 0);
  }
}

// Every chunk the map calls ready holds its exact bytes; returns the ready count.
size_t VerifyReadyChunks(const testing::HandImage& h, const std::string& dir, bool raw) {
  const meta::BlobInfo& blob = h.image.blobs[0];
  auto file = BlobCacheFile::Open(dir, blob, raw);
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  if (!file.ok()) return 0;
  size_t ready = 0;
  for (const meta::ChunkInfo& c : h.file(0).chunks) {
    if (!(*file)->IsReady(c.index)) continue;
    ++ready;
    uint64_t off = raw ? c.compressed_offset : c.uncompressed_offset;
    uint64_t len = raw ? c.compressed_size : c.uncompressed_size;
    Bytes got(len);
    EXPECT_OK((*file)->Read(off, got));
    const uint8_t* want =
        raw ? h.blob.data() + c.compressed_offset : h.contents[0].data() + c.file_offset;
    EXPECT_TRUE(std::equal(got.begin(), got.end(), want)) << "chunk " << c.index;
  }
  // And through a reader that cannot reach the backend: ready chunks are served exactly.
  MemBackend mem;
  mem.Put(kBlob, h.blob);
  FaultyBackend down(&mem);
  down.FailAllReads(Status::IOError("down"));
  ChunkReader reader(h.image, &down, KillOptions(dir, raw, 0));
  for (const meta::ChunkInfo& c : h.file(0).chunks) {
    if (!reader.IsReady(c)) continue;
    auto data = reader.ReadChunk(c);
    EXPECT_TRUE(data.ok()) << data.status().ToString();
    if (data.ok()) {
      EXPECT_TRUE(
          std::equal((*data)->begin(), (*data)->end(), h.contents[0].begin() + c.file_offset));
    }
  }
  return ready;
}

void GarbleMissingChunks(const testing::HandImage& h, const std::string& dir, bool raw) {
  auto file = BlobCacheFile::Open(dir, h.image.blobs[0], raw);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  UniqueFd fd(::open((*file)->data_path().c_str(), O_WRONLY));
  ASSERT_TRUE(fd.valid());
  for (const meta::ChunkInfo& c : h.file(0).chunks) {
    if ((*file)->IsReady(c.index)) continue;
    Bytes junk(raw ? c.compressed_size : c.uncompressed_size, 0xa5);
    uint64_t off = raw ? c.compressed_offset : c.uncompressed_offset;
    ASSERT_EQ(::pwrite(fd.get(), junk.data(), junk.size(), off), static_cast<ssize_t>(junk.size()));
  }
}

// Small compressed chunks (time spent decoding) and 1 MiB stored ones (time spent writing,
// where a wrong write/mark order shows).
class BlobCacheKillTest : public ::testing::TestWithParam<std::tuple<Compressor, uint32_t>> {};

TEST_P(BlobCacheKillTest, ReadyChunksAreExactAfterSigkill) {
  auto [algo, chunk] = GetParam();
  auto h = testing::MakeHandImage({testing::PatternBytes((16ull << 20) - 1000, 11)}, chunk, algo,
                                  format::Digester::kBlake3);
  std::mt19937 rng(20240611);
  size_t total_ready = 0;
  for (bool raw : {false, true}) {
    TempDir dir;
    for (int round = 0; round < 12; ++round) {
      int pipe_fds[2];
      ASSERT_EQ(::pipe(pipe_fds), 0);
      pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) FillForever(*h, dir.path(), raw, rng(), pipe_fds[1]);
      ::close(pipe_fds[1]);
      char byte;
      ASSERT_EQ(::read(pipe_fds[0], &byte, 1), 1);
      ::close(pipe_fds[0]);
      std::this_thread::sleep_for(std::chrono::microseconds(rng() % 40000));
      ASSERT_EQ(::kill(pid, SIGKILL), 0);
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      ASSERT_TRUE(WIFSIGNALED(status));
      SCOPED_TRACE("raw " + std::to_string(raw) + " round " + std::to_string(round));
      total_ready += VerifyReadyChunks(*h, dir.path(), raw);
      // Fill every chunk that is not ready with junk, as a torn or stale write would leave
      // it: a writer that marked a chunk before writing it would expose the junk.
      GarbleMissingChunks(*h, dir.path(), raw);
    }
  }
  EXPECT_GT(total_ready, 0u);  // the kills did not all land before any fill
}

INSTANTIATE_TEST_SUITE_P(Sizes, BlobCacheKillTest,
                         ::testing::Values(std::tuple{Compressor::kZstd, 64u << 10},
                                           std::tuple{Compressor::kNone, 1u << 20}));

TEST(BlobCacheFixtureTest, V6KeepsBlobMetaAndSurvivesRestart) {
  NYDUS_REQUIRE_FIXTURE(boot, testing::kV6Boot);
  NYDUS_REQUIRE_FIXTURE(blobs, testing::kV6BlobDir);
  ASSERT_OK_AND_ASSIGN(meta::Image image, meta::ReadBootstrapFile(boot));
  ASSERT_OK_AND_ASSIGN(auto localfs, NewLocalfsBackend(testing::DirConfig(blobs)));
  FaultyBackend counted(localfs.get());
  TempDir dir;
  auto files = testing::RegularFiles(image);
  std::vector<Bytes> first;
  // A blob-toc build: the CI array read from the blob is checked against the ToC's digests,
  // so loading it from the blob costs two meta reads (CI + header, ToC).
  ASSERT_TRUE(image.blobs[0].features & format::kBlobHasToc);
  ASSERT_NE(image.blobs[0].blob_toc_digest, Digest{});
  for (bool raw : {false, true}) {
    SCOPED_TRACE(raw);
    TempDir work;
    ChunkReaderOptions opts = KillOptions(work.path(), raw, 128 << 10);
    opts.validate_digest = true;
    {
      ChunkReader reader(image, &counted, opts);
      first.clear();
      for (const auto& [path, ino] : files) {
        Bytes out(ino->size);
        ASSERT_OK(reader.ReadFile(ino->chunks, ino->size, 0, out).status());
        first.push_back(out);
      }
      EXPECT_EQ(reader.stats().meta_reads, 2u);
    }
    std::string meta_path = BlobMetaPath(work.path(), testing::kV6BlobId);
    ASSERT_OK_AND_ASSIGN(Bytes meta_file, ReadWholeFile(meta_path));
    const meta::BlobInfo& blob = image.blobs[0];
    EXPECT_EQ(meta_file.size(), RoundUp(blob.ci_uncompressed_size, 4096) + 4096);
    ASSERT_OK(DecodeBlobMetaFile(blob, meta_file).status());

    uint64_t before = counted.reads();
    {
      ChunkReader reader(image, &counted, opts);
      for (size_t i = 0; i < files.size(); ++i) {
        Bytes out(files[i].second->size);
        ASSERT_OK(reader.ReadFile(files[i].second->chunks, files[i].second->size, 0, out).status());
        EXPECT_EQ(out, first[i]);
      }
      EXPECT_EQ(reader.stats().meta_reads, 0u);
    }
    EXPECT_EQ(counted.reads(), before);  // neither the CI array nor any chunk refetched

    // A damaged copy is replaced by a fresh read.
    meta_file[meta_file.size() - 4] ^= 1;  // header magic2
    ASSERT_OK(WriteWholeFile(meta_path, meta_file));
    {
      ChunkReader reader(image, &counted, opts);
      Bytes out(files[0].second->size);
      ASSERT_OK(reader.ReadFile(files[0].second->chunks, files[0].second->size, 0, out).status());
      EXPECT_EQ(reader.stats().meta_reads, 2u);
    }
    ASSERT_OK_AND_ASSIGN(meta_file, ReadWholeFile(meta_path));
    EXPECT_OK(DecodeBlobMetaFile(blob, meta_file).status());
  }
}

}  // namespace
}  // namespace nydus::storage
