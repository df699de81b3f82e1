#include "builder/bootstrap_nodes.h"

#include <gtest/gtest.h>

#include "builder/bootstrap_writer_test_util.h"
#include "testing/test_util.h"

namespace nydus::builder::internal {
namespace {

using writer_test::AddDir;
using writer_test::AddNode;
using writer_test::NewInode;

TEST(BootstrapNodesTest, ChildrenGroupedDepthFirstOrder) {
  meta::Node root;
  root.name = "/";
  root.inode = NewInode(S_IFDIR | 0755);
  meta::Node* a = AddDir(&root, "a");
  auto file = NewInode(S_IFREG | 0644);
  AddNode(&root, "b", file);
  meta::Node* c = AddDir(&root, "c");
  meta::Node* x = AddDir(a, "x");
  AddNode(a, "y", NewInode(S_IFREG | 0644));
  AddNode(x, "w", file);  // hardlink of /b
  AddNode(c, "z", NewInode(S_IFREG | 0644));
  ASSERT_OK_AND_ASSIGN(std::vector<FlatNode> n, FlattenTree(root));
  std::vector<std::string> paths;
  for (const FlatNode& f : n) paths.push_back(f.path);
  EXPECT_EQ(paths,
            (std::vector<std::string>{"/", "/a", "/b", "/c", "/a/x", "/a/y", "/a/x/w", "/c/z"}));
  EXPECT_EQ(n[0].child_index, 2u);
  EXPECT_EQ(n[0].child_count, 3u);
  EXPECT_EQ(n[1].child_index, 5u);  // /a
  EXPECT_EQ(n[4].child_index, 7u);  // /a/x
  EXPECT_EQ(n[3].child_index, 8u);  // /c
  EXPECT_EQ(n[6].parent, 5u);
  EXPECT_EQ(n[6].first_link, 3u);  // /a/x/w is a link of /b
  EXPECT_FALSE(n[6].IsFirstLink());
  EXPECT_EQ(CountDistinctInodes(n), 6u);  // 8 nodes, one extra link, root excluded
}

TEST(BootstrapNodesTest, EmptyDirectoryChildIndexIsNextFreeIndex) {
  meta::Node root;
  root.name = "/";
  root.inode = NewInode(S_IFDIR | 0755);
  AddDir(&root, "e");
  AddNode(&root, "f", NewInode(S_IFREG | 0644));
  ASSERT_OK_AND_ASSIGN(std::vector<FlatNode> n, FlattenTree(root));
  EXPECT_EQ(n[1].child_index, 4u);
  EXPECT_EQ(n[1].child_count, 0u);
}

TEST(BootstrapNodesTest, PrefetchMatching) {
  meta::Node root;
  root.name = "/";
  root.inode = NewInode(S_IFDIR | 0755);
  meta::Node* d = AddDir(&root, "d");
  auto f = NewInode(S_IFREG | 0644);
  f->size = 1;
  AddNode(d, "f", f);
  AddNode(&root, "empty", NewInode(S_IFREG | 0644));
  ASSERT_OK_AND_ASSIGN(std::vector<FlatNode> n, FlattenTree(root));
  EXPECT_EQ(MatchPrefetch(n, {"//d/f/", "/d", "/empty", "relative", "/missing", "/d/f"}),
            (std::vector<uint32_t>{4, 2}));
  EXPECT_EQ(MatchPrefetch(n, {"/"}), (std::vector<uint32_t>{1}));
}

TEST(BootstrapNodesTest, RejectsBadTrees) {
  auto fails = [](meta::Node& root) { return !FlattenTree(root).ok(); };
  meta::Node root;
  root.name = "/";
  root.inode = NewInode(S_IFDIR | 0755);
  AddNode(&root, std::string(256, 'n'), NewInode(S_IFREG));
  EXPECT_TRUE(fails(root));
  root.children.clear();
  AddNode(&root, "..", NewInode(S_IFREG));
  EXPECT_TRUE(fails(root));
  root.children.clear();
  AddNode(&root, std::string("a\0b", 3), NewInode(S_IFREG));
  EXPECT_TRUE(fails(root));
  root.children.clear();
  meta::Node* file = AddNode(&root, "f", NewInode(S_IFREG));
  AddNode(file, "child", NewInode(S_IFREG));
  EXPECT_TRUE(fails(root));
  root.children.clear();
  AddNode(&root, "weird", NewInode(0644));
  EXPECT_TRUE(fails(root));
  meta::Node not_dir;
  not_dir.inode = NewInode(S_IFREG);
  EXPECT_TRUE(fails(not_dir));
}

}  // namespace
}  // namespace nydus::builder::internal
