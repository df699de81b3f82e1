// Tar sources through TarInput (ISA-L gzip) and the pipelined ChunkStream, end to end through
// Build(): the same layer as plain tar, as one gzip member, as several members, through a
// FIFO, with 1, 2 or 4 threads gives byte-identical bootstraps and blobs; damaged gzip
// streams fail cleanly.
#include "builder/tar_input.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "base/file_util.h"
#include "builder/builder.h"
#include "builder/tar_test_util.h"
#include "testing/test_util.h"

namespace nydus::builder {
namespace {

using testutil::GzipMembers;
using testutil::Noise;
using testutil::TarEntry;
using testutil::TarOptions;
using testutil::WriteTar;

class TarInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Files of many 4 KiB chunks; contents repeat near and far apart in the stream.
    std::vector<TarEntry> entries;
    for (int i = 0; i < 60; ++i) {
      TarEntry e;
      e.path = "d" + std::to_string(i % 5) + "/f" + std::to_string(i);
      e.mode = S_IFREG | 0644;
      e.data = Noise(3000 + static_cast<size_t>(i % 7) * 5000, static_cast<uint32_t>(i % 13));
      if (i % 4 == 0) e.data += std::string(20000, 'z');
      entries.push_back(std::move(e));
    }
    WriteTar(tmp_.Join("layer.tar"), entries);
    ASSERT_OK_AND_ASSIGN(tar_, ReadWholeFile(tmp_.Join("layer.tar")));
  }

  // Builds `source` into a fresh directory; returns bootstrap bytes + blob bytes.
  Result<std::pair<Bytes, Bytes>> BuildBytes(const std::string& source, size_t threads,
                                             uint32_t fs_version = 6) {
    const std::string dir = tmp_.Join("out" + std::to_string(builds_++));
    if (::mkdir(dir.c_str(), 0755) != 0) return Status::IOError("mkdir " + dir);
    BuildOptions o = TarOptions(source, dir, "b", SourceType::kTarGz);
    o.threads = threads;
    o.fs_version = fs_version;
    o.chunk_size = 0x1000;  // many chunks: the ring rotates many times
    o.repeatable = true;
    RETURN_IF_ERROR(ValidateOptions(o));
    ASSIGN_OR_RETURN(BuildResult r, Build(o));
    ASSIGN_OR_RETURN(Bytes boot, ReadWholeFile(r.bootstrap_path));
    if (r.blob_path.empty()) return Status::Internal("no blob");
    ASSIGN_OR_RETURN(Bytes blob, ReadWholeFile(r.blob_path));
    return std::make_pair(std::move(boot), std::move(blob));
  }

  std::string Write(const std::string& name, const Bytes& bytes) {
    EXPECT_OK(WriteWholeFile(tmp_.Join(name), bytes));
    return tmp_.Join(name);
  }

  testing::TempDir tmp_;
  Bytes tar_;
  int builds_ = 0;
};

TEST_F(TarInputTest, SameBytesForPlainGzipMultiMemberAndAnyThreads) {
  for (uint32_t version : {6u, 5u}) {
    SCOPED_TRACE("v" + std::to_string(version));
    ASSERT_OK_AND_ASSIGN(auto want, BuildBytes(tmp_.Join("layer.tar"), 1, version));
    ASSERT_GT(want.second.size(), 100u * 1024);
    const std::string one = Write("one.tar.gz", GzipMembers(tar_, 1));
    const std::string many = Write("many.tar.gz", GzipMembers(tar_, 7, /*named=*/true));
    for (const std::string& src : {tmp_.Join("layer.tar"), one, many}) {
      for (size_t threads : {1, 2, 4}) {
        SCOPED_TRACE(src + ", " + std::to_string(threads) + " threads");
        ASSERT_OK_AND_ASSIGN(auto got, BuildBytes(src, threads, version));
        EXPECT_TRUE(got.first == want.first) << "bootstraps differ";
        EXPECT_TRUE(got.second == want.second) << "blobs differ";
      }
    }
  }
}

TEST_F(TarInputTest, FifoSources) {
  ::signal(SIGPIPE, SIG_IGN);  // a failing build closes the FIFO early: fail, do not die
  ASSERT_OK_AND_ASSIGN(auto want, BuildBytes(tmp_.Join("layer.tar"), 2));
  for (bool gz : {false, true}) {
    const Bytes bytes = gz ? GzipMembers(tar_, 3) : tar_;
    const std::string fifo = tmp_.Join(gz ? "fifo.gz" : "fifo");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    std::thread writer([&] {
      const int fd = ::open(fifo.c_str(), O_WRONLY);
      ASSERT_GE(fd, 0);
      for (size_t off = 0; off < bytes.size();) {  // small writes: the reader sees pieces
        const ssize_t n =
            ::write(fd, bytes.data() + off, std::min<size_t>(1000, bytes.size() - off));
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      ::close(fd);
    });
    auto got = BuildBytes(fifo, 2);
    writer.join();
    ASSERT_OK(got.status());
    EXPECT_TRUE(got->first == want.first);
    EXPECT_TRUE(got->second == want.second);
  }
}

TEST_F(TarInputTest, TrailingGarbageIsIgnored) {
  ASSERT_OK_AND_ASSIGN(auto want, BuildBytes(tmp_.Join("layer.tar"), 2));
  const std::string junk = "not gzip";
  for (const Bytes& tail : {Bytes(4096, 0), Bytes(junk.begin(), junk.end()), Bytes{0x1f, 0x00}}) {
    Bytes gz = GzipMembers(tar_, 2);
    gz.insert(gz.end(), tail.begin(), tail.end());
    ASSERT_OK_AND_ASSIGN(auto got, BuildBytes(Write("tail.tar.gz", gz), 2));
    EXPECT_TRUE(got.first == want.first);
    EXPECT_TRUE(got.second == want.second);
  }
}

TEST_F(TarInputTest, DamagedGzipFailsCleanly) {
  const Bytes gz = GzipMembers(tar_, 2);
  auto expect_corruption = [&](const Bytes& bad, const std::string& what) {
    auto r = BuildBytes(Write("bad.tar.gz", bad), 2);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
    EXPECT_NE(r.status().ToString().find("gzip"), std::string::npos) << r.status().ToString();
  };
  // Truncated anywhere: in the first header, in the data, between members, in the last
  // trailer.
  std::vector<size_t> cuts = {2, 5, 9, gz.size() / 3, gz.size() / 2, gz.size() - 9};
  for (size_t i = 1; i <= 8; ++i) cuts.push_back(gz.size() - i);
  for (size_t cut : cuts) {
    SCOPED_TRACE("cut at " + std::to_string(cut) + " of " + std::to_string(gz.size()));
    expect_corruption(Bytes(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(cut)),
                      "truncated");
  }
  Bytes bad = gz;
  bad[bad.size() - 6] ^= 0x40;  // CRC-32 of the last member
  expect_corruption(bad, "crc");
  bad = gz;
  bad[bad.size() - 2] ^= 0x01;  // ISIZE
  expect_corruption(bad, "isize");
  bad = gz;
  for (size_t i = 100; i < 140; ++i) bad[i] ^= 0x5a;  // deflate data of the first member
  // Garbage inflated before the error is found trips libarchive first; the error still
  // names the gzip damage.
  expect_corruption(bad, "deflate data");
  bad = gz;
  bad.push_back(0x1f);  // a lone byte that could start a member
  expect_corruption(bad, "lone 1f");
  // Nothing but the bootstraps of successful builds was left behind by the failures.
  for (int i = 0; i < builds_; ++i) {
    const std::string dir = tmp_.Join("out" + std::to_string(i));
    EXPECT_NE(::access((dir + "/b.boot").c_str(), F_OK), 0) << dir;
  }
}

TEST_F(TarInputTest, OpenErrors) {
  auto r = TarInput::Open(tmp_.Join("missing"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(auto plain, TarInput::Open(tmp_.Join("layer.tar")));
  EXPECT_FALSE(plain->gzip());
  ASSERT_OK_AND_ASSIGN(auto gz, TarInput::Open(Write("x.gz", GzipMembers(tar_, 1))));
  EXPECT_TRUE(gz->gzip());
  ASSERT_OK_AND_ASSIGN(auto empty, TarInput::Open(Write("empty", Bytes{})));
  EXPECT_FALSE(empty->gzip());
}

}  // namespace
}  // namespace nydus::builder
