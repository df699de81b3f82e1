#include "builder/export_block.h"

#include <sys/stat.h>

#include <cstring>

#include "base/file_util.h"
#include "builder/tar_test_util.h"
#include "format/v6.h"
#include "meta/bootstrap_reader.h"
#include "testing/test_util.h"

namespace nydus::builder {
namespace {

using testutil::TarEntry;
using testutil::TarOptions;
using testutil::WriteTar;

TarEntry F(const std::string& p, std::string data) {
  TarEntry e;
  e.path = p;
  e.data = std::move(data);
  return e;
}

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 17 + i / 4096) & 0xff);
  return s;
}

// Two layers (two blobs): every file's bytes sit at mapped_blkaddr*4096 + uncompressed_offset.
TEST(ExportBlockTest, BlobDataFollowsBootstrapAtMappedBlkaddr) {
  testing::TempDir tmp;
  WriteTar(tmp.Join("l1.tar"), {F("a", Pattern(70000, 1)), F("b", "small")});
  WriteTar(tmp.Join("l2.tar"), {F("c", Pattern(9000, 2)), F(".wh.b", "")});
  BuildOptions o1 = TarOptions(tmp.Join("l1.tar"), tmp.path(), "l1");
  o1.chunk_size = 0x4000;
  ASSERT_OK_AND_ASSIGN(BuildResult r1, Build(o1));
  BuildOptions o2 = TarOptions(tmp.Join("l2.tar"), tmp.path(), "l2");
  o2.chunk_size = 0x4000;
  o2.parent_bootstrap = r1.bootstrap_path;
  ASSERT_OK_AND_ASSIGN(BuildResult r2, Build(o2));

  ExportBlockOptions eo;
  eo.bootstrap_path = r2.bootstrap_path;
  eo.blob_dir = tmp.path();
  ASSERT_OK_AND_ASSIGN(ExportBlockResult res, ExportBlock(eo));
  EXPECT_EQ(res.output_path, tmp.Join("l2.boot.disk"));
  ASSERT_OK_AND_ASSIGN(Bytes disk, ReadWholeFile(res.output_path));
  EXPECT_EQ(disk.size(), res.size);
  ASSERT_OK_AND_ASSIGN(Bytes boot, ReadWholeFile(r2.bootstrap_path));
  ASSERT_EQ(res.mapped_blkaddr.size(), 2u);
  // Only the device slots' mapped_blkaddr differ from the bootstrap.
  for (size_t i = 0; i < 2; ++i) {
    format::RafsV6Device dev;
    ASSERT_TRUE(ReadPod(ByteSpan(disk.data(), disk.size()),
                        format::kV6DeviceTableOffset + i * sizeof(dev), &dev));
    EXPECT_EQ(dev.mapped_blkaddr, res.mapped_blkaddr[i]);
    EXPECT_EQ(dev.mapped_blkaddr * 4096ull % kBlockSegAlignment, 0u);
    EXPECT_GE(dev.mapped_blkaddr * 4096ull, boot.size());
    std::memset(disk.data() + format::kV6DeviceTableOffset + i * sizeof(dev) + 68, 0, 4);
  }
  EXPECT_TRUE(std::equal(boot.begin(), boot.end(), disk.begin()));
  EXPECT_GT(res.mapped_blkaddr[1], res.mapped_blkaddr[0]);

  ASSERT_OK_AND_ASSIGN(meta::Image image, meta::ReadBootstrapFile(r2.bootstrap_path));
  const std::map<std::string, std::string> want = {{"a", Pattern(70000, 1)},
                                                   {"c", Pattern(9000, 2)}};
  for (const auto& [name, content] : want) {
    const meta::Node* n = image.root->FindChild(name);
    ASSERT_NE(n, nullptr) << name;
    std::string got;
    for (const meta::ChunkInfo& c : n->inode->chunks) {
      const uint64_t at = res.mapped_blkaddr[c.blob_index] * 4096ull + c.uncompressed_offset;
      ASSERT_LE(at + c.uncompressed_size, disk.size());
      got.append(reinterpret_cast<const char*>(disk.data() + at), c.uncompressed_size);
    }
    EXPECT_EQ(got, content) << name;
  }
}

TEST(ExportBlockTest, RejectsV5) {
  testing::TempDir tmp;
  WriteTar(tmp.Join("l1.tar"), {F("a", "x")});
  BuildOptions o = TarOptions(tmp.Join("l1.tar"), tmp.path(), "l1");
  o.fs_version = 5;
  o.aligned_chunk = false;
  ASSERT_OK_AND_ASSIGN(BuildResult r, Build(o));
  ExportBlockOptions eo;
  eo.bootstrap_path = r.bootstrap_path;
  eo.blob_dir = tmp.path();
  EXPECT_EQ(ExportBlock(eo).status().code(), StatusCode::kNotSupported);
}

}  // namespace
}  // namespace nydus::builder
