// ChunkReader over images and blobs written by the reference nydus-image (localfs backend).

#include <filesystem>
#include <string>

#include "base/file_util.h"
#include "meta/bootstrap_reader.h"
#include "storage/chunk_reader.h"
#include "storage/storage_test_util.h"
#include "testing/test_util.h"

namespace nydus::storage {
namespace {

using ::nydus::testing::TempDir;
using ::testing::HasSubstr;

Result<Bytes> ReadWhole(ChunkReader& reader, const meta::Inode& inode) {
  Bytes out(inode.size);
  ASSIGN_OR_RETURN(size_t n, reader.ReadFile(inode.chunks, inode.size, 0, out));
  if (n != inode.size) return Status::Internal("short file read");
  return out;
}

const meta::Inode* FindFile(const meta::Image& image, const std::string& name) {
  for (const auto& [path, inode] : testing::RegularFiles(image)) {
    if (path.size() >= name.size() &&
        path.compare(path.size() - name.size(), name.size(), name) == 0) {
      return inode;
    }
  }
  return nullptr;
}

TEST(ChunkReaderFixtureTest, V6ReadsEveryFileWithValidation) {
  NYDUS_REQUIRE_FIXTURE(boot, testing::kV6Boot);
  NYDUS_REQUIRE_FIXTURE(dir, testing::kV6BlobDir);
  ASSERT_OK_AND_ASSIGN(meta::Image image, meta::ReadBootstrapFile(boot));
  ASSERT_TRUE(image.IsV6());
  ASSERT_OK_AND_ASSIGN(auto backend, NewLocalfsBackend(testing::DirConfig(dir)));
  ChunkReader reader(image, backend.get(), testing::Options(true));

  auto files = testing::RegularFiles(image);
  ASSERT_EQ(files.size(), 2u);
  for (const auto& [path, inode] : files) {
    SCOPED_TRACE(path);
    ASSERT_OK_AND_ASSIGN(Bytes data, ReadWhole(reader, *inode));
    std::string text(data.begin(), data.end());
    EXPECT_EQ(text.size(), inode->size);
    EXPECT_THAT(text, HasSubstr("fn "));
    EXPECT_EQ(text.find('\0'), std::string::npos);  // Rust source, not zero fill
    // The same bytes read in odd-sized pieces (crossing every chunk border).
    Bytes pieces(inode->size);
    for (uint64_t off = 0; off < inode->size; off += 1001) {
      uint64_t want = std::min<uint64_t>(1001, inode->size - off);
      ASSERT_OK_AND_ASSIGN(size_t n, reader.ReadFile(inode->chunks, inode->size, off,
                                                     std::span(pieces).subspan(off, want)));
      ASSERT_EQ(n, want);
    }
    EXPECT_EQ(pieces, data);
  }
  const meta::Inode* lib = FindFile(image, "/lib.rs");
  const meta::Inode* sync_io = FindFile(image, "/sync_io.rs");
  ASSERT_NE(lib, nullptr);
  ASSERT_NE(sync_io, nullptr);
  EXPECT_EQ(lib->size, 16931u);  // CI record 0 of the fixture (reference spec §3.4)
  EXPECT_EQ(sync_io->size, 13400u);
  ChunkReader::Stats s = reader.stats();
  EXPECT_EQ(s.backend_reads, 2u);  // one per chunk; everything else from the LRU
  EXPECT_EQ(s.errors, 0u);
}

// With a blob cache and no digest validation, a v6 miss also fetches the chunks stored after
// the file's last one (amplify_io over the blob): reading lib.rs brings sync_io.rs along in
// the same request. With validation only the file's own chunks are fetched.
TEST(ChunkReaderFixtureTest, V6MissAmplifiesOverTheBlobWithoutValidation) {
  NYDUS_REQUIRE_FIXTURE(boot, testing::kV6Boot);
  NYDUS_REQUIRE_FIXTURE(dir, testing::kV6BlobDir);
  ASSERT_OK_AND_ASSIGN(meta::Image image, meta::ReadBootstrapFile(boot));
  const meta::Inode* lib = FindFile(image, "/lib.rs");
  const meta::Inode* sync_io = FindFile(image, "/sync_io.rs");
  ASSERT_NE(lib, nullptr);
  ASSERT_NE(sync_io, nullptr);
  ASSERT_OK_AND_ASSIGN(auto backend, NewLocalfsBackend(testing::DirConfig(dir)));
  for (bool validate : {false, true}) {
    SCOPED_TRACE(validate ? "validating" : "not validating");
    TempDir work;
    ChunkReaderOptions opts = testing::Options(validate);
    opts.work_dir = work.path();
    ChunkReader reader(image, backend.get(), opts);
    ASSERT_OK(ReadWhole(reader, *lib).status());
    EXPECT_EQ(reader.stats().backend_reads, 1u);
    EXPECT_EQ(reader.IsReady(sync_io->chunks[0]), !validate);
    ASSERT_OK_AND_ASSIGN(Bytes data, ReadWhole(reader, *sync_io));
    EXPECT_EQ(Blake3(data), sync_io->chunks[0].digest);
    EXPECT_EQ(reader.stats().backend_reads, validate ? 2u : 1u);
  }
}

// The CI array says where a v6 chunk is stored, and the bootstrap's chunk record must agree
// with it (stored range and uncompressed size): a record that does not is Corruption before
// any data is read.
TEST(ChunkReaderFixtureTest, V6UsesCiArrayAndCrossChecksSize) {
  NYDUS_REQUIRE_FIXTURE(boot, testing::kV6Boot);
  NYDUS_REQUIRE_FIXTURE(dir, testing::kV6BlobDir);
  ASSERT_OK_AND_ASSIGN(meta::Image image, meta::ReadBootstrapFile(boot));
  ASSERT_OK_AND_ASSIGN(auto backend, NewLocalfsBackend(testing::DirConfig(dir)));
  const meta::Inode* lib = FindFile(image, "/lib.rs");
  ASSERT_NE(lib, nullptr);
  ASSERT_EQ(lib->chunks.size(), 1u);

  ChunkReader reader(image, backend.get(), testing::Options(true));
  meta::ChunkInfo moved = lib->chunks[0];
  moved.compressed_offset += 100;
  moved.compressed_size += 7;
  auto m = reader.ReadChunk(moved);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(m.status().message(), HasSubstr("the CI array says"));
  EXPECT_EQ(reader.stats().backend_reads, 0u);
  ASSERT_OK_AND_ASSIGN(auto data, reader.ReadChunk(lib->chunks[0]));
  EXPECT_EQ(data->size(), lib->size);

  ChunkReader fresh(image, backend.get(), testing::Options(true));
  meta::ChunkInfo resized = lib->chunks[0];
  resized.uncompressed_size -= 1;
  auto r = fresh.ReadChunk(resized);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(r.status().message(), HasSubstr("CI array"));
  EXPECT_EQ(fresh.stats().backend_reads, 0u);

  meta::ChunkInfo beyond = lib->chunks[0];
  beyond.index = image.blobs[0].chunk_count;
  EXPECT_EQ(fresh.ReadChunk(beyond).status().code(), StatusCode::kCorruption);
}

TEST(ChunkReaderFixtureTest, V6BitFlipFailsOnlyThatChunk) {
  NYDUS_REQUIRE_FIXTURE(boot, testing::kV6Boot);
  NYDUS_REQUIRE_FIXTURE(blob, std::string(testing::kV6BlobDir) + "/" + testing::kV6BlobId);
  ASSERT_OK_AND_ASSIGN(meta::Image image, meta::ReadBootstrapFile(boot));
  const meta::Inode* lib = FindFile(image, "/lib.rs");
  const meta::Inode* sync_io = FindFile(image, "/sync_io.rs");
  ASSERT_TRUE(lib && sync_io);
  const meta::ChunkInfo& bad = lib->chunks[0];
  ASSERT_NE(bad.index, sync_io->chunks[0].index);

  TempDir tmp;
  ASSERT_OK_AND_ASSIGN(Bytes bytes, ReadWholeFile(blob));
  bytes[bad.compressed_offset + bad.compressed_size / 2] ^= 0x10;
  ASSERT_OK(WriteWholeFile(tmp.Join(testing::kV6BlobId), bytes));
  ASSERT_OK_AND_ASSIGN(auto backend, NewLocalfsBackend(testing::DirConfig(tmp.path())));
  ChunkReader reader(image, backend.get(), testing::Options(true));

  auto r = ReadWhole(reader, *lib);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(r.status().message(), HasSubstr(std::string("blob ") + testing::kV6BlobId));
  EXPECT_THAT(r.status().message(), HasSubstr("chunk " + std::to_string(bad.index)));
  ASSERT_OK_AND_ASSIGN(Bytes other, ReadWhole(reader, *sync_io));
  EXPECT_THAT(std::string(other.begin(), other.end()), HasSubstr("fn "));
  // The failure was not cached: a retry reads the blob again and fails again.
  uint64_t reads = reader.stats().backend_reads;
  EXPECT_EQ(ReadWhole(reader, *lib).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(reader.stats().backend_reads, reads + 1);
  EXPECT_EQ(reader.stats().errors, 2u);
}

class ChunkReaderV5FixtureTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ChunkReaderV5FixtureTest, ReadsEveryFileAndEveryChunkDigestMatches) {
  NYDUS_REQUIRE_FIXTURE(boot, GetParam());
  NYDUS_REQUIRE_FIXTURE(dir, testing::kV5BlobDir);
  ASSERT_OK_AND_ASSIGN(meta::Image image, meta::ReadBootstrapFile(boot));
  ASSERT_FALSE(image.IsV6());
  ASSERT_EQ(image.blobs.size(), 1u);
  EXPECT_EQ(image.blobs[0].blob_id.substr(0, 8), "7334a259");
  ASSERT_OK_AND_ASSIGN(auto backend, NewLocalfsBackend(testing::DirConfig(dir)));
  ChunkReader reader(image, backend.get(), testing::Options(true, 1 << 20));
  auto algo = static_cast<DigestAlgo>(image.digester);

  auto files = testing::RegularFiles(image);
  ASSERT_GT(files.size(), 10u);
  uint64_t total = 0, chunks = 0;
  for (const auto& [path, inode] : files) {
    SCOPED_TRACE(path);
    ASSERT_OK_AND_ASSIGN(Bytes data, ReadWhole(reader, *inode));
    total += data.size();
    for (const meta::ChunkInfo& c : inode->chunks) {
      ASSERT_LE(c.file_offset + c.uncompressed_size, data.size());
      ByteSpan piece(data.data() + c.file_offset, c.uncompressed_size);
      EXPECT_EQ(ComputeDigest(algo, piece), c.digest) << "chunk " << c.index;
      ++chunks;
    }
  }
  EXPECT_GT(total, 1000000u);
  EXPECT_GT(chunks, 0u);
  EXPECT_EQ(reader.stats().errors, 0u);
}

// Without validation the same bytes come back: the blob is raw (no compression) and the
// check above shows every digest matches, so validation must not change the result.
TEST_P(ChunkReaderV5FixtureTest, SameBytesWithoutValidation) {
  NYDUS_REQUIRE_FIXTURE(boot, GetParam());
  NYDUS_REQUIRE_FIXTURE(dir, testing::kV5BlobDir);
  ASSERT_OK_AND_ASSIGN(meta::Image image, meta::ReadBootstrapFile(boot));
  ASSERT_OK_AND_ASSIGN(auto backend, NewLocalfsBackend(testing::DirConfig(dir)));
  ChunkReader checked(image, backend.get(), testing::Options(true));
  ChunkReader plain(image, backend.get(), testing::Options(false, 0));
  for (const auto& [path, inode] : testing::RegularFiles(image)) {
    ASSERT_OK_AND_ASSIGN(Bytes a, ReadWhole(checked, *inode));
    ASSERT_OK_AND_ASSIGN(Bytes b, ReadWhole(plain, *inode));
    ASSERT_EQ(a, b) << path;
  }
}

INSTANTIATE_TEST_SUITE_P(Repeatable, ChunkReaderV5FixtureTest,
                         ::testing::Values(testing::kV5Sha256, testing::kV5Blake3),
                         [](const auto& info) {
                           return std::string(info.param) == testing::kV5Sha256 ? "sha256"
                                                                                : "blake3";
                         });

}  // namespace
}  // namespace nydus::storage
