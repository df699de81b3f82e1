#include "builder/dir_walker.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "meta/rdev.h"
#include "testing/test_util.h"

namespace nydus::builder {
namespace {

using meta::Node;
using testing::TempDir;

void WriteFile(const std::string& path, const std::string& data, mode_t mode = 0644) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fd);
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

void SetMtime(const std::string& path, int64_t sec, long nsec) {
  struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0)
      << path << ": " << std::strerror(errno);
}

void SetXattr(const std::string& path, const std::string& key, const std::string& value) {
  ASSERT_EQ(::lsetxattr(path.c_str(), key.c_str(), value.data(), value.size(), 0), 0)
      << path << " " << key << ": " << std::strerror(errno);
}

// Follows "/a/b" from the root; nullptr when absent.
const Node* Find(const Node& root, const std::string& path) {
  const Node* node = &root;
  size_t pos = 1;
  while (node != nullptr && pos < path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    node = node->FindChild(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return node;
}

std::vector<std::string> ChildNames(const Node& dir) {
  std::vector<std::string> names;
  for (const auto& c : dir.children) names.push_back(c->name);
  return names;
}

bool IsRoot() { return ::geteuid() == 0; }

TEST(DirWalkerTest, AttributesOrderAndDataPaths) {
  TempDir tmp;
  ASSERT_EQ(::mkdir(tmp.Join("src").c_str(), 0750), 0);
  const std::string src = tmp.Join("src");
  ASSERT_EQ(::mkdir((src + "/sub").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((src + "/sub/deeper").c_str(), 0755), 0);
  WriteFile(src + "/b.txt", "hello", 0640);
  WriteFile(src + "/A", "", 0600);
  WriteFile(src + "/sub/x", "xx", 0644);
  WriteFile(src + "/z\xff\xfe", "latin1", 0644);  // not UTF-8, sorts after ASCII
  WriteFile(src + "/" + std::string(255, 'n'), "long name", 0644);
  SetMtime(src + "/b.txt", 1'700'000'000, 123'456'789);
  SetMtime(src + "/A", -1, 5);
  if (IsRoot()) {
    ASSERT_EQ(::lchown((src + "/b.txt").c_str(), 1234, 5678), 0);
  }

  ASSERT_OK_AND_ASSIGN(SourceTree tree, WalkDirectory(src, WalkOptions{}));
  const Node& root = *tree.root;
  EXPECT_EQ(root.name, "/");
  EXPECT_TRUE(root.inode->IsDir());
  EXPECT_EQ(root.inode->mode & 07777, 0750u);
  EXPECT_EQ(root.inode->nlink, 3u);  // 2 + sub
  EXPECT_EQ(root.inode->ino, 1u);
  EXPECT_EQ(ChildNames(root),
            (std::vector<std::string>{"A", "b.txt", std::string(255, 'n'), "sub", "z\xff\xfe"}));

  const Node* b = Find(root, "/b.txt");
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->inode->IsReg());
  EXPECT_EQ(b->inode->mode & 07777, 0640u);
  EXPECT_EQ(b->inode->size, 5u);
  EXPECT_EQ(b->inode->mtime, 1'700'000'000u);
  EXPECT_EQ(b->inode->mtime_nsec, 123'456'789u);
  EXPECT_EQ(b->inode->nlink, 1u);
  EXPECT_EQ(b->inode->projid, 0u);
  if (IsRoot()) {
    EXPECT_EQ(b->inode->uid, 1234u);
    EXPECT_EQ(b->inode->gid, 5678u);
  }
  const Node* a = Find(root, "/A");
  EXPECT_EQ(a->inode->mtime, 0xffffffffffffffffull);  // -1 s, two's complement
  EXPECT_EQ(a->inode->mtime_nsec, 5u);

  const Node* sub = Find(root, "/sub");
  EXPECT_EQ(sub->inode->mode & 07777, 0700u);
  EXPECT_EQ(sub->inode->size, 0u);
  EXPECT_EQ(sub->inode->nlink, 3u);
  EXPECT_EQ(Find(root, "/sub/deeper")->inode->nlink, 2u);

  // ino: pre-order counter, children sorted.
  EXPECT_EQ(a->inode->ino, 2u);
  EXPECT_EQ(b->inode->ino, 3u);
  EXPECT_EQ(Find(root, "/" + std::string(255, 'n'))->inode->ino, 4u);
  EXPECT_EQ(sub->inode->ino, 5u);
  EXPECT_EQ(Find(root, "/sub/deeper")->inode->ino, 6u);
  EXPECT_EQ(Find(root, "/sub/x")->inode->ino, 7u);
  EXPECT_EQ(Find(root, "/z\xff\xfe")->inode->ino, 8u);

  EXPECT_EQ(tree.data_paths.size(), 5u);
  EXPECT_EQ(tree.data_paths.at(b->inode.get()), src + "/b.txt");
  EXPECT_EQ(tree.data_paths.at(Find(root, "/sub/x")->inode.get()), src + "/sub/x");
  EXPECT_EQ(tree.data_paths.count(sub->inode.get()), 0u);
}

TEST(DirWalkerTest, ImplicitUidGidStoresZero) {
  if (!IsRoot()) GTEST_SKIP() << "needs root for chown";
  TempDir tmp;
  WriteFile(tmp.Join("f"), "x");
  ASSERT_EQ(::lchown(tmp.Join("f").c_str(), 42, 43), 0);
  ASSERT_EQ(::lchown(tmp.path().c_str(), 44, 45), 0);
  ASSERT_OK_AND_ASSIGN(SourceTree tree, WalkDirectory(tmp.path(), WalkOptions{false}));
  EXPECT_EQ(tree.root->inode->uid, 0u);
  EXPECT_EQ(Find(*tree.root, "/f")->inode->uid, 0u);
  EXPECT_EQ(Find(*tree.root, "/f")->inode->gid, 0u);
  ASSERT_OK_AND_ASSIGN(SourceTree explicit_tree, WalkDirectory(tmp.path(), WalkOptions{true}));
  EXPECT_EQ(explicit_tree.root->inode->uid, 44u);
  EXPECT_EQ(Find(*explicit_tree.root, "/f")->inode->gid, 43u);
}

TEST(DirWalkerTest, HardlinksShareOneInode) {
  TempDir tmp;
  ASSERT_EQ(::mkdir(tmp.Join("d").c_str(), 0755), 0);
  WriteFile(tmp.Join("a"), "shared");
  ASSERT_EQ(::link(tmp.Join("a").c_str(), tmp.Join("d/b").c_str()), 0);
  ASSERT_EQ(::link(tmp.Join("a").c_str(), tmp.Join("c").c_str()), 0);
  // A file whose second name lies outside the source tree.
  TempDir outside;
  WriteFile(tmp.Join("lonely"), "one name here");
  ASSERT_EQ(::link(tmp.Join("lonely").c_str(), outside.Join("other").c_str()), 0);

  ASSERT_OK_AND_ASSIGN(SourceTree tree, WalkDirectory(tmp.path(), WalkOptions{}));
  const Node* a = Find(*tree.root, "/a");
  const Node* b = Find(*tree.root, "/d/b");
  const Node* c = Find(*tree.root, "/c");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->inode.get(), b->inode.get());
  EXPECT_EQ(a->inode.get(), c->inode.get());
  EXPECT_EQ(a->inode->nlink, 3u);
  EXPECT_EQ(a->inode->ino, 2u);  // first name in pre-order: "/a"
  EXPECT_EQ(tree.data_paths.at(a->inode.get()), tmp.Join("a"));
  const Node* lonely = Find(*tree.root, "/lonely");
  EXPECT_EQ(lonely->inode->nlink, 1u);
  EXPECT_EQ(tree.data_paths.size(), 2u);
}

TEST(DirWalkerTest, SymlinksAreRecordedNotFollowed) {
  TempDir tmp;
  ASSERT_EQ(::mkdir(tmp.Join("dir").c_str(), 0755), 0);
  WriteFile(tmp.Join("dir/inside"), "x");
  const std::string long_target = [] {
    std::string t;
    for (int i = 0; i < 1000; ++i) t += "t/";
    return t + "end";
  }();
  ASSERT_EQ(::symlink("dir", tmp.Join("to-dir").c_str()), 0);
  ASSERT_EQ(::symlink("/etc", tmp.Join("abs").c_str()), 0);
  ASSERT_EQ(::symlink("missing/file", tmp.Join("dangling").c_str()), 0);
  ASSERT_EQ(::symlink(long_target.c_str(), tmp.Join("long").c_str()), 0);
  ASSERT_EQ(::symlink("bad-\xff", tmp.Join("non-utf8").c_str()), 0);
  SetMtime(tmp.Join("abs"), 1'234'567'890, 987'654'321);

  ASSERT_OK_AND_ASSIGN(SourceTree tree, WalkDirectory(tmp.path(), WalkOptions{}));
  const Node* to_dir = Find(*tree.root, "/to-dir");
  ASSERT_NE(to_dir, nullptr);
  EXPECT_TRUE(to_dir->inode->IsSymlink());
  EXPECT_TRUE(to_dir->children.empty());
  EXPECT_EQ(to_dir->inode->symlink, "dir");
  EXPECT_EQ(to_dir->inode->size, 3u);
  const Node* abs = Find(*tree.root, "/abs");
  EXPECT_EQ(abs->inode->symlink, "/etc");
  EXPECT_EQ(abs->inode->mtime, 1'234'567'890u);
  EXPECT_EQ(abs->inode->mtime_nsec, 987'654'321u);
  EXPECT_EQ(Find(*tree.root, "/dangling")->inode->symlink, "missing/file");
  EXPECT_EQ(Find(*tree.root, "/long")->inode->symlink, long_target);
  EXPECT_EQ(Find(*tree.root, "/non-utf8")->inode->symlink, "bad-\xff");
  EXPECT_EQ(tree.data_paths.size(), 1u);  // only dir/inside
}

TEST(DirWalkerTest, DevicesFifosAndSockets) {
  if (!IsRoot()) GTEST_SKIP() << "mknod needs root";
  TempDir tmp;
  const dev_t null_like = makedev(1, 3), sda_like = makedev(8, 0);
  const dev_t big = makedev(511, 1048575), zero = makedev(0, 0);
  ASSERT_EQ(::mknod(tmp.Join("null").c_str(), S_IFCHR | 0666, null_like), 0);
  ASSERT_EQ(::mknod(tmp.Join("sda").c_str(), S_IFBLK | 0660, sda_like), 0);
  ASSERT_EQ(::mknod(tmp.Join("big").c_str(), S_IFCHR | 0600, big), 0);
  ASSERT_EQ(::mknod(tmp.Join("whiteout").c_str(), S_IFCHR | 0000, zero), 0);
  ASSERT_EQ(::mkfifo(tmp.Join("fifo").c_str(), 0644), 0);
  const std::string sock_path = tmp.Join("sock");
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(sock_path.size(), sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(sock);

  ASSERT_OK_AND_ASSIGN(SourceTree tree, WalkDirectory(tmp.path(), WalkOptions{}));
  const Node& root = *tree.root;
  EXPECT_TRUE(Find(root, "/null")->inode->IsChr());
  EXPECT_EQ(Find(root, "/null")->inode->rdev, null_like);
  EXPECT_TRUE(Find(root, "/sda")->inode->IsBlk());
  EXPECT_EQ(Find(root, "/sda")->inode->rdev, sda_like);
  EXPECT_EQ(Find(root, "/big")->inode->rdev, big);
  EXPECT_EQ(Find(root, "/whiteout")->inode->rdev, zero);
  EXPECT_TRUE(S_ISFIFO(Find(root, "/fifo")->inode->mode));
  EXPECT_TRUE(S_ISSOCK(Find(root, "/sock")->inode->mode));
  EXPECT_TRUE(tree.data_paths.empty());
}

TEST(RdevTest, EncodingMatchesKernelAndReference) {
  for (auto [maj, min] : std::vector<std::pair<unsigned, unsigned>>{
           {0, 0}, {1, 3}, {4, 1}, {8, 0}, {7, 255}, {7, 256}, {511, 1048575}, {4095, 0}}) {
    const dev_t dev = makedev(maj, min);
    const uint32_t enc = meta::EncodeRdev(dev);
    EXPECT_EQ(enc, (min & 0xff) | (maj << 8) | ((min & ~0xffu) << 12)) << maj << ":" << min;
    EXPECT_EQ(enc, static_cast<uint32_t>(dev)) << "reference stores st_rdev as u32";
    EXPECT_EQ(meta::DecodeRdev(enc), dev);
  }
  EXPECT_EQ(meta::EncodeRdev(makedev(1, 3)), 0x103u);
  EXPECT_EQ(major(meta::DecodeRdev(0x00100800u)), 8u);  // minor 256 of major 8
  EXPECT_EQ(minor(meta::DecodeRdev(0x00100800u)), 256u);
}

TEST(DirWalkerTest, XattrsOfAllNamespacesSortedAndFiltered) {
  if (!IsRoot()) GTEST_SKIP() << "trusted.* needs root";
  TempDir tmp;
  const std::string f = tmp.Join("f");
  WriteFile(f, "x", 0755);
  SetXattr(f, "user.zeta", "z");
  SetXattr(f, "user.alpha", std::string("\0\x01\xff", 3));
  SetXattr(f, "user.empty", "");
  SetXattr(f, "trusted.t", "secret");
  SetXattr(f, "user.big", std::string(1500, 'b'));
  // security.capability v2: cap_net_bind_service, effective.
  uint32_t cap[5] = {0x02000001, 1u << 10, 0, 0, 0};
  SetXattr(f, "security.capability", std::string(reinterpret_cast<char*>(cap), sizeof(cap)));
  // POSIX ACL v2: u::rw- u:1000:r-- g::r-- m::r-- o::---
  std::string acl;
  auto put32 = [&acl](uint32_t v) { acl.append(reinterpret_cast<char*>(&v), 4); };
  auto entry = [&](uint16_t tag, uint16_t perm, uint32_t id) {
    acl.append(reinterpret_cast<char*>(&tag), 2);
    acl.append(reinterpret_cast<char*>(&perm), 2);
    put32(id);
  };
  put32(2);
  entry(0x01, 6, 0xffffffff);
  entry(0x02, 4, 1000);
  entry(0x04, 4, 0xffffffff);
  entry(0x10, 4, 0xffffffff);
  entry(0x20, 0, 0xffffffff);
  SetXattr(f, "system.posix_acl_access", acl);
  ASSERT_EQ(::mkdir(tmp.Join("d").c_str(), 0755), 0);
  SetXattr(tmp.Join("d"), "user.dirattr", "on a dir");
  SetXattr(tmp.Join("d"), "trusted.overlay.opaque", "y");
  ASSERT_EQ(::symlink("f", tmp.Join("l").c_str()), 0);
  SetXattr(tmp.Join("l"), "trusted.onlink", "link-only");
  SetXattr(tmp.path(), "user.rootattr", "r");

  ASSERT_OK_AND_ASSIGN(SourceTree tree, WalkDirectory(tmp.path(), WalkOptions{}));
  const auto& xs = Find(*tree.root, "/f")->inode->xattrs;
  std::vector<std::string> names;
  for (const auto& x : xs) names.push_back(x.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"security.capability", "system.posix_acl_access", "trusted.t",
                                      "user.alpha", "user.big", "user.empty", "user.zeta"}));
  const meta::Inode& fi = *Find(*tree.root, "/f")->inode;
  EXPECT_EQ(fi.FindXattr("user.alpha")->value, std::string("\0\x01\xff", 3));
  EXPECT_EQ(fi.FindXattr("user.empty")->value, "");
  EXPECT_EQ(fi.FindXattr("user.big")->value, std::string(1500, 'b'));
  EXPECT_EQ(fi.FindXattr("system.posix_acl_access")->value, acl);
  EXPECT_EQ(fi.FindXattr("security.capability")->value.size(), sizeof(cap));

  const meta::Inode& di = *Find(*tree.root, "/d")->inode;
  ASSERT_EQ(di.xattrs.size(), 2u);
  EXPECT_EQ(di.xattrs[0].name, "trusted.overlay.opaque");  // kept by the walk
  EXPECT_EQ(di.xattrs[1].value, "on a dir");
  const meta::Inode& li = *Find(*tree.root, "/l")->inode;
  ASSERT_EQ(li.xattrs.size(), 1u);  // the link's own, not its target's
  EXPECT_EQ(li.xattrs[0].value, "link-only");
  ASSERT_NE(tree.root->inode->FindXattr("user.rootattr"), nullptr);
}

TEST(DirWalkerTest, AcceptedXattrPrefixes) {
  for (const char* ok : {"user.x", "security.capability", "security.selinux", "trusted.a",
                         "system.posix_acl_access", "system.posix_acl_default"}) {
    EXPECT_TRUE(IsAcceptedXattr(ok)) << ok;
  }
  for (const char* bad : {"system.nfs4_acl", "system.posix_acl", "user", "trusted", "", "btrfs.x",
                          "User.x", "system.sockprotoname"}) {
    EXPECT_FALSE(IsAcceptedXattr(bad)) << bad;
  }
}

// Removes a tree whose paths may exceed PATH_MAX, relative to `dirfd`.
void RemoveAt(int dirfd, const std::string& name) {
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    DIR* d = ::fdopendir(fd);
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
        names.push_back(e->d_name);
      }
    }
    for (const auto& n : names) RemoveAt(::dirfd(d), n);
    ::closedir(d);
    ::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR);
  } else {
    ::unlinkat(dirfd, name.c_str(), 0);
  }
}

TEST(DirWalkerTest, PathsLongerThanPathMax) {
  TempDir tmp;
  const std::string component(200, 'p');
  int fd = ::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::string rel;
  for (int depth = 0; rel.size() < PATH_MAX + 1000; ++depth) {
    ASSERT_EQ(::mkdirat(fd, component.c_str(), 0755), 0) << "depth " << depth;
    int next = ::openat(fd, component.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(next, 0);
    ::close(fd);
    fd = next;
    rel += "/" + component;
  }
  int file = ::openat(fd, "leaf", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(file, 0);
  ASSERT_EQ(::write(file, "deep data", 9), 9);
  ::close(file);
  ::close(fd);

  auto walked = WalkDirectory(tmp.path(), WalkOptions{});
  ASSERT_OK(walked.status());
  const Node* leaf = Find(*walked->root, rel + "/leaf");
  ASSERT_NE(leaf, nullptr);
  const std::string& data_path = walked->data_paths.at(leaf->inode.get());
  EXPECT_GT(data_path.size(), static_cast<size_t>(PATH_MAX));
  EXPECT_EQ(data_path, tmp.path() + rel + "/leaf");
  ASSERT_OK_AND_ASSIGN(UniqueFd opened, OpenSourceFile(data_path));
  char buf[16] = {};
  EXPECT_EQ(::read(opened.get(), buf, sizeof(buf)), 9);
  EXPECT_STREQ(buf, "deep data");

  // The walk's root itself may be longer than PATH_MAX as well.
  ASSERT_OK_AND_ASSIGN(SourceTree sub, WalkDirectory(tmp.path() + rel, WalkOptions{}));
  EXPECT_NE(sub.root->FindChild("leaf"), nullptr);

  int top = ::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  RemoveAt(top, component);
  ::close(top);
}

TEST(DirWalkerTest, ErrorsNameThePath) {
  TempDir tmp;
  auto missing = WalkDirectory(tmp.Join("nope"), WalkOptions{});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(tmp.Join("nope")), std::string::npos);
  WriteFile(tmp.Join("file"), "x");
  auto not_dir = WalkDirectory(tmp.Join("file"), WalkOptions{});
  ASSERT_FALSE(not_dir.ok());
  EXPECT_NE(not_dir.status().message().find(tmp.Join("file")), std::string::npos);
  EXPECT_FALSE(WalkDirectory("", WalkOptions{}).ok());
  EXPECT_FALSE(OpenSourceFile(tmp.Join("missing")).ok());
}

TEST(DirWalkerTest, OpenSourceFileDoesNotFollowFinalSymlink) {
  TempDir tmp;
  WriteFile(tmp.Join("target"), "t");
  ASSERT_EQ(::symlink("target", tmp.Join("link").c_str()), 0);
  EXPECT_OK(OpenSourceFile(tmp.Join("target")).status());
  EXPECT_FALSE(OpenSourceFile(tmp.Join("link")).ok());
}

TEST(DirWalkerTest, PruneDataPathsDropsRemovedInodes) {
  TempDir tmp;
  WriteFile(tmp.Join("keep"), "k");
  WriteFile(tmp.Join("drop"), "d");
  ASSERT_EQ(::link(tmp.Join("keep").c_str(), tmp.Join("keep2").c_str()), 0);
  ASSERT_OK_AND_ASSIGN(SourceTree tree, WalkDirectory(tmp.path(), WalkOptions{}));
  ASSERT_EQ(tree.data_paths.size(), 2u);
  const meta::Inode* keep = tree.root->FindChild("keep")->inode.get();
  ASSERT_TRUE(tree.root->RemoveChild("drop"));
  ASSERT_TRUE(tree.root->RemoveChild("keep"));  // keep2 still names the inode
  PruneDataPaths(&tree);
  ASSERT_EQ(tree.data_paths.size(), 1u);
  EXPECT_EQ(tree.data_paths.begin()->first, keep);
}

size_t OpenFdCount() {
  size_t n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (::readdir(d) != nullptr) ++n;
  ::closedir(d);
  return n;
}

TEST(DirWalkerTest, NoDescriptorLeaks) {
  TempDir tmp;
  ASSERT_EQ(::mkdir(tmp.Join("a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(tmp.Join("a/b").c_str(), 0755), 0);
  WriteFile(tmp.Join("a/b/f"), "x");
  ASSERT_EQ(::symlink("f", tmp.Join("a/b/l").c_str()), 0);
  const size_t before = OpenFdCount();
  for (int i = 0; i < 3; ++i) {
    EXPECT_OK(WalkDirectory(tmp.path(), WalkOptions{}).status());
    EXPECT_FALSE(WalkDirectory(tmp.Join("a/b/f"), WalkOptions{}).ok());
    EXPECT_OK(OpenSourceFile(tmp.Join("a/b/f")).status());
  }
  EXPECT_EQ(OpenFdCount(), before);
}

}  // namespace
}  // namespace nydus::builder
