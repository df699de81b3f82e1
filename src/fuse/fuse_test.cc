// Real mounts: a RafsFs served through FuseSession at a temp dir, checked with plain POSIX
// calls. Skipped (with a message) unless running as root with /dev/fuse available.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "base/digest.h"
#include "base/file_util.h"
#include "format/rafs.h"
#include "fs/fs_test_util.h"
#include "fs/rafs_fs.h"
#include "fuse/fuse_session.h"
#include "meta/bootstrap_reader.h"
#include "storage/blob_backend.h"
#include "storage/chunk_reader.h"
#include "storage/fake_backend.h"
#include "testing/test_util.h"

namespace nydus::fuse {
namespace {

const std::string kBlobId(64, 'b');

// Skips the calling test unless FUSE mounts are possible here.
#define REQUIRE_FUSE()                                                                \
  do {                                                                                \
    if (geteuid() != 0) GTEST_SKIP() << "FUSE mount tests need root";                 \
    if (access("/dev/fuse", R_OK | W_OK) != 0) GTEST_SKIP() << "no usable /dev/fuse"; \
  } while (0)

// The /proc/self/mounts line for `mountpoint`, or "".
std::string MountLine(const std::string& mountpoint) {
  std::ifstream in("/proc/self/mounts");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(" " + mountpoint + " ") != std::string::npos) return line;
  }
  return "";
}

// A root-mode Vfs over `fs`, which it borrows (the caller keeps `fs` alive).
std::unique_ptr<fs::Vfs> RootVfs(const fs::RafsFs* fs) {
  return std::make_unique<fs::Vfs>(std::shared_ptr<const fs::RafsFs>(std::shared_ptr<void>(), fs),
                                   fs::VfsOptions{});
}

// Serves `fs` at a temp dir on a background thread for the lifetime of the object.
class Mounted {
 public:
  void Start(const fs::RafsFs* fs, const FuseOptions& opts) {
    vfs_ = RootVfs(fs);
    StartVfs(vfs_.get(), opts);
  }
  void StartVfs(const fs::Vfs* vfs, const FuseOptions& opts) {
    mnt_ = tmp_.Join("mnt");
    ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);
    ASSERT_OK_AND_ASSIGN(session_, FuseSession::Mount(mnt_, vfs, opts));
    loop_ = std::thread([this] { run_status_ = session_->Run(); });
  }
  // Detaches the mount, waits for the loop and checks that it ended cleanly.
  void Stop() {
    if (session_ == nullptr) return;
    session_->RequestExit();
    loop_.join();
    EXPECT_OK(run_status_);
    EXPECT_OK(session_->Unmount());
    session_.reset();
  }
  ~Mounted() { Stop(); }
  std::string Path(const std::string& rel) const { return mnt_ + "/" + rel; }
  const std::string& mnt() const { return mnt_; }
  FuseSession* session() { return session_.get(); }

 private:
  nydus::testing::TempDir tmp_;
  std::unique_ptr<fs::Vfs> vfs_;
  std::string mnt_;
  std::unique_ptr<FuseSession> session_;
  std::thread loop_;
  Status run_status_;
};

// A v5 image served from a MemBackend:
//   /dir/file  9192 bytes (chunks of 4096), 0644 uid 1000 gid 100, xattrs, nlink 2
//   /dir/hard  hardlink to /dir/file;  /dir/link -> "file";  /empty;  /dev (chr 1:3)
//   /big       3 MiB + 123 bytes in 1 MiB chunks
class FuseMountTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    REQUIRE_FUSE();
    BuildImage();
    fs::RafsFsOptions fopts;
    fopts.enable_xattr = true;
    ASSERT_OK_AND_ASSIGN(fs_, fs::RafsFs::Create(image_, reader_.get(), fopts));
    FuseOptions opts;
    opts.read_only = GetParam();
    opts.threads = 2;
    mount_.Start(fs_.get(), opts);
  }

  // Appends `data` to the blob as uncompressed chunks of `chunk` bytes and records them.
  void AddData(meta::Inode* inode, const Bytes& data, uint64_t chunk) {
    for (uint64_t off = 0; off < data.size(); off += chunk) {
      meta::ChunkInfo c;
      c.index = chunk_count_++;
      c.uncompressed_size = c.compressed_size =
          static_cast<uint32_t>(std::min<uint64_t>(chunk, data.size() - off));
      c.compressed_offset = c.uncompressed_offset = blob_.size();
      c.file_offset = off;
      inode->chunks.push_back(c);
      blob_.insert(blob_.end(), data.begin() + off, data.begin() + off + c.uncompressed_size);
    }
  }

  void BuildImage() {
    content_.resize(9192);
    for (size_t i = 0; i < content_.size(); ++i) content_[i] = static_cast<uint8_t>(i % 251);
    big_.resize((3u << 20) + 123);
    uint32_t x = 12345;
    for (auto& byte : big_) byte = static_cast<uint8_t>((x = x * 1103515245u + 12345u) >> 24);

    fs::testing::ImageBuilder b(format::kRafsVersionV5, 1);
    b.image().compressor = format::Compressor::kNone;
    meta::Node* dir = b.AddDir(b.root(), "dir", 2);
    meta::Node* file = b.AddFile(dir, "file", 3, content_.size());
    file->inode->uid = 1000;
    file->inode->gid = 100;
    file->inode->nlink = 2;
    file->inode->xattrs = {{"user.a", "1"}, {"user.long", std::string(100, 'x')}};
    AddData(file->inode.get(), content_, 4096);
    b.Add(dir, "hard", file->inode);
    b.AddSymlink(dir, "link", 4, "file");
    b.AddFile(b.root(), "empty", 5);
    auto dev = b.NewInode(S_IFCHR | 0600, 6);
    dev->rdev = makedev(1, 3);
    b.Add(b.root(), "dev", dev);
    AddData(b.AddFile(b.root(), "big", 7, big_.size())->inode.get(), big_, 1u << 20);

    meta::BlobInfo blob;
    blob.blob_id = kBlobId;
    blob.chunk_count = chunk_count_;
    blob.compressor = format::Compressor::kNone;
    blob.compressed_size = blob.uncompressed_size = blob_.size();
    b.image().blobs.push_back(blob);
    backend_.Put(kBlobId, std::move(blob_));
    image_ = b.Finish();
    reader_ =
        std::make_unique<storage::ChunkReader>(*image_, &backend_, storage::ChunkReaderOptions{});
  }

  Bytes content_;  // /dir/file
  Bytes big_;      // /big
  Bytes blob_;     // the blob being built (moved into backend_)
  uint32_t chunk_count_ = 0;
  storage::MemBackend backend_;
  std::shared_ptr<const meta::Image> image_;
  std::unique_ptr<storage::ChunkReader> reader_;
  std::unique_ptr<fs::RafsFs> fs_;
  Mounted mount_;  // declared last: unmounted before the fs it serves is destroyed
};

TEST_P(FuseMountTest, StatAndLookup) {
  struct stat st {};
  ASSERT_EQ(stat(mount_.mnt().c_str(), &st), 0) << strerror(errno);
  EXPECT_EQ(st.st_ino, 1u);
  EXPECT_EQ(st.st_mode, S_IFDIR | 0755u);
  ASSERT_EQ(stat(mount_.Path("dir/file").c_str(), &st), 0) << strerror(errno);
  EXPECT_EQ(st.st_ino, 3u);
  EXPECT_EQ(st.st_mode, S_IFREG | 0644u);
  EXPECT_EQ(st.st_size, 9192);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 100u);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(st.st_blocks, 18);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 500);
  struct stat hard {};
  ASSERT_EQ(stat(mount_.Path("dir/hard").c_str(), &hard), 0);
  EXPECT_EQ(hard.st_ino, st.st_ino);
  ASSERT_EQ(lstat(mount_.Path("dir/link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_size, 4);
  ASSERT_EQ(stat(mount_.Path("dev").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  for (int i = 0; i < 2; ++i) {  // the second answer comes from the negative dentry cache
    EXPECT_EQ(stat(mount_.Path("dir/missing").c_str(), &st), -1);
    EXPECT_EQ(errno, ENOENT);
  }
  EXPECT_EQ(stat(mount_.Path("dir/file/x").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOTDIR);
}

TEST_P(FuseMountTest, ReadDirAndReadLink) {
  DIR* d = opendir(mount_.Path("dir").c_str());
  ASSERT_NE(d, nullptr) << strerror(errno);
  std::map<std::string, std::pair<ino_t, unsigned char>> seen;
  while (dirent* e = readdir(d)) seen[e->d_name] = {e->d_ino, e->d_type};
  closedir(d);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen["."], std::make_pair(ino_t{2}, static_cast<unsigned char>(DT_DIR)));
  EXPECT_EQ(seen[".."], std::make_pair(ino_t{1}, static_cast<unsigned char>(DT_DIR)));
  EXPECT_EQ(seen["file"], std::make_pair(ino_t{3}, static_cast<unsigned char>(DT_REG)));
  EXPECT_EQ(seen["hard"], std::make_pair(ino_t{3}, static_cast<unsigned char>(DT_REG)));
  EXPECT_EQ(seen["link"], std::make_pair(ino_t{4}, static_cast<unsigned char>(DT_LNK)));

  char buf[64];
  ssize_t n = readlink(mount_.Path("dir/link").c_str(), buf, sizeof(buf));
  ASSERT_EQ(n, 4) << strerror(errno);
  EXPECT_EQ(std::string(buf, n), "file");
  EXPECT_EQ(readlink(mount_.Path("dir/file").c_str(), buf, sizeof(buf)), -1);
  EXPECT_EQ(errno, EINVAL);
}

TEST_P(FuseMountTest, Xattrs) {
  const std::string file = mount_.Path("dir/file");
  char buf[256];
  EXPECT_EQ(getxattr(file.c_str(), "user.a", nullptr, 0), 1);  // size probe
  ASSERT_EQ(getxattr(file.c_str(), "user.a", buf, sizeof(buf)), 1) << strerror(errno);
  EXPECT_EQ(buf[0], '1');
  EXPECT_EQ(getxattr(file.c_str(), "user.long", buf, 10), -1);
  EXPECT_EQ(errno, ERANGE);
  EXPECT_EQ(getxattr(file.c_str(), "user.long", buf, sizeof(buf)), 100);
  EXPECT_EQ(getxattr(file.c_str(), "user.missing", buf, sizeof(buf)), -1);
  EXPECT_EQ(errno, ENODATA);

  const std::string names("user.a\0user.long\0", 17);
  EXPECT_EQ(listxattr(file.c_str(), nullptr, 0), 17);
  ASSERT_EQ(listxattr(file.c_str(), buf, sizeof(buf)), 17);
  EXPECT_EQ(std::string(buf, 17), names);
  EXPECT_EQ(listxattr(file.c_str(), buf, 5), -1);
  EXPECT_EQ(errno, ERANGE);
  EXPECT_EQ(listxattr(mount_.Path("dir").c_str(), buf, sizeof(buf)), 0);
}

TEST_P(FuseMountTest, ReadFileData) {
  UniqueFd fd(open(mount_.Path("dir/file").c_str(), O_RDONLY));
  ASSERT_TRUE(fd.valid()) << strerror(errno);
  Bytes got(content_.size() + 100);
  ASSERT_EQ(pread(fd.get(), got.data(), got.size(), 0), static_cast<ssize_t>(content_.size()));
  got.resize(content_.size());
  EXPECT_EQ(got, content_);
  Bytes tail(8192);
  ASSERT_EQ(pread(fd.get(), tail.data(), tail.size(), 5000), 4192);
  EXPECT_TRUE(std::equal(tail.begin(), tail.begin() + 4192, content_.begin() + 5000));
  EXPECT_EQ(pread(fd.get(), tail.data(), tail.size(), 9192), 0);
  EXPECT_EQ(pread(fd.get(), tail.data(), tail.size(), 1 << 30), 0);

  UniqueFd empty(open(mount_.Path("empty").c_str(), O_RDONLY));
  ASSERT_TRUE(empty.valid());
  EXPECT_EQ(read(empty.get(), tail.data(), tail.size()), 0);
}

// Several threads read /big through the multi-threaded loop; dropping the page cache after
// each read sends every read to the daemon again.
TEST_P(FuseMountTest, ConcurrentReads) {
  const uint64_t calls_before = reader_->stats().cache_hits + reader_->stats().cache_misses;
  constexpr int kThreads = 4, kRounds = 40;
  std::vector<std::thread> threads;
  std::vector<int> bad(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Bytes buf(300 * 1024);
      for (int r = 0; r < kRounds; ++r) {
        const uint64_t off = (static_cast<uint64_t>(t) * 7919 + r * 104729) % big_.size();
        UniqueFd fd(open(mount_.Path("big").c_str(), O_RDONLY));
        const ssize_t n = fd.valid() ? pread(fd.get(), buf.data(), buf.size(), off) : -1;
        const size_t want = std::min<uint64_t>(buf.size(), big_.size() - off);
        if (n != static_cast<ssize_t>(want) ||
            !std::equal(buf.begin(), buf.begin() + want, big_.begin() + off)) {
          ++bad[t];
        }
        if (fd.valid()) posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad, std::vector<int>(kThreads, 0));
  const uint64_t calls = reader_->stats().cache_hits + reader_->stats().cache_misses;
  EXPECT_GE(calls - calls_before, static_cast<uint64_t>(kThreads * kRounds));
}

TEST_P(FuseMountTest, WritesAreRefusedWithErofs) {
  const std::string file = mount_.Path("dir/file"), dir = mount_.Path("dir");
  auto expect_erofs = [](int rc, const char* what) {
    EXPECT_EQ(rc, -1) << what;
    EXPECT_EQ(errno, EROFS) << what << ": " << strerror(errno);
  };
  expect_erofs(open(file.c_str(), O_WRONLY), "open O_WRONLY");
  expect_erofs(open(file.c_str(), O_RDWR), "open O_RDWR");
  expect_erofs(open(file.c_str(), O_RDONLY | O_TRUNC), "open O_TRUNC");
  expect_erofs(open((dir + "/new").c_str(), O_CREAT | O_WRONLY, 0644), "create");
  expect_erofs(mkdir((dir + "/sub").c_str(), 0755), "mkdir");
  expect_erofs(mknod((dir + "/fifo").c_str(), S_IFIFO | 0644, 0), "mknod");
  expect_erofs(unlink(file.c_str()), "unlink");
  expect_erofs(rmdir(dir.c_str()), "rmdir");
  expect_erofs(symlink("x", (dir + "/sym").c_str()), "symlink");
  expect_erofs(link(file.c_str(), (dir + "/hard2").c_str()), "link");
  expect_erofs(rename(file.c_str(), (dir + "/renamed").c_str()), "rename");
  expect_erofs(chmod(file.c_str(), 0600), "chmod");
  expect_erofs(truncate(file.c_str(), 0), "truncate");
  expect_erofs(setxattr(file.c_str(), "user.n", "v", 1, 0), "setxattr");
  expect_erofs(removexattr(file.c_str(), "user.a"), "removexattr");
  // Nothing changed.
  struct stat st {};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 9192);
  EXPECT_EQ(st.st_mode, S_IFREG | 0644u);
}

TEST_P(FuseMountTest, StatFsAndMountTable) {
  struct statvfs sv {};
  ASSERT_EQ(statvfs(mount_.mnt().c_str(), &sv), 0) << strerror(errno);
  EXPECT_EQ(sv.f_bsize, 4096u);
  EXPECT_EQ(sv.f_files, 7u);     // /, dir, file(=hard), link, empty, dev, big
  EXPECT_EQ(sv.f_blocks, 773u);  // file: 3 blocks, link target: 1, big: 769
  EXPECT_EQ(sv.f_bfree, 0u);
  EXPECT_EQ(sv.f_namemax, 255u);
  EXPECT_EQ(access(mount_.Path("dir/file").c_str(), R_OK), 0);

  const std::string line = MountLine(mount_.mnt());
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.rfind("rafs " + mount_.mnt() + " fuse ", 0), 0u) << line;
  EXPECT_NE(line.find(GetParam() ? " ro," : " rw,"), std::string::npos) << line;
  EXPECT_NE(line.find("default_permissions"), std::string::npos) << line;
  EXPECT_NE(line.find("allow_other"), std::string::npos) << line;
}

TEST_P(FuseMountTest, StopUnmountsCleanly) {
  const std::string mnt = mount_.mnt();
  ASSERT_FALSE(MountLine(mnt).empty());
  mount_.Stop();
  EXPECT_TRUE(MountLine(mnt).empty());
  struct stat st {};
  ASSERT_EQ(stat(mnt.c_str(), &st), 0);
  EXPECT_NE(st.st_ino, 1u);  // the plain (empty) directory again
}

INSTANTIATE_TEST_SUITE_P(ReadOnlyAndReadWriteMounts, FuseMountTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "ro" : "rw"; });

// The reference v6 image: nids as inode numbers, data from its blob.
TEST(FuseFixtureTest, MountsReferenceV6Image) {
  REQUIRE_FUSE();
  NYDUS_REQUIRE_FIXTURE(boot, "bootstrap/rafs-v6-2.2.boot");
  NYDUS_REQUIRE_FIXTURE(blobs, "blobs");
  ASSERT_OK_AND_ASSIGN(meta::Image decoded, meta::ReadBootstrapFile(boot));
  auto image = std::make_shared<const meta::Image>(std::move(decoded));
  storage::LocalfsConfig cfg;
  cfg.dir = blobs;
  ASSERT_OK_AND_ASSIGN(auto backend, storage::NewLocalfsBackend(cfg));
  storage::ChunkReader reader(*image, backend.get(), {});
  ASSERT_OK_AND_ASSIGN(auto fs, fs::RafsFs::Create(image, &reader, {}));
  Mounted mount;
  mount.Start(fs.get(), FuseOptions{});

  struct stat st {};
  ASSERT_EQ(stat(mount.Path("lib.rs").c_str(), &st), 0) << strerror(errno);
  EXPECT_EQ(st.st_ino, 133u);
  EXPECT_EQ(st.st_size, 16931);
  ASSERT_EQ(stat(mount.Path("sync_io.rs").c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, 136u);
  // Xattrs are off (no HAS_XATTR, enable_xattr false): the caller sees EOPNOTSUPP.
  char buf[16];
  EXPECT_EQ(getxattr(mount.Path("lib.rs").c_str(), "user.x", buf, sizeof(buf)), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);

  for (const auto& [name, index] : {std::pair<const char*, int>{"lib.rs", 0}, {"sync_io.rs", 1}}) {
    ASSERT_OK_AND_ASSIGN(Bytes data, ReadWholeFile(mount.Path(name)));
    const meta::Inode& in = *image->root->children[index]->inode;
    EXPECT_EQ(data.size(), in.size) << name;
    EXPECT_EQ(Blake3(data), in.chunks[0].digest) << name;
  }
  mount.Stop();
}

// A session destroyed without ever running its loop still unmounts.
TEST(FuseSessionTest, DestroyWithoutRunUnmounts) {
  REQUIRE_FUSE();
  fs::testing::ImageBuilder b(format::kRafsVersionV5, 1);
  ASSERT_OK_AND_ASSIGN(auto fs, fs::RafsFs::Create(b.Finish(), nullptr, {}));
  nydus::testing::TempDir tmp;
  auto vfs = RootVfs(fs.get());
  ASSERT_OK_AND_ASSIGN(auto session, FuseSession::Mount(tmp.path(), vfs.get(), FuseOptions{}));
  EXPECT_FALSE(MountLine(session->mountpoint()).empty());
  session.reset();
  EXPECT_TRUE(MountLine(tmp.path()).empty());
}

TEST(FuseSessionTest, RejectsBadOptions) {
  fs::testing::ImageBuilder b(format::kRafsVersionV5, 1);
  ASSERT_OK_AND_ASSIGN(auto fs, fs::RafsFs::Create(b.Finish(), nullptr, {}));
  nydus::testing::TempDir tmp;
  auto vfs = RootVfs(fs.get());
  FuseOptions opts;
  opts.threads = 0;
  EXPECT_EQ(FuseSession::Mount(tmp.path(), vfs.get(), opts).status().code(),
            StatusCode::kInvalidArgument);
  opts.threads = 1025;
  EXPECT_EQ(FuseSession::Mount(tmp.path(), vfs.get(), opts).status().code(),
            StatusCode::kInvalidArgument);
  opts = FuseOptions{};
  opts.fsname = "a,b";
  EXPECT_EQ(FuseSession::Mount(tmp.path(), vfs.get(), opts).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(FuseSession::Mount(tmp.path(), nullptr, FuseOptions{}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(FuseSession::Mount(tmp.Join("missing"), vfs.get(), FuseOptions{}).status().code(),
            StatusCode::kNotFound);
}

// Pseudo mode: images mounted and unmounted at run time under one FUSE mount (the API's
// POST/DELETE /api/v1/mount), each with its own inode slot, and the kernel's caches follow.
TEST(FuseVfsTest, MountsImagesUnderPseudoDirectories) {
  REQUIRE_FUSE();
  auto make = [](const std::string& file) {
    fs::testing::ImageBuilder b(format::kRafsVersionV5, 1);
    b.AddSymlink(b.root(), file, 2, "target-of-" + file);
    auto fs = fs::RafsFs::Create(b.Finish(), nullptr, {});
    EXPECT_OK(fs.status());
    return std::shared_ptr<const fs::RafsFs>(std::move(*fs));
  };
  fs::Vfs vfs(fs::VfsOptions{});
  Mounted mount;
  mount.StartVfs(&vfs, FuseOptions{});
  vfs.set_invalidate(
      [&](uint64_t parent, const std::string& name) { mount.session()->Invalidate(parent, name); });
  struct stat st {};
  // Not there yet, and the absence must not be cached.
  EXPECT_NE(lstat(mount.Path("a/x/one").c_str(), &st), 0);
  ASSERT_OK(vfs.Mount("/a/x", make("one")));
  ASSERT_OK(vfs.Mount("/b", make("two")));
  ASSERT_EQ(lstat(mount.Path("a/x/one").c_str(), &st), 0) << strerror(errno);
  EXPECT_EQ(st.st_ino >> fs::Vfs::kSlotShift, 1u);
  char buf[64] = {};
  ASSERT_GT(readlink(mount.Path("b/two").c_str(), buf, sizeof(buf) - 1), 0);
  EXPECT_STREQ(buf, "target-of-two");
  EXPECT_EQ(vfs.Mount("/a/x", make("again")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(vfs.Mount("/a/x/deeper", make("again")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(vfs.Mount("a", make("again")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(vfs.Mountpoints(), (std::vector<std::string>{"/a/x", "/b"}));
  ASSERT_OK(vfs.Umount("/a/x"));
  EXPECT_NE(lstat(mount.Path("a/x/one").c_str(), &st), 0);
  EXPECT_NE(lstat(mount.Path("a").c_str(), &st), 0);  // emptied pseudo dirs go away too
  ASSERT_EQ(lstat(mount.Path("b/two").c_str(), &st), 0);
  EXPECT_EQ(vfs.Umount("/a/x").code(), StatusCode::kNotFound);
  // Stats are per mount.
  auto stats = vfs.StatsAt("/b");
  ASSERT_TRUE(stats.has_value());
  EXPECT_GT(stats->fop_hits[static_cast<size_t>(fs::Fop::kReadlink)], 0u);
  mount.Stop();
}

// The fop statistics count the kernel's requests: the attributes packed into a READDIRPLUS
// reply are not GETATTRs (the reference's fop_hits; `nydusctl metrics` showed one per entry).
TEST(FuseVfsTest, ReaddirplusEntriesAreNotCountedAsGetattr) {
  REQUIRE_FUSE();
  fs::testing::ImageBuilder b(format::kRafsVersionV5, 1);
  meta::Node* d = b.AddDir(b.root(), "d", 2);
  constexpr int kFiles = 20;
  for (int i = 0; i < kFiles; ++i) b.AddSymlink(d, "f" + std::to_string(i), 3 + i, "t");
  auto rafs = fs::RafsFs::Create(b.Finish(), nullptr, {});
  ASSERT_OK(rafs.status());
  fs::Vfs vfs(fs::VfsOptions{});
  ASSERT_OK(vfs.Mount("/m", std::shared_ptr<const fs::RafsFs>(std::move(*rafs))));
  Mounted mount;
  mount.StartVfs(&vfs, FuseOptions{});
  DIR* dir = opendir(mount.Path("m/d").c_str());
  ASSERT_NE(dir, nullptr) << strerror(errno);
  int seen = 0;
  while (dirent* e = readdir(dir)) seen += e->d_name[0] == 'f';
  closedir(dir);
  EXPECT_EQ(seen, kFiles);
  auto stats = vfs.StatsAt("/m");
  ASSERT_TRUE(stats.has_value());
  const auto hits = [&](fs::Fop f) { return stats->fop_hits[static_cast<size_t>(f)]; };
  ASSERT_GT(hits(fs::Fop::kReaddirplus), 0u) << "the kernel did not use READDIRPLUS";
  EXPECT_LT(hits(fs::Fop::kGetattr), 3u);
  mount.Stop();
}

}  // namespace
}  // namespace nydus::fuse
