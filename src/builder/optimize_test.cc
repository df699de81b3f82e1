#include "builder/optimize.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <set>

#include "base/file_util.h"
#include "builder/tar_test_util.h"
#include "builder/unpack.h"
#include "meta/bootstrap_reader.h"
#include "testing/test_util.h"

namespace nydus::builder {
namespace {

using testutil::File;
using testutil::Noise;
using testutil::TarEntry;

// Two layers with 64 KiB chunks: big (4 chunks), small, dir/c and a hardlink to small in
// layer 1; top in layer 2.
struct Fixture {
  testing::TempDir tmp;
  std::string boot;
  std::unique_ptr<storage::BlobBackend> backend;
  std::string out_dir;

  void Build(uint32_t fs_version = 6) {
    const std::vector<std::vector<TarEntry>> layers = {
        {File("big", Noise(4 * 0x10000 - 100, 1)), File("small", Noise(3000, 2)),
         testutil::Dir("dir"), File("dir/c", Noise(70000, 3)), testutil::Hardlink("link", "small")},
        {File("top", Noise(5000, 4))}};
    std::string parent;
    for (size_t i = 0; i < layers.size(); ++i) {
      const std::string tar = tmp.Join("l" + std::to_string(i) + ".tar");
      testutil::WriteTar(tar, layers[i]);
      BuildOptions o = testutil::TarOptions(tar, tmp.path(), "l" + std::to_string(i));
      o.chunk_size = 0x10000;
      o.fs_version = fs_version;
      o.parent_bootstrap = parent;
      ASSERT_OK_AND_ASSIGN(BuildResult r, builder::Build(o));
      parent = r.bootstrap_path;
    }
    boot = parent;
    storage::LocalfsConfig lc;
    lc.dir = tmp.path();
    ASSERT_OK_AND_ASSIGN(backend, storage::NewLocalfsBackend(lc));
    out_dir = tmp.Join("out");
    ASSERT_EQ(::mkdir(out_dir.c_str(), 0755), 0);
  }

  OptimizeOptions Options() const {
    OptimizeOptions o;
    o.output_bootstrap = tmp.Join("optimized.boot");
    o.output_blob_dir = out_dir;
    return o;
  }

  // The image's files as a tar (reads every byte through the blobs in both dirs).
  std::string Unpacked(const std::string& bootstrap, const std::string& name) const {
    for (const auto& e : std::filesystem::directory_iterator(out_dir)) {
      std::filesystem::copy_file(e.path(), tmp.Join(e.path().filename()),
                                 std::filesystem::copy_options::skip_existing);
    }
    UnpackOptions u;
    u.bootstrap_path = bootstrap;
    u.blob_dir = tmp.path();
    u.output_path = tmp.Join(name);
    EXPECT_OK(Unpack(u).status());
    auto b = ReadWholeFile(u.output_path);
    return b.ok() ? std::string(b->begin(), b->end()) : "";
  }
};

std::set<uint32_t> BlobsOf(const meta::Image& img, const std::string& path) {
  std::set<uint32_t> out;
  for (const auto& c : testutil::Find(img, path)->inode->chunks) out.insert(c.blob_index);
  return out;
}

// DescribeTree without the chunks' blob indexes ("@b0").
std::string WithoutBlobs(const std::string& tree) {
  return std::regex_replace(tree, std::regex("@b[0-9]+"), "");
}

TEST(ParsePrefetchFilesTest, ReferenceJsonAndPlainLines) {
  ASSERT_OK_AND_ASSIGN(auto j, ParsePrefetchFiles(R"({"version":"v1","files":[
      {"path":"/usr/bin/ls","ranges":null},
      {"path":"/usr/lib/libc.so","ranges":[[0,4096],[8192,4096]]},
      {"path":"/etc/hosts"}]})"));
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0].path, "/usr/bin/ls");
  EXPECT_FALSE(j[0].ranges.has_value());
  ASSERT_TRUE(j[1].ranges.has_value());
  EXPECT_EQ(*j[1].ranges, (std::vector<std::pair<uint64_t, uint64_t>>{{0, 4096}, {8192, 4096}}));
  EXPECT_FALSE(j[2].ranges.has_value());

  ASSERT_OK_AND_ASSIGN(auto l, ParsePrefetchFiles("/a\n\n  /b c \r\n# note\n/d"));
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[1].path, "/b c");
  EXPECT_EQ(l[2].path, "/d");
  ASSERT_OK_AND_ASSIGN(auto empty, ParsePrefetchFiles(" \n\t "));
  EXPECT_TRUE(empty.empty());
}

TEST(ParsePrefetchFilesTest, RejectsMalformedJson) {
  for (const char* bad : {R"({"version":"v2","files":[]})", R"({"files":[]})",
                          R"({"version":"v1"})", R"({"version":"v1","files":[{"ranges":[]}]})",
                          R"({"version":"v1","files":[{"path":"/a","ranges":[[1]]}]})",
                          R"({"version":"v1","files":[{"path":"/a","ranges":[[-1,2]]}]})",
                          R"({"version":"v1","files":[{"path":"/a","ranges":{}}]})", "{not json"}) {
    EXPECT_FALSE(ParsePrefetchFiles(bad).ok()) << bad;
  }
}

TEST(OptimizeTest, CopiesListedFilesIntoAPrefetchBlob) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(f.Build());
  ASSERT_OK_AND_ASSIGN(meta::Image before, meta::ReadBootstrapFile(f.boot));
  ASSERT_OK_AND_ASSIGN(auto list, ParsePrefetchFiles("/dir/c\n/link\n/top\n/missing\nrel\n/dir\n"));
  ASSERT_OK_AND_ASSIGN(OptimizeResult r,
                       OptimizePrefetch(f.boot, f.backend.get(), list, f.Options()));
  EXPECT_EQ(r.files, 3u);
  EXPECT_EQ(r.skipped, 3u);
  EXPECT_EQ(r.chunks, 4u);  // dir/c 2, link (= small) 1, top 1
  EXPECT_EQ(r.bytes_uncompressed, 70000u + 3000 + 5000);
  ASSERT_EQ(r.blob_ids.size(), 3u);
  EXPECT_EQ(r.blob_ids[2], r.prefetch_blob.blob_id);
  struct stat st;
  ASSERT_EQ(::stat((f.out_dir + "/" + r.prefetch_blob.blob_id).c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), r.prefetch_blob.compressed_size);
  EXPECT_EQ(std::filesystem::directory_iterator(f.out_dir)->path().filename(),
            r.prefetch_blob.blob_id);  // no temporary file left

  ASSERT_OK_AND_ASSIGN(meta::Image after, meta::ReadBootstrapFile(r.bootstrap_path));
  ASSERT_EQ(after.blobs.size(), 3u);
  EXPECT_TRUE(after.blobs[2].features & format::kBlobSeparatedPrefetch);
  EXPECT_FALSE(after.blobs[0].features & format::kBlobSeparatedPrefetch);
  EXPECT_EQ(after.blobs[2].chunk_count, 4u);
  EXPECT_EQ(BlobsOf(after, "/dir/c"), std::set<uint32_t>{2});
  EXPECT_EQ(BlobsOf(after, "/small"), std::set<uint32_t>{2});  // hardlink of /link
  EXPECT_EQ(BlobsOf(after, "/top"), std::set<uint32_t>{2});
  EXPECT_EQ(BlobsOf(after, "/big"), std::set<uint32_t>{0});
  // Chunks are laid out in list order.
  EXPECT_EQ(testutil::Find(after, "/dir/c")->inode->chunks[0].compressed_offset, 0u);
  EXPECT_LT(testutil::Find(after, "/dir/c")->inode->chunks[1].compressed_offset,
            testutil::Find(after, "/small")->inode->chunks[0].compressed_offset);
  // Same tree, same bytes (the digests did not change either).
  EXPECT_EQ(WithoutBlobs(testutil::DescribeTree(before)),
            WithoutBlobs(testutil::DescribeTree(after)));
  EXPECT_EQ(f.Unpacked(f.boot, "a.tar"), f.Unpacked(r.bootstrap_path, "b.tar"));

  // A second optimize of the result is refused.
  OptimizeOptions again = f.Options();
  again.output_bootstrap = f.tmp.Join("twice.boot");
  auto twice = OptimizePrefetch(r.bootstrap_path, f.backend.get(), list, again);
  EXPECT_FALSE(twice.ok());
  EXPECT_NE(twice.status().ToString().find("already has a separated prefetch blob"),
            std::string::npos);
}

TEST(OptimizeTest, RangesSelectOnlyTheChunksRead) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(f.Build());
  ASSERT_OK_AND_ASSIGN(auto list, ParsePrefetchFiles(R"({"version":"v1","files":[
      {"path":"/big","ranges":[[70000,10],[196608,65536]]}]})"));
  ASSERT_OK_AND_ASSIGN(OptimizeResult r,
                       OptimizePrefetch(f.boot, f.backend.get(), list, f.Options()));
  EXPECT_EQ(r.chunks, 2u);  // chunks 1 and 3; the range ending at 0x30000 does not touch 2
  ASSERT_OK_AND_ASSIGN(meta::Image after, meta::ReadBootstrapFile(r.bootstrap_path));
  const auto& chunks = testutil::Find(after, "/big")->inode->chunks;
  ASSERT_EQ(chunks.size(), 4u);
  EXPECT_EQ(chunks[0].blob_index, 0u);
  EXPECT_EQ(chunks[1].blob_index, 2u);
  EXPECT_EQ(chunks[2].blob_index, 0u);
  EXPECT_EQ(chunks[3].blob_index, 2u);
  EXPECT_EQ(chunks[3].file_offset, 0x30000u);
  EXPECT_EQ(f.Unpacked(f.boot, "a.tar"), f.Unpacked(r.bootstrap_path, "b.tar"));
}

TEST(OptimizeTest, WorksOnRafsV5) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(f.Build(5));
  ASSERT_OK_AND_ASSIGN(auto list, ParsePrefetchFiles("/big\n/top\n"));
  ASSERT_OK_AND_ASSIGN(OptimizeResult r,
                       OptimizePrefetch(f.boot, f.backend.get(), list, f.Options()));
  EXPECT_EQ(r.chunks, 5u);
  ASSERT_OK_AND_ASSIGN(meta::Image after, meta::ReadBootstrapFile(r.bootstrap_path));
  EXPECT_FALSE(after.IsV6());
  EXPECT_TRUE(after.blobs.back().features & format::kBlobSeparatedPrefetch);
  EXPECT_EQ(f.Unpacked(f.boot, "a.tar"), f.Unpacked(r.bootstrap_path, "b.tar"));
}

TEST(OptimizeTest, NothingSelectedOrBadSourceLeavesNoOutput) {
  Fixture f;
  ASSERT_NO_FATAL_FAILURE(f.Build());
  ASSERT_OK_AND_ASSIGN(auto none, ParsePrefetchFiles("/missing\n/dir\n"));
  auto r = OptimizePrefetch(f.boot, f.backend.get(), none, f.Options());
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("select no data"), std::string::npos);

  // A corrupt source chunk fails the digest check: no blob, no bootstrap.
  ASSERT_OK_AND_ASSIGN(meta::Image img, meta::ReadBootstrapFile(f.boot));
  const std::string blob = f.tmp.Join(img.blobs[0].blob_id);
  {
    UniqueFd fd(::open(blob.c_str(), O_WRONLY));
    ASSERT_TRUE(fd.valid());
    const std::string junk(64, 'x');
    ASSERT_EQ(::pwrite(fd.get(), junk.data(), junk.size(), 10), 64);
  }
  ASSERT_OK_AND_ASSIGN(auto list, ParsePrefetchFiles("/big\n"));
  auto bad = OptimizePrefetch(f.boot, f.backend.get(), list, f.Options());
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(std::filesystem::is_empty(f.out_dir));
  EXPECT_FALSE(std::filesystem::exists(f.Options().output_bootstrap));
}

}  // namespace
}  // namespace nydus::builder
