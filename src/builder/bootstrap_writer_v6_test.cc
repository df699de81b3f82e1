#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "base/file_util.h"
#include "builder/bootstrap_writer.h"
#include "builder/bootstrap_writer_test_util.h"
#include "builder/v6_test_view.h"
#include "format/v5.h"
#include "format/v6.h"
#include "meta/bootstrap_reader.h"
#include "meta/rdev.h"
#include "testing/test_util.h"

namespace nydus::builder {
namespace {

using format::RafsV6InodeExtended;
using writer_test::MakeRichImage;
using writer_test::RichImage;
using writer_test::V6View;

// The image behind the reference fixture rafs-v6-2.2.boot (two files, one blob), with the
// inode attributes, blob entry and chunk records taken from the fixture itself.
meta::Image FixtureImage(const Bytes& boot) {
  meta::Image image;
  image.chunk_size = 0x100000;
  image.compressor = format::Compressor::kZstd;
  image.digester = format::Digester::kBlake3;
  format::RafsV6Blob be{};
  EXPECT_TRUE(ReadPod(boot, 4096, &be));
  meta::BlobInfo blob;
  blob.blob_id.assign(reinterpret_cast<const char*>(be.blob_id), 64);
  blob.chunk_count = be.chunk_count;
  blob.features = be.features;
  blob.compressor = static_cast<format::Compressor>(be.compression_algo);
  blob.chunk_size = be.chunk_size;
  blob.compressed_size = be.compressed_size;
  blob.uncompressed_size = be.uncompressed_size;
  blob.blob_toc_size = be.blob_toc_size;
  blob.ci_offset = be.ci_offset;
  blob.ci_compressed_size = be.ci_compressed_size;
  blob.ci_uncompressed_size = be.ci_uncompressed_size;
  std::copy_n(be.blob_toc_digest, 32, blob.blob_toc_digest.begin());
  image.blobs.push_back(blob);

  std::map<uint32_t, meta::ChunkInfo> by_index;
  for (uint64_t off = 0x4000; off < 0x4000 + 160; off += 80) {
    format::RafsV5ChunkInfo rec{};
    EXPECT_TRUE(ReadPod(boot, off, &rec));
    meta::ChunkInfo c;
    std::copy_n(rec.block_id, 32, c.digest.begin());
    c.blob_index = rec.blob_index;
    c.flags = rec.flags;
    c.compressed_size = rec.compressed_size;
    c.uncompressed_size = rec.uncompressed_size;
    c.compressed_offset = rec.compressed_offset;
    c.uncompressed_offset = rec.uncompressed_offset;
    c.file_offset = rec.file_offset;
    c.index = rec.index;
    by_index[rec.index] = c;
  }
  auto inode_from = [&](uint64_t off) {
    RafsV6InodeExtended di{};
    EXPECT_TRUE(ReadPod(boot, off, &di));
    auto inode = std::make_shared<meta::Inode>();
    inode->mode = di.i_mode;
    inode->uid = di.i_uid;
    inode->gid = di.i_gid;
    inode->size = di.i_size;
    inode->mtime = di.i_mtime;
    inode->mtime_nsec = di.i_mtime_nsec;
    inode->nlink = di.i_nlink;
    return inode;
  };
  image.root = std::make_unique<meta::Node>();
  image.root->name = "/";
  image.root->inode = inode_from(0x3000);
  auto lib = writer_test::AddNode(image.root.get(), "lib.rs", inode_from(0x30a0));
  lib->inode->chunks = {by_index.at(0)};
  auto sync = writer_test::AddNode(image.root.get(), "sync_io.rs", inode_from(0x3100));
  sync->inode->chunks = {by_index.at(1)};
  return image;
}

// Our writer stores mapped_blkaddr 0 as 2.2 does; the fixture was made by a later builder
// that sets it (to 512). Everything else must match byte for byte.
void ExpectSameAsFixture(Bytes got, const Bytes& want) {
  const uint64_t mapped = format::kV6DeviceTableOffset + 68;
  ASSERT_EQ(LoadLE32(got.data() + mapped), 0u);
  StoreLE32(got.data() + mapped, LoadLE32(want.data() + mapped));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i], want[i]) << "first difference at byte " << i;
  }
}

TEST(BootstrapWriterV6Test, ReproducesReferenceFixture) {
  NYDUS_REQUIRE_FIXTURE(path, "bootstrap/rafs-v6-2.2.boot");
  ASSERT_OK_AND_ASSIGN(Bytes want, ReadWholeFile(path));
  ASSERT_OK_AND_ASSIGN(Bytes got, WriteBootstrapV6(FixtureImage(want)));
  ExpectSameAsFixture(std::move(got), want);
}

TEST(BootstrapWriterV6Test, RewritesReferenceFixtureReadBack) {
  NYDUS_REQUIRE_FIXTURE(path, "bootstrap/rafs-v6-2.2.boot");
  ASSERT_OK_AND_ASSIGN(Bytes want, ReadWholeFile(path));
  ASSERT_OK_AND_ASSIGN(meta::Image image, meta::ReadBootstrap(want));
  ASSERT_OK_AND_ASSIGN(Bytes got, WriteBootstrapV6(image));
  ExpectSameAsFixture(std::move(got), want);
}

TEST(BootstrapWriterV6Test, SuperblockAndTables) {
  RichImage rich = MakeRichImage(format::kRafsVersionV6);
  ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV6(rich.image));
  V6View v(boot);
  EXPECT_EQ(boot.size() % 4096, 0u);
  EXPECT_EQ(v.sb().s_magic, format::kErofsMagic);
  EXPECT_EQ(v.sb().s_feature_compat, format::kV6FeatureCompatRafs);
  EXPECT_EQ(v.sb().s_feature_incompat, 0xCu);
  EXPECT_EQ(v.sb().s_blkszbits, 12);
  EXPECT_EQ(v.sb().s_root_nid, 128);
  EXPECT_EQ(v.sb().s_extra_devices, 2);
  EXPECT_EQ(v.sb().s_devt_slotoff, 11);
  uint64_t blocks =
      (rich.image.blobs[0].uncompressed_size + rich.image.blobs[1].uncompressed_size) / 4096;
  EXPECT_EQ(v.sb().s_blocks, blocks);
  EXPECT_EQ(v.ext().s_flags, format::kFlagCompressionNone | format::kFlagHashBlake3 |
                                 format::kFlagExplicitUidGid | format::kFlagHasXattr);
  EXPECT_EQ(v.ext().s_blob_table_offset, 4096u);
  EXPECT_EQ(v.ext().s_blob_table_size, 512u);
  EXPECT_EQ(v.ext().s_chunk_size, 4096u);
  // Prefetch: /small.txt and /dir match; /missing does not, /empty is an empty file.
  EXPECT_EQ(v.ext().s_prefetch_table_offset, 4096u + 512);
  ASSERT_EQ(v.ext().s_prefetch_table_size, 8u);
  EXPECT_EQ(LoadLE32(boot.data() + 4608), v.Lookup("/small.txt"));
  EXPECT_EQ(LoadLE32(boot.data() + 4612), v.Lookup("/dir"));
  EXPECT_EQ(v.sb().s_meta_blkaddr, 2u);
  // Devices and blob entries.
  for (uint32_t i = 0; i < 2; ++i) {
    format::RafsV6Device dev{};
    ASSERT_TRUE(ReadPod(boot, 1408 + 128 * i, &dev));
    EXPECT_EQ(std::string(reinterpret_cast<char*>(dev.blob_id), 64), rich.image.blobs[i].blob_id);
    EXPECT_EQ(dev.blocks, rich.image.blobs[i].uncompressed_size / 4096);
    format::RafsV6Blob be{};
    ASSERT_TRUE(ReadPod(boot, 4096 + 256 * i, &be));
    EXPECT_EQ(be.blob_index, i);
    EXPECT_EQ(be.chunk_count, rich.image.blobs[i].chunk_count);
    EXPECT_EQ(be.ci_uncompressed_size, rich.image.blobs[i].ci_uncompressed_size);
  }
}

TEST(BootstrapWriterV6Test, ChunkTableSortedAndDeduplicated) {
  RichImage rich = MakeRichImage(format::kRafsVersionV6);
  ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV6(rich.image));
  V6View v(boot);
  EXPECT_EQ(v.ext().s_chunk_table_offset % 4096, 0u);
  uint32_t total = rich.image.blobs[0].chunk_count + rich.image.blobs[1].chunk_count;
  ASSERT_EQ(v.ext().s_chunk_table_size, total * 80ull);  // every stored chunk exactly once
  std::pair<Digest, uint32_t> prev{};
  for (uint32_t k = 0; k < total; ++k) {
    format::RafsV5ChunkInfo rec{};
    ASSERT_TRUE(ReadPod(boot, v.ext().s_chunk_table_offset + 80 * k, &rec));
    std::pair<Digest, uint32_t> key;
    std::copy_n(rec.block_id, 32, key.first.begin());
    key.second = rec.blob_index;
    if (k > 0) {
      EXPECT_LT(prev, key);
    }
    prev = key;
  }
}

TEST(BootstrapWriterV6Test, PrefetchAllIsRootNid) {
  RichImage rich = MakeRichImage(format::kRafsVersionV6);
  rich.image.prefetch = {"/"};
  ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV6(rich.image));
  V6View v(boot);
  ASSERT_EQ(v.ext().s_prefetch_table_size, 4u);
  EXPECT_EQ(LoadLE32(boot.data() + v.ext().s_prefetch_table_offset), 128u);
}

TEST(BootstrapWriterV6Test, ImageWithoutBlobs) {
  meta::Image image;
  image.root = std::make_unique<meta::Node>();
  image.root->name = "/";
  image.root->inode = writer_test::NewInode(S_IFDIR | 0755, 0);
  writer_test::AddNode(image.root.get(), "empty", writer_test::NewInode(S_IFREG | 0644));
  image.prefetch = {"/"};
  ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV6(image));
  V6View v(boot);
  EXPECT_EQ(v.sb().s_meta_blkaddr, 0u);
  EXPECT_EQ(v.sb().s_root_nid, 128);
  EXPECT_EQ(v.sb().s_extra_devices, 0);
  EXPECT_EQ(v.ext().s_prefetch_table_size, 0u);  // the reference only writes it with blobs
  EXPECT_EQ(v.Dirents(128).size(), 3u);
  EXPECT_EQ(boot.size(), 8192u);
}

TEST(BootstrapWriterV6Test, Deterministic) {
  RichImage a = MakeRichImage(format::kRafsVersionV6);
  RichImage b = MakeRichImage(format::kRafsVersionV6);
  std::reverse(b.image.root->FindChild("xattrs")->inode->xattrs.begin(),
               b.image.root->FindChild("xattrs")->inode->xattrs.end());
  ASSERT_OK_AND_ASSIGN(Bytes x, WriteBootstrapV6(a.image));
  ASSERT_OK_AND_ASSIGN(Bytes y, WriteBootstrapV6(b.image));
  EXPECT_TRUE(x == y);
}

TEST(BootstrapWriterV6Test, RoundTripThroughReader) {
  RichImage rich = MakeRichImage(format::kRafsVersionV6);
  ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV6(rich.image));
  ASSERT_OK_AND_ASSIGN(meta::Image back, meta::ReadBootstrap(boot));
  EXPECT_TRUE(back.IsV6());
  EXPECT_EQ(back.chunk_size, rich.image.chunk_size);
  EXPECT_EQ(back.compressor, rich.image.compressor);
  EXPECT_EQ(back.digester, rich.image.digester);
  EXPECT_TRUE(back.explicit_uidgid);
  ASSERT_EQ(back.blobs.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back.blobs[i].blob_id, rich.image.blobs[i].blob_id);
    EXPECT_EQ(back.blobs[i].chunk_count, rich.image.blobs[i].chunk_count);
    EXPECT_EQ(back.blobs[i].uncompressed_size, rich.image.blobs[i].uncompressed_size);
    EXPECT_EQ(back.blobs[i].features, rich.image.blobs[i].features);
  }
  EXPECT_EQ(back.prefetch, (std::vector<std::string>{"/small.txt", "/dir"}));
  writer_test::ExpectSameTree(rich.image, back);
  // Writing what was read gives the same bytes.
  ASSERT_OK_AND_ASSIGN(Bytes again, WriteBootstrapV6(back));
  EXPECT_TRUE(again == boot);
}

TEST(BootstrapWriterV6Test, RejectsWhatItCannotEncode) {
  auto expect_invalid = [](const meta::Image& image, const std::string& what) {
    Result<Bytes> r = WriteBootstrapV6(image);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  };
  {
    RichImage r = MakeRichImage(format::kRafsVersionV6);
    std::swap(r.image.root->children[0], r.image.root->children[1]);
    expect_invalid(r.image, "unsorted children");
  }
  {
    RichImage r = MakeRichImage(format::kRafsVersionV6);
    r.image.root->FindChild("xattrs")->inode->xattrs.push_back({"os2.foo", "x"});
    expect_invalid(r.image, "xattr namespace");
  }
  {
    RichImage r = MakeRichImage(format::kRafsVersionV6);
    r.image.root->FindChild("small.txt")->inode->chunks.clear();
    expect_invalid(r.image, "chunk count");
  }
  {
    RichImage r = MakeRichImage(format::kRafsVersionV6);
    r.image.root->FindChild("small.txt")->inode->chunks[0].uncompressed_offset += 512;
    expect_invalid(r.image, "unaligned chunk");
  }
  {
    RichImage r = MakeRichImage(format::kRafsVersionV6);
    r.image.root->FindChild("small.txt")->inode->chunks[0].blob_index = 7;
    expect_invalid(r.image, "blob index");
  }
  {
    RichImage r = MakeRichImage(format::kRafsVersionV6);
    r.image.blobs[0].blob_id += "0";
    expect_invalid(r.image, "65-byte blob id");
  }
  {
    RichImage r = MakeRichImage(format::kRafsVersionV6);
    writer_test::AddNode(r.image.root->FindChild("many"), "hard-dir",
                         r.image.root->FindChild("dir")->inode);
    expect_invalid(r.image, "hardlinked directory");
  }
  {
    RichImage r = MakeRichImage(format::kRafsVersionV6);
    writer_test::AddSymlink(r.image.root.get(), "zz-long", std::string(4096, 'x'));
    expect_invalid(r.image, "symlink of 4096 bytes");
  }
  {
    RichImage r = MakeRichImage(format::kRafsVersionV6);
    r.image.chunk_size = 3000;
    expect_invalid(r.image, "chunk size");
  }
}

}  // namespace
}  // namespace nydus::builder
