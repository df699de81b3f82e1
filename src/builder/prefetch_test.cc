#include "builder/prefetch.h"

#include <sys/stat.h>

#include <string>
#include <vector>

#include "testing/test_util.h"

namespace nydus::builder {
namespace {

using meta::Inode;
using meta::Node;
using Strings = std::vector<std::string>;

Node* Add(Node* parent, const std::string& name, std::shared_ptr<Inode> inode) {
  auto node = std::make_unique<Node>();
  node->name = name;
  node->inode = std::move(inode);
  Node* raw = node.get();
  parent->PutChild(std::move(node));
  return raw;
}
std::shared_ptr<Inode> NewInode(uint32_t mode, uint64_t size) {
  auto inode = std::make_shared<Inode>();
  inode->mode = mode;
  inode->size = size;
  return inode;
}
Node* AddDir(Node* parent, const std::string& name) {
  return Add(parent, name, NewInode(S_IFDIR | 0755, 0));
}
Node* AddFile(Node* parent, const std::string& name, uint64_t size = 10) {
  return Add(parent, name, NewInode(S_IFREG | 0644, size));
}

std::unique_ptr<Node> NewRoot() {
  auto root = std::make_unique<Node>();
  root->name = "/";
  root->inode = NewInode(S_IFDIR | 0755, 0);
  return root;
}

TEST(PrefetchPatternsTest, ReferenceNestingRule) {
  // The reference's own test vector (core/prefetch.rs test_generate_pattern).
  ASSERT_OK_AND_ASSIGN(Strings got, NormalizePrefetchPatterns(
                                        {"/a/b", "/a/b/c", "/a/b/d", "/a/b/d/e", "/f", "/h/i"}));
  EXPECT_EQ(got, (Strings{"/a/b", "/f", "/h/i"}));
}

TEST(PrefetchPatternsTest, TrimsCollapsesAndKeepsOrder) {
  ASSERT_OK_AND_ASSIGN(
      Strings got,
      NormalizePrefetchPatterns({"  /usr//lib/  \n", "", "   \t", "/etc/./passwd\r\n", "/bin",
                                 "/usr/lib", "/usr/lib64", "/usr/lib/x", "/bin/", "/a/../b"}));
  EXPECT_EQ(got, (Strings{"/usr/lib", "/etc/passwd", "/bin", "/usr/lib64", "/a/../b"}));
}

TEST(PrefetchPatternsTest, LaterParentIsKeptAndRootSwallowsLaterOnes) {
  ASSERT_OK_AND_ASSIGN(Strings got, NormalizePrefetchPatterns({"/a/b", "/a"}));
  EXPECT_EQ(got, (Strings{"/a/b", "/a"}));
  ASSERT_OK_AND_ASSIGN(Strings rooted, NormalizePrefetchPatterns({"//", "/x", "/y/z"}));
  EXPECT_EQ(rooted, (Strings{"/"}));
  ASSERT_OK_AND_ASSIGN(Strings none, NormalizePrefetchPatterns({}));
  EXPECT_TRUE(none.empty());
}

TEST(PrefetchPatternsTest, RelativePathIsAnError) {
  auto r = NormalizePrefetchPatterns({"/ok", "relative/path"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("relative/path"), std::string::npos);
  EXPECT_FALSE(NormalizePrefetchPatterns({" ./x"}).ok());
}

// /           (dir)
//   a/        (dir)
//     big     10 bytes
//     empty   0 bytes
//     sub/x   10 bytes, hardlinked as /z/x-link
//   b         10 bytes
//   c/        (dir) with y
//   z/        (dir) with x-link, w
class PrefetchTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = NewRoot();
    Node* a = AddDir(root_.get(), "a");
    big_ = AddFile(a, "big")->inode.get();
    empty_ = AddFile(a, "empty", 0)->inode.get();
    Node* sub = AddDir(a, "sub");
    Node* x = AddFile(sub, "x");
    x_ = x->inode.get();
    b_ = AddFile(root_.get(), "b")->inode.get();
    Node* c = AddDir(root_.get(), "c");
    y_ = AddFile(c, "y")->inode.get();
    Node* z = AddDir(root_.get(), "z");
    w_ = AddFile(z, "w")->inode.get();
    Add(z, "x-link", x->inode);
    Add(z, "sock", NewInode(S_IFSOCK | 0644, 0));
  }
  std::unique_ptr<Node> root_;
  const Inode *big_, *empty_, *x_, *b_, *y_, *w_;
};

TEST_F(PrefetchTreeTest, MatchReturnsNodesInPatternOrder) {
  auto nodes = MatchPrefetch(*root_, {"/z/w", "/missing", "/a", "/a/empty", "/b", "/"});
  ASSERT_EQ(nodes.size(), 4u);
  EXPECT_EQ(nodes[0]->inode.get(), w_);
  EXPECT_EQ(nodes[1]->name, "a");        // a directory pattern matches the directory
  EXPECT_EQ(nodes[2]->inode.get(), b_);  // the empty file was skipped
  EXPECT_EQ(nodes[3], root_.get());
  EXPECT_TRUE(MatchPrefetch(*root_, {}).empty());
  EXPECT_TRUE(MatchPrefetch(*root_, {"/b/under-a-file"}).empty());
}

TEST_F(PrefetchTreeTest, DataOrderPutsPrefetchFilesFirstInTreeOrder) {
  // Pattern order is /z then /a, but the prefetch part follows tree pre-order.
  auto order = DataOrder(*root_, {"/z", "/a/sub"});
  EXPECT_EQ(order, (std::vector<const Inode*>{x_, w_, big_, empty_, b_, y_}));
}

TEST_F(PrefetchTreeTest, DataOrderWithoutPatternsIsPreOrderWithHardlinksOnce) {
  auto order = DataOrder(*root_, {});
  EXPECT_EQ(order, (std::vector<const Inode*>{big_, empty_, x_, b_, y_, w_}));
  auto unmatched = DataOrder(*root_, {"/nothing/here"});
  EXPECT_EQ(unmatched, order);
}

TEST_F(PrefetchTreeTest, DataOrderFilePatternAndHardlinkName) {
  // /z/x-link names the same inode as /a/sub/x: it moves to the front once.
  auto order = DataOrder(*root_, {"/c/y", "/z/x-link"});
  EXPECT_EQ(order, (std::vector<const Inode*>{y_, x_, big_, empty_, b_, w_}));
  auto all = DataOrder(*root_, {"/"});
  EXPECT_EQ(all, (std::vector<const Inode*>{big_, empty_, x_, b_, y_, w_}));
}

}  // namespace
}  // namespace nydus::builder
