#include "builder/layering.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "builder/dir_walker.h"
#include "testing/test_util.h"

namespace nydus::builder {
namespace {

using meta::Inode;
using meta::Node;

std::shared_ptr<Inode> NewInode(uint32_t mode, uint64_t size = 0, uint32_t uid = 0) {
  auto inode = std::make_shared<Inode>();
  inode->mode = mode;
  inode->size = size;
  inode->uid = uid;
  inode->gid = uid;
  inode->mtime = 1000 + size;
  return inode;
}

std::unique_ptr<Node> NewRoot(uint32_t perm = 0755, uint32_t uid = 0) {
  auto root = std::make_unique<Node>();
  root->name = "/";
  root->inode = NewInode(S_IFDIR | perm, 0, uid);
  return root;
}

Node* Add(Node* parent, const std::string& name, std::shared_ptr<Inode> inode) {
  auto node = std::make_unique<Node>();
  node->name = name;
  node->inode = std::move(inode);
  Node* raw = node.get();
  parent->PutChild(std::move(node));
  return raw;
}
Node* AddDir(Node* parent, const std::string& name, uint32_t perm = 0755, uint32_t uid = 0) {
  return Add(parent, name, NewInode(S_IFDIR | perm, 0, uid));
}
Node* AddFile(Node* parent, const std::string& name, uint64_t size = 1) {
  return Add(parent, name, NewInode(S_IFREG | 0644, size));
}
Node* AddChr(Node* parent, const std::string& name, dev_t dev) {
  auto inode = NewInode(S_IFCHR | 0600);
  inode->rdev = dev;
  return Add(parent, name, inode);
}
void SetXattr(Node* node, const std::string& key, const std::string& value) {
  node->inode->xattrs.push_back(meta::Xattr{key, value});
}

// Every path of the tree in pre-order, directories marked with a trailing '/'.
std::vector<std::string> Paths(const Node& root) {
  std::vector<std::string> out;
  meta::WalkTree(root, [&out](const Node& n, const std::string& path) {
    out.push_back(n.inode->IsDir() && path != "/" ? path + "/" : path);
    return true;
  });
  return out;
}

const Node* Find(const Node& root, const std::string& path) {
  const Node* found = nullptr;
  meta::WalkTree(root, [&](const Node& n, const std::string& p) {
    if (p == path) found = &n;
    return found == nullptr;
  });
  return found;
}

using Strings = std::vector<std::string>;

TEST(LayeringTest, OciWhiteoutRemovesFileAndDirectorySubtree) {
  auto lower = NewRoot();
  Node* a = AddDir(lower.get(), "a");
  AddFile(a, "f");
  AddFile(a, "g");
  Node* d = AddDir(lower.get(), "d");
  AddFile(AddDir(d, "x"), "y");
  auto upper = NewRoot();
  AddFile(AddDir(upper.get(), "a"), ".wh.f", 0);
  AddFile(upper.get(), ".wh.d", 0);
  AddFile(upper.get(), ".wh.never-existed", 0);

  ASSERT_OK(ApplyUpperLayer(lower.get(), std::move(upper), WhiteoutSpec::kOci));
  EXPECT_EQ(Paths(*lower), (Strings{"/", "/a/", "/a/g"}));
}

TEST(LayeringTest, OciOpaqueKeepsSameLayerEntries) {
  auto lower = NewRoot();
  Node* o = AddDir(lower.get(), "o");
  AddFile(o, "p");
  AddFile(AddDir(o, "q"), "deep");
  AddFile(lower.get(), "sibling");
  auto upper = NewRoot();
  Node* uo = AddDir(upper.get(), "o", 0700);
  AddFile(uo, ".wh..wh..opq", 0);
  AddFile(uo, "new");
  AddFile(uo, "p", 7);  // re-created in the same layer: kept, with the upper inode

  ASSERT_OK(ApplyUpperLayer(lower.get(), std::move(upper), WhiteoutSpec::kOci));
  EXPECT_EQ(Paths(*lower), (Strings{"/", "/o/", "/o/new", "/o/p", "/sibling"}));
  EXPECT_EQ(Find(*lower, "/o/p")->inode->size, 7u);
  EXPECT_EQ(Find(*lower, "/o")->inode->mode & 07777, 0700u);
}

TEST(LayeringTest, OciOpaqueOnRootClearsLowerRoot) {
  auto lower = NewRoot();
  AddFile(lower.get(), "old");
  AddDir(lower.get(), "olddir");
  auto upper = NewRoot();
  AddFile(upper.get(), ".wh..wh..opq", 0);
  AddFile(upper.get(), "fresh");
  ASSERT_OK(ApplyUpperLayer(lower.get(), std::move(upper), WhiteoutSpec::kOci));
  EXPECT_EQ(Paths(*lower), (Strings{"/", "/fresh"}));
}

TEST(LayeringTest, OciMarkersInsideAddedDirectoriesAreDropped) {
  auto lower = NewRoot();
  auto upper = NewRoot();
  Node* n = AddDir(upper.get(), "new");
  AddFile(n, ".wh.ghost", 0);
  AddFile(n, ".wh..wh..opq", 0);
  AddFile(n, "real");
  ASSERT_OK(ApplyUpperLayer(lower.get(), std::move(upper), WhiteoutSpec::kOci));
  EXPECT_EQ(Paths(*lower), (Strings{"/", "/new/", "/new/real"}));
}

TEST(LayeringTest, OciNonUtf8WhiteoutNameIsAnOrdinaryFile) {
  auto lower = NewRoot();
  AddFile(lower.get(), "x\xff");
  auto upper = NewRoot();
  AddFile(upper.get(), ".wh.x\xff", 0);
  ASSERT_OK(ApplyUpperLayer(lower.get(), std::move(upper), WhiteoutSpec::kOci));
  EXPECT_EQ(Paths(*lower), (Strings{"/", "/.wh.x\xff", "/x\xff"}));
}

TEST(LayeringTest, OciWhiteoutNamesMustBeStrictUtf8) {
  auto lower = NewRoot();
  AddFile(lower.get(), "caf\xc3\xa9");   // "café"
  AddFile(lower.get(), "\xc0\xaf");      // overlong '/'
  AddFile(lower.get(), "\xed\xa0\x80");  // UTF-16 surrogate
  auto upper = NewRoot();
  AddFile(upper.get(), ".wh.caf\xc3\xa9", 0);
  AddFile(upper.get(), ".wh.\xc0\xaf", 0);
  AddFile(upper.get(), ".wh.\xed\xa0\x80", 0);
  ASSERT_OK(ApplyUpperLayer(lower.get(), std::move(upper), WhiteoutSpec::kOci));
  EXPECT_EQ(Paths(*lower),
            (Strings{"/", "/.wh.\xc0\xaf", "/.wh.\xed\xa0\x80", "/\xc0\xaf", "/\xed\xa0\x80"}));
}

TEST(LayeringTest, OverlayfsCharDeviceWhiteoutAndOpaqueXattr) {
  auto lower = NewRoot();
  Node* a = AddDir(lower.get(), "a");
  AddFile(a, "f");
  AddFile(a, "keep");
  Node* b = AddDir(lower.get(), "b");
  AddFile(b, "x");
  AddFile(AddDir(b, "y"), "deep");
  AddFile(lower.get(), "gone-dir-target");
  AddChr(lower.get(), "tty", makedev(4, 1));
  auto upper = NewRoot();
  Node* ua = AddDir(upper.get(), "a");
  AddChr(ua, "f", makedev(0, 0));
  AddChr(ua, "not-a-whiteout", makedev(1, 3));
  Node* ub = AddDir(upper.get(), "b", 0711);
  SetXattr(ub, "trusted.overlay.opaque", "y");
  SetXattr(ub, "user.keep", "1");
  AddFile(ub, "z");
  AddChr(upper.get(), "gone-dir-target", makedev(0, 0));
  Node* uc = AddDir(upper.get(), "c");  // opaque xattr with another value: not opaque
  SetXattr(uc, "trusted.overlay.opaque", "n");

  ASSERT_OK(ApplyUpperLayer(lower.get(), std::move(upper), WhiteoutSpec::kOverlayfs));
  EXPECT_EQ(Paths(*lower),
            (Strings{"/", "/a/", "/a/keep", "/a/not-a-whiteout", "/b/", "/b/z", "/c/", "/tty"}));
  const Inode& bi = *Find(*lower, "/b")->inode;
  EXPECT_EQ(bi.FindXattr("trusted.overlay.opaque"), nullptr);
  ASSERT_NE(bi.FindXattr("user.keep"), nullptr);
  EXPECT_EQ(bi.mode & 07777, 0711u);
  EXPECT_NE(Find(*lower, "/c")->inode->FindXattr("trusted.overlay.opaque"), nullptr);
}

TEST(LayeringTest, OverlayfsOpaqueUpperRootClearsLowerChildren) {
  auto lower = NewRoot();
  AddFile(lower.get(), "old");
  auto upper = NewRoot();
  SetXattr(upper.get(), "trusted.overlay.opaque", "y");
  AddFile(upper.get(), "new");
  ASSERT_OK(ApplyUpperLayer(lower.get(), std::move(upper), WhiteoutSpec::kOverlayfs));
  EXPECT_EQ(Paths(*lower), (Strings{"/", "/new"}));
}

TEST(LayeringTest, SpecNoneTreatsMarkersAsOrdinaryFiles) {
  auto lower = NewRoot();
  AddFile(lower.get(), "f");
  AddFile(AddDir(lower.get(), "o"), "p");
  auto upper = NewRoot();
  AddFile(upper.get(), ".wh.f", 0);
  AddFile(AddDir(upper.get(), "o"), ".wh..wh..opq", 0);
  AddChr(upper.get(), "c", makedev(0, 0));
  ASSERT_OK(ApplyUpperLayer(lower.get(), std::move(upper), WhiteoutSpec::kNone));
  EXPECT_EQ(Paths(*lower), (Strings{"/", "/.wh.f", "/c", "/f", "/o/", "/o/.wh..wh..opq", "/o/p"}));
}

TEST(LayeringTest, ModifiedDirectoryKeepsChildrenTakesUpperAttributes) {
  auto lower = NewRoot();
  Node* d = AddDir(lower.get(), "d", 0755, 1);
  AddFile(d, "x");
  AddFile(AddDir(d, "sub"), "s");
  auto upper = NewRoot();
  Node* ud = AddDir(upper.get(), "d", 0700, 2);
  SetXattr(ud, "user.new", "v");
  AddFile(ud, "y");
  AddFile(ud, "x", 9);  // modification of a file inside
  const Inode* upper_d = ud->inode.get();

  ASSERT_OK(ApplyUpperLayer(lower.get(), std::move(upper), WhiteoutSpec::kOci));
  EXPECT_EQ(Paths(*lower), (Strings{"/", "/d/", "/d/sub/", "/d/sub/s", "/d/x", "/d/y"}));
  const Node* merged = Find(*lower, "/d");
  EXPECT_EQ(merged->inode.get(), upper_d);
  EXPECT_EQ(merged->inode->uid, 2u);
  EXPECT_EQ(merged->inode->mode & 07777, 0700u);
  EXPECT_EQ(Find(*lower, "/d/x")->inode->size, 9u);
}

TEST(LayeringTest, TypeChangeReplacesWholeSubtree) {
  auto lower = NewRoot();
  Node* t = AddDir(lower.get(), "t");
  AddFile(t, "child");
  AddFile(AddDir(t, "dd"), "grandchild");
  AddFile(lower.get(), "u");
  auto upper = NewRoot();
  AddFile(upper.get(), "t", 3);
  Node* uu = AddDir(upper.get(), "u");
  AddFile(uu, "c");

  ASSERT_OK(ApplyUpperLayer(lower.get(), std::move(upper), WhiteoutSpec::kOci));
  EXPECT_EQ(Paths(*lower), (Strings{"/", "/t", "/u/", "/u/c"}));
  EXPECT_TRUE(Find(*lower, "/t")->inode->IsReg());
  EXPECT_TRUE(Find(*lower, "/t")->children.empty());
}

TEST(LayeringTest, UpperRootReplacesRootAttributes) {
  auto lower = NewRoot(0755, 7);
  AddFile(lower.get(), "f");
  auto upper = NewRoot(0700, 8);
  SetXattr(upper.get(), "user.root", "r");
  const Inode* upper_root = upper->inode.get();
  ASSERT_OK(ApplyUpperLayer(lower.get(), std::move(upper), WhiteoutSpec::kOci));
  EXPECT_EQ(lower->inode.get(), upper_root);
  EXPECT_EQ(lower->inode->uid, 8u);
  EXPECT_EQ(lower->name, "/");
  EXPECT_EQ(Paths(*lower), (Strings{"/", "/f"}));
}

TEST(LayeringTest, HardlinkGroupPartiallyReplaced) {
  auto lower = NewRoot();
  auto shared = NewInode(S_IFREG | 0644, 5);
  Add(lower.get(), "h1", shared);
  Add(AddDir(lower.get(), "d"), "h2", shared);
  Add(lower.get(), "h3", shared);
  auto upper = NewRoot();
  AddFile(upper.get(), "h1", 42);
  AddFile(upper.get(), ".wh.h3", 0);

  ASSERT_OK(ApplyUpperLayer(lower.get(), std::move(upper), WhiteoutSpec::kOci));
  EXPECT_EQ(Find(*lower, "/d/h2")->inode.get(), shared.get());
  EXPECT_EQ(shared->size, 5u);  // the lower inode was not edited
  EXPECT_NE(Find(*lower, "/h1")->inode.get(), shared.get());
  EXPECT_EQ(Find(*lower, "/h1")->inode->size, 42u);
  EXPECT_EQ(Find(*lower, "/h3"), nullptr);
  NormalizeTree(lower.get(), true);
  EXPECT_EQ(shared->nlink, 1u);
  EXPECT_EQ(Find(*lower, "/h1")->inode->nlink, 1u);
}

TEST(LayeringTest, RejectsNonDirectoryRoots) {
  auto lower = NewRoot();
  auto file_root = std::make_unique<Node>();
  file_root->name = "/";
  file_root->inode = NewInode(S_IFREG | 0644);
  EXPECT_FALSE(ApplyUpperLayer(lower.get(), std::move(file_root), WhiteoutSpec::kOci).ok());
  EXPECT_FALSE(ApplyUpperLayer(lower.get(), nullptr, WhiteoutSpec::kOci).ok());
  EXPECT_FALSE(ApplyUpperLayer(nullptr, NewRoot(), WhiteoutSpec::kOci).ok());
}

TEST(LayeringTest, SingleLayerOciDropsMarkersWithSubtrees) {
  auto root = NewRoot();
  AddFile(root.get(), ".wh.a", 0);
  AddFile(AddDir(root.get(), ".wh.dir"), "inside");
  Node* d = AddDir(root.get(), "d");
  AddFile(d, ".wh..wh..opq", 0);
  AddFile(d, "real");
  AddFile(root.get(), ".wh.\xff", 0);  // not UTF-8: not a marker
  AddChr(root.get(), "c", makedev(0, 0));
  PrepareSingleLayer(root.get(), WhiteoutSpec::kOci);
  EXPECT_EQ(Paths(*root), (Strings{"/", "/.wh.\xff", "/c", "/d/", "/d/real"}));
}

TEST(LayeringTest, SingleLayerOverlayfsDropsDevicesStripsOpaque) {
  auto root = NewRoot();
  SetXattr(root.get(), "trusted.overlay.opaque", "y");
  AddChr(root.get(), "wh", makedev(0, 0));
  AddChr(root.get(), "dev", makedev(1, 5));
  Node* o = AddDir(root.get(), "o");
  SetXattr(o, "trusted.overlay.opaque", "y");
  SetXattr(o, "user.x", "1");
  AddChr(o, "inner-wh", makedev(0, 0));
  AddFile(o, ".wh.kept");
  PrepareSingleLayer(root.get(), WhiteoutSpec::kOverlayfs);
  EXPECT_EQ(Paths(*root), (Strings{"/", "/dev", "/o/", "/o/.wh.kept"}));
  const Inode& oi = *Find(*root, "/o")->inode;
  ASSERT_EQ(oi.xattrs.size(), 1u);
  EXPECT_EQ(oi.xattrs[0].name, "user.x");
  EXPECT_NE(root->inode->FindXattr("trusted.overlay.opaque"), nullptr);  // root untouched
}

TEST(LayeringTest, SingleLayerNoneKeepsEverything) {
  auto root = NewRoot();
  AddFile(root.get(), ".wh.a", 0);
  AddChr(root.get(), "c", makedev(0, 0));
  Node* o = AddDir(root.get(), "o");
  SetXattr(o, "trusted.overlay.opaque", "y");
  PrepareSingleLayer(root.get(), WhiteoutSpec::kNone);
  EXPECT_EQ(Paths(*root), (Strings{"/", "/.wh.a", "/c", "/o/"}));
  EXPECT_EQ(o->inode->xattrs.size(), 1u);
}

TEST(LayeringTest, NormalizeTree) {
  auto root = NewRoot(0755, 5);
  root->inode->mtime = 99;
  root->inode->mtime_nsec = 7;
  root->inode->nlink = 40;
  auto shared = NewInode(S_IFREG | 0644, 3, 6);
  shared->projid = 9;
  Add(root.get(), "h1", shared);
  Node* d = AddDir(root.get(), "d", 0755, 5);
  Add(d, "h2", shared);
  AddDir(d, "e");
  AddDir(d, "f");
  AddFile(d, "plain")->inode->nlink = 5;

  NormalizeTree(root.get(), /*explicit_uidgid=*/true);
  EXPECT_EQ(root->inode->mtime, 0u);
  EXPECT_EQ(root->inode->mtime_nsec, 0u);
  EXPECT_EQ(root->inode->nlink, 3u);
  EXPECT_EQ(root->inode->uid, 5u);
  EXPECT_EQ(d->inode->nlink, 4u);
  EXPECT_EQ(d->inode->mtime, 1000u);  // only the root's mtime is cleared
  EXPECT_EQ(shared->nlink, 2u);
  EXPECT_EQ(shared->projid, 0u);
  EXPECT_EQ(shared->uid, 6u);
  EXPECT_EQ(Find(*root, "/d/plain")->inode->nlink, 1u);
  EXPECT_EQ(Find(*root, "/d/e")->inode->nlink, 2u);

  NormalizeTree(root.get(), /*explicit_uidgid=*/false);
  EXPECT_EQ(shared->uid, 0u);
  EXPECT_EQ(shared->gid, 0u);
  EXPECT_EQ(root->inode->uid, 0u);
}

// End to end on real directories: walk two layers (overlayfs upper dir layout) and merge.
TEST(LayeringTest, WalkedOverlayfsLayers) {
  if (::geteuid() != 0) GTEST_SKIP() << "mknod and trusted.* need root";
  testing::TempDir lower_dir, upper_dir;
  auto mk = [](const std::string& p) { ASSERT_EQ(::mkdir(p.c_str(), 0755), 0); };
  auto touch = [](const std::string& p) {
    FILE* f = std::fopen(p.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  };
  mk(lower_dir.Join("etc"));
  touch(lower_dir.Join("etc/motd"));
  touch(lower_dir.Join("etc/hosts"));
  mk(lower_dir.Join("skel"));
  touch(lower_dir.Join("skel/.bashrc"));
  touch(lower_dir.Join("hl"));
  ASSERT_EQ(::link(lower_dir.Join("hl").c_str(), lower_dir.Join("etc/hl2").c_str()), 0);
  mk(upper_dir.Join("etc"));
  ASSERT_EQ(::mknod(upper_dir.Join("etc/motd").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  mk(upper_dir.Join("skel"));
  ASSERT_EQ(::setxattr(upper_dir.Join("skel").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  touch(upper_dir.Join("skel/.profile"));
  touch(upper_dir.Join("hl"));

  ASSERT_OK_AND_ASSIGN(SourceTree lower, WalkDirectory(lower_dir.path(), WalkOptions{}));
  ASSERT_OK_AND_ASSIGN(SourceTree upper, WalkDirectory(upper_dir.path(), WalkOptions{}));
  const Inode* lower_hl = lower.root->FindChild("hl")->inode.get();
  ASSERT_OK(ApplyUpperLayer(lower.root.get(), std::move(upper.root), WhiteoutSpec::kOverlayfs));
  NormalizeTree(lower.root.get(), true);
  EXPECT_EQ(Paths(*lower.root),
            (Strings{"/", "/etc/", "/etc/hl2", "/etc/hosts", "/hl", "/skel/", "/skel/.profile"}));
  EXPECT_EQ(Find(*lower.root, "/etc/hl2")->inode.get(), lower_hl);
  EXPECT_EQ(lower_hl->nlink, 1u);
  EXPECT_TRUE(Find(*lower.root, "/skel")->inode->xattrs.empty());
}

}  // namespace
}  // namespace nydus::builder
