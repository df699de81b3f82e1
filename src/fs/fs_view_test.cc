// RafsFs over both metadata views of one v6 image — a TreeImageView of the fully decoded
// bootstrap and a V6DirectView of its bytes: every metadata answer must match the tree the
// image was built from. Plus corruption through the direct view: a bad inode is an error for
// that inode only. (The blobs here have no CI array, so file data is read through the direct
// view in fs_fixture_test.cc instead, over the reference v6 image and its blob.)
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "builder/bootstrap_writer.h"
#include "builder/bootstrap_writer_test_util.h"
#include "format/v6.h"
#include "meta/bootstrap_reader.h"
#include "fs/rafs_fs.h"
#include "meta/bootstrap_reader.h"
#include "meta/tree_image_view.h"
#include "meta/v6_direct_view.h"
#include "testing/test_util.h"

namespace nydus::fs {
namespace {

enum class ViewKind { kTree, kDirect };

Result<std::shared_ptr<const meta::ImageView>> MakeView(ViewKind kind, const Bytes& boot) {
  if (kind == ViewKind::kDirect) {
    ASSIGN_OR_RETURN(auto v, meta::V6DirectView::FromBytes(boot));
    return std::shared_ptr<const meta::ImageView>(std::move(v));
  }
  ASSIGN_OR_RETURN(meta::Image image, meta::ReadBootstrap(boot));
  ASSIGN_OR_RETURN(
      auto v, meta::TreeImageView::Create(std::make_shared<const meta::Image>(std::move(image))));
  return std::shared_ptr<const meta::ImageView>(std::move(v));
}

class RafsFsViewTest : public ::testing::TestWithParam<ViewKind> {
 protected:
  void SetUp() override {
    rich_ = builder::writer_test::MakeRichImage(format::kRafsVersionV6);
    ASSERT_OK_AND_ASSIGN(boot_, builder::WriteBootstrapV6(rich_.image));
    fs_ = Mount(boot_);
    ASSERT_NE(fs_, nullptr);
  }
  std::unique_ptr<RafsFs> Mount(const Bytes& boot) {
    auto view = MakeView(GetParam(), boot);
    EXPECT_TRUE(view.ok()) << view.status().ToString();
    if (!view.ok()) return nullptr;
    view_ = *view;
    RafsFsOptions opts;
    opts.enable_xattr = true;
    auto fs = RafsFs::Create(view_, nullptr, opts);
    EXPECT_TRUE(fs.ok()) << fs.status().ToString();
    return fs.ok() ? std::move(*fs) : nullptr;
  }
  std::vector<DirEntry> List(const RafsFs& fs, uint64_t ino, uint64_t offset = 0) {
    std::vector<DirEntry> out;
    EXPECT_OK(fs.ReadDir(ino, offset, [&](const DirEntry& e) {
      out.push_back(e);
      return true;
    }));
    return out;
  }
  uint64_t InoOf(const std::string& path) {
    uint64_t ino = kRootIno;
    size_t pos = 1;
    while (pos < path.size()) {
      size_t next = path.find('/', pos);
      if (next == std::string::npos) next = path.size();
      auto e = fs_->Lookup(ino, path.substr(pos, next - pos));
      EXPECT_TRUE(e.ok()) << path << ": " << e.status().ToString();
      if (!e.ok()) return 0;
      ino = e->ino;
      pos = next + 1;
    }
    return ino;
  }
  // Checks `node` (at `path`, reported as `ino`, inside directory `parent`) and below.
  void Check(const meta::Node& node, uint64_t ino, uint64_t parent, const std::string& path) {
    const meta::Inode& want = *node.inode;
    ASSERT_OK_AND_ASSIGN(Attr a, fs_->GetAttr(ino));
    EXPECT_EQ(a.ino, ino) << path;
    EXPECT_EQ(a.mode & S_IFMT, want.mode & S_IFMT) << path;
    if (ino != kRootIno) EXPECT_EQ(a.mode, want.mode) << path;
    EXPECT_EQ(a.uid, want.uid) << path;
    EXPECT_EQ(a.gid, want.gid) << path;
    EXPECT_EQ(a.nlink, want.nlink) << path;
    if (!want.IsDir()) EXPECT_EQ(a.size, want.size) << path;
    if (want.mtime != 0) EXPECT_EQ(a.mtime, static_cast<int64_t>(want.mtime)) << path;
    if (want.IsChr() || want.IsBlk()) EXPECT_EQ(a.rdev, want.rdev) << path;
    ASSERT_OK_AND_ASSIGN(std::vector<std::string> xnames, fs_->ListXattr(ino));
    ASSERT_EQ(xnames.size(), want.xattrs.size()) << path;
    for (const meta::Xattr& x : want.xattrs) {
      ASSERT_OK_AND_ASSIGN(auto value, fs_->GetXattr(ino, x.name));
      ASSERT_TRUE(value.has_value()) << path << " " << x.name;
      EXPECT_EQ(*value, x.value) << path << " " << x.name;
    }
    if (want.IsSymlink()) {
      ASSERT_OK_AND_ASSIGN(std::string target, fs_->ReadLink(ino));
      EXPECT_EQ(target, want.symlink) << path;
    }
    if (want.IsReg()) {
      // Metadata-only: reads past the end succeed, others need the (absent) data source.
      Bytes got(10);
      ASSERT_OK_AND_ASSIGN(size_t n, fs_->Read(ino, want.size, got));
      EXPECT_EQ(n, 0u);
      if (want.size > 0)
        EXPECT_EQ(fs_->Read(ino, 0, got).status().code(), StatusCode::kUnavailable);
      ++files_;
    }
    if (!want.IsDir()) return;
    std::vector<DirEntry> entries = List(*fs_, ino);
    ASSERT_EQ(entries.size(), node.children.size() + 2) << path;
    for (size_t i = 0; i < entries.size(); ++i) {
      const DirEntry& e = entries[i];
      EXPECT_EQ(e.next_offset, i + 1) << path;
      if (e.name == "." || e.name == "..") {
        EXPECT_EQ(e.ino, e.name == "." ? ino : parent) << path;
        EXPECT_EQ(e.type, static_cast<uint32_t>(DT_DIR));
        continue;
      }
      const meta::Node* child = node.FindChild(e.name);
      ASSERT_NE(child, nullptr) << path << "/" << e.name;
      EXPECT_EQ(e.type, IFTODT(child->inode->mode)) << e.name;
      ASSERT_OK_AND_ASSIGN(Entry looked, fs_->Lookup(ino, e.name));
      EXPECT_EQ(looked.ino, e.ino) << e.name;
      Check(*child, e.ino, ino, meta::ChildPath(path, e.name));
    }
    ASSERT_OK_AND_ASSIGN(Entry dot, fs_->Lookup(ino, "."));
    EXPECT_EQ(dot.ino, ino);
    ASSERT_OK_AND_ASSIGN(Entry up, fs_->Lookup(ino, ".."));
    EXPECT_EQ(up.ino, parent);
  }

  builder::writer_test::RichImage rich_;
  Bytes boot_;
  std::shared_ptr<const meta::ImageView> view_;
  std::unique_ptr<RafsFs> fs_;
  size_t files_ = 0;
};

TEST_P(RafsFsViewTest, WholeTreeMatchesTheSource) {
  Check(*rich_.image.root, kRootIno, kRootIno, "/");
  EXPECT_GT(files_, 400u);
  ASSERT_OK_AND_ASSIGN(Attr root, fs_->GetAttr(kRootIno));
  EXPECT_EQ(root.mode, S_IFDIR | 0755u);
}

TEST_P(RafsFsViewTest, HardlinksAndNumbers) {
  const uint64_t a = InoOf("/hl-a"), b = InoOf("/dir/hl-b");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, 0u);
  EXPECT_EQ(fs_->GetAttr(0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->GetAttr(uint64_t{1} << 40).status().code(), StatusCode::kNotFound);
}

TEST_P(RafsFsViewTest, ResumesReadDirAtEveryOffset) {
  const uint64_t many = InoOf("/many");
  std::vector<DirEntry> all = List(*fs_, many);
  ASSERT_EQ(all.size(), 402u);
  for (uint64_t off = 0; off <= all.size(); off += 13) {
    std::vector<DirEntry> rest = List(*fs_, many, off);
    ASSERT_EQ(rest.size(), all.size() - off);
    for (size_t i = 0; i < rest.size(); ++i) EXPECT_EQ(rest[i].name, all[off + i].name);
  }
}

TEST_P(RafsFsViewTest, Errors) {
  const uint64_t file = InoOf("/small.txt"), dir = InoOf("/dir");
  std::vector<uint8_t> buf(10);
  EXPECT_EQ(fs_->Lookup(dir, "missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->Lookup(file, "x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->ReadLink(file).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->Read(dir, 0, buf).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->Open(file, O_WRONLY).code(), StatusCode::kNotSupported);
  EXPECT_OK(fs_->Access(file, R_OK, Caller{1000, 1000}));
  EXPECT_GT(fs_->GetStatFs().files, 0u);
  EXPECT_GT(fs_->GetStatFs().blocks, 0u);
}

// A corrupt inode: the full reader refuses the whole image at mount; the direct view fails
// only the calls that touch that inode.
TEST_P(RafsFsViewTest, CorruptInodeIsAnErrorForThatInodeOnly) {
  const uint64_t nid = InoOf("/small.txt"), other = InoOf("/dup1");
  format::RafsV6SuperBlock sb{};
  ReadPod(boot_, format::kV6SuperBlockOffset, &sb);
  Bytes bad = boot_;
  StoreLE16(bad.data() + sb.s_meta_blkaddr * 4096ull + nid * 32, 0xff);  // i_format
  if (GetParam() == ViewKind::kTree) {
    EXPECT_EQ(meta::ReadBootstrap(bad).status().code(), StatusCode::kCorruption);
    return;
  }
  fs_ = Mount(bad);
  ASSERT_NE(fs_, nullptr);
  std::vector<uint8_t> buf(10);
  EXPECT_EQ(fs_->GetAttr(nid).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(fs_->Read(nid, 0, buf).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(fs_->Lookup(kRootIno, "small.txt").status().code(), StatusCode::kCorruption);
  EXPECT_OK(fs_->GetAttr(other).status());
  EXPECT_EQ(fs_->Read(other, 0, buf).status().code(), StatusCode::kUnavailable);  // no data
  EXPECT_EQ(List(*fs_, kRootIno).size(), rich_.image.root->children.size() + 2);
}

INSTANTIATE_TEST_SUITE_P(Views, RafsFsViewTest,
                         ::testing::Values(ViewKind::kTree, ViewKind::kDirect),
                         [](const auto& info) {
                           return info.param == ViewKind::kTree ? "Tree" : "Direct";
                         });

}  // namespace
}  // namespace nydus::fs
