// Hostile OCI layers through UnpackLayer (layer_tar.h), what `nydusify check` uses to unpack
// the source image. Each layer is applied to <tmp>/w/root; <tmp>/sentinel is the directory
// the layers aim at (absolute and relative symlinks, "..", hardlinks, whiteouts); the
// sentinel must stay untouched and nothing may appear in <tmp> besides w, sentinel and the
// layer files. Every relative escape resolves inside <tmp> ("../.." from the root is <tmp>),
// so that a regression damages the sentinel, not the machine. Semantics as the builder's tar
// source (docs/reliability.md, "Tar hardening").
#include "converter/layer_tar.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "base/file_util.h"
#include "builder/tar_test_util.h"
#include "testing/test_util.h"

namespace nydus::converter {
namespace {

using builder::testutil::Dir;
using builder::testutil::File;
using builder::testutil::Hardlink;
using builder::testutil::ListTree;
using builder::testutil::RawTarHeader;
using builder::testutil::Sentinel;
using builder::testutil::SetBase256Size;
using builder::testutil::Symlink;
using builder::testutil::TarEntry;
using builder::testutil::TarFormat;
using builder::testutil::WriteTar;

class UnpackLayerTest : public ::testing::Test {
 protected:
  UnpackLayerTest() : sentinel_(tmp_.Join("sentinel")) {
    ::mkdir(tmp_.Join("w").c_str(), 0755);
    ::mkdir(Root().c_str(), 0755);
  }
  ~UnpackLayerTest() override {
    EXPECT_EQ(sentinel_.Snapshot(), sentinel_.before()) << "the sentinel directory changed";
    for (const auto& de : std::filesystem::directory_iterator(tmp_.path())) {
      const std::string n = de.path().filename();
      EXPECT_TRUE(n == "w" || n == "sentinel" || n.starts_with("layer")) << n;
    }
  }
  std::string Root() const { return tmp_.Join("w/root"); }

  // Writes layer N and applies it to the root.
  Status Apply(const std::vector<TarEntry>& entries, bool gzip = false) {
    const std::string path = tmp_.Join("layer" + std::to_string(n_++) + ".tar");
    WriteTar(path, entries, TarFormat::kPax, gzip);
    return UnpackLayer(path, Root());
  }
  Status ApplyRaw(const std::string& bytes) {
    const std::string path = tmp_.Join("layer" + std::to_string(n_++) + ".tar");
    EXPECT_OK(WriteWholeFile(path, AsBytes(bytes)));
    return UnpackLayer(path, Root());
  }
  void ExpectRejected(const Status& st, const std::string& what) {
    ASSERT_FALSE(st.ok()) << "expected an error containing '" << what << "'";
    EXPECT_NE(st.ToString().find(what), std::string::npos) << st.ToString();
  }
  std::string Read(const std::string& rel) {
    auto b = ReadWholeFile(Root() + "/" + rel);
    return b.ok() ? std::string(b->begin(), b->end()) : "<" + b.status().ToString() + ">";
  }
  bool IsLink(const std::string& rel) {
    struct stat st;
    return ::lstat((Root() + "/" + rel).c_str(), &st) == 0 && S_ISLNK(st.st_mode);
  }
  void ResetRoot() {
    std::filesystem::remove_all(Root());
    ::mkdir(Root().c_str(), 0755);
  }

  testing::TempDir tmp_;
  Sentinel sentinel_;
  int n_ = 0;
};

TEST_F(UnpackLayerTest, EscapingPathsAreRejected) {
  ExpectRejected(Apply({File("../../sentinel/passwd", "pwned")}), "escapes the root");
  ExpectRejected(Apply({File("a/../../../sentinel/passwd", "pwned")}), "escapes the root");
  ExpectRejected(Apply({File("./.././../sentinel/new", "pwned")}), "escapes the root");
  ExpectRejected(Apply({File("..", "")}), "escapes the root");
  ExpectRejected(Apply({File(sentinel_.dir() + "/passwd", "pwned")}), "absolute");
  ExpectRejected(Apply({File("/etc/passwd", "pwned")}), "absolute");
}

TEST_F(UnpackLayerTest, DotDotInsideTheRootIsNormalised) {
  ASSERT_OK(Apply({Dir("a"), File("./a/../b", "bee"), File("a/./c/../d", "dee")}));
  EXPECT_EQ(Read("b"), "bee");
  EXPECT_EQ(Read("a/d"), "dee");
  EXPECT_NE(::access((Root() + "/a/c").c_str(), F_OK), 0);
}

// A symlink pointing outside, in the same layer or a lower one, then something written,
// linked, whited out or made opaque through it. Each operation gets a fresh root whose lower
// layer holds only the symlink (libarchive alone would quietly replace the link by a
// directory for a plain entry, so every kind of operation is tried against a live link).
TEST_F(UnpackLayerTest, NothingIsWrittenThroughSymlinks) {
  const std::vector<std::string> targets = {sentinel_.dir(), "../../sentinel", "../..",
                                            "../../sentinel/sub"};
  const std::vector<TarEntry> ops = {File("a/passwd", "pwned"),  Dir("a/sub"),
                                     Hardlink("h", "a/passwd"),  File("a/.wh.passwd", ""),
                                     File("a/.wh..wh..opq", ""), File("a/sub/.wh.file", ""),
                                     File("a/sub/x", "pwned")};
  for (const std::string& t : targets) {
    SCOPED_TRACE("a -> " + t);
    ResetRoot();
    ExpectRejected(Apply({Symlink("a", t), File("a/passwd", "pwned")}), "symlink");
    for (const TarEntry& op : ops) {
      SCOPED_TRACE("then " + op.path);
      ResetRoot();
      ASSERT_OK(Apply({Symlink("a", t)}));
      ExpectRejected(Apply({op}), "symlink");
      EXPECT_TRUE(IsLink("a"));
    }
  }
  // Replacing the symlink itself is fine: the link goes, nothing behind it is touched.
  ResetRoot();
  ASSERT_OK(Apply({Symlink("p", sentinel_.dir() + "/passwd"), Symlink("d", "../../sentinel")}));
  ASSERT_OK(Apply({File("p", "new"), Dir("d"), File("d/passwd", "inside")}));
  EXPECT_FALSE(IsLink("p"));
  EXPECT_EQ(Read("p"), "new");
  EXPECT_EQ(Read("d/passwd"), "inside");
  ASSERT_OK(Apply({Symlink("w", "../../sentinel")}));
  ASSERT_OK(Apply({File(".wh.w", "")}));  // whiteout of the symlink removes the link only
  EXPECT_NE(::access((Root() + "/w").c_str(), F_OK), 0);
}

TEST_F(UnpackLayerTest, WhiteoutNamesCannotClimb) {
  ASSERT_OK(Apply({File("keep", "k"), Dir("d"), File("d/x", "x")}));
  for (const char* bad : {".wh..", ".wh...", ".wh.", "d/.wh...", "d/.wh."}) {
    SCOPED_TRACE(bad);
    ExpectRejected(Apply({File(bad, "")}), "whiteout");
  }
  EXPECT_EQ(Read("keep"), "k");
  EXPECT_EQ(Read("d/x"), "x");
  // The real whiteouts still work: a file, and an opaque directory.
  ASSERT_OK(Apply({File(".wh.keep", ""), File("d/.wh..wh..opq", ""), File("d/new", "n")}));
  EXPECT_NE(::access((Root() + "/keep").c_str(), F_OK), 0);
  EXPECT_NE(::access((Root() + "/d/x").c_str(), F_OK), 0);
  EXPECT_EQ(Read("d/new"), "n");
  // Other AUFS metadata names are ignored, not applied.
  ASSERT_OK(Apply({File(".wh..wh.plnk", "")}));
  EXPECT_EQ(Read("d/new"), "n");
}

TEST_F(UnpackLayerTest, HardlinksMustStayInsideAndExist) {
  ExpectRejected(Apply({Hardlink("h", "../../sentinel/passwd")}), "escapes the root");
  ExpectRejected(Apply({Hardlink("h", sentinel_.dir() + "/passwd")}), "absolute");
  EXPECT_FALSE(Apply({Hardlink("h", "missing")}).ok());
  EXPECT_FALSE(Apply({Dir("d"), Hardlink("h", "d")}).ok());
  ASSERT_OK(Apply({File("a/f", "data"), Hardlink("b/h", "b/../a/f")}));
  struct stat s1, s2;
  ASSERT_EQ(::stat((Root() + "/a/f").c_str(), &s1), 0);
  ASSERT_EQ(::stat((Root() + "/b/h").c_str(), &s2), 0);
  EXPECT_EQ(s1.st_ino, s2.st_ino);
  // A hardlink to a symlink that points outside links the symlink, not its target.
  ASSERT_OK(Apply({Symlink("s", sentinel_.dir() + "/passwd"), Hardlink("hs", "s")}));
  EXPECT_TRUE(IsLink("hs"));
}

TEST_F(UnpackLayerTest, DeviceNodesStayInside) {
  if (::geteuid() != 0) GTEST_SKIP() << "mknod needs root";
  TarEntry mem;
  mem.path = "dev/mem";
  mem.mode = S_IFCHR | 0600;
  mem.rdev_major = 1;
  mem.rdev_minor = 1;
  ASSERT_OK(Apply({mem}));
  struct stat st;
  ASSERT_EQ(::lstat((Root() + "/dev/mem").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 1));
  mem.path = "../../sentinel/mem";
  ExpectRejected(Apply({mem}), "escapes the root");
}

TEST_F(UnpackLayerTest, AbsurdSizesAndDamagedArchivesAreErrors) {
  EXPECT_FALSE(ApplyRaw(RawTarHeader("short", '0', 10000) + std::string(100, 'x')).ok());
  EXPECT_FALSE(
      ApplyRaw(RawTarHeader("short", '0', 10000) + std::string(512, 'x') + std::string(1024, '\0'))
          .ok());
  for (int64_t size : {int64_t{1} << 62, int64_t{1} << 40, int64_t{-1}}) {
    SCOPED_TRACE(size);
    std::string h = RawTarHeader("huge", '0', 0);
    SetBase256Size(&h, size);
    EXPECT_FALSE(ApplyRaw(h + std::string(4096, 'y') + std::string(1024, '\0')).ok());
  }
  // Truncated tar and gzip, noise.
  const std::string full_path = tmp_.Join("layer-full.tar");
  std::string noise(150000, '\0');
  uint32_t x = 7;
  for (auto& c : noise) c = static_cast<char>((x = x * 1103515245u + 12345u) >> 24);
  WriteTar(full_path, {File("a", noise), File("b", "tail")});
  ASSERT_OK_AND_ASSIGN(Bytes full, ReadWholeFile(full_path));
  const std::string tar(full.begin(), full.end());
  EXPECT_FALSE(ApplyRaw(tar.substr(0, 100)).ok());
  EXPECT_FALSE(ApplyRaw(tar.substr(0, 70000)).ok());
  WriteTar(full_path, {File("a", noise), File("b", "tail")}, TarFormat::kPax, /*gzip=*/true);
  ASSERT_OK_AND_ASSIGN(Bytes gz, ReadWholeFile(full_path));
  const std::string gzs(gz.begin(), gz.end());
  EXPECT_FALSE(ApplyRaw(gzs.substr(0, 20)).ok());
  EXPECT_FALSE(ApplyRaw(gzs.substr(0, gzs.size() / 2)).ok());
  EXPECT_FALSE(ApplyRaw(noise.substr(0, 10000)).ok());
  // The intact ones apply.
  ResetRoot();
  ASSERT_OK(ApplyRaw(gzs));
  EXPECT_EQ(Read("b"), "tail");
}

TEST_F(UnpackLayerTest, DuplicateEntriesLastOneWins) {
  ASSERT_OK(Apply({File("f", "first"), File("f", "second")}));
  EXPECT_EQ(Read("f"), "second");
  ASSERT_OK(Apply({Dir("d"), File("d/child", "c"), File("d", "now a file")}));
  EXPECT_EQ(Read("d"), "now a file");
  ASSERT_OK(Apply({File("x", "file"), Dir("x"), File("x/y", "y")}));
  EXPECT_EQ(Read("x/y"), "y");
  // A file below what a lower layer made a regular file.
  ExpectRejected(Apply({File("f/g", "g")}), "not a directory");
}

// The root may be given through a symlink and with "..": it is canonicalised first.
TEST_F(UnpackLayerTest, RootThroughSymlink) {
  const std::string alias = tmp_.Join("layer-alias");  // named so the fixture accepts it
  ASSERT_EQ(::symlink("w/root", alias.c_str()), 0);
  const std::string path = tmp_.Join("layer-x.tar");
  WriteTar(path, {File("a/b", "ok")});
  ASSERT_OK(UnpackLayer(path, alias + "/../root"));
  EXPECT_EQ(Read("a/b"), "ok");
}

}  // namespace
}  // namespace nydus::converter
