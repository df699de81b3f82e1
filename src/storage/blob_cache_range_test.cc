// ReadReadyRange, the blob cache's fast path for ready chunks: file ranges copied straight
// from the uncompressed cache file, only when there is nothing to decode or verify, and a
// clean fallback to the chunk path (fetch, repair) whenever it cannot serve a range. Its
// zero-copy form (ViewReadyRange, ReadFile with ReadPieces) must give the same bytes.

#include <unistd.h>

#include "storage/blob_cache.h"
#include "storage/chunk_reader.h"
#include "storage/fake_backend.h"
#include "storage/storage_test_util.h"
#include "testing/test_util.h"

namespace nydus::storage {
namespace {

using testing::HandImage;

constexpr uint32_t kChunk = 4096;
constexpr char kBlob[] = "hand-blob-0";  // MakeHandImage's blob

std::unique_ptr<HandImage> OneFile(size_t chunks) {
  return testing::OneFileImage(chunks, kChunk, format::Compressor::kZstd, /*seed=*/11);
}

ChunkReaderOptions Opts(const std::string& dir, bool raw, bool validate, uint64_t lru = 0) {
  ChunkReaderOptions o = testing::Options(validate, lru);
  o.work_dir = dir;
  o.cache_compressed = raw;
  return o;
}

// Fills the cache in `dir` with every chunk of file 0.
void Fill(const HandImage& h, BlobBackend* backend, const std::string& dir, bool raw) {
  ChunkReader reader(h.image, backend, Opts(dir, raw, false));
  ASSERT_OK(reader.Warm(h.file(0).chunks, 1 << 20));
}

// An image of one file of `chunks` chunks in a MemBackend, and a cache dir, filled (every
// chunk ready) unless `fill` is false.
struct Cached {
  explicit Cached(size_t chunks, bool fill = true, bool raw = false) : h(OneFile(chunks)) {
    mem.Put(kBlob, h->blob);
    if (fill) Fill(*h, &mem, dir.path(), raw);
  }
  const meta::Inode& ino() const { return h->file(0); }
  const Bytes& want() const { return h->contents[0]; }

  std::unique_ptr<HandImage> h;
  MemBackend mem;
  ::nydus::testing::TempDir dir;
};

// The bytes `pieces` describe, in order.
Bytes Gather(const ReadPieces& pieces) {
  Bytes out;
  for (const ReadPieces::Piece& p : pieces.pieces()) out.insert(out.end(), p.data, p.data + p.size);
  return out;
}

Bytes Slice(const Bytes& b, size_t off, size_t len) {
  return Bytes(b.begin() + static_cast<ptrdiff_t>(off),
               b.begin() + static_cast<ptrdiff_t>(off + len));
}

// Reads that straddle chunks, start mid-chunk and end at EOF come from the cache file, one
// range hit per chunk piece, with no chunk read whole, no backend request and no LRU entry.
TEST(BlobCacheRangeTest, CompleteCacheServesRangesDirectly) {
  Cached c(6);
  const uint64_t reads_before = c.mem.reads();

  ChunkReader reader(c.h->image, &c.mem, Opts(c.dir.path(), false, false, /*lru=*/64 << 20));
  const meta::Inode& ino = c.ino();
  const Bytes& want = c.want();
  struct Case {
    uint64_t off, len, pieces;
  } cases[] = {{0, 10, 1}, {kChunk - 5, 10, 2}, {100, 3 * kChunk, 4}, {ino.size - 7, 100, 1}};
  uint64_t pieces = 0;
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.off);
    Bytes out(tc.len);
    ASSERT_OK_AND_ASSIGN(size_t n, reader.ReadFile(ino.chunks, ino.size, tc.off, out));
    const uint64_t expect = std::min<uint64_t>(tc.len, ino.size - tc.off);
    ASSERT_EQ(n, expect);
    EXPECT_EQ(Slice(out, 0, n), Slice(want, tc.off, n));
    pieces += tc.pieces;
  }
  ChunkReader::Stats s = reader.stats();
  EXPECT_EQ(s.blobcache_range_hits, pieces);
  EXPECT_EQ(s.blobcache_disk_hits, 0u);
  EXPECT_EQ(s.cache_misses, 0u);
  EXPECT_EQ(s.cache_bytes, 0u);
  EXPECT_EQ(c.mem.reads(), reads_before);
}

// Validation (every chunk must be checked whole) and the raw layout (chunks must be decoded)
// take the chunk path.
TEST(BlobCacheRangeTest, ValidationAndRawLayoutUseTheChunkPath) {
  for (auto [raw, validate] : {std::pair{false, true}, std::pair{true, false}}) {
    SCOPED_TRACE(::testing::Message() << "raw=" << raw << " validate=" << validate);
    Cached c(3, /*fill=*/true, raw);
    const uint64_t reads_before = c.mem.reads();
    ChunkReader reader(c.h->image, &c.mem, Opts(c.dir.path(), raw, validate));
    Bytes out(c.ino().size);
    ASSERT_OK(reader.ReadFile(c.ino().chunks, c.ino().size, 0, out).status());
    EXPECT_EQ(out, c.want());
    EXPECT_EQ(reader.stats().blobcache_range_hits, 0u);
    EXPECT_EQ(reader.stats().blobcache_disk_hits, 3u);
    EXPECT_EQ(c.mem.reads(), reads_before);
  }
}

// Chunks that are not ready yet are fetched through the chunk path; ready ones are not.
TEST(BlobCacheRangeTest, MissingChunksAreFetched) {
  Cached c(4, /*fill=*/false);
  ChunkReaderOptions o = Opts(c.dir.path(), false, false);
  o.merge_size = 1;  // no merging: one request per missing chunk
  ChunkReader reader(c.h->image, &c.mem, o);
  const meta::Inode& ino = c.ino();
  ASSERT_OK(reader.Warm({ino.chunks[1], ino.chunks[3]}, 1 << 20));
  const uint64_t reads_before = c.mem.reads();
  Bytes out(ino.size);
  ASSERT_OK(reader.ReadFile(ino.chunks, ino.size, 0, out).status());
  EXPECT_EQ(out, c.want());
  EXPECT_EQ(c.mem.reads() - reads_before, 2u);
  EXPECT_EQ(reader.stats().blobcache_range_hits, 2u);
  for (const auto& chunk : ino.chunks) EXPECT_TRUE(reader.IsReady(chunk));
}

// A cache file cut short under a running reader: the range read comes up short, the chunk
// path refetches and rewrites; the caller never sees the hole.
TEST(BlobCacheRangeTest, ShortCacheFileFallsBackAndRepairs) {
  Cached c(4);
  ChunkReader reader(c.h->image, &c.mem, Opts(c.dir.path(), false, false));
  Bytes out(c.ino().size);
  // The first read opens the cache file (a file already short at open is dropped whole).
  ASSERT_OK(
      reader.ReadFile(c.ino().chunks, c.ino().size, 0, std::span<uint8_t>(out).first(1)).status());
  ASSERT_EQ(::truncate(c.dir.Join(kBlob).c_str(), kChunk + 10), 0);
  const uint64_t reads_before = c.mem.reads();
  ASSERT_OK(reader.ReadFile(c.ino().chunks, c.ino().size, 0, out).status());
  EXPECT_EQ(out, c.want());
  EXPECT_GT(c.mem.reads(), reads_before);
  EXPECT_EQ(reader.stats().blobcache_range_hits, 2u);  // chunk 0 is still whole
  EXPECT_EQ(reader.stats().blobcache_disk_bad, 3u);
  // Repaired: every chunk is served from the file again.
  const uint64_t reads_after = c.mem.reads();
  ASSERT_OK(reader.ReadFile(c.ino().chunks, c.ino().size, 0, out).status());
  EXPECT_EQ(out, c.want());
  EXPECT_EQ(c.mem.reads(), reads_after);
  EXPECT_EQ(reader.stats().blobcache_range_hits, 6u);
}

// The zero-copy form: ready ranges point into the cache file's mapping (one piece for a
// range over contiguous chunks), chunks fetched on the way into the decoded chunk, and the
// bytes are those of the file; the mapping outlives the reader while the pieces hold it.
TEST(BlobCacheRangeTest, PiecesReferenceTheMappedCacheFile) {
  Cached c(6, /*fill=*/false);
  const meta::Inode& ino = c.ino();
  ChunkReaderOptions o = Opts(c.dir.path(), false, false);
  o.merge_size = 1;
  ReadPieces pieces;
  {
    ChunkReader reader(c.h->image, &c.mem, o);
    ASSERT_OK(reader.Warm({ino.chunks[0], ino.chunks[1], ino.chunks[2], ino.chunks[4]}, 1 << 20));
    Bytes scratch(ino.size);
    ASSERT_OK_AND_ASSIGN(size_t n, reader.ReadFile(ino.chunks, ino.size, 100, scratch, &pieces));
    ASSERT_EQ(n, ino.size - 100);
    EXPECT_EQ(pieces.total(), n);
    // chunks 0-2 (mapped, contiguous), 3 (fetched), 4 (mapped), 5 (fetched)
    EXPECT_EQ(pieces.pieces().size(), 4u);
    EXPECT_EQ(reader.stats().blobcache_range_hits, 4u);
    for (const ReadPieces::Piece& p : pieces.pieces()) {
      EXPECT_FALSE(p.data >= scratch.data() && p.data < scratch.data() + scratch.size());
    }
  }
  EXPECT_EQ(Gather(pieces), Slice(c.want(), 100, ino.size - 100));
  pieces.Clear();
}

// With validation or the raw layout nothing is mapped; the pieces still carry the bytes.
TEST(BlobCacheRangeTest, PiecesWithValidationOrRawLayout) {
  for (auto [raw, validate] : {std::pair{false, true}, std::pair{true, false}}) {
    SCOPED_TRACE(::testing::Message() << "raw=" << raw << " validate=" << validate);
    Cached c(3, /*fill=*/true, raw);
    ChunkReader reader(c.h->image, &c.mem, Opts(c.dir.path(), raw, validate));
    Bytes scratch(c.ino().size);
    ReadPieces pieces;
    ASSERT_OK(reader.ReadFile(c.ino().chunks, c.ino().size, 0, scratch, &pieces).status());
    EXPECT_EQ(Gather(pieces), c.want());
    EXPECT_EQ(reader.stats().blobcache_range_hits, 0u);
  }
}

// A cache file cut short under a running reader: the pieces of the missing part are not
// mapped (they would fail to read) but refetched and the file repaired, as for pread.
TEST(BlobCacheRangeTest, PiecesOfAShortCacheFileAreRefetched) {
  Cached c(4);
  ChunkReader reader(c.h->image, &c.mem, Opts(c.dir.path(), false, false));
  const meta::Inode& ino = c.ino();
  Bytes scratch(ino.size);
  ReadPieces pieces;
  ASSERT_OK(reader.ReadFile(ino.chunks, ino.size, 0, std::span<uint8_t>(scratch).first(1), &pieces)
                .status());
  pieces.Clear();
  ASSERT_EQ(::truncate(c.dir.Join(kBlob).c_str(), kChunk + 10), 0);
  const uint64_t reads_before = c.mem.reads();
  ASSERT_OK(reader.ReadFile(ino.chunks, ino.size, 0, scratch, &pieces).status());
  EXPECT_EQ(Gather(pieces), c.want());
  EXPECT_GT(c.mem.reads(), reads_before);
  EXPECT_EQ(reader.stats().blobcache_disk_bad, 3u);
  pieces.Clear();
  const uint64_t reads_after = c.mem.reads();  // repaired: all mapped again, no request
  ASSERT_OK(reader.ReadFile(ino.chunks, ino.size, 0, scratch, &pieces).status());
  EXPECT_EQ(Gather(pieces), c.want());
  EXPECT_EQ(c.mem.reads(), reads_after);
  EXPECT_EQ(pieces.pieces().size(), 1u);
}

// A bounded piece list (a FUSE reply takes at most IOV_MAX iovecs): once it is nearly full the
// rest of the read goes into the caller's buffer as one piece, and the bytes stay right.
TEST(BlobCacheRangeTest, BoundedPiecesCopyTheRest) {
  Cached c(6, /*fill=*/false);
  ChunkReaderOptions o = Opts(c.dir.path(), false, false);
  o.merge_size = 1;
  ChunkReader reader(c.h->image, &c.mem, o);
  const meta::Inode& ino = c.ino();
  ASSERT_OK(reader.Warm({ino.chunks[0], ino.chunks[2], ino.chunks[4]}, 1 << 20));
  Bytes scratch(ino.size);
  // Unbounded, ready and fetched chunks alternate: 6 pieces (mapped, decoded, mapped, ...).
  // At most 3: mapped, decoded, then the buffer from chunk 2 on.
  ReadPieces pieces(3);
  ASSERT_OK_AND_ASSIGN(size_t n, reader.ReadFile(ino.chunks, ino.size, 10, scratch, &pieces));
  ASSERT_EQ(n, ino.size - 10);
  EXPECT_LE(pieces.pieces().size(), 3u);
  EXPECT_EQ(Gather(pieces), Slice(c.want(), 10, n));
  const ReadPieces::Piece& last = pieces.pieces().back();
  EXPECT_TRUE(last.data >= scratch.data() && last.data < scratch.data() + scratch.size());
}

// Past kUnmapEvery bytes the mapping's page table entries are dropped; what it shows
// afterwards is still the file.
TEST(BlobCacheRangeTest, UnmappingKeepsTheBytes) {
  Cached c(4);
  ChunkReader reader(c.h->image, &c.mem, Opts(c.dir.path(), false, false));
  const meta::Inode& ino = c.ino();
  Bytes scratch(ino.size);
  const uint64_t rounds = BlobCacheFile::kUnmapEvery / ino.size + 2;
  for (uint64_t i = 0; i < rounds; ++i) {
    ReadPieces pieces;
    ASSERT_OK(reader.ReadFile(ino.chunks, ino.size, 0, scratch, &pieces).status());
    ASSERT_EQ(Gather(pieces), c.want()) << "round " << i;
  }
}

}  // namespace
}  // namespace nydus::storage
