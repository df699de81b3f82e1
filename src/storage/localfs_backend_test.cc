#include <sys/stat.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "base/file_util.h"
#include "storage/blob_backend.h"
#include "storage/storage_test_util.h"
#include "testing/test_util.h"

namespace nydus::storage {
namespace {

using ::nydus::testing::TempDir;
using ::testing::HasSubstr;

std::unique_ptr<BlobBackend> MustNew(const std::string& dir, const std::string& blob_file = "",
                                     std::vector<std::string> alt_dirs = {}) {
  LocalfsConfig config;
  config.dir = dir;
  config.blob_file = blob_file;
  config.alt_dirs = std::move(alt_dirs);
  auto r = NewLocalfsBackend(config);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

void Write(const std::string& path, const Bytes& data) { ASSERT_OK(WriteWholeFile(path, data)); }

TEST(LocalfsBackendTest, RequiresDirOrBlobFile) {
  auto r = NewLocalfsBackend(LocalfsConfig{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  LocalfsConfig only_alt;
  only_alt.alt_dirs = {"/tmp"};
  EXPECT_EQ(NewLocalfsBackend(only_alt).status().code(), StatusCode::kInvalidArgument);
}

TEST(LocalfsBackendTest, ReadsRangesFromDir) {
  TempDir dir;
  Bytes data = testing::PatternBytes(10000, 1);
  Write(dir.Join("blob1"), data);
  auto backend = MustNew(dir.path());
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->type(), "localfs");
  ASSERT_OK_AND_ASSIGN(auto reader, backend->Open("blob1"));
  ASSERT_OK_AND_ASSIGN(uint64_t size, reader->Size());
  EXPECT_EQ(size, 10000u);
  Bytes buf(777);
  ASSERT_OK(reader->ReadAt(4321, buf));
  EXPECT_TRUE(std::equal(buf.begin(), buf.end(), data.begin() + 4321));
  ASSERT_OK(reader->ReadAt(10000, std::span<uint8_t>()));  // empty read at the end
  Bytes tail(100);
  ASSERT_OK(reader->ReadAt(9900, tail));
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), data.begin() + 9900));
}

TEST(LocalfsBackendTest, ReadPastEndIsIOErrorNamingBlob) {
  TempDir dir;
  Write(dir.Join("blob1"), Bytes(100, 7));
  auto backend = MustNew(dir.path());
  ASSERT_OK_AND_ASSIGN(auto reader, backend->Open("blob1"));
  Bytes buf(50);
  Status st = reader->ReadAt(60, buf);
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_THAT(st.message(), HasSubstr("blob1"));
  st = reader->ReadAt(~uint64_t{0} - 10, buf);
  EXPECT_EQ(st.code(), StatusCode::kIOError);
}

TEST(LocalfsBackendTest, NotFoundNamesIdDirAndAltDirs) {
  TempDir dir, alt1, alt2;
  auto backend = MustNew(dir.path(), "", {alt1.path(), alt2.path()});
  auto r = backend->Open("deadbeef");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  const std::string& msg = r.status().message();
  EXPECT_THAT(msg, HasSubstr("blob deadbeef not found in " + dir.path()));
  EXPECT_THAT(msg, HasSubstr("alt_dirs: " + alt1.path() + ", " + alt2.path()));

  auto plain = MustNew(dir.path());
  EXPECT_THAT(plain->Open("deadbeef").status().message(), HasSubstr("(alt_dirs: none)"));
}

TEST(LocalfsBackendTest, SearchesAltDirsWhenMissingOrEmpty) {
  TempDir dir, alt1, alt2;
  Write(alt2.Join("only-in-alt2"), Bytes(10, 2));
  Write(dir.Join("empty-in-dir"), Bytes());
  Write(alt1.Join("empty-in-dir"), Bytes(20, 3));
  Write(dir.Join("in-dir"), Bytes(30, 4));
  Write(alt1.Join("in-dir"), Bytes(40, 5));
  Write(dir.Join("empty-everywhere"), Bytes());
  auto backend = MustNew(dir.path(), "", {alt1.path(), alt2.path()});

  auto size_of = [&](const std::string& id) -> uint64_t {
    auto r = backend->Open(id);
    EXPECT_TRUE(r.ok()) << id << ": " << r.status().ToString();
    if (!r.ok()) return ~uint64_t{0};
    auto size = (*r)->Size();
    return size.ok() ? *size : ~uint64_t{0};
  };
  EXPECT_EQ(size_of("only-in-alt2"), 10u);
  EXPECT_EQ(size_of("empty-in-dir"), 20u);
  EXPECT_EQ(size_of("in-dir"), 30u);
  EXPECT_EQ(size_of("empty-everywhere"), 0u);  // an empty blob still exists
}

TEST(LocalfsBackendTest, BlobFileServesEveryId) {
  TempDir dir;
  Bytes data = testing::PatternBytes(300, 9);
  Write(dir.Join("all-blobs"), data);
  auto backend = MustNew("/nonexistent", dir.Join("all-blobs"));
  for (const char* id : {"a", "b/../c", "whatever"}) {
    ASSERT_OK_AND_ASSIGN(auto reader, backend->Open(id));
    Bytes buf(300);
    ASSERT_OK(reader->ReadAt(0, buf));
    EXPECT_EQ(buf, data);
  }
  auto missing = MustNew("", dir.Join("nope"));
  EXPECT_EQ(missing->Open("a").status().code(), StatusCode::kNotFound);
}

TEST(LocalfsBackendTest, RejectsIdsThatAreNotOneComponent) {
  TempDir dir;
  auto backend = MustNew(dir.path());
  for (const char* id : {"", ".", "..", "../etc/passwd", "a/b"}) {
    EXPECT_EQ(backend->Open(id).status().code(), StatusCode::kInvalidArgument) << id;
  }
}

TEST(LocalfsBackendTest, DirectoryIsNotABlob) {
  TempDir dir;
  ASSERT_EQ(::mkdir(dir.Join("subdir").c_str(), 0755), 0);
  auto backend = MustNew(dir.path());
  EXPECT_EQ(backend->Open("subdir").status().code(), StatusCode::kNotFound);
  auto file_backend = MustNew("", dir.Join("subdir"));
  EXPECT_EQ(file_backend->Open("x").status().code(), StatusCode::kInvalidArgument);
}

TEST(LocalfsBackendTest, CachesOpenedFilesPerId) {
  TempDir dir;
  Write(dir.Join("blob1"), Bytes(64, 1));
  auto backend = MustNew(dir.path());
  ASSERT_OK_AND_ASSIGN(auto first, backend->Open("blob1"));
  ASSERT_OK_AND_ASSIGN(auto second, backend->Open("blob1"));
  EXPECT_EQ(first.get(), second.get());
  // The cached descriptor keeps serving the blob after its name is gone.
  ASSERT_EQ(::unlink(dir.Join("blob1").c_str()), 0);
  ASSERT_OK_AND_ASSIGN(auto third, backend->Open("blob1"));
  EXPECT_EQ(third.get(), first.get());
  Bytes buf(64);
  ASSERT_OK(third->ReadAt(0, buf));
  EXPECT_EQ(buf, Bytes(64, 1));
}

TEST(LocalfsBackendTest, ConcurrentOpenAndReadAt) {
  TempDir dir;
  Bytes data = testing::PatternBytes(1 << 16, 5);
  Write(dir.Join("blob1"), data);
  auto backend = MustNew(dir.path());
  std::vector<std::shared_ptr<BlobReader>> seen(8);
  std::vector<int> bad(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto r = backend->Open("blob1");
      if (!r.ok()) return void(++bad[t]);
      seen[t] = *r;
      for (uint64_t i = 0; i < 200; ++i) {
        uint64_t off = (i * 7919 + t * 131) % (data.size() - 1000);
        Bytes buf(1000);
        if (!(*r)->ReadAt(off, buf).ok() ||
            !std::equal(buf.begin(), buf.end(), data.begin() + off)) {
          ++bad[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) {
    EXPECT_EQ(bad[t], 0) << "thread " << t;
    EXPECT_EQ(seen[t].get(), seen[0].get());  // one shared reader for the id
  }
}

TEST(LocalfsBackendTest, OpensReferenceFixtureBlob) {
  NYDUS_REQUIRE_FIXTURE(dir, testing::kV6BlobDir);
  auto backend = MustNew(dir);
  ASSERT_OK_AND_ASSIGN(auto reader, backend->Open(testing::kV6BlobId));
  ASSERT_OK_AND_ASSIGN(uint64_t size, reader->Size());
  EXPECT_EQ(size, 14554u);
  // The blob ends with the ToC's reverse-tar header, named rafs.blob.toc.
  Bytes hdr(512);
  ASSERT_OK(reader->ReadAt(size - 512, hdr));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(hdr.data())), "rafs.blob.toc");
}

}  // namespace
}  // namespace nydus::storage
