#include "meta/bootstrap_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "base/file_util.h"
#include "format/v6.h"
#include "meta/meta_test_util.h"
#include "testing/test_util.h"

namespace nydus::meta {
namespace {

using namespace nydus::meta::testing;

// Byte offsets inside bootstrap/rafs-v6-2.2.boot (decoded by hand, see spec §3.3).
constexpr uint64_t kSb = 0x400;          // EROFS superblock
constexpr uint64_t kExtSb = 0x480;       // RAFS extended superblock
constexpr uint64_t kBlobEntry = 0x1000;  // blob table entry 0
constexpr uint64_t kRootInode = 0x3000;  // nid 128, extended, FLAT_INLINE
constexpr uint64_t kRootDirents = 0x3040;
constexpr uint64_t kLibRsInode = 0x30a0;  // nid 133
constexpr uint64_t kLibRsChunks = 0x30e0;
constexpr uint64_t kSyncIoInode = 0x3100;  // nid 136
constexpr uint64_t kSyncIoChunks = 0x3140;
constexpr uint64_t kChunkTable = 0x4000;

Bytes Load(const std::string& path) {
  auto r = ReadWholeFile(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : Bytes{};
}

// Decodes `data`, expecting a Corruption whose message contains `want`.
void ExpectCorruption(const Bytes& data, const std::string& want) {
  auto r = ReadBootstrap(data);
  ASSERT_FALSE(r.ok()) << "decoded although corrupted; wanted: " << want;
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  EXPECT_NE(r.status().message().find(want), std::string::npos)
      << "message: " << r.status().message() << "\nwanted: " << want;
}

std::string Hex(const Digest& d) { return DigestHex(d); }

TEST(BootstrapReaderV6Test, DecodesReferenceFixture) {
  NYDUS_REQUIRE_FIXTURE(path, kV6Boot);
  ASSERT_OK_AND_ASSIGN(Image image, ReadBootstrapFile(path));
  EXPECT_EQ(image.version, format::kRafsVersionV6);
  EXPECT_EQ(image.flags, 0x194u);
  EXPECT_EQ(image.chunk_size, 0x100000u);
  EXPECT_EQ(image.compressor, format::Compressor::kZstd);
  EXPECT_EQ(image.digester, format::Digester::kBlake3);
  EXPECT_TRUE(image.explicit_uidgid);
  EXPECT_TRUE(image.prefetch.empty());

  ASSERT_EQ(image.blobs.size(), 1u);
  const BlobInfo& b = image.blobs[0];
  EXPECT_EQ(b.blob_id, kV6BlobId);
  EXPECT_EQ(b.features, 0x70000021u);
  EXPECT_EQ(b.chunk_count, 2u);
  EXPECT_EQ(b.chunk_size, 0x100000u);
  EXPECT_EQ(b.compressor, format::Compressor::kZstd);
  EXPECT_EQ(b.digester, format::Digester::kBlake3);
  EXPECT_EQ(b.compressed_size, 14554u);
  EXPECT_EQ(b.uncompressed_size, 0x9000u);
  EXPECT_EQ(b.ci_compressor, format::Compressor::kNone);
  EXPECT_EQ(b.ci_offset, 8314u);
  EXPECT_EQ(b.ci_compressed_size, 32u);
  EXPECT_EQ(b.ci_uncompressed_size, 32u);
  EXPECT_EQ(b.blob_toc_size, 1024u);
  EXPECT_EQ(Hex(b.blob_toc_digest).substr(0, 16), "cfc89ed0739aef4e");
  EXPECT_EQ(b.CompressedDataSize(), 7802u);

  const Node& root = *image.root;
  EXPECT_EQ(root.name, "/");
  EXPECT_EQ(root.inode->mode, 040755u);
  EXPECT_EQ(root.inode->nid, 128u);
  EXPECT_EQ(root.inode->ino, 0u);
  EXPECT_EQ(root.inode->nlink, 2u);
  ASSERT_EQ(root.children.size(), 2u);
  EXPECT_EQ(root.children[0]->name, "lib.rs");
  EXPECT_EQ(root.children[1]->name, "sync_io.rs");

  const Inode& lib = *root.children[0]->inode;
  EXPECT_EQ(lib.mode, 0100644u);
  EXPECT_EQ(lib.size, 16931u);
  EXPECT_EQ(lib.nid, 133u);
  EXPECT_EQ(lib.ino, 2u);
  EXPECT_EQ(lib.mtime, 0x63f23c61u);
  ASSERT_EQ(lib.chunks.size(), 1u);
  EXPECT_EQ(lib.chunks[0].index, 0u);
  EXPECT_EQ(lib.chunks[0].uncompressed_offset, 0u);
  EXPECT_EQ(lib.chunks[0].uncompressed_size, 16931u);
  EXPECT_EQ(lib.chunks[0].compressed_offset, 0u);
  EXPECT_EQ(lib.chunks[0].compressed_size, 4828u);
  EXPECT_TRUE(lib.chunks[0].compressed());
  EXPECT_EQ(Hex(lib.chunks[0].digest).substr(0, 8), "f7e2735f");

  const Inode& sync = *root.children[1]->inode;
  EXPECT_EQ(sync.size, 13400u);
  EXPECT_EQ(sync.nid, 136u);
  EXPECT_EQ(sync.ino, 3u);
  ASSERT_EQ(sync.chunks.size(), 1u);
  const ChunkInfo& c = sync.chunks[0];
  EXPECT_EQ(c.blob_index, 0u);
  EXPECT_EQ(c.index, 1u);
  EXPECT_EQ(c.uncompressed_offset, 20480u);
  EXPECT_EQ(c.uncompressed_size, 13400u);
  EXPECT_EQ(c.compressed_offset, 4828u);
  EXPECT_EQ(c.compressed_size, 2974u);
  EXPECT_EQ(c.file_offset, 0u);
  EXPECT_EQ(Hex(c.digest).substr(0, 8), "812465bc");
}

class V6MutationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = nydus::testing::FixturePath(kV6Boot);
    if (path_.empty()) GTEST_SKIP() << "fixture " << kV6Boot << " not found";
    data_ = Load(path_);
    ASSERT_EQ(data_.size(), 20480u);
  }
  uint64_t Dirent(int i) const { return kRootDirents + 12 * i; }
  std::string path_;
  Bytes data_;
};

TEST_F(V6MutationTest, DirentNameoffBeyondBlock) {
  Put16(&data_, Dirent(3) + 8, 4100);
  ExpectCorruption(data_, "v6: inode nid 128: block 0: dirent 3 nameoff 4100 beyond block");
}

TEST_F(V6MutationTest, DirentNameoffsOutOfOrder) {
  Put16(&data_, Dirent(2) + 8, 60);  // after dirent 3's nameoff (57)
  ExpectCorruption(data_, "block 0: dirent 3 nameoff 57 not after dirent 2 nameoff 60");
}

TEST_F(V6MutationTest, FirstNameoffNotEntryCount) {
  Put16(&data_, Dirent(0) + 8, 50);
  ExpectCorruption(data_, "dirent 0 nameoff 50 is not a valid entry count");
}

TEST_F(V6MutationTest, MissingDotDot) {
  data_[kRootDirents + 50] = '-';  // ".." becomes ".-", still sorted
  ExpectCorruption(data_, "directory lacks \"..\"");
}

TEST_F(V6MutationTest, DotPointsElsewhere) {
  Put64(&data_, Dirent(0), 133);
  ExpectCorruption(data_, "\".\" entry points to nid 133");
}

TEST_F(V6MutationTest, NameWithSlash) {
  data_[kRootDirents + 51] = '/';  // "lib.rs" -> "/ib.rs"
  ExpectCorruption(data_, "name contains '/'");
}

TEST_F(V6MutationTest, UnsortedNames) {
  data_[kRootDirents + 57] = 'a';  // "sync_io.rs" -> "aync_io.rs" sorts before "lib.rs"
  ExpectCorruption(data_, "not sorted after \"lib.rs\"");
}

TEST_F(V6MutationTest, DirectoryCycleIsRejected) {
  Put64(&data_, Dirent(3), 128);  // sync_io.rs -> the root directory
  data_[Dirent(3) + 10] = format::kV6FtDir;
  ExpectCorruption(data_, "directory nid 128 reachable twice");
}

TEST_F(V6MutationTest, DirentTypeMustMatchInode) {
  data_[Dirent(2) + 10] = format::kV6FtSymlink;
  ExpectCorruption(data_, "dirent 2 \"lib.rs\" type 7 disagrees");
}

TEST_F(V6MutationTest, SameNidIsAHardlinkSharingOneInode) {
  Put64(&data_, Dirent(3), 133);  // sync_io.rs -> lib.rs's inode
  ASSERT_OK_AND_ASSIGN(Image image, ReadBootstrap(data_));
  ASSERT_EQ(image.root->children.size(), 2u);
  EXPECT_EQ(image.root->children[0]->inode.get(), image.root->children[1]->inode.get());
  EXPECT_EQ(image.root->children[1]->inode->size, 16931u);
}

TEST_F(V6MutationTest, ChunkDeviceOutOfRange) {
  Put16(&data_, kLibRsChunks + 2, 0x0005);
  ExpectCorruption(data_, "v6: inode nid 133: chunk 0: device id 5 out of range (1 blobs)");
}

TEST_F(V6MutationTest, ChunkNotInChunkTable) {
  Put32(&data_, kLibRsChunks + 4, 3);  // block address no chunk has
  ExpectCorruption(data_, "chunk 0 (blob 0, index 0, block 3) not in the chunk table");
}

TEST_F(V6MutationTest, ChunkCountFollowsFileSize) {
  Put64(&data_, kLibRsInode + 8, 0x100000 + 1);  // 2 chunks: the first must be full
  ExpectCorruption(data_,
                   "v6: inode nid 133: chunk 0: size 16931 inconsistent with file size "
                   "1048577");
}

TEST_F(V6MutationTest, NidOutOfFile) {
  Put64(&data_, Dirent(2), 1ull << 40);
  ExpectCorruption(data_, "nid beyond end of file");
}

TEST_F(V6MutationTest, SuperblockChecks) {
  Bytes d = data_;
  Put32(&d, kSb + 4, 1);
  ExpectCorruption(d, "checksum");
  d = data_;
  d[kSb + 12] = 9;
  ExpectCorruption(d, "block size bits 9");
  d = data_;
  Put32(&d, kSb + 80, 0xd);
  ExpectCorruption(d, "feature_incompat 0xd");
  d = data_;
  Put16(&d, kSb + 86, 2);
  ExpectCorruption(d, "2 devices but 1 blob table entries");
  d = data_;
  Put64(&d, kExtSb, 0x194 | format::kFlagCompressionLz4);
  ExpectCorruption(d, "exactly one compressor");
  d = data_;
  Put32(&d, kExtSb + 20, 0x1800);
  ExpectCorruption(d, "invalid chunk size 0x1800");
  d = data_;
  d.resize(16384);  // chunk table lost
  ExpectCorruption(d, "invalid chunk table");
  d = data_;
  d.resize(20000);
  ExpectCorruption(d, "not a non-zero multiple of 4096");
}

TEST_F(V6MutationTest, TableChecks) {
  Bytes d = data_;
  Put64(&d, kExtSb + 24, 0x1000);  // chunk table moved onto the blob table
  ExpectCorruption(d, "chunk table overlaps blob table");
  d = data_;
  Put32(&d, kBlobEntry + 84, 0x70000020);  // ALIGNED cleared
  ExpectCorruption(d, "v6: blob 0: ALIGNED feature missing");
  d = data_;
  Put32(&d, kBlobEntry + 64, 3);
  ExpectCorruption(d, "v6: blob 0: stored blob index 3");
  d = data_;
  Put32(&d, kBlobEntry + 128, 48);  // CI uncompressed size for 2 v1 records is 32
  ExpectCorruption(d, "CI uncompressed size 48 does not fit 2 chunks");
  d = data_;
  d[0x580] = 'x';  // device slot blob id
  ExpectCorruption(d, "device slot blob id differs");
  d = data_;
  Put32(&d, kChunkTable + 32, 7);
  ExpectCorruption(d, "chunk table entry 0: blob index 7 out of range");
}

TEST_F(V6MutationTest, PrefetchTableMapsNidsToPaths) {
  Put64(&data_, kExtSb + 40, 0x1100);  // right after the blob table
  Put32(&data_, kExtSb + 48, 8);
  Put32(&data_, 0x1100, 136);
  Put32(&data_, 0x1104, 128);
  ASSERT_OK_AND_ASSIGN(Image image, ReadBootstrap(data_));
  EXPECT_EQ(image.prefetch, (std::vector<std::string>{"/sync_io.rs", "/"}));
  Put32(&data_, 0x1100, 999);
  ExpectCorruption(data_, "v6: prefetch entry 0: nid 999 not in the tree");
}

TEST_F(V6MutationTest, InlineXattrsAreDecodedAndSorted) {
  uint8_t chunk[8];
  std::memcpy(chunk, data_.data() + kSyncIoChunks, 8);
  Put16(&data_, kSyncIoInode + 2, 9);  // icount 9 => 44-byte xattr area
  uint64_t x = kSyncIoInode + 64;
  std::memset(data_.data() + x, 0, 12);  // ibody header, no shared xattrs
  const uint8_t area[] = {3, 1, 3, 0, 'f', 'o', 'o', 'b', 'a', 'r', 0,   0,     // user.foo=bar
                          0, 2, 4, 0, 'a', 'b', 'c', 'd',                       // posix acl access
                          7, 6, 1, 0, 's', 'e', 'l', 'i', 'n', 'u', 'x', 'x'};  // security.selinux
  std::memcpy(data_.data() + x + 12, area, sizeof(area));
  std::memcpy(data_.data() + RoundUp(x + 44, 8), chunk, 8);
  ASSERT_OK_AND_ASSIGN(Image image, ReadBootstrap(data_));
  const auto& xattrs = image.root->children[1]->inode->xattrs;
  ASSERT_EQ(xattrs.size(), 3u);
  EXPECT_EQ(xattrs[0], (Xattr{"security.selinux", "x"}));
  EXPECT_EQ(xattrs[1], (Xattr{"system.posix_acl_access", "abcd"}));
  EXPECT_EQ(xattrs[2], (Xattr{"user.foo", "bar"}));
  EXPECT_EQ(image.root->children[1]->inode->chunks.size(), 1u);

  data_[x + 12 + 1] = 5;  // unknown name index
  ExpectCorruption(data_, "v6: inode nid 136: unknown xattr name index 5");
}

TEST_F(V6MutationTest, MaxNodesBoundsWork) {
  ReadOptions opts;
  opts.max_nodes = 2;
  auto r = ReadBootstrap(data_, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("more than 2 nodes"), std::string::npos);
}

TEST(BootstrapReaderTest, RejectsUnknownFormats) {
  Bytes junk(8192, 0xab);
  EXPECT_EQ(ReadBootstrap(junk).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(ReadBootstrap(Bytes{}).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(ReadBootstrapFile("/nonexistent/boot").status().code(), StatusCode::kNotFound);
}

class V5Test : public ::testing::TestWithParam<const char*> {};

TEST_P(V5Test, DecodesRepeatableFixture) {
  NYDUS_REQUIRE_FIXTURE(path, GetParam());
  ASSERT_OK_AND_ASSIGN(Image image, ReadBootstrapFile(path));
  bool sha = std::string(GetParam()) == kV5Sha256;
  EXPECT_EQ(image.version, format::kRafsVersionV5);
  EXPECT_EQ(image.flags, sha ? 0x9u : 0x5u);
  EXPECT_EQ(image.compressor, format::Compressor::kNone);
  EXPECT_EQ(image.digester, sha ? format::Digester::kSha256 : format::Digester::kBlake3);
  EXPECT_FALSE(image.explicit_uidgid);
  EXPECT_EQ(image.chunk_size, 0x100000u);
  ASSERT_EQ(image.blobs.size(), 1u);
  const BlobInfo& b = image.blobs[0];
  EXPECT_EQ(b.blob_id, "7334a2594e133cf8ae364189c2276b090fc490c627bcc3fb1077f0419a538e00");
  EXPECT_EQ(b.chunk_count, 23u);
  EXPECT_EQ(b.features, 0u);
  EXPECT_EQ(b.compressed_size, 3508766u);
  EXPECT_EQ(b.uncompressed_size, 3508766u);
  EXPECT_EQ(CountNodes(*image.root), 54u);

  const Node* foo = FindPath(image, "/hardlink-test/foo");
  const Node* test_sh = FindPath(image, "/hardlink-test/test.sh");
  ASSERT_NE(foo, nullptr);
  ASSERT_NE(test_sh, nullptr);
  EXPECT_EQ(foo->inode.get(), test_sh->inode.get());  // hardlinks share one Inode
  EXPECT_EQ(foo->inode->ino, 5u);
  EXPECT_EQ(foo->inode->size, 944u);
  ASSERT_EQ(foo->inode->chunks.size(), 1u);
  EXPECT_EQ(foo->inode->chunks[0].uncompressed_size, 944u);

  const Node* link = FindPath(image, "/symlink-test/root-1");
  ASSERT_NE(link, nullptr);
  EXPECT_TRUE(link->inode->IsSymlink());
  EXPECT_EQ(link->inode->symlink, "/////////////////");

  // Every chunk references blob 0 within its 23 chunks.
  std::set<uint32_t> indexes;
  WalkTree(*image.root, [&](const Node& n, const std::string&) {
    for (const auto& c : n.inode->chunks) {
      EXPECT_EQ(c.blob_index, 0u);
      indexes.insert(c.index);
    }
    return true;
  });
  EXPECT_FALSE(indexes.empty());
  EXPECT_LT(*indexes.rbegin(), 23u);
}

INSTANTIATE_TEST_SUITE_P(Repeatable, V5Test, ::testing::Values(kV5Sha256, kV5Blake3));

TEST(BootstrapReaderV5Test, DecodesLegacyDaemonFixture) {
  NYDUS_REQUIRE_FIXTURE(path, kV5Daemon);
  ASSERT_OK_AND_ASSIGN(Image image, ReadBootstrapFile(path));
  EXPECT_EQ(image.flags, 0x1u);
  ASSERT_EQ(image.blobs.size(), 1u);
  EXPECT_EQ(image.blobs[0].blob_id,
            "66b413a71ac1dc91c0c331ea16867123924cf5a393b65bb025ec8255531463fe");
  EXPECT_EQ(image.blobs[0].features, format::kBlobV5NoExtBlobTable);  // no ext blob table
  EXPECT_EQ(image.blobs[0].chunk_count, 0u);
  std::set<const Inode*> inodes;
  size_t nodes = 0;
  WalkTree(*image.root, [&](const Node& n, const std::string&) {
    ++nodes;
    if (&n != image.root.get()) inodes.insert(n.inode.get());
    return true;
  });
  EXPECT_EQ(nodes, 16832u);          // inode table entries
  EXPECT_EQ(inodes.size(), 16816u);  // s_inodes_count: hardlinks count once
  const Node* bunzip2 = FindPath(image, "/bin/bunzip2");
  const Node* bzcat = FindPath(image, "/bin/bzcat");
  ASSERT_NE(bunzip2, nullptr);
  ASSERT_NE(bzcat, nullptr);
  EXPECT_EQ(bunzip2->inode.get(), bzcat->inode.get());
  EXPECT_EQ(bunzip2->inode->nlink, 3u);
  const Node* bzcmp = FindPath(image, "/bin/bzcmp");
  ASSERT_NE(bzcmp, nullptr);
  EXPECT_EQ(bzcmp->inode->symlink, "bzdiff");
  const Node* bash = FindPath(image, "/bin/bash");
  ASSERT_NE(bash, nullptr);
  EXPECT_EQ(bash->inode->size, 1021112u);
  ASSERT_EQ(bash->inode->chunks.size(), 1u);
  EXPECT_EQ(bash->inode->chunks[0].compressed_size, 682822u);
}

class V5MutationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string path = nydus::testing::FixturePath(kV5Sha256);
    if (path.empty()) GTEST_SKIP() << "fixture " << kV5Sha256 << " not found";
    data_ = Load(path);
  }
  uint64_t Record(uint32_t index) const {
    return uint64_t{LoadLE32(data_.data() + 8192 + 4 * (index - 1))} << 3;
  }
  Bytes data_;
};

TEST_F(V5MutationTest, ChildRangeCycleIsRejected) {
  Put32(&data_, Record(2) + 92, 1);  // /hardlink-test's children start at the root
  ExpectCorruption(data_, "v5: directory /hardlink-test: inode index 1: reachable twice");
}

TEST_F(V5MutationTest, ChildRangeOutsideTable) {
  Put32(&data_, Record(2) + 96, 1000);
  ExpectCorruption(data_,
                   "v5: directory /hardlink-test: children [5, 1004] outside the inode "
                   "table (54 entries)");
}

TEST_F(V5MutationTest, ChunkBlobIndexOutOfRange) {
  uint64_t chunk = Record(5) + 128 + 8;  // "foo" padded to 8, then the chunk record
  Put32(&data_, chunk + 32, 4);
  ExpectCorruption(data_, "inode index 5: chunk 0: blob index 4 out of range (1 blobs)");
}

TEST_F(V5MutationTest, ChunkCountMustMatchSize) {
  Put64(&data_, Record(5) + 64, 0x100001);
  ExpectCorruption(data_, "inode index 5: 1 chunks for size 1048577");
}

TEST_F(V5MutationTest, NameChecks) {
  Bytes d = data_;
  d[Record(5) + 128] = '/';
  ExpectCorruption(d, "inode index 5: name contains '/'");
  d = data_;
  Put16(&d, Record(5) + 100, 0);
  ExpectCorruption(d, "inode index 5: empty name");
}

TEST_F(V5MutationTest, SuperblockAndTables) {
  Bytes d = data_;
  Put32(&d, 4, 0x400);
  ExpectCorruption(d, "v5: unsupported version 0x400");
  d = data_;
  Put64(&d, 16, 0x9 | (1ull << 40));
  ExpectCorruption(d, "v5: unknown superblock flags");
  d = data_;
  Put64(&d, 24, 55);
  ExpectCorruption(d, "inodes count 55 exceeds inode table entries 54");
  d = data_;
  Put64(&d, 48, 8192);
  ExpectCorruption(d, "v5: blob table overlaps inode table");
  d = data_;
  Put32(&d, 8192, 100);  // root record offset 800, inside the superblock
  ExpectCorruption(d, "v5: root inode (index 1): record offset 800 outside the file");
  d = data_;
  d.resize(d.size() - 80);
  EXPECT_FALSE(ReadBootstrap(d).ok());
}

TEST_F(V5MutationTest, PrefetchTableMapsInosToPaths) {
  data_.resize(data_.size() + 8, 0);
  uint64_t table = data_.size() - 8;
  Put64(&data_, 40, table);
  Put32(&data_, 60, 2);
  Put32(&data_, table, 5);
  Put32(&data_, table + 4, 1);
  ASSERT_OK_AND_ASSIGN(Image image, ReadBootstrap(data_));
  EXPECT_EQ(image.prefetch, (std::vector<std::string>{"/hardlink-test/foo", "/"}));
  Put32(&data_, table, 77);
  ExpectCorruption(data_, "v5: prefetch entry 0: inode 77 not in the tree");
}

TEST_F(V5MutationTest, MaxNodes) {
  ReadOptions opts;
  opts.max_nodes = 10;
  auto r = ReadBootstrap(data_, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("54 inode table entries exceed the limit of 10"),
            std::string::npos);
}

// Regression (found by fuzz_bootstrap_v5 in CI): an empty blob table whose offset lies past
// the end of the file must not be sliced out of the data (undefined behaviour in
// std::span::subspan); the image simply has no blobs.
TEST_F(V5MutationTest, EmptyBlobTableWithOffsetPastTheEnd) {
  Bytes d = data_;
  Put64(&d, 48, 0xffffffff00000000ull);  // s_blob_table_offset
  Put32(&d, 64, 0);                      // s_blob_table_size
  Put32(&d, 68, 0);                      // s_extended_blob_table_entries
  auto r = ReadBootstrap(d);
  if (r.ok()) {
    EXPECT_TRUE(r->blobs.empty());
  } else {
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  }
}

}  // namespace
}  // namespace nydus::meta
