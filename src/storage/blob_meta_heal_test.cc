// Damaged v6 CI arrays (blob meta): rejected when they are read if the damage shows
// (layout, ToC digests), otherwise detected when a chunk is located (the CI record differs
// from the bootstrap's) and healed: the CI array is dropped, `<blob>.blob.meta` deleted and
// read again, boundedly. Also: a damaged copy already on disk at start, and many readers
// while the heal happens.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "base/file_util.h"
#include "meta/bootstrap_reader.h"
#include "storage/blob_cache.h"
#include "storage/blob_chunk_source.h"
#include "storage/blob_meta_file.h"
#include "storage/chunk_reader.h"
#include "storage/fake_backend.h"
#include "storage/storage_test_util.h"
#include "storage/v6_test_image.h"
#include "testing/test_util.h"

namespace nydus::storage {
namespace {

using format::ChunkCompressInfo;
using ::nydus::testing::TempDir;
using ::testing::HasSubstr;

using testing::ChunkAt;
using testing::EditedMetaFile;
using testing::Expected;
using testing::PickChunk;
using testing::TestImage;
using testing::V6Image;

constexpr const char* kBlob = testing::kV6TestBlob;
constexpr std::chrono::hours kNever{1};  // no second recovery within a test

class BlobMetaHealTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_ = TestImage();
    mem_.Put(kBlob, h_->blob);
    meta_path_ = BlobMetaPath(dir_.path(), kBlob);
  }
  Bytes MetaOnDisk() const {
    Result<Bytes> b = ReadWholeFile(meta_path_);
    return b.ok() ? *b : Bytes{};
  }
  bool MetaExists() const { return ::access(meta_path_.c_str(), F_OK) == 0; }

  std::unique_ptr<V6Image> h_;
  MemBackend mem_;
  TempDir dir_;
  std::string meta_path_;
};

TEST_F(BlobMetaHealTest, FixtureImageIsConsistent) {
  // The hand-made image reads back exactly, and its CI copy is what the test expects.
  BlobChunkSource src(h_->image, &mem_, /*validate_digest=*/true, dir_.path());
  for (const meta::ChunkInfo& c : h_->chunks()) {
    ASSERT_OK_AND_ASSIGN(Bytes got, src.Fetch(c));
    EXPECT_EQ(got, Expected(*h_, c)) << "chunk " << c.index;
  }
  EXPECT_EQ(MetaOnDisk(), h_->meta_file);
  EXPECT_EQ(src.meta_reads(), 1u);
  EXPECT_EQ(src.meta_drops(), 0u);
}

// A flip that leaves a plausible record (one byte less for a chunk): accepted and saved,
// then caught when the chunk is located; the CI is dropped with its copy and read again.
TEST_F(BlobMetaHealTest, PlausibleFlipFailsOneReadThenHeals) {
  size_t k = PickChunk(*h_, /*odd=*/true);
  const meta::ChunkInfo& chunk = ChunkAt(*h_, k);
  FaultyBackend faulty(&mem_);
  faulty.FlipBit(kBlob, h_->SizeBitOffset(k), 4);
  BlobChunkSource src(h_->image, &faulty, /*validate_digest=*/true, dir_.path(), kNever);

  Result<Bytes> bad = src.Fetch(chunk);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(bad.status().message(), HasSubstr("the CI array says"));
  EXPECT_EQ(src.meta_drops(), 1u);
  EXPECT_FALSE(MetaExists());  // the bad copy is gone with the array

  faulty.ClearFaults();
  ASSERT_OK_AND_ASSIGN(Bytes good, src.Fetch(chunk));
  EXPECT_EQ(good, Expected(*h_, chunk));
  EXPECT_EQ(src.meta_reads(), 2u);
  EXPECT_EQ(MetaOnDisk(), h_->meta_file);
  for (const meta::ChunkInfo& c : h_->chunks()) {
    ASSERT_OK_AND_ASSIGN(Bytes got, src.Fetch(c));
    EXPECT_EQ(got, Expected(*h_, c));
  }
}

// The daemon's path (ChunkReader with the blob cache) and the fault of the e2e case
// flip-meta-once: the CI read is flipped once. The damaged record is caught, the CI read
// again, and the file reads correctly; the copy on disk is the right one.
TEST_F(BlobMetaHealTest, FlipOnceThroughTheBlobCacheHeals) {
  for (bool raw : {false, true}) {
    SCOPED_TRACE(raw);
    TempDir dir;
    size_t k = PickChunk(*h_, /*odd=*/true);
    FaultyBackend flip(&mem_);
    flip.FlipBit(kBlob, h_->SizeBitOffset(k), 4, /*count=*/1);
    ChunkReaderOptions o = testing::Options(/*validate_digest=*/true, /*cache_bytes=*/0);
    o.work_dir = dir.path();
    o.cache_compressed = raw;
    ChunkReader reader(h_->image, &flip, o);
    for (size_t f = 0; f < h_->contents.size(); ++f) {
      Bytes out(h_->file(f).size);
      Result<size_t> n = reader.ReadFile(h_->file(f).chunks, h_->file(f).size, 0, out);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      EXPECT_EQ(out, h_->contents[f]) << "file " << f;
    }
    EXPECT_EQ(flip.flipped_reads(), 1u);  // the fault was applied
    EXPECT_EQ(reader.stats().meta_reads, 2u);
    ASSERT_OK_AND_ASSIGN(Bytes copy, ReadWholeFile(BlobMetaPath(dir.path(), kBlob)));
    EXPECT_EQ(copy, h_->meta_file);
  }
}

// A flip that breaks the layout (a chunk grown into the next one) is rejected when read:
// nothing is saved, and the next access reads the CI again.
TEST_F(BlobMetaHealTest, OverlappingRecordIsRejectedAtFetch) {
  size_t k = PickChunk(*h_, /*odd=*/false);
  const meta::ChunkInfo& chunk = ChunkAt(*h_, k);
  FaultyBackend flip(&mem_);
  flip.FlipBit(kBlob, h_->SizeBitOffset(k), 4, /*count=*/1);
  BlobChunkSource src(h_->image, &flip, /*validate_digest=*/false, dir_.path(), kNever);
  Result<Bytes> bad = src.Fetch(chunk);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(bad.status().message(), HasSubstr("before the end of chunk"));
  EXPECT_FALSE(MetaExists());
  EXPECT_EQ(src.meta_drops(), 0u);

  ASSERT_OK_AND_ASSIGN(Bytes good, src.Fetch(chunk));  // the first re-read is immediate
  EXPECT_EQ(good, Expected(*h_, chunk));
  EXPECT_EQ(src.meta_reads(), 2u);
  EXPECT_EQ(MetaOnDisk(), h_->meta_file);
}

// A remote CI that is always damaged costs a bounded number of CI reads, however many
// reads fail: rejected at fetch (1 read + 1 immediate re-read), or plausible (1 read +
// 1 re-read after the drop). Chunks whose records are intact are still served.
TEST_F(BlobMetaHealTest, PermanentDamageIsBounded) {
  for (bool odd : {false, true}) {
    SCOPED_TRACE(odd);
    TempDir dir;
    size_t k = PickChunk(*h_, odd);
    FaultyBackend faulty(&mem_);
    faulty.FlipBit(kBlob, h_->SizeBitOffset(k), 4);
    BlobChunkSource src(h_->image, &faulty, /*validate_digest=*/true, dir.path(), kNever);
    for (int i = 0; i < 20; ++i) {
      Result<Bytes> bad = src.Fetch(ChunkAt(*h_, k));
      ASSERT_FALSE(bad.ok());
      EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
    }
    EXPECT_EQ(src.meta_reads(), 2u);
    EXPECT_EQ(src.meta_drops(), odd ? 1u : 0u);
    if (odd) {
      // The damage stays local to chunk k: the others are located through the same array.
      for (const meta::ChunkInfo& c : h_->chunks()) {
        if (c.index == k) continue;
        ASSERT_OK_AND_ASSIGN(Bytes got, src.Fetch(c));
        EXPECT_EQ(got, Expected(*h_, c));
      }
    }
  }
}

// A blob with a ToC pinned by the blob table whose reads flip one bit once.
class BlobMetaTocTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_ = TestImage(/*toc=*/true);
    mem_.Put(kBlob, h_->blob);
  }
  // The source over the blob, whose next read covering blob byte `offset` has bit `bit`
  // inverted.
  std::unique_ptr<BlobChunkSource> SourceFlippingOnce(uint64_t offset, int bit) {
    flip_.FlipBit(kBlob, offset, bit, /*count=*/1);
    return std::make_unique<BlobChunkSource>(h_->image, &flip_, /*validate_digest=*/true,
                                             dir_.path(), kNever);
  }
  std::string MetaPath() const { return BlobMetaPath(dir_.path(), kBlob); }

  std::unique_ptr<V6Image> h_;
  MemBackend mem_;
  FaultyBackend flip_{&mem_};
  TempDir dir_;
};

// With a ToC pinned by the blob table, the plausible flip is rejected when read: the CI's
// sha256 differs from the ToC's blob.meta digest. Nothing is saved; the next access
// reads the CI (and the ToC) again.
TEST_F(BlobMetaTocTest, PlausibleFlipIsRejectedByTheTocDigest) {
  size_t k = PickChunk(*h_, /*odd=*/true);
  const meta::ChunkInfo& chunk = ChunkAt(*h_, k);
  auto src = SourceFlippingOnce(h_->SizeBitOffset(k), 4);
  Result<Bytes> bad = src->Fetch(chunk);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(bad.status().message(), HasSubstr("the ToC says"));
  EXPECT_EQ(src->meta_reads(), 2u);  // the CI and the ToC
  EXPECT_EQ(::access(MetaPath().c_str(), F_OK), -1);

  ASSERT_OK_AND_ASSIGN(Bytes good, src->Fetch(chunk));
  EXPECT_EQ(good, Expected(*h_, chunk));
  EXPECT_EQ(src->meta_reads(), 4u);
  ASSERT_OK_AND_ASSIGN(Bytes copy, ReadWholeFile(MetaPath()));
  EXPECT_EQ(copy, h_->meta_file);
  for (const meta::ChunkInfo& c : h_->chunks()) {
    ASSERT_OK_AND_ASSIGN(Bytes got, src->Fetch(c));
    EXPECT_EQ(got, Expected(*h_, c));
  }
}

// A damaged ToC (its digest no longer matches blob_toc_digest) rejects the CI too: with a
// pinned ToC the CI cannot be verified without it.
TEST_F(BlobMetaTocTest, DamagedPinnedTocRejectsTheCi) {
  // Inside the blob.meta.header entry.
  auto src = SourceFlippingOnce(h_->blob.size() - 512 - 100, 0);
  const meta::ChunkInfo& chunk = ChunkAt(*h_, 0);
  Result<Bytes> bad = src->Fetch(chunk);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("blob_toc_digest"));
  ASSERT_OK_AND_ASSIGN(Bytes good, src->Fetch(chunk));
  EXPECT_EQ(good, Expected(*h_, chunk));
}

// Restart: a damaged but well-formed copy is already on disk. The first use of the bad
// record drops it; the copy is rewritten from the blob.
TEST_F(BlobMetaHealTest, DamagedCopyOnDiskAtStartHeals) {
  size_t k = PickChunk(*h_, /*odd=*/true);
  const meta::ChunkInfo& chunk = ChunkAt(*h_, k);
  Bytes damaged = EditedMetaFile(*h_, k, [](ChunkCompressInfo* c) { c->compressed_size -= 1; });
  ASSERT_OK(DecodeBlobMetaFile(h_->info(), damaged).status());  // passes every load check
  ASSERT_OK(WriteWholeFile(meta_path_, damaged));
  {
    BlobChunkSource src(h_->image, &mem_, /*validate_digest=*/false, dir_.path(), kNever);
    Result<Bytes> bad = src.Fetch(chunk);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
    EXPECT_EQ(src.meta_reads(), 0u);  // the copy was used
    EXPECT_EQ(src.meta_drops(), 1u);
    ASSERT_OK_AND_ASSIGN(Bytes good, src.Fetch(chunk));
    EXPECT_EQ(good, Expected(*h_, chunk));
    EXPECT_EQ(src.meta_reads(), 1u);
    EXPECT_EQ(MetaOnDisk(), h_->meta_file);
  }
  // Through the daemon's path the read that meets the bad record already succeeds: the
  // blob cache falls back to the plain fetch, which reads the CI again.
  ASSERT_OK(WriteWholeFile(meta_path_, damaged));
  ChunkReaderOptions o = testing::Options(/*validate_digest=*/true, /*cache_bytes=*/0);
  o.work_dir = dir_.path();
  ChunkReader reader(h_->image, &mem_, o);
  for (size_t f = 0; f < h_->contents.size(); ++f) {
    Bytes out(h_->file(f).size);
    ASSERT_OK(reader.ReadFile(h_->file(f).chunks, h_->file(f).size, 0, out).status());
    EXPECT_EQ(out, h_->contents[f]);
  }
  EXPECT_EQ(reader.stats().meta_reads, 1u);
  EXPECT_EQ(MetaOnDisk(), h_->meta_file);
}

// A chunk located by the CI alone (a read-amplification neighbour) that fails to decode
// drops the array; a bootstrap chunk that fails (the data is bad, its location is
// confirmed) does not.
TEST_F(BlobMetaHealTest, OnlyCiOnlyLocationsAreBlamedForBadData) {
  BlobChunkSource src(h_->image, &mem_, /*validate_digest=*/false, dir_.path(), kNever);
  const meta::ChunkInfo& first = ChunkAt(*h_, 0);
  ASSERT_OK_AND_ASSIGN(ChunkLocation loc, src.Locate(first));
  EXPECT_FALSE(loc.ci_only);
  EXPECT_EQ(loc.ci_generation, 1u);
  src.ReportBadChunk(first, loc, Status::Corruption("digest mismatch"));
  EXPECT_EQ(src.meta_drops(), 0u);
  EXPECT_TRUE(MetaExists());

  std::vector<meta::ChunkInfo> next = src.NeighborChunks(0, 0, 1 << 20);
  ASSERT_FALSE(next.empty());
  ASSERT_OK_AND_ASSIGN(ChunkLocation nloc, src.Locate(next[0]));
  EXPECT_TRUE(nloc.ci_only);
  src.ReportBadChunk(next[0], nloc, Status::Corruption("decompress failed"));
  EXPECT_EQ(src.meta_drops(), 1u);
  EXPECT_FALSE(MetaExists());
  // A stale report (an array already replaced) is ignored.
  ASSERT_OK_AND_ASSIGN(ChunkLocation again, src.Locate(next[0]));
  EXPECT_EQ(again.ci_generation, 2u);
  src.ReportBadChunk(next[0], nloc, Status::Corruption("late"));
  EXPECT_EQ(src.meta_drops(), 1u);
  EXPECT_TRUE(MetaExists());
}

// Many readers through the blob cache while the damaged copy is found and replaced: every
// read returns the exact bytes or a Corruption, the array is dropped once and read once,
// and afterwards everything reads. Run under TSan: the array some readers still use is
// freed only when the last of them lets go.
TEST_F(BlobMetaHealTest, ConcurrentReadersDuringHeal) {
  for (bool validate : {true, false}) {
    SCOPED_TRACE(validate);
    TempDir dir;
    std::string path = BlobMetaPath(dir.path(), kBlob);
    // Damage the records of several chunks so that many threads meet one.
    Bytes damaged = h_->meta_file;
    std::vector<size_t> bad_chunks;
    for (size_t i = 0; i + 1 < h_->ci.size(); i += 3) {
      if (!h_->ci[i].compressed) continue;
      ChunkCompressInfo c = h_->ci[i];
      c.compressed_size -= 1;
      format::EncodeCiV1(c, damaged.data() + i * 16);
      bad_chunks.push_back(i);
    }
    ASSERT_GE(bad_chunks.size(), 2u);
    ASSERT_OK(DecodeBlobMetaFile(h_->info(), damaged).status());
    ASSERT_OK(WriteWholeFile(path, damaged));

    FaultyBackend faulty(&mem_);
    BlobChunkSource src(h_->image, &faulty, validate, dir.path(), kNever);
    BlobCache cache(h_->image, &src, BlobCacheOptions{dir.path(), false});
    const std::vector<meta::ChunkInfo> chunks = h_->chunks();
    std::atomic<int> wrong{0}, other_errors{0}, corrupt{0}, ok{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        while (!go.load()) std::this_thread::yield();
        for (int round = 0; round < 4; ++round) {
          for (size_t j = 0; j < chunks.size(); ++j) {
            const meta::ChunkInfo& c = chunks[(j + t * 5) % chunks.size()];
            std::span<const meta::ChunkInfo> followers;
            size_t pos = (j + t * 5) % chunks.size();
            if (t % 2 == 0) followers = std::span(chunks).subspan(pos + 1);
            Result<Bytes> got = cache.ReadChunk(c, followers, 64 << 10);
            if (got.ok()) {
              (*got == Expected(*h_, c) ? ok : wrong).fetch_add(1);
            } else if (got.status().code() == StatusCode::kCorruption) {
              corrupt.fetch_add(1);
            } else {
              other_errors.fetch_add(1);
            }
          }
        }
      });
    }
    go.store(true);
    for (auto& th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(other_errors.load(), 0);
    EXPECT_GT(ok.load(), 0);
    EXPECT_EQ(src.meta_drops(), 1u);
    EXPECT_EQ(src.meta_reads(), 1u);
    ASSERT_OK_AND_ASSIGN(Bytes copy, ReadWholeFile(path));
    EXPECT_EQ(copy, h_->meta_file);
    for (const meta::ChunkInfo& c : chunks) {
      ASSERT_OK_AND_ASSIGN(Bytes got, cache.ReadChunk(c, {}, 0));
      EXPECT_EQ(got, Expected(*h_, c));
    }
  }
}

// The reference fixture (a nydus-image 2.2 blob-toc build): its chunk records agree with its
// CI array, and a record that does not (here: moved by the test) is a Corruption before any
// data is read; the CI array is dropped and the real record reads after it.
TEST(BlobMetaFixtureTest, ChunkRecordMustAgreeWithTheCiArray) {
  NYDUS_REQUIRE_FIXTURE(boot, testing::kV6Boot);
  NYDUS_REQUIRE_FIXTURE(blobs, testing::kV6BlobDir);
  ASSERT_OK_AND_ASSIGN(meta::Image image, meta::ReadBootstrapFile(boot));
  ASSERT_OK_AND_ASSIGN(auto localfs, NewLocalfsBackend(testing::DirConfig(blobs)));
  TempDir dir;
  BlobChunkSource src(image, localfs.get(), /*validate_digest=*/true, dir.path(), kNever);
  for (const auto& [path, ino] : testing::RegularFiles(image)) {
    for (const meta::ChunkInfo& c : ino->chunks) {
      ASSERT_OK_AND_ASSIGN(ChunkLocation loc, src.Locate(c));
      EXPECT_FALSE(loc.ci_only);
      ASSERT_OK(src.Fetch(c).status());
    }
  }
  EXPECT_EQ(src.meta_drops(), 0u);
  EXPECT_EQ(src.meta_reads(), 2u);  // the CI array and the ToC it is checked against

  meta::ChunkInfo moved = testing::RegularFiles(image)[0].second->chunks[0];
  moved.compressed_offset += 100;
  moved.compressed_size += 7;
  uint64_t reads = src.backend_reads();
  Result<Bytes> r = src.Fetch(moved);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(r.status().message(), HasSubstr("the CI array says"));
  EXPECT_EQ(src.backend_reads(), reads);
  EXPECT_EQ(src.meta_drops(), 1u);
  ASSERT_OK(src.Fetch(testing::RegularFiles(image)[0].second->chunks[0]).status());
  EXPECT_EQ(src.meta_reads(), 4u);
}

}  // namespace
}  // namespace nydus::storage
