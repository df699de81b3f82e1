#include "builder/tar_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fstream>

#include "base/file_util.h"
#include "builder/builder.h"
#include "builder/tar_test_util.h"
#include "meta/bootstrap_reader.h"
#include "testing/test_util.h"

namespace nydus::builder {
namespace {

using testutil::DescribeTree;
using testutil::Dir;
using testutil::File;
using testutil::Find;
using testutil::Noise;
using testutil::TarEntry;
using testutil::TarFormat;
using testutil::TarOptions;
using testutil::WriteTar;

Result<meta::Image> BuildTar(const BuildOptions& o) {
  RETURN_IF_ERROR(ValidateOptions(o));
  ASSIGN_OR_RETURN(BuildResult r, Build(o));
  return meta::ReadBootstrapFile(r.bootstrap_path);
}

TEST(TarSourceTest, EveryEntryType) {
  testing::TempDir tmp;
  const std::string big = Noise(3 * 4096 + 123, 1);
  TarEntry sym;
  sym.path = "d/link";
  sym.mode = S_IFLNK | 0777;
  sym.link = "../" + std::string(200, 't');  // long link target
  TarEntry chr;
  chr.path = "dev/null";
  chr.mode = S_IFCHR | 0666;
  chr.rdev_major = 1;
  chr.rdev_minor = 3;
  TarEntry blk = chr;
  blk.path = "dev/sda";
  blk.mode = S_IFBLK | 0660;
  blk.rdev_major = 8;
  blk.rdev_minor = 0;
  TarEntry fifo;
  fifo.path = "dev/fifo";
  fifo.mode = S_IFIFO | 0600;
  TarEntry hard;
  hard.path = "d/hard";
  hard.hardlink = "d/big";
  TarEntry x = File("d/x", "xattr file");
  x.xattrs = {{"user.mime", "text/plain"},
              {"security.capability", std::string("\1\0\0\2", 4)},
              {"other.ns", "dropped"}};
  x.mtime_nsec = 123456789;
  x.uid = 1000;
  x.gid = 2000;
  const std::string long_name(150, 'n');
  for (TarFormat f : {TarFormat::kPax, TarFormat::kGnu}) {
    const std::string tar = tmp.Join(f == TarFormat::kPax ? "pax.tar" : "gnu.tar");
    std::vector<TarEntry> entries = {Dir("./", 0700),
                                     Dir("d"),
                                     File("d/big", big),
                                     hard,
                                     sym,
                                     chr,
                                     blk,
                                     fifo,
                                     File("d/" + long_name, "l"),
                                     File("d/empty", "")};
    if (f == TarFormat::kPax) entries.push_back(x);
    WriteTar(tar, entries, f);
    BuildOptions o = TarOptions(tar, tmp.path(), f == TarFormat::kPax ? "pax" : "gnu");
    o.chunk_size = 0x1000;
    ASSERT_OK_AND_ASSIGN(meta::Image img, BuildTar(o));
    SCOPED_TRACE(DescribeTree(img));
    EXPECT_EQ(img.root->inode->mode, S_IFDIR | 0700u);
    const meta::Node* b = Find(img, "/d/big");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->inode->size, big.size());
    ASSERT_EQ(b->inode->chunks.size(), 4u);
    EXPECT_EQ(b->inode->chunks[3].uncompressed_size, 123u);
    EXPECT_EQ(
        b->inode->chunks[1].digest,
        ComputeDigest(DigestAlgo::kBlake3, AsBytes(std::string_view(big).substr(4096, 4096))));
    const meta::Node* h = Find(img, "/d/hard");
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->inode, b->inode);
    EXPECT_EQ(b->inode->nlink, 2u);
    const meta::Node* l = Find(img, "/d/link");
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->inode->symlink, sym.link);
    EXPECT_EQ(l->inode->size, sym.link.size());
    const meta::Node* c = Find(img, "/dev/null");
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(c->inode->IsChr());
    EXPECT_EQ(c->inode->rdev, makedev(1, 3));
    const meta::Node* bk = Find(img, "/dev/sda");
    ASSERT_NE(bk, nullptr);
    EXPECT_TRUE(bk->inode->IsBlk());
    EXPECT_EQ(bk->inode->rdev, makedev(8, 0));
    ASSERT_NE(Find(img, "/dev/fifo"), nullptr);
    EXPECT_TRUE(S_ISFIFO(Find(img, "/dev/fifo")->inode->mode));
    // dev/ was implied by its entries: the reference's placeholder attributes.
    const meta::Node* dev = Find(img, "/dev");
    EXPECT_EQ(dev->inode->mode, S_IFDIR | 0755u);
    EXPECT_EQ(dev->inode->mtime, 0u);
    ASSERT_NE(Find(img, "/d/" + long_name), nullptr);
    EXPECT_TRUE(Find(img, "/d/empty")->inode->chunks.empty());
    if (f == TarFormat::kPax) {
      const meta::Node* xn = Find(img, "/d/x");
      ASSERT_NE(xn, nullptr);
      ASSERT_EQ(xn->inode->xattrs.size(), 2u);
      EXPECT_EQ(xn->inode->xattrs[0].name, "security.capability");
      EXPECT_EQ(xn->inode->xattrs[1].value, "text/plain");
      EXPECT_EQ(xn->inode->mtime_nsec, 123456789u);
      EXPECT_EQ(xn->inode->uid, 1000u);
      EXPECT_EQ(xn->inode->gid, 2000u);
    }
  }
}

// Names are raw bytes: UTF-8 in PAX records and non-UTF-8 bytes in GNU headers both survive.
TEST(TarSourceTest, NonAsciiNames) {
  testing::TempDir tmp;
  const std::string utf8 = "caf\xc3\xa9-" + std::string(120, 'u');  // long: needs a PAX path
  const std::string latin1 = "caf\xe9";
  // A PAX record as Go's archive/tar writes it (UTF-8 path, no hdrcharset), made by hand:
  // libarchive's writer cannot take that name in the C locale.
  std::string rec = "path=" + utf8 + "\n";
  size_t len = rec.size() + 4;  // "NNN " prefix
  rec = std::to_string(len) + " " + rec;
  ASSERT_EQ(rec.size(), len);
  std::string pax = testutil::RawTarHeader("PaxHeaders/x", 'x', rec.size()) +
                    testutil::PadBlock(rec) + testutil::RawTarHeader("placeholder", '0', 1) +
                    testutil::PadBlock("u") + std::string(1024, '\0');
  ASSERT_OK(WriteWholeFile(tmp.Join("pax.tar"), AsBytes(pax)));
  WriteTar(tmp.Join("gnu.tar"), {File(latin1, "l")}, TarFormat::kGnu);
  ASSERT_OK_AND_ASSIGN(meta::Image a, BuildTar(TarOptions(tmp.Join("pax.tar"), tmp.path(), "p")));
  EXPECT_NE(a.root->FindChild(utf8), nullptr) << DescribeTree(a);
  ASSERT_OK_AND_ASSIGN(meta::Image b, BuildTar(TarOptions(tmp.Join("gnu.tar"), tmp.path(), "g")));
  EXPECT_NE(b.root->FindChild(latin1), nullptr) << DescribeTree(b);
}

TEST(TarSourceTest, GzipAndSparse) {
  testing::TempDir tmp;
  // 20 KiB logical, data at [0,100) and [12288, 12388); the rest are holes (zeros).
  std::string content(20480, '\0');
  std::string d1 = Noise(100, 7), d2 = Noise(100, 8);
  content.replace(0, 100, d1);
  content.replace(12288, 100, d2);
  TarEntry sp = File("sparse", content);
  sp.sparse = {{0, 100}, {12288, 100}};
  WriteTar(tmp.Join("s.tar.gz"), {sp}, TarFormat::kPax, /*gzip=*/true);
  BuildOptions o = TarOptions(tmp.Join("s.tar.gz"), tmp.path(), "s", SourceType::kTarGz);
  o.chunk_size = 0x1000;
  ASSERT_OK_AND_ASSIGN(meta::Image img, BuildTar(o));
  const meta::Node* n = Find(img, "/sparse");
  ASSERT_NE(n, nullptr);
  ASSERT_EQ(n->inode->size, content.size());
  ASSERT_EQ(n->inode->chunks.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(n->inode->chunks[i].digest,
              ComputeDigest(DigestAlgo::kBlake3,
                            AsBytes(std::string_view(content).substr(i * 4096, 4096))))
        << i;
  }
}

TEST(TarSourceTest, ImpliedParentsAndLateDirectoryEntries) {
  testing::TempDir tmp;
  TarEntry late = Dir("a/b", 0700);
  late.mtime = 42;
  WriteTar(tmp.Join("t.tar"), {File("a/b/c", "c"), late, File("a/b/d", "d")});
  ASSERT_OK_AND_ASSIGN(meta::Image img, BuildTar(TarOptions(tmp.Join("t.tar"), tmp.path(), "t")));
  const meta::Node* b = Find(img, "/a/b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->inode->mode, S_IFDIR | 0700u);
  EXPECT_EQ(b->inode->mtime, 42u);
  EXPECT_EQ(b->children.size(), 2u);  // children kept when the entry came late
  EXPECT_EQ(Find(img, "/a")->inode->mode, S_IFDIR | 0755u);
}

TEST(TarSourceTest, HostileInputFailsCleanly) {
  testing::TempDir tmp;
  auto expect_fail = [&](const std::vector<TarEntry>& entries, const std::string& what) {
    const std::string tar = tmp.Join("bad.tar");
    WriteTar(tar, entries, TarFormat::kPax);
    auto r = BuildTar(TarOptions(tar, tmp.path(), "bad"));
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_NE(r.status().ToString().find(what), std::string::npos) << r.status().ToString();
  };
  expect_fail({File("../escape", "x")}, "..");
  expect_fail({File("a/../../escape", "x")}, "..");
  expect_fail({File("/abs", "x")}, "absolute");
  TarEntry h;
  h.path = "h";
  h.hardlink = "missing";
  expect_fail({h}, "not an earlier entry");
  h.hardlink = "d";
  expect_fail({Dir("d"), h}, "directory");
  expect_fail({File("f", "x"), File("f/g", "y")}, "not a directory");

  // Truncated archive: a 1 MiB file cut in the middle.
  const std::string full = tmp.Join("full.tar");
  WriteTar(full, {File("big", Noise(1 << 20, 3))});
  ASSERT_OK_AND_ASSIGN(Bytes bytes, ReadWholeFile(full));
  bytes.resize(300 * 1024);
  ASSERT_OK(WriteWholeFile(tmp.Join("cut.tar"), bytes));
  auto r = BuildTar(TarOptions(tmp.Join("cut.tar"), tmp.path(), "cut"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("big"), std::string::npos) << r.status().ToString();

  // Not a tar at all; and an empty file.
  ASSERT_OK(WriteWholeFile(tmp.Join("junk.tar"), AsBytes(Noise(5000, 9))));
  EXPECT_FALSE(BuildTar(TarOptions(tmp.Join("junk.tar"), tmp.path(), "junk")).ok());
  // A header claiming a huge size with no data behind it.
  TarEntry huge = File("huge", "");
  WriteTar(tmp.Join("huge.tar"), {huge});
  ASSERT_OK_AND_ASSIGN(Bytes hb, ReadWholeFile(tmp.Join("huge.tar")));
  // Rewrite the ustar size field (offset 124, 12 octal digits) of the first header.
  const char* sz = "77777777777";
  std::copy(sz, sz + 11, hb.begin() + 124);
  uint32_t sum = 0;
  std::fill(hb.begin() + 148, hb.begin() + 156, ' ');
  for (size_t i = 0; i < 512; ++i) sum += hb[i];
  char chk[8];
  std::snprintf(chk, sizeof(chk), "%06o", sum);
  std::copy(chk, chk + 7, hb.begin() + 148);
  ASSERT_OK(WriteWholeFile(tmp.Join("huge.tar"), hb));
  r = BuildTar(TarOptions(tmp.Join("huge.tar"), tmp.path(), "huge"));
  EXPECT_FALSE(r.ok());
  // No leftovers besides what we wrote ourselves: failed builds remove their temp blob.
  for (const char* name : {"bad.boot", "cut.boot", "junk.boot", "huge.boot"}) {
    EXPECT_NE(::access(tmp.Join(name).c_str(), F_OK), 0) << name;
  }
}

// The same tree as a directory and as a tar (entries in tree pre-order) gives byte-identical
// bootstraps and blobs.
TEST(TarSourceTest, SameBytesAsDirectorySource) {
  testing::TempDir tmp;
  const std::string src = tmp.Join("src");
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  std::vector<TarEntry> entries;
  auto add_dir = [&](const std::string& rel, uint32_t perm) {
    ASSERT_EQ(::mkdir((src + "/" + rel).c_str(), perm), 0);
    ::chmod((src + "/" + rel).c_str(), perm);
    entries.push_back(Dir(rel, perm));
  };
  auto add_file = [&](const std::string& rel, const std::string& data) {
    ASSERT_OK(WriteWholeFile(src + "/" + rel, AsBytes(data)));
    ::chmod((src + "/" + rel).c_str(), 0640);
    entries.push_back(File(rel, data, 0640));
  };
  add_dir("a", 0750);
  add_file("a/one", Noise(5000, 1));
  add_file("a/two", Noise(5000, 1));  // same content: deduplicated
  ASSERT_EQ(::link((src + "/a/two").c_str(), (src + "/a/two-link").c_str()), 0);
  TarEntry hl;
  hl.path = "a/two-link";
  hl.hardlink = "a/two";
  entries.push_back(hl);
  add_dir("b", 0755);
  add_file("b/big", Noise(9000, 2));
  ASSERT_EQ(::symlink("../a/one", (src + "/b/sym").c_str()), 0);
  TarEntry sl;
  sl.path = "b/sym";
  sl.mode = S_IFLNK | 0777;
  sl.link = "../a/one";
  entries.push_back(sl);
  add_file("top", "");
  // mtimes: set on every path (symlink with AT_SYMLINK_NOFOLLOW), children before dirs.
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    struct timespec ts[2] = {{it->mtime, 0}, {it->mtime, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (src + "/" + it->path).c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
  }
  WriteTar(tmp.Join("src.tar"), entries);
  const std::string out_dir = tmp.Join("dir-out"), out_tar = tmp.Join("tar-out");
  ::mkdir(out_dir.c_str(), 0755);
  ::mkdir(out_tar.c_str(), 0755);
  BuildOptions od = TarOptions(src, out_dir, "b", SourceType::kDirectory);
  BuildOptions ot = TarOptions(tmp.Join("src.tar"), out_tar, "b");
  od.repeatable = ot.repeatable = true;  // the temp dir's owner is not in the tar
  od.chunk_size = ot.chunk_size = 0x1000;
  ASSERT_OK(ValidateOptions(od));
  ASSERT_OK_AND_ASSIGN(BuildResult rd, Build(od));
  ASSERT_OK_AND_ASSIGN(BuildResult rt, Build(ot));
  EXPECT_EQ(DescribeTree(rd.image), DescribeTree(rt.image));
  ASSERT_OK_AND_ASSIGN(Bytes bd, ReadWholeFile(rd.bootstrap_path));
  ASSERT_OK_AND_ASSIGN(Bytes bt, ReadWholeFile(rt.bootstrap_path));
  EXPECT_TRUE(bd == bt) << "bootstraps differ";
  ASSERT_EQ(rd.blob_ids, rt.blob_ids);
}

// Layering: whiteouts kept without parent, applied with one; implied directories keep the
// lower attributes; a rebuild against the first bootstrap as --chunk-dict writes no data.
TEST(TarSourceTest, LayeredWhiteoutsImpliedDirsAndChunkDict) {
  testing::TempDir tmp;
  TarEntry usr = Dir("usr", 0711);
  usr.mtime = 1234;
  usr.uid = 7;
  WriteTar(tmp.Join("l1.tar"), {usr, File("usr/gone", "g"), Dir("opq"), File("opq/old", "o"),
                                File("usr/keep", Noise(10000, 4))});
  WriteTar(tmp.Join("l2.tar"), {File("usr/.wh.gone", ""), File("usr/new", "n"),
                                File("opq/.wh..wh..opq", ""), File("opq/fresh", "f")});
  ASSERT_OK_AND_ASSIGN(meta::Image l1, BuildTar(TarOptions(tmp.Join("l1.tar"), tmp.path(), "l1")));
  // Single layer: markers stay.
  ASSERT_OK_AND_ASSIGN(meta::Image l2, BuildTar(TarOptions(tmp.Join("l2.tar"), tmp.path(), "l2")));
  EXPECT_NE(Find(l2, "/usr/.wh.gone"), nullptr);
  EXPECT_EQ(Find(l2, "/usr")->inode->mtime, 0u);
  BuildOptions o = TarOptions(tmp.Join("l2.tar"), tmp.path(), "l2p");
  o.parent_bootstrap = tmp.Join("l1.boot");
  ASSERT_OK_AND_ASSIGN(meta::Image chained, BuildTar(o));
  SCOPED_TRACE(DescribeTree(chained));
  EXPECT_EQ(Find(chained, "/usr/gone"), nullptr);
  EXPECT_EQ(Find(chained, "/usr/.wh.gone"), nullptr);
  EXPECT_NE(Find(chained, "/usr/new"), nullptr);
  EXPECT_NE(Find(chained, "/usr/keep"), nullptr);
  EXPECT_EQ(Find(chained, "/opq/old"), nullptr);
  EXPECT_NE(Find(chained, "/opq/fresh"), nullptr);
  const meta::Inode& u = *Find(chained, "/usr")->inode;
  EXPECT_EQ(u.mode, S_IFDIR | 0711u);
  EXPECT_EQ(u.mtime, 1234u);
  EXPECT_EQ(u.uid, 7u);
  EXPECT_EQ(chained.blobs.size(), 2u);

  // Chunk dict: the same layer again, deduplicated against l1's bootstrap.
  const std::string again = tmp.Join("again");
  ::mkdir(again.c_str(), 0755);
  BuildOptions d = TarOptions(tmp.Join("l1.tar"), again, "l1d");
  d.chunk_dict = tmp.Join("l1.boot");
  ASSERT_OK(ValidateOptions(d));
  ASSERT_OK_AND_ASSIGN(BuildResult rd, Build(d));
  EXPECT_TRUE(rd.blob_path.empty()) << "no new chunk, so no new blob";
  ASSERT_EQ(rd.image.blobs.size(), 1u);
  EXPECT_EQ(rd.image.blobs[0].blob_id, l1.blobs[0].blob_id);
  ASSERT_OK_AND_ASSIGN(meta::Image back, meta::ReadBootstrapFile(rd.bootstrap_path));
  EXPECT_EQ(DescribeTree(back), DescribeTree(l1));
}

TEST(TarSourceTest, ReferenceFixtures) {
  NYDUS_REQUIRE_FIXTURE(dir, "tar");
  testing::TempDir tmp;
  for (const char* name : {"all-entry-type.tar", "all-entry-type-macos.tar"}) {
    SCOPED_TRACE(name);
    BuildOptions o = TarOptions(dir + "/" + name, tmp.path(), name);
    ASSERT_OK_AND_ASSIGN(meta::Image img, BuildTar(o));
    EXPECT_NE(Find(img, "/tar/dir1/dir3/hardlink1.txt"), nullptr) << DescribeTree(img);
  }
}

}  // namespace
}  // namespace nydus::builder
