// Hostile layer tars through `nydus-image create -t tar-rafs|targz-rafs` (tar_source.h) and
// images of such trees through `nydus-image unpack` (unpack.h). Each build runs in a private
// temp dir next to a sentinel directory that the archive points at (absolute and relative
// symlinks, "..", hardlinks); the sentinel must stay byte-for-byte untouched and the build
// dir must hold nothing but the build's own outputs. Semantics (docs/reliability.md, "Tar
// hardening"): paths are normalised lexically inside the root ("./a/../b" is "b"); absolute
// paths, ".." above the root, entries below a non-directory (a symlink included), hardlinks
// to missing or escaping targets, absurd sizes and damaged archives are clear errors; a later
// entry for an existing path replaces it.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "base/file_util.h"
#include "builder/builder.h"
#include "builder/tar_test_util.h"
#include "builder/unpack.h"
#include "meta/bootstrap_reader.h"
#include "testing/test_util.h"

namespace nydus::builder {
namespace {

using testutil::Device;
using testutil::Dir;
using testutil::File;
using testutil::Find;
using testutil::GzipMembers;
using testutil::Hardlink;
using testutil::ListTree;
using testutil::Noise;
using testutil::RawTarHeader;
using testutil::Sentinel;
using testutil::SetBase256Size;
using testutil::Symlink;
using testutil::TarEntry;
using testutil::TarFormat;
using testutil::TarOptions;
using testutil::WriteTar;

std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> out;
  std::istringstream in(ListTree(dir));
  for (std::string line; std::getline(in, line);) {
    const std::string path = line.substr(0, line.find(' '));
    if (!path.empty()) out.insert(path);
  }
  return out;
}

// <tmp>/sentinel (what the archives aim at), <tmp>/out (build outputs), <tmp>/layer.tar.
class TarHardeningTest : public ::testing::Test {
 protected:
  TarHardeningTest() : sentinel_(tmp_.Join("sentinel")) { ::mkdir(Out().c_str(), 0755); }
  ~TarHardeningTest() override {
    EXPECT_EQ(sentinel_.Snapshot(), sentinel_.before()) << "the sentinel directory changed";
    // Only the layer, the sentinel and the output dir exist in the private temp dir.
    std::set<std::string> top;
    for (const std::string& n : Names(tmp_.path())) top.insert(n.substr(0, n.find('/', 1)));
    EXPECT_EQ(top, (std::set<std::string>{"/layer.tar", "/out", "/sentinel"}));
  }
  std::string Out() const { return tmp_.Join("out"); }
  void ClearOut() {
    std::error_code ec;
    std::filesystem::remove_all(Out(), ec);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(::mkdir(Out().c_str(), 0755), 0);
  }
  std::string Layer() const { return tmp_.Join("layer.tar"); }

  Result<meta::Image> Build(SourceType type = SourceType::kTar) {
    BuildOptions o = TarOptions(Layer(), Out(), "img", type);
    RETURN_IF_ERROR(ValidateOptions(o));
    ASSIGN_OR_RETURN(BuildResult r, builder::Build(o));
    return meta::ReadBootstrapFile(r.bootstrap_path);
  }
  // The build fails with a message containing `what`, and leaves no output behind.
  void ExpectRejected(const std::string& what, SourceType type = SourceType::kTar) {
    auto r = Build(type);
    ASSERT_FALSE(r.ok()) << "expected an error containing '" << what << "'";
    EXPECT_NE(r.status().ToString().find(what), std::string::npos) << r.status().ToString();
    EXPECT_TRUE(Names(Out()).empty()) << ListTree(Out());
  }
  void WriteLayer(const std::vector<TarEntry>& entries, bool gzip = false) {
    WriteTar(Layer(), entries, TarFormat::kPax, gzip);
  }
  void WriteRaw(const std::string& bytes) { ASSERT_OK(WriteWholeFile(Layer(), AsBytes(bytes))); }

  testing::TempDir tmp_;
  Sentinel sentinel_;
};

TEST_F(TarHardeningTest, EscapingPathsAreRejected) {
  WriteLayer({File("../sentinel/passwd", "pwned")});
  ExpectRejected("'..'");
  WriteLayer({File("a/../../sentinel/passwd", "pwned")});
  ExpectRejected("'..'");
  WriteLayer({File("./../../../../../../../../../etc/passwd", "pwned")});
  ExpectRejected("'..'");
  WriteLayer({File(sentinel_.dir() + "/passwd", "pwned")});
  ExpectRejected("absolute");
  WriteLayer({File("/etc/passwd", "pwned")});
  ExpectRejected("absolute");
}

// OCI appliers clean paths lexically (Go's filepath.Clean): "./a/../b" is "b" in the root.
TEST_F(TarHardeningTest, DotDotInsideTheRootIsNormalised) {
  WriteLayer({Dir("a"), File("./a/../b", "bee"), File("a/./c/../d", "dee")});
  ASSERT_OK_AND_ASSIGN(meta::Image img, Build());
  ASSERT_NE(Find(img, "/b"), nullptr);
  EXPECT_EQ(Find(img, "/b")->inode->size, 3u);
  ASSERT_NE(Find(img, "/a/d"), nullptr);
  EXPECT_EQ(Find(img, "/a/c"), nullptr);  // "c" was only a step of the path
}

TEST_F(TarHardeningTest, NothingIsWrittenThroughSymlinks) {
  const std::vector<std::string> targets = {"/etc", sentinel_.dir(), "../..", "../sentinel",
                                            "../../../../../../.."};
  for (const std::string& t : targets) {
    SCOPED_TRACE("a -> " + t);
    WriteLayer({Symlink("a", t), File("a/passwd", "pwned")});
    ExpectRejected("not a directory");
    WriteLayer({Symlink("a", t), Dir("a/sub")});
    ExpectRejected("not a directory");
    WriteLayer({Symlink("a", t), Hardlink("h", "a/passwd")});
    ExpectRejected("not an earlier entry");
  }
  // A symlink to a file, then a file of the same name: the file replaces the link.
  WriteLayer({Symlink("p", sentinel_.dir() + "/passwd"), File("p", "new")});
  ASSERT_OK_AND_ASSIGN(meta::Image img, Build());
  ASSERT_NE(Find(img, "/p"), nullptr);
  EXPECT_TRUE(Find(img, "/p")->inode->IsReg());
  EXPECT_EQ(Find(img, "/p")->inode->size, 3u);
}

TEST_F(TarHardeningTest, HardlinksMustStayInsideAndExist) {
  WriteLayer({Hardlink("h", "../sentinel/passwd")});
  ExpectRejected("'..'");
  WriteLayer({Hardlink("h", sentinel_.dir() + "/passwd")});
  ExpectRejected("absolute");
  WriteLayer({Hardlink("h", "missing")});
  ExpectRejected("not an earlier entry");
  WriteLayer({Hardlink("h", "later"), File("later", "x")});  // forward reference
  ExpectRejected("not an earlier entry");
  WriteLayer({Dir("d"), Hardlink("h", "d")});
  ExpectRejected("directory");
  // A link to a path inside, spelled with "..": the same inode.
  WriteLayer({File("a/f", "data"), Hardlink("b/h", "b/../a/f")});
  ASSERT_OK_AND_ASSIGN(meta::Image img, Build());
  ASSERT_NE(Find(img, "/b/h"), nullptr);
  EXPECT_EQ(Find(img, "/b/h")->inode.get(), Find(img, "/a/f")->inode.get());
  EXPECT_EQ(Find(img, "/a/f")->inode->nlink, 2u);
}

// Device nodes are recorded, never created: the builder writes only the blob and bootstrap.
TEST_F(TarHardeningTest, DeviceNodesAreOnlyRecorded) {
  const TarEntry mem = Device("dev/mem", S_IFCHR | 0666, 1, 1);
  TarEntry sda = mem;
  sda.path = "../sentinel/sda";
  sda.mode = S_IFBLK | 0666;
  WriteLayer({mem});
  ASSERT_OK_AND_ASSIGN(meta::Image img, Build());
  ASSERT_NE(Find(img, "/dev/mem"), nullptr);
  EXPECT_EQ(Find(img, "/dev/mem")->inode->rdev, makedev(1, 1));
  for (const std::string& n : Names(Out())) {
    struct stat st;
    ASSERT_EQ(::lstat((Out() + n).c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) << n;
  }
  ClearOut();
  WriteLayer({sda});
  ExpectRejected("'..'");
}

TEST_F(TarHardeningTest, AbsurdSizesAreErrors) {
  // The header promises 10000 bytes, 100 follow, then the archive ends.
  WriteRaw(RawTarHeader("short", '0', 10000) + std::string(100, 'x'));
  ExpectRejected("short");
  // Same, padded to a whole block and followed by the end-of-archive blocks.
  WriteRaw(RawTarHeader("short", '0', 10000) + std::string(512, 'x') + std::string(1024, '\0'));
  ExpectRejected("short");
  // base-256 sizes: 2^62 bytes (over the 2^24-chunk limit), 2^40 bytes (allowed by the limit,
  // not backed by data), and a negative size.
  for (int64_t size : {int64_t{1} << 62, int64_t{1} << 40, int64_t{-1}, INT64_MIN}) {
    SCOPED_TRACE(size);
    std::string h = RawTarHeader("huge", '0', 0);
    SetBase256Size(&h, size);
    WriteRaw(h + std::string(4096, 'y') + std::string(1024, '\0'));
    ExpectRejected(size < 0 ? "negative size" : "huge");  // libarchive refuses negative ones
  }
  // An octal size field that is not octal and not terminated: libarchive reads the digits
  // it can; the data that follows is then garbage headers.
  std::string h = RawTarHeader("junk", '0', 0);
  std::memcpy(h.data() + 124, "99999999999\x7f", 12);
  testutil::FixTarChecksum(h.data());
  WriteRaw(h + std::string(512, 'z') + std::string(1024, '\0'));
  auto r = Build();
  if (r.ok()) {  // a size of 0 was read, and the 'z' block was skipped as a bad header
    ASSERT_NE(Find(*r, "/junk"), nullptr);
    EXPECT_EQ(Find(*r, "/junk")->inode->size, 0u);
  } else {
    EXPECT_NE(r.status().ToString().find("tar source"), std::string::npos);
  }
}

// A later entry for an existing path replaces it (OCI: "the last one wins"); a directory
// replaced by a file loses its children.
TEST_F(TarHardeningTest, DuplicateEntries) {
  WriteLayer({File("f", "first"), File("f", "second!")});
  ASSERT_OK_AND_ASSIGN(meta::Image a, Build());
  EXPECT_EQ(Find(a, "/f")->inode->size, 7u);
  ClearOut();

  WriteLayer({Dir("d"), File("d/child", "c"), File("d", "now a file")});
  ASSERT_OK_AND_ASSIGN(meta::Image b, Build());
  ASSERT_NE(Find(b, "/d"), nullptr);
  EXPECT_TRUE(Find(b, "/d")->inode->IsReg());
  EXPECT_EQ(Find(b, "/d/child"), nullptr);
  ClearOut();

  WriteLayer({File("x", "file"), Dir("x"), File("x/y", "y")});
  ASSERT_OK_AND_ASSIGN(meta::Image c, Build());
  EXPECT_TRUE(Find(c, "/x")->inode->IsDir());
  ASSERT_NE(Find(c, "/x/y"), nullptr);
  ClearOut();

  // A hardlink to a name that a later entry replaces keeps the old inode.
  WriteLayer({File("o", "old"), Hardlink("l", "o"), File("o", "brand new")});
  ASSERT_OK_AND_ASSIGN(meta::Image d, Build());
  EXPECT_EQ(Find(d, "/l")->inode->size, 3u);
  EXPECT_EQ(Find(d, "/o")->inode->size, 9u);
}

TEST_F(TarHardeningTest, DamagedArchivesAreErrors) {
  WriteLayer({File("a", Noise(200000, 1)), File("b", "tail")});
  ASSERT_OK_AND_ASSIGN(Bytes tar, ReadWholeFile(Layer()));
  const std::string full(tar.begin(), tar.end());
  // Truncated tar: inside the first header, inside a's data, inside b's header, inside b's
  // data.
  const size_t tail = full.find("tail");
  ASSERT_NE(tail, std::string::npos);
  for (size_t cut : {size_t{100}, size_t{70000}, tail - 300, tail + 2}) {
    SCOPED_TRACE(cut);
    WriteRaw(full.substr(0, cut));
    auto r = Build();
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(Names(Out()).empty());
  }
  // Truncated gzip, at several points.
  const Bytes gz_bytes = GzipMembers(AsBytes(full));
  const std::string gz(gz_bytes.begin(), gz_bytes.end());
  for (size_t cut : {size_t{5}, size_t{20}, gz.size() / 2, gz.size() - 4}) {
    SCOPED_TRACE("gzip cut at " + std::to_string(cut));
    WriteRaw(gz.substr(0, cut));
    EXPECT_FALSE(Build(SourceType::kTarGz).ok());
    EXPECT_TRUE(Names(Out()).empty());
  }
  // A gzip member whose deflate stream is noise; plain noise; an empty file.
  WriteRaw(std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10) + Noise(4096, 2));
  EXPECT_FALSE(Build(SourceType::kTarGz).ok());
  WriteRaw(Noise(10000, 3));
  EXPECT_FALSE(Build().ok());
  WriteRaw("");
  EXPECT_FALSE(Build().ok());
  EXPECT_TRUE(Names(Out()).empty());
  // The intact gzip builds.
  WriteRaw(gz);
  ASSERT_OK_AND_ASSIGN(meta::Image img, Build(SourceType::kTarGz));
  EXPECT_EQ(Find(img, "/a")->inode->size, 200000u);
}

// `nydus-image unpack` of an image built from a tar full of pointers outside: it writes only
// its output file, and the tar it writes has relative, normalised paths only (hardlinks too),
// with symlink targets as data.
TEST_F(TarHardeningTest, UnpackWritesOnlyItsOutputAndConfinedPaths) {
  const TarEntry mem = Device("dev/mem", S_IFCHR | 0600, 1, 1);
  WriteLayer({Symlink("etc", "/etc"), Symlink("up", "../.."),
              Symlink("abs", sentinel_.dir() + "/passwd"), File("x/./y/../f", "data"),
              Hardlink("x/h", "./x/f"), mem});
  ASSERT_OK_AND_ASSIGN(meta::Image img, Build());
  std::set<std::string> outputs = Names(Out());
  UnpackOptions uo;
  uo.bootstrap_path = Out() + "/img.boot";
  uo.blob_dir = Out();
  uo.output_path = Out() + "/unpacked.tar";
  ASSERT_OK_AND_ASSIGN(UnpackStats st, Unpack(uo));
  EXPECT_EQ(st.entries, 8u);  // abs, dev, dev/mem, etc, up, x, x/f, x/h (not the root)
  outputs.insert("/unpacked.tar");
  EXPECT_EQ(Names(Out()), outputs);

  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  ASSERT_EQ(archive_read_open_filename(a, uo.output_path.c_str(), 1 << 16), ARCHIVE_OK);
  std::map<std::string, std::string> seen;
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    const std::string p = archive_entry_pathname(e);
    EXPECT_NE(p.front(), '/') << p;
    EXPECT_EQ(p.find(".."), std::string::npos) << p;
    EXPECT_EQ(p.find("./"), std::string::npos) << p;
    std::string what =
        archive_entry_hardlink(e)  ? std::string("hardlink:") + archive_entry_hardlink(e)
        : archive_entry_symlink(e) ? std::string("symlink:") + archive_entry_symlink(e)
                                   : "type:" + std::to_string(archive_entry_filetype(e));
    seen[p] = what;
  }
  archive_read_free(a);
  EXPECT_EQ(seen["etc"], "symlink:/etc");
  EXPECT_EQ(seen["up"], "symlink:../..");
  EXPECT_EQ(seen["abs"], "symlink:" + sentinel_.dir() + "/passwd");
  EXPECT_EQ(seen["x/h"], "hardlink:x/f");
  EXPECT_EQ(seen["dev/mem"], "type:" + std::to_string(AE_IFCHR));
  EXPECT_EQ(seen.size(), st.entries);
}

}  // namespace
}  // namespace nydus::builder
