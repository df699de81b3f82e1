#include "builder/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include "base/file_util.h"
#include "builder/tar_test_util.h"
#include "meta/bootstrap_reader.h"
#include "testing/test_util.h"

namespace nydus::builder {
namespace {

using testutil::DescribeTree;
using testutil::TarEntry;
using testutil::TarOptions;
using testutil::WriteTar;

TarEntry E(const std::string& p, uint32_t mode) {
  TarEntry e;
  e.path = p;
  e.mode = mode;
  return e;
}

std::vector<TarEntry> SampleTree() {
  std::vector<TarEntry> v;
  TarEntry d = E("dir", S_IFDIR | 0750);
  d.uid = 3000000;  // beyond ustar's 7 octal digits
  d.gid = 65534;
  d.xattrs = {{"user.dir", "v"}};
  d.mtime_nsec = 123456789;
  v.push_back(d);
  TarEntry big = E("dir/big", S_IFREG | 0644);
  for (uint64_t i = 0; i < 300000; ++i) big.data += static_cast<char>('a' + (i * 7919) % 26);
  big.xattrs = {{"trusted.t", std::string("\0\1\2", 3)}, {"user.a", "b"}};
  v.push_back(big);
  v.push_back([] {
    TarEntry f = E("dir/small", S_IFREG | 04755);
    f.data = "hello";
    f.mtime = -5;  // before the epoch
    return f;
  }());
  TarEntry h;
  h.path = "dir/hard";
  h.hardlink = "dir/small";
  v.push_back(h);
  v.push_back(E("empty", S_IFREG | 0600));
  std::string long_name(200, 'n');
  TarEntry l = E(std::string("dir/") + long_name, S_IFLNK | 0777);
  l.link = std::string(300, 't');
  v.push_back(l);
  TarEntry c = E("chr", S_IFCHR | 0600);
  c.rdev_major = 1;
  c.rdev_minor = 3;
  v.push_back(c);
  TarEntry b = E("blk", S_IFBLK | 0600);
  b.rdev_major = 259;
  b.rdev_minor = 70000;
  v.push_back(b);
  v.push_back(E("fifo", S_IFIFO | 0644));
  return v;
}

// tar → image → unpack → tar → image: the two images describe the same tree (chunks too).
TEST(UnpackTest, RoundTripThroughTar) {
  testing::TempDir tmp;
  const std::string src = tmp.Join("src.tar");
  WriteTar(src, SampleTree());
  BuildOptions o = TarOptions(src, tmp.path(), "a");
  o.chunk_size = 0x10000;  // several chunks for dir/big
  ASSERT_OK(ValidateOptions(o));
  ASSERT_OK_AND_ASSIGN(BuildResult first, Build(o));

  UnpackOptions u;
  u.bootstrap_path = first.bootstrap_path;
  u.blob_dir = tmp.path();
  u.output_path = tmp.Join("out.tar");
  ASSERT_OK_AND_ASSIGN(UnpackStats st, Unpack(u));
  EXPECT_EQ(st.entries, 9u);
  EXPECT_EQ(st.data_bytes, 300000u + 5u);

  BuildOptions o2 = TarOptions(u.output_path, tmp.path(), "b");
  o2.chunk_size = 0x10000;
  ASSERT_OK_AND_ASSIGN(BuildResult second, Build(o2));
  ASSERT_OK_AND_ASSIGN(meta::Image a, meta::ReadBootstrapFile(first.bootstrap_path));
  ASSERT_OK_AND_ASSIGN(meta::Image b, meta::ReadBootstrapFile(second.bootstrap_path));
  // The root is not emitted (as the reference): compare everything below it.
  auto below_root = [](std::string s) { return s.substr(s.find('\n') + 1); };
  EXPECT_EQ(below_root(DescribeTree(a)), below_root(DescribeTree(b)));
}

TEST(UnpackTest, HardlinkPointsAtFirstNameAndXattrsArePax) {
  testing::TempDir tmp;
  const std::string src = tmp.Join("src.tar");
  WriteTar(src, SampleTree());
  ASSERT_OK_AND_ASSIGN(BuildResult r, Build(TarOptions(src, tmp.path(), "a")));
  UnpackOptions u;
  u.bootstrap_path = r.bootstrap_path;
  u.blob_dir = tmp.path();
  u.output_path = tmp.Join("out.tar");
  ASSERT_OK(Unpack(u).status());
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  ASSERT_EQ(archive_read_open_filename(a, u.output_path.c_str(), 10240), ARCHIVE_OK);
  struct archive_entry* e;
  std::map<std::string, std::string> hardlinks;
  int xattr_entries = 0;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    if (archive_entry_hardlink(e)) hardlinks[archive_entry_pathname(e)] = archive_entry_hardlink(e);
    if (archive_entry_xattr_reset(e) > 0) ++xattr_entries;
  }
  archive_read_free(a);
  // dir/hard sorts before dir/small, so it is the first name and dir/small links to it.
  ASSERT_EQ(hardlinks.size(), 1u);
  EXPECT_EQ(hardlinks["dir/small"], "dir/hard");
  EXPECT_EQ(xattr_entries, 2);
  // The raw archive carries SCHILY.xattr records (what GNU tar --xattrs reads).
  ASSERT_OK_AND_ASSIGN(Bytes raw, ReadWholeFile(u.output_path));
  EXPECT_NE(std::string(raw.begin(), raw.end()).find("SCHILY.xattr.user.a=b"), std::string::npos);
}

TEST(UnpackTest, CorruptBlobIsAnError) {
  testing::TempDir tmp;
  const std::string src = tmp.Join("src.tar");
  WriteTar(src, SampleTree());
  BuildOptions o = TarOptions(src, tmp.path(), "a");
  o.compressor = format::Compressor::kNone;
  ASSERT_OK_AND_ASSIGN(BuildResult r, Build(o));
  ASSERT_OK_AND_ASSIGN(Bytes blob, ReadWholeFile(r.blob_path));
  blob[100] ^= 0xff;  // inside dir/big's first chunk
  ASSERT_OK(WriteWholeFile(r.blob_path, blob));
  UnpackOptions u;
  u.bootstrap_path = r.bootstrap_path;
  u.blob_dir = tmp.path();
  u.output_path = tmp.Join("out.tar");
  auto res = Unpack(u);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kCorruption) << res.status().ToString();
}

}  // namespace
}  // namespace nydus::builder
