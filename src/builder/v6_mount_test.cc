// Validates v6 bootstraps with the real consumers: fsck.erofs (erofs-utils) and the Linux
// kernel EROFS driver (mount with each blob's cache file attached as an extra device).
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "builder/bootstrap_writer.h"
#include "builder/bootstrap_writer_test_util.h"
#include "meta/bootstrap_reader.h"
#include "testing/test_util.h"

namespace nydus::builder {
namespace {

using writer_test::MakeRichImage;
using writer_test::RichImage;

bool HaveCommand(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs `cmd`, returns its exit status and stdout (first line, trimmed).
int RunCommand(const std::string& cmd, std::string* out = nullptr) {
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return -1;
  char buf[4096];
  std::string text;
  while (size_t n = std::fread(buf, 1, sizeof(buf), f)) text.append(buf, n);
  int rc = ::pclose(f);
  if (out != nullptr) *out = text.substr(0, text.find('\n'));
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Writes the bootstrap and the blob caches of `rich` into `dir`.
void WriteImageFiles(const RichImage& rich, const Bytes& boot, const std::string& dir) {
  ASSERT_OK(WriteWholeFile(dir + "/boot", boot));
  for (size_t i = 0; i < rich.image.blobs.size(); ++i) {
    ASSERT_OK(WriteWholeFile(dir + "/blob" + std::to_string(i), rich.maker->cache(i)));
  }
}

std::string Hex(const std::string& s) { return ToHex(AsBytes(s)); }

// One line per node: what stat, readlink, getxattr and read report.
struct Line {
  std::string path, type, link_group, target, content;
  uint32_t mode = 0, uid = 0, gid = 0, nlink = 0, nsec = 0;
  int64_t mtime = 0;
  uint64_t size = 0, rdev = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
  std::string ToString() const {
    std::string s = path + " mode=" + std::to_string(mode) + " uid=" + std::to_string(uid) +
                    " gid=" + std::to_string(gid) + " nlink=" + std::to_string(nlink) +
                    " mtime=" + std::to_string(mtime) + "." + std::to_string(nsec) +
                    " size=" + std::to_string(size) + " rdev=" + std::to_string(rdev) +
                    " link=" + link_group + " target=" + target + " data=" + content;
    for (const auto& [k, v] : xattrs) s += " " + k + "=" + Hex(v);
    return s;
  }
};

void DescribeMount(const std::string& root, const std::string& rel,
                   std::map<uint64_t, std::string>* groups, std::vector<std::string>* out) {
  std::string full = root + (rel == "/" ? "" : rel);
  struct stat st;
  ASSERT_EQ(::lstat(full.c_str(), &st), 0) << full;
  Line l;
  l.path = rel;
  l.mode = st.st_mode;
  l.uid = st.st_uid;
  l.gid = st.st_gid;
  l.nlink = st.st_nlink;
  l.mtime = st.st_mtim.tv_sec;
  l.nsec = st.st_mtim.tv_nsec;
  if (!S_ISDIR(st.st_mode)) {
    l.size = st.st_size;
    l.link_group = groups->emplace(st.st_ino, rel).first->second;
  }
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) l.rdev = st.st_rdev;
  if (S_ISLNK(st.st_mode)) {
    std::string buf(8192, '\0');
    ssize_t n = ::readlink(full.c_str(), buf.data(), buf.size());
    ASSERT_GE(n, 0) << full;
    l.target = buf.substr(0, n);
  }
  if (S_ISREG(st.st_mode)) {
    ASSERT_OK_AND_ASSIGN(Bytes data, ReadWholeFile(full));
    l.content = ToHex(Sha256(data));
  }
  std::string names(65536, '\0');
  ssize_t n = ::llistxattr(full.c_str(), names.data(), names.size());
  ASSERT_GE(n, 0) << full;
  for (size_t pos = 0; pos < static_cast<size_t>(n); pos = names.find('\0', pos) + 1) {
    std::string name = names.c_str() + pos;
    std::string value(70000, '\0');
    ssize_t vn = ::lgetxattr(full.c_str(), name.c_str(), value.data(), value.size());
    ASSERT_GE(vn, 0) << full << " " << name;
    l.xattrs.emplace_back(name, value.substr(0, vn));
  }
  std::sort(l.xattrs.begin(), l.xattrs.end());
  out->push_back(l.ToString());
  if (!S_ISDIR(st.st_mode)) return;
  std::vector<std::string> children;
  DIR* d = ::opendir(full.c_str());
  ASSERT_NE(d, nullptr) << full;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") children.push_back(name);
  }
  ::closedir(d);
  std::sort(children.begin(), children.end());
  for (const std::string& c : children) {
    DescribeMount(root, rel == "/" ? "/" + c : rel + "/" + c, groups, out);
  }
}

std::vector<std::string> DescribeImage(const RichImage& rich) {
  std::vector<std::string> out;
  std::map<const meta::Inode*, std::string> groups;
  meta::WalkTree(*rich.image.root, [&](const meta::Node& n, const std::string& path) {
    const meta::Inode& i = *n.inode;
    Line l;
    l.path = path;
    l.mode = i.mode;
    l.uid = i.uid;
    l.gid = i.gid;
    l.nlink = i.nlink;
    l.mtime = static_cast<int64_t>(i.mtime);
    l.nsec = i.mtime_nsec;
    if (!i.IsDir()) {
      l.size = i.IsSymlink() ? i.symlink.size() : i.IsReg() ? i.size : 0;
      l.link_group = groups.emplace(&i, path).first->second;
    }
    if (i.IsChr() || i.IsBlk()) l.rdev = i.rdev;
    l.target = i.symlink;
    if (i.IsReg()) {
      auto it = rich.maker->contents().find(&i);
      l.content = ToHex(Sha256(it == rich.maker->contents().end() ? Bytes{} : it->second));
    }
    for (const meta::Xattr& x : i.xattrs) l.xattrs.emplace_back(x.name, x.value);
    std::sort(l.xattrs.begin(), l.xattrs.end());
    out.push_back(l.ToString());
    return true;
  });
  return out;
}

TEST(V6MountTest, FsckErofsAcceptsAndExtracts) {
  if (!HaveCommand("fsck.erofs")) GTEST_SKIP() << "fsck.erofs not installed";
  RichImage rich = MakeRichImage(format::kRafsVersionV6);
  ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV6(rich.image));
  nydus::testing::TempDir dir;
  WriteImageFiles(rich, boot, dir.path());
  std::string devices = " --device=" + dir.Join("blob0") + " --device=" + dir.Join("blob1");
  std::string out = dir.Join("out");
  ASSERT_EQ(
      RunCommand("fsck.erofs" + devices + " --extract=" + out + " " + dir.Join("boot") + " 2>&1"),
      0);
  // Extracted regular files carry the chunk data of both blobs.
  meta::WalkTree(*rich.image.root, [&](const meta::Node& n, const std::string& path) {
    auto it = rich.maker->contents().find(n.inode.get());
    if (n.inode->IsReg() && it != rich.maker->contents().end()) {
      auto data = ReadWholeFile(out + path);
      EXPECT_TRUE(data.ok() && *data == it->second) << path;
    }
    return true;
  });
  // Negative control: a corrupted root dirent (nameoff pointing inside the entry array);
  // the root directory is inline and has no xattrs, so its dirents follow its 64 bytes.
  Bytes bad = boot;
  uint64_t root = LoadLE32(boot.data() + 1024 + 40) * 4096ull + 128 * 32;
  StoreLE16(bad.data() + root + 64 + 12 + 8, 5);
  ASSERT_OK(WriteWholeFile(dir.Join("bad"), bad));
  EXPECT_NE(RunCommand("fsck.erofs" + devices + " --extract " + dir.Join("bad") + " 2>&1"), 0);
}

// Attaches files to loop devices and mounts; undoes everything it did on destruction.
class KernelMount {
 public:
  ~KernelMount() {
    if (mounted_) RunCommand("umount " + mnt_);
    for (const std::string& loop : loops_) RunCommand("losetup -d " + loop);
  }
  bool Attach(const std::string& file) {
    std::string dev;
    if (RunCommand("losetup -f --show -r " + file, &dev) != 0 || dev.empty()) return false;
    loops_.push_back(dev);
    return true;
  }
  bool Mount(const std::string& boot, const std::string& mnt) {
    std::string opts = "ro";
    for (const std::string& loop : loops_) opts += ",device=" + loop;
    mnt_ = mnt;
    mounted_ = RunCommand("mount -t erofs -o " + opts + " " + boot + " " + mnt + " 2>&1") == 0;
    return mounted_;
  }

 private:
  std::vector<std::string> loops_;
  std::string mnt_;
  bool mounted_ = false;
};

bool KernelHasErofs() {
  std::ifstream f("/proc/filesystems");
  std::string line;
  while (std::getline(f, line)) {
    if (line.find("erofs") != std::string::npos) return true;
  }
  return false;
}

bool CanMount() { return ::geteuid() == 0 && KernelHasErofs() && HaveCommand("losetup"); }

// Mounts `rich` with the kernel and compares what stat, readlink, getxattr and read report
// with the image.
void ExpectKernelSeesImage(const RichImage& rich, const Bytes& boot) {
  nydus::testing::TempDir dir;
  WriteImageFiles(rich, boot, dir.path());
  ASSERT_EQ(::mkdir(dir.Join("mnt").c_str(), 0755), 0);
  std::vector<std::string> got;
  {
    KernelMount km;
    ASSERT_TRUE(km.Attach(dir.Join("blob0")) && km.Attach(dir.Join("blob1")));
    ASSERT_TRUE(km.Mount(dir.Join("boot"), dir.Join("mnt")));
    std::map<uint64_t, std::string> groups;
    DescribeMount(dir.Join("mnt"), "/", &groups, &got);
    struct stat st;
    ASSERT_EQ(::stat(dir.Join("mnt").c_str(), &st), 0);
    EXPECT_EQ(st.st_ino, 128u);  // the root nid
  }
  std::vector<std::string> want = DescribeImage(rich);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], want[i]);
}

void ExpectFsckClean(const RichImage& rich, const Bytes& boot) {
  nydus::testing::TempDir dir;
  WriteImageFiles(rich, boot, dir.path());
  EXPECT_EQ(RunCommand("fsck.erofs --device=" + dir.Join("blob0") + " --device=" +
                       dir.Join("blob1") + " --extract " + dir.Join("boot") + " 2>&1"),
            0);
}

TEST(V6MountTest, KernelMountShowsTheSameTree) {
  if (!CanMount()) GTEST_SKIP() << "needs root, kernel erofs and losetup";
  RichImage rich = MakeRichImage(format::kRafsVersionV6);
  ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV6(rich.image));
  ExpectKernelSeesImage(rich, boot);
}

// Random trees stress the placement (partly used blocks, inodes with big xattrs spanning
// blocks, inline vs plain data) against fsck.erofs, the kernel and our reader.
TEST(V6MountTest, RandomTrees) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RichImage rich = writer_test::MakeRandomImage(format::kRafsVersionV6, seed, 1500);
    ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV6(rich.image));
    ASSERT_OK_AND_ASSIGN(meta::Image back, meta::ReadBootstrap(boot));
    writer_test::ExpectSameTree(rich.image, back);
    if (HaveCommand("fsck.erofs")) ExpectFsckClean(rich, boot);
    if (CanMount()) ExpectKernelSeesImage(rich, boot);
  }
}

}  // namespace
}  // namespace nydus::builder
