// RafsFs over hand-made images: attributes, inode numbering, lookup, readdir, readlink, open,
// xattrs, statfs and access. Data reads are in fs_read_test.cc, fixtures in fs_fixture_test.cc.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <ctime>
#include <string>
#include <vector>

#include "format/rafs.h"
#include "fs/fs_test_util.h"
#include "fs/rafs_fs.h"
#include "testing/test_util.h"

namespace nydus::fs {
namespace {

using testing::ImageBuilder;

// v6 numbers (nids) used by the sample tree.
constexpr uint64_t kRootNid = 128, kDirNid = 200, kFileNid = 210, kLinkNid = 220, kNid1 = 1;
constexpr uint64_t kDevNid = 300, kExeNid = 310;

// /            dir  0700 (reported 0755)     nid 128
// /dir         dir  0750 uid 1000 gid 100    nid 200
// /dir/file    reg  0640 uid 1000 gid 100    nid 210, 10000 bytes, xattrs user.a, user.b
// /dir/hard    the same inode as /dir/file (nlink 2)
// /dir/link    symlink -> "file"             nid 220
// /dev         chr 1:3, mtime 0              nid 300
// /empty       reg, empty                    nid 1 (collides with the FUSE root number)
// /exe         reg 0711                      nid 310, 3 bytes
std::shared_ptr<const meta::Image> SampleV6() {
  ImageBuilder b(format::kRafsVersionV6, kRootNid, 0700);
  meta::Node* dir = b.AddDir(b.root(), "dir", kDirNid, 0750);
  dir->inode->uid = 1000;
  dir->inode->gid = 100;
  meta::Node* file = b.AddFile(dir, "file", kFileNid, 10000, 0640);
  file->inode->uid = 1000;
  file->inode->gid = 100;
  file->inode->nlink = 2;
  file->inode->xattrs = {{"user.a", "1"}, {"user.b", "xyz"}};
  b.Add(dir, "hard", file->inode);
  b.AddSymlink(dir, "link", kLinkNid, "file");
  auto dev = b.NewInode(S_IFCHR | 0644, kDevNid);
  dev->rdev = makedev(1, 3);
  dev->mtime = 0;
  b.Add(b.root(), "dev", dev);
  b.AddFile(b.root(), "empty", kNid1);
  b.AddFile(b.root(), "exe", kExeNid, 3, 0711);
  return b.Finish();
}

std::unique_ptr<RafsFs> MakeFs(std::shared_ptr<const meta::Image> image, RafsFsOptions opts = {}) {
  auto r = RafsFs::Create(std::move(image), nullptr, opts);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

// Every entry ReadDir reports from `offset` on.
std::vector<DirEntry> List(const RafsFs& fs, uint64_t ino, uint64_t offset = 0) {
  std::vector<DirEntry> out;
  Status st = fs.ReadDir(ino, offset, [&](const DirEntry& e) {
    out.push_back(e);
    return true;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

std::vector<std::string> Names(const std::vector<DirEntry>& entries) {
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  return names;
}

class RafsFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_ = MakeFs(SampleV6());
    ASSERT_NE(fs_, nullptr);
  }
  uint64_t InoOf(uint64_t parent, const std::string& name) {
    auto e = fs_->Lookup(parent, name);
    EXPECT_TRUE(e.ok()) << name << ": " << e.status().ToString();
    return e.ok() ? e->ino : 0;
  }
  std::unique_ptr<RafsFs> fs_;
};

TEST_F(RafsFsTest, RootIsOneWithForcedPermissions) {
  ASSERT_OK_AND_ASSIGN(Attr a, fs_->GetAttr(kRootIno));
  EXPECT_EQ(a.ino, kRootIno);
  EXPECT_EQ(a.mode, S_IFDIR | 0755u);  // stored 0700: the root always reports 0755
  EXPECT_EQ(a.nlink, 2u);
  EXPECT_EQ(a.blksize, 4096u);
  // The root's own nid is not a valid number any more: it names the inode whose nid is 1.
  ASSERT_OK_AND_ASSIGN(Attr swapped, fs_->GetAttr(kRootNid));
  EXPECT_EQ(swapped.ino, kRootNid);
  EXPECT_TRUE(S_ISREG(swapped.mode));
  EXPECT_EQ(InoOf(kRootIno, "empty"), kRootNid);
}

TEST_F(RafsFsTest, V6ReportsNids) {
  EXPECT_EQ(InoOf(kRootIno, "dir"), kDirNid);
  EXPECT_EQ(InoOf(kDirNid, "file"), kFileNid);
  EXPECT_EQ(InoOf(kDirNid, "link"), kLinkNid);
  EXPECT_EQ(InoOf(kRootIno, "exe"), kExeNid);
}

TEST_F(RafsFsTest, HardlinksShareOneIno) {
  ASSERT_OK_AND_ASSIGN(Entry file, fs_->Lookup(kDirNid, "file"));
  ASSERT_OK_AND_ASSIGN(Entry hard, fs_->Lookup(kDirNid, "hard"));
  EXPECT_EQ(file.ino, hard.ino);
  EXPECT_EQ(hard.attr.nlink, 2u);
  EXPECT_EQ(hard.attr.size, 10000u);
  EXPECT_EQ(hard.generation, 0u);
}

TEST_F(RafsFsTest, AttrFields) {
  ASSERT_OK_AND_ASSIGN(Attr a, fs_->GetAttr(kFileNid));
  EXPECT_EQ(a.mode, S_IFREG | 0640u);
  EXPECT_EQ(a.uid, 1000u);  // explicit uid/gid (the default)
  EXPECT_EQ(a.gid, 100u);
  EXPECT_EQ(a.size, 10000u);
  EXPECT_EQ(a.blocks, 20u);  // ceil(10000 / 512)
  EXPECT_EQ(a.mtime, 1000);
  EXPECT_EQ(a.mtime_nsec, 500u);
  EXPECT_EQ(a.atime, 1000);
  EXPECT_EQ(a.ctime, 1000);
  EXPECT_EQ(a.atime_nsec, 500u);
  EXPECT_EQ(a.ctime_nsec, 500u);

  ASSERT_OK_AND_ASSIGN(Attr dev, fs_->GetAttr(kDevNid));
  EXPECT_TRUE(S_ISCHR(dev.mode));
  EXPECT_EQ(major(dev.rdev), 1u);
  EXPECT_EQ(minor(dev.rdev), 3u);
  EXPECT_EQ(dev.blocks, 0u);
}

TEST(RafsFsAttrTest, ZeroMtimeReportsStartTime) {
  const int64_t before = std::time(nullptr);
  auto fs = MakeFs(SampleV6());
  const int64_t after = std::time(nullptr);
  ASSERT_OK_AND_ASSIGN(Attr dev, fs->GetAttr(kDevNid));
  EXPECT_GE(dev.mtime, before);
  EXPECT_LE(dev.mtime, after);
  EXPECT_EQ(dev.atime, dev.mtime);
  EXPECT_EQ(dev.ctime, dev.mtime);
}

TEST(RafsFsAttrTest, ImplicitUidGidReportsDaemonCredentials) {
  ImageBuilder b(format::kRafsVersionV5, 1);
  meta::Node* f = b.AddFile(b.root(), "f", 2);
  f->inode->uid = 4242;
  f->inode->gid = 4343;
  b.image().explicit_uidgid = false;
  auto fs = MakeFs(b.Finish());
  ASSERT_OK_AND_ASSIGN(Attr a, fs->GetAttr(2));
  EXPECT_EQ(a.uid, static_cast<uint32_t>(geteuid()));
  EXPECT_EQ(a.gid, static_cast<uint32_t>(getegid()));
}

TEST_F(RafsFsTest, GetAttrUnknownInoIsNotFound) {
  EXPECT_EQ(fs_->GetAttr(999).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->GetAttr(0).status().code(), StatusCode::kNotFound);
}

TEST_F(RafsFsTest, LookupDotAndDotDot) {
  EXPECT_EQ(InoOf(kDirNid, "."), kDirNid);
  EXPECT_EQ(InoOf(kDirNid, ".."), kRootIno);
  EXPECT_EQ(InoOf(kRootIno, "."), kRootIno);
  EXPECT_EQ(InoOf(kRootIno, ".."), kRootIno);
  ASSERT_OK_AND_ASSIGN(Entry up, fs_->Lookup(kDirNid, ".."));
  EXPECT_EQ(up.attr.mode, S_IFDIR | 0755u);
}

TEST_F(RafsFsTest, LookupErrors) {
  EXPECT_EQ(fs_->Lookup(kRootIno, "missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->Lookup(kDirNid, "dir").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->Lookup(kRootIno, "").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->Lookup(12345, "file").status().code(), StatusCode::kNotFound);
  // A regular file or symlink is not a directory.
  EXPECT_EQ(fs_->Lookup(kFileNid, "x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->Lookup(kLinkNid, ".").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(RafsFsTest, ReadDirListsDotsAndChildren) {
  std::vector<DirEntry> all = List(*fs_, kDirNid);
  ASSERT_EQ(Names(all), (std::vector<std::string>{".", "..", "file", "hard", "link"}));
  EXPECT_EQ(all[0].ino, kDirNid);
  EXPECT_EQ(all[1].ino, kRootIno);
  EXPECT_EQ(all[2].ino, kFileNid);
  EXPECT_EQ(all[3].ino, kFileNid);
  EXPECT_EQ(all[4].ino, kLinkNid);
  EXPECT_EQ(all[0].type, DT_DIR);
  EXPECT_EQ(all[1].type, DT_DIR);
  EXPECT_EQ(all[2].type, DT_REG);
  EXPECT_EQ(all[4].type, DT_LNK);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].next_offset, i + 1);

  std::vector<DirEntry> root = List(*fs_, kRootIno);
  ASSERT_EQ(Names(root), (std::vector<std::string>{".", "..", "dev", "dir", "empty", "exe"}));
  EXPECT_EQ(root[1].ino, kRootIno);  // the root's parent is itself
  EXPECT_EQ(root[2].type, DT_CHR);
  EXPECT_EQ(root[4].ino, kRootNid);  // nid 1 reports the root's nid
}

TEST_F(RafsFsTest, ReadDirResumesAtStableOffsets) {
  // Stop after two entries as a full buffer would; the refused entry is not consumed.
  std::vector<DirEntry> first;
  ASSERT_OK(fs_->ReadDir(kDirNid, 0, [&](const DirEntry& e) {
    if (first.size() == 2) return false;
    first.push_back(e);
    return true;
  }));
  ASSERT_EQ(Names(first), (std::vector<std::string>{".", ".."}));
  std::vector<DirEntry> rest = List(*fs_, kDirNid, first.back().next_offset);
  EXPECT_EQ(Names(rest), (std::vector<std::string>{"file", "hard", "link"}));
  EXPECT_EQ(Names(List(*fs_, kDirNid, 4)), (std::vector<std::string>{"link"}));
  EXPECT_TRUE(List(*fs_, kDirNid, 5).empty());
  EXPECT_TRUE(List(*fs_, kDirNid, 1000).empty());
}

TEST_F(RafsFsTest, ReadDirErrors) {
  auto never = [](const DirEntry&) {
    ADD_FAILURE() << "callback called";
    return true;
  };
  EXPECT_EQ(fs_->ReadDir(kFileNid, 0, never).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->ReadDir(777, 0, never).code(), StatusCode::kNotFound);
}

// v6 lists the on-disk order: every name sorted bytewise with "." and ".." among them.
TEST(RafsFsDirTest, V6OrderSortsDotsAmongNames) {
  ImageBuilder b(format::kRafsVersionV6, 128);
  uint64_t nid = 200;
  for (const char* name : {"+x", "-a", ".-b", "a", ".hidden"}) b.AddFile(b.root(), name, nid++);
  auto fs = MakeFs(b.Finish());
  std::vector<DirEntry> all = List(*fs, kRootIno);
  EXPECT_EQ(Names(all), (std::vector<std::string>{"+x", "-a", ".", ".-b", "..", ".hidden", "a"}));
  EXPECT_EQ(all[2].ino, kRootIno);
  EXPECT_EQ(all[4].ino, kRootIno);
  // Resuming in the middle keeps the same order.
  EXPECT_EQ(Names(List(*fs, kRootIno, 3)), (std::vector<std::string>{".-b", "..", ".hidden", "a"}));
}

// v5 lists "." and ".." first whatever the names.
TEST(RafsFsDirTest, V5OrderPutsDotsFirst) {
  ImageBuilder b(format::kRafsVersionV5, 1);
  b.AddFile(b.root(), "-a", 2);
  b.AddFile(b.root(), "b", 3);
  auto fs = MakeFs(b.Finish());
  std::vector<DirEntry> all = List(*fs, kRootIno);
  EXPECT_EQ(Names(all), (std::vector<std::string>{".", "..", "-a", "b"}));
  EXPECT_EQ(all[2].ino, 2u);
  EXPECT_EQ(all[3].ino, 3u);
}

TEST_F(RafsFsTest, ReadLink) {
  ASSERT_OK_AND_ASSIGN(std::string target, fs_->ReadLink(kLinkNid));
  EXPECT_EQ(target, "file");
  EXPECT_EQ(fs_->ReadLink(kFileNid).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->ReadLink(kRootIno).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->ReadLink(4711).status().code(), StatusCode::kNotFound);
}

TEST_F(RafsFsTest, OpenRejectsWriteFlags) {
  EXPECT_OK(fs_->Open(kFileNid, O_RDONLY));
  EXPECT_OK(fs_->Open(kFileNid, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  EXPECT_OK(fs_->Open(kRootIno, O_RDONLY | O_DIRECTORY));
  EXPECT_EQ(fs_->Open(kFileNid, O_WRONLY).code(), StatusCode::kNotSupported);
  EXPECT_EQ(fs_->Open(kFileNid, O_RDWR).code(), StatusCode::kNotSupported);
  EXPECT_EQ(fs_->Open(kFileNid, O_RDONLY | O_TRUNC).code(), StatusCode::kNotSupported);
  EXPECT_EQ(fs_->Open(31337, O_RDONLY).code(), StatusCode::kNotFound);
  EXPECT_FALSE(IsWriteOpen(O_RDONLY | O_NONBLOCK));
  EXPECT_TRUE(IsWriteOpen(O_WRONLY | O_APPEND));
}

TEST_F(RafsFsTest, ReadWithoutDataSource) {
  std::vector<uint8_t> buf(16);
  // Metadata-only filesystem: a non-empty file has no data source.
  EXPECT_EQ(fs_->Read(kExeNid, 0, buf).status().code(), StatusCode::kUnavailable);
  // Reads that need no data succeed: an empty file, at or past EOF, a zero-size read.
  ASSERT_OK_AND_ASSIGN(size_t n, fs_->Read(kRootNid, 0, buf));  // "/empty"
  EXPECT_EQ(n, 0u);
  ASSERT_OK_AND_ASSIGN(n, fs_->Read(kExeNid, 3, buf));
  EXPECT_EQ(n, 0u);
  ASSERT_OK_AND_ASSIGN(n, fs_->Read(kExeNid, 1u << 30, buf));
  EXPECT_EQ(n, 0u);
  ASSERT_OK_AND_ASSIGN(n, fs_->Read(kExeNid, 0, std::span<uint8_t>()));
  EXPECT_EQ(n, 0u);
}

TEST_F(RafsFsTest, ReadErrors) {
  std::vector<uint8_t> buf(16);
  EXPECT_EQ(fs_->Read(kRootIno, 0, buf).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->Read(kLinkNid, 0, buf).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->Read(kDevNid, 0, buf).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_->Read(999, 0, buf).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs_->Read(kExeNid, UINT64_MAX - 4, buf).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(RafsFsTest, XattrsDisabledByDefault) {
  EXPECT_FALSE(fs_->xattr_enabled());
  EXPECT_EQ(fs_->GetXattr(kFileNid, "user.a").status().code(), StatusCode::kNotSupported);
  EXPECT_EQ(fs_->ListXattr(kFileNid).status().code(), StatusCode::kNotSupported);
}

TEST(RafsFsXattrTest, EnabledByOption) {
  RafsFsOptions opts;
  opts.enable_xattr = true;
  auto fs = MakeFs(SampleV6(), opts);
  ASSERT_TRUE(fs->xattr_enabled());
  ASSERT_OK_AND_ASSIGN(auto value, fs->GetXattr(kFileNid, "user.b"));
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(*value, "xyz");
  ASSERT_OK_AND_ASSIGN(value, fs->GetXattr(kFileNid, "user.missing"));
  EXPECT_FALSE(value.has_value());
  ASSERT_OK_AND_ASSIGN(auto names, fs->ListXattr(kFileNid));
  EXPECT_EQ(names, (std::vector<std::string>{"user.a", "user.b"}));
  ASSERT_OK_AND_ASSIGN(names, fs->ListXattr(kDirNid));
  EXPECT_TRUE(names.empty());
  EXPECT_EQ(fs->GetXattr(999, "user.a").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fs->ListXattr(999).status().code(), StatusCode::kNotFound);
}

TEST(RafsFsXattrTest, EnabledBySuperblockFlag) {
  ImageBuilder b(format::kRafsVersionV5, 1);
  b.AddFile(b.root(), "f", 2)->inode->xattrs = {{"trusted.x", std::string("\0\1", 2)}};
  b.image().flags |= format::kFlagHasXattr;
  auto fs = MakeFs(b.Finish());
  ASSERT_TRUE(fs->xattr_enabled());
  ASSERT_OK_AND_ASSIGN(auto value, fs->GetXattr(2, "trusted.x"));
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(*value, std::string("\0\1", 2));
}

TEST_F(RafsFsTest, StatFsCountsDistinctInodes) {
  StatFs st = fs_->GetStatFs();
  EXPECT_EQ(st.bsize, 4096u);
  EXPECT_EQ(st.frsize, 4096u);
  EXPECT_EQ(st.namemax, 255u);
  EXPECT_EQ(st.files, 7u);  // 8 names, /dir/hard shares /dir/file's inode
  // file 10000 B → 3 blocks, exe 3 B → 1, link "file" 4 B → 1; dirs, dev, empty → 0.
  EXPECT_EQ(st.blocks, 5u);
  EXPECT_EQ(st.bfree, 0u);
  EXPECT_EQ(st.bavail, 0u);
  EXPECT_EQ(st.ffree, 0u);
}

TEST_F(RafsFsTest, AccessOwnerGroupOther) {
  const Caller owner{1000, 100}, group{2000, 100}, other{2000, 200};
  // /dir/file is 0640 uid 1000 gid 100.
  EXPECT_OK(fs_->Access(kFileNid, R_OK | W_OK, owner));
  EXPECT_EQ(fs_->Access(kFileNid, X_OK, owner).code(), StatusCode::kPermissionDenied);
  EXPECT_OK(fs_->Access(kFileNid, R_OK, group));
  EXPECT_EQ(fs_->Access(kFileNid, W_OK, group).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(fs_->Access(kFileNid, R_OK, other).code(), StatusCode::kPermissionDenied);
  EXPECT_OK(fs_->Access(kFileNid, F_OK, other));  // existence only
  // /dir is 0750: group may search, others may not.
  EXPECT_OK(fs_->Access(kDirNid, R_OK | X_OK, group));
  EXPECT_EQ(fs_->Access(kDirNid, X_OK, other).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(fs_->Access(404, F_OK, owner).code(), StatusCode::kNotFound);
}

TEST_F(RafsFsTest, AccessRoot) {
  const Caller root{0, 0};
  EXPECT_OK(fs_->Access(kFileNid, R_OK | W_OK, root));  // root reads and writes anything
  // ... but executes only what has an x bit somewhere.
  EXPECT_EQ(fs_->Access(kFileNid, X_OK, root).code(), StatusCode::kPermissionDenied);
  EXPECT_OK(fs_->Access(kExeNid, X_OK, root));
  // /exe is 0711 uid 0: others may execute but not read.
  const Caller other{5, 5};
  EXPECT_OK(fs_->Access(kExeNid, X_OK, other));
  EXPECT_EQ(fs_->Access(kExeNid, R_OK, other).code(), StatusCode::kPermissionDenied);
}

TEST(RafsFsCreateTest, RejectsBadImages) {
  EXPECT_EQ(RafsFs::Create(std::shared_ptr<const meta::ImageView>(), nullptr, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RafsFs::Create(std::shared_ptr<const meta::Image>(), nullptr, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RafsFs::Create(std::make_shared<meta::Image>(), nullptr, {}).status().code(),
            StatusCode::kInvalidArgument);
  {  // root is a file
    ImageBuilder b(format::kRafsVersionV6, 128);
    b.root()->inode->mode = S_IFREG | 0644;
    EXPECT_EQ(RafsFs::Create(b.Finish(), nullptr, {}).status().code(),
              StatusCode::kInvalidArgument);
  }
  {  // a v6 inode without a nid (only its v5 number set)
    ImageBuilder b(format::kRafsVersionV6, 128);
    b.AddFile(b.root(), "f", 0)->inode->ino = 5;
    auto r = RafsFs::Create(b.Finish(), nullptr, {});
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("/f: inode number 0"), std::string::npos)
        << r.status().ToString();
  }
  {  // two different inodes with one number
    ImageBuilder b(format::kRafsVersionV5, 1);
    meta::Node* d = b.AddDir(b.root(), "d", 2);
    b.AddFile(d, "x", 3);
    b.AddFile(d, "y", 3);
    auto r = RafsFs::Create(b.Finish(), nullptr, {});
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("/d/y: inode number 3 already used"), std::string::npos)
        << r.status().ToString();
  }
}

}  // namespace
}  // namespace nydus::fs
