#include <gtest/gtest.h>

#include <map>

#include "base/file_util.h"
#include "builder/bootstrap_writer.h"
#include "builder/bootstrap_writer_test_util.h"
#include "format/v5.h"
#include "meta/bootstrap_reader.h"
#include "meta/rdev.h"
#include "testing/test_util.h"

namespace nydus::builder {
namespace {

using format::RafsV5Inode;
using writer_test::MakeRichImage;
using writer_test::RichImage;

// A minimal structural decoder for v5 bootstraps (the real reader lives in meta/): gives
// every record by node index, and builds the tree back so fixtures can be re-encoded.
class V5View {
 public:
  explicit V5View(const Bytes& b) : b_(b) { EXPECT_TRUE(ReadPod(b_, 0, &sb_)); }
  const format::RafsV5SuperBlock& sb() const { return sb_; }
  uint64_t RecordOffset(uint32_t index) const {
    return uint64_t{LoadLE32(b_.data() + sb_.s_inode_table_offset + 4 * (index - 1))} * 8;
  }
  RafsV5Inode Inode(uint32_t index) const {
    RafsV5Inode i{};
    EXPECT_TRUE(ReadPod(b_, RecordOffset(index), &i));
    return i;
  }
  std::string Name(uint32_t index) const {
    return Str(RecordOffset(index) + 128, Inode(index).i_name_size);
  }
  // Offset just past name, symlink and xattrs of a record; xattrs decoded into `x`.
  uint64_t VarEnd(uint32_t index, std::string* symlink, std::vector<meta::Xattr>* x) const {
    RafsV5Inode i = Inode(index);
    uint64_t p = RecordOffset(index) + 128 + RoundUp(i.i_name_size, 8);
    *symlink = Str(p, i.i_symlink_size);
    p += RoundUp(i.i_symlink_size, 8);
    if (i.i_flags & format::kV5InodeXattr) {
      uint64_t size = LoadLE64(b_.data() + p);
      for (uint64_t q = p + 8; q < p + 8 + size;) {
        uint32_t len = LoadLE32(b_.data() + q);
        std::string pair = Str(q + 4, len);
        size_t nul = pair.find('\0');
        x->push_back({pair.substr(0, nul), pair.substr(nul + 1)});
        q += 4 + len;
      }
      p += 8 + RoundUp(size, 8);
    }
    return p;
  }
  uint32_t Find(const std::string& name) const {
    for (uint32_t k = 1; k <= sb_.s_inode_table_entries; ++k) {
      if (Name(k) == name) return k;
    }
    ADD_FAILURE() << "no record named " << name;
    return 1;
  }

  meta::Image ToImage() const {
    meta::Image image;
    image.version = format::kRafsVersionV5;
    image.chunk_size = sb_.s_block_size;
    image.compressor = format::CompressorFromFlags(sb_.s_flags);
    image.digester = format::DigesterFromFlags(sb_.s_flags);
    image.explicit_uidgid = sb_.s_flags & format::kFlagExplicitUidGid;
    DecodeBlobs(&image);
    std::map<uint64_t, std::shared_ptr<meta::Inode>> by_ino;
    std::vector<meta::Node*> nodes(sb_.s_inode_table_entries + 1);
    image.root = std::make_unique<meta::Node>();
    nodes[1] = image.root.get();
    for (uint32_t k = 1; k <= sb_.s_inode_table_entries; ++k) {
      RafsV5Inode i = Inode(k);
      meta::Node* node = nodes[k];
      node->name = Name(k);
      auto& inode = by_ino[i.i_ino];
      if (inode == nullptr) inode = DecodeInode(k);
      node->inode = inode;
      if (!inode->IsDir()) continue;
      for (uint32_t c = i.i_child_index; c < i.i_child_index + i.i_child_count; ++c) {
        auto child = std::make_unique<meta::Node>();
        nodes[c] = child.get();
        node->children.push_back(std::move(child));
      }
    }
    return image;
  }

 private:
  std::string Str(uint64_t off, uint64_t len) const {
    return std::string(reinterpret_cast<const char*>(b_.data()) + off, len);
  }
  void DecodeBlobs(meta::Image* image) const {
    uint64_t p = sb_.s_blob_table_offset, end = p + sb_.s_blob_table_size;
    while (p < end && end - p >= 9) {
      meta::BlobInfo blob;
      blob.readahead_size = LoadLE32(b_.data() + p + 4);
      uint64_t q = p + 8;
      while (q < end && b_[q] != 0) ++q;
      blob.blob_id = Str(p + 8, q - p - 8);
      image->blobs.push_back(blob);
      p = q + 1;
    }
    for (size_t k = 0; k < image->blobs.size(); ++k) {
      format::RafsV5ExtBlobEntry e{};
      EXPECT_TRUE(ReadPod(b_, sb_.s_extended_blob_table_offset + 64 * k, &e));
      image->blobs[k].chunk_count = e.chunk_count;
      image->blobs[k].features = e.features;
      image->blobs[k].uncompressed_size = e.uncompressed_size;
      image->blobs[k].compressed_size = e.compressed_size;
    }
  }
  std::shared_ptr<meta::Inode> DecodeInode(uint32_t k) const {
    RafsV5Inode i = Inode(k);
    auto inode = std::make_shared<meta::Inode>();
    inode->mode = i.i_mode;
    inode->uid = i.i_uid;
    inode->gid = i.i_gid;
    inode->size = i.i_size;
    inode->mtime = i.i_mtime;
    inode->mtime_nsec = i.i_mtime_nsec;
    inode->nlink = i.i_nlink;
    inode->rdev = meta::DecodeRdev(i.i_rdev);
    uint64_t p = VarEnd(k, &inode->symlink, &inode->xattrs);
    for (uint32_t c = 0; inode->IsReg() && c < i.i_child_count; ++c) {
      format::RafsV5ChunkInfo rec{};
      EXPECT_TRUE(ReadPod(b_, p + 80 * c, &rec));
      meta::ChunkInfo chunk;
      std::copy_n(rec.block_id, 32, chunk.digest.begin());
      chunk.blob_index = rec.blob_index;
      chunk.flags = rec.flags;
      chunk.compressed_size = rec.compressed_size;
      chunk.uncompressed_size = rec.uncompressed_size;
      chunk.compressed_offset = rec.compressed_offset;
      chunk.uncompressed_offset = rec.uncompressed_offset;
      chunk.file_offset = rec.file_offset;
      chunk.index = rec.index;
      inode->chunks.push_back(chunk);
    }
    return inode;
  }

  const Bytes& b_;
  format::RafsV5SuperBlock sb_{};
};

void ExpectSameBytes(const Bytes& got, const Bytes& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i], want[i]) << "first difference at byte " << i;
  }
}

class V5FixtureTest : public ::testing::TestWithParam<const char*> {};

// The repeatable fixtures (54 nodes: hardlinks, symlinks, holes, empty directories; sha256
// and blake3 digests) decoded structurally and encoded again give the same bytes: layout,
// index order, inode digests, synthetic directory sizes, i_blocks and s_inodes_count.
TEST_P(V5FixtureTest, ReproducesReferenceBytes) {
  NYDUS_REQUIRE_FIXTURE(path, std::string("repeatable/") + GetParam());
  ASSERT_OK_AND_ASSIGN(Bytes want, ReadWholeFile(path));
  meta::Image image = V5View(want).ToImage();
  ASSERT_OK_AND_ASSIGN(Bytes got, WriteBootstrapV5(image));
  ExpectSameBytes(got, want);
}

TEST_P(V5FixtureTest, RewritesReaderOutput) {
  NYDUS_REQUIRE_FIXTURE(path, std::string("repeatable/") + GetParam());
  ASSERT_OK_AND_ASSIGN(Bytes want, ReadWholeFile(path));
  ASSERT_OK_AND_ASSIGN(meta::Image image, meta::ReadBootstrap(want));
  ASSERT_OK_AND_ASSIGN(Bytes got, WriteBootstrapV5(image));
  ExpectSameBytes(got, want);
}

INSTANTIATE_TEST_SUITE_P(Repeatable, V5FixtureTest,
                         ::testing::Values("sha256-nocompress-repeatable",
                                           "blake3-lz4_block-non_repeatable"));

TEST(BootstrapWriterV5Test, LayoutAndRecords) {
  RichImage rich = MakeRichImage(format::kRafsVersionV5);
  ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV5(rich.image));
  V5View v(boot);
  const auto& sb = v.sb();
  EXPECT_EQ(sb.s_magic, format::kRafsV5Magic);
  EXPECT_EQ(sb.s_block_size, 4096u);
  EXPECT_EQ(sb.s_flags, format::kFlagCompressionNone | format::kFlagHashBlake3 |
                            format::kFlagExplicitUidGid | format::kFlagHasXattr);
  EXPECT_EQ(sb.s_inode_table_offset, 8192u);
  EXPECT_EQ(sb.s_prefetch_table_offset, 8192 + RoundUp(4 * sb.s_inode_table_entries, 8));
  ASSERT_EQ(sb.s_prefetch_table_entries, 2u);
  EXPECT_EQ(LoadLE32(boot.data() + sb.s_prefetch_table_offset), v.Find("small.txt"));
  EXPECT_EQ(LoadLE32(boot.data() + sb.s_prefetch_table_offset + 4), v.Find("dir"));
  EXPECT_EQ(sb.s_blob_table_offset, sb.s_prefetch_table_offset + 8);
  EXPECT_EQ(sb.s_blob_table_size, RoundUp(2 * 72 + 1, 8));
  EXPECT_EQ(sb.s_extended_blob_table_entries, 2u);
  // Node count: every name; inode count: distinct inodes without the root.
  uint32_t names = 0;
  meta::WalkTree(*rich.image.root, [&](const meta::Node&, const std::string&) {
    ++names;
    return true;
  });
  EXPECT_EQ(sb.s_inode_table_entries, names);
  EXPECT_EQ(sb.s_inodes_count, names - 2u);  // one hardlink, the root
  EXPECT_EQ(v.RecordOffset(1), sb.s_extended_blob_table_offset + 128);
  EXPECT_EQ(v.Name(1), "/");
  RafsV5Inode root = v.Inode(1);
  EXPECT_EQ(root.i_ino, 1u);
  EXPECT_EQ(root.i_child_index, 2u);
  EXPECT_EQ(root.i_child_count, rich.image.root->children.size());
}

TEST(BootstrapWriterV5Test, InodeFields) {
  RichImage rich = MakeRichImage(format::kRafsVersionV5);
  ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV5(rich.image));
  V5View v(boot);
  // Hardlinks: each name has a record with the chunks; both carry the first name's ino.
  uint32_t a = v.Find("hl-a"), b = v.Find("hl-b");
  EXPECT_NE(a, b);
  EXPECT_EQ(v.Inode(a).i_ino, v.Inode(b).i_ino);
  EXPECT_EQ(v.Inode(a).i_ino, std::min(a, b));
  EXPECT_EQ(v.Inode(b).i_child_count, 2u);
  EXPECT_EQ(v.Inode(b).i_nlink, 2u);
  EXPECT_EQ(v.Inode(v.Find("dir")).i_parent, 1u);
  // Synthetic directory size and i_blocks.
  RafsV5Inode many = v.Inode(v.Find("many"));
  uint64_t sum = 0;
  for (const auto& c : rich.image.root->FindChild("many")->children) sum += c->name.size() + 8;
  EXPECT_EQ(many.i_size, RoundUp(sum, 4096));
  EXPECT_EQ(many.i_blocks, many.i_size / 512);
  EXPECT_EQ(v.Inode(v.Find("deeper")).i_size, 4096u);
  RafsV5Inode xf = v.Inode(v.Find("xattrs"));
  std::string sym;
  std::vector<meta::Xattr> xattrs;
  v.VarEnd(v.Find("xattrs"), &sym, &xattrs);
  EXPECT_EQ(xattrs, rich.image.root->FindChild("xattrs")->inode->xattrs);
  uint64_t pairs = 0;
  for (const auto& x : xattrs) pairs += 4 + x.name.size() + 1 + x.value.size();
  EXPECT_EQ(xf.i_blocks, (50 + RoundUp(pairs, 8) + 511) / 512);
  EXPECT_TRUE(xf.i_flags & format::kV5InodeXattr);
  // Symlinks, devices, ids, times.
  uint32_t s = v.Find("sym-1003");
  RafsV5Inode si = v.Inode(s);
  EXPECT_EQ(si.i_flags & format::kV5InodeSymlink, format::kV5InodeSymlink);
  EXPECT_EQ(si.i_size, 1003u);
  xattrs.clear();
  v.VarEnd(s, &sym, &xattrs);
  EXPECT_EQ(sym, rich.image.root->FindChild("sym-1003")->inode->symlink);
  EXPECT_EQ(v.Inode(v.Find("dev-big")).i_rdev, meta::EncodeRdev(makedev(300, 70000)));
  EXPECT_EQ(v.Inode(v.Find("big-ids")).i_gid, 4000000000u);
  EXPECT_EQ(static_cast<int64_t>(v.Inode(v.Find("neg-mtime")).i_mtime), -1000000);
}

TEST(BootstrapWriterV5Test, InodeDigests) {
  RichImage rich = MakeRichImage(format::kRafsVersionV5);
  ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV5(rich.image));
  V5View v(boot);
  auto digest_of = [&](uint32_t index) {
    Digest d;
    std::copy_n(v.Inode(index).i_digest, 32, d.begin());
    return d;
  };
  const meta::Inode& two = *rich.image.root->FindChild("two-blobs.bin")->inode;
  Bytes concat;
  for (const auto& c : two.chunks) concat.insert(concat.end(), c.digest.begin(), c.digest.end());
  EXPECT_EQ(digest_of(v.Find("two-blobs.bin")), Blake3(concat));
  EXPECT_EQ(digest_of(v.Find("sym-short")), Blake3(AsBytes("small.txt")));
  EXPECT_EQ(digest_of(v.Find("fifo")), Blake3({}));
  EXPECT_EQ(digest_of(v.Find("empty")), Blake3({}));
  uint32_t deeper = v.Find("deeper");
  EXPECT_EQ(digest_of(deeper), Blake3(digest_of(v.Find("file"))));
}

TEST(BootstrapWriterV5Test, RoundTripThroughReader) {
  RichImage rich = MakeRichImage(format::kRafsVersionV5);
  ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV5(rich.image));
  ASSERT_OK_AND_ASSIGN(meta::Image back, meta::ReadBootstrap(boot));
  EXPECT_FALSE(back.IsV6());
  ASSERT_EQ(back.blobs.size(), 2u);
  EXPECT_EQ(back.blobs[1].blob_id, rich.image.blobs[1].blob_id);
  EXPECT_EQ(back.blobs[1].chunk_count, rich.image.blobs[1].chunk_count);
  EXPECT_EQ(back.prefetch, (std::vector<std::string>{"/small.txt", "/dir"}));
  writer_test::ExpectSameTree(rich.image, back);
  ASSERT_OK_AND_ASSIGN(Bytes again, WriteBootstrapV5(back));
  EXPECT_TRUE(again == boot);
}

TEST(BootstrapWriterV5Test, RandomTreesRoundTrip) {
  for (uint64_t seed = 11; seed <= 13; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RichImage rich = writer_test::MakeRandomImage(format::kRafsVersionV5, seed, 1500);
    ASSERT_OK_AND_ASSIGN(Bytes boot, WriteBootstrapV5(rich.image));
    ASSERT_OK_AND_ASSIGN(meta::Image back, meta::ReadBootstrap(boot));
    writer_test::ExpectSameTree(rich.image, back);
    ASSERT_OK_AND_ASSIGN(Bytes again, WriteBootstrapV5(back));
    EXPECT_TRUE(again == boot);
  }
}

TEST(BootstrapWriterV5Test, RejectsWhatItCannotEncode) {
  RichImage r = MakeRichImage(format::kRafsVersionV5);
  r.image.root->FindChild("small.txt")->inode->chunks[0].blob_index = 2;
  EXPECT_EQ(WriteBootstrapV5(r.image).status().code(), StatusCode::kInvalidArgument);
  RichImage s = MakeRichImage(format::kRafsVersionV5);
  s.image.blobs[0].blob_id = std::string("a\0b", 3);
  EXPECT_EQ(WriteBootstrapV5(s.image).status().code(), StatusCode::kInvalidArgument);
  RichImage t = MakeRichImage(format::kRafsVersionV5);
  t.image.root->FindChild("xattrs")->inode->xattrs.push_back({std::string(256, 'k'), ""});
  EXPECT_EQ(WriteBootstrapV5(t.image).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nydus::builder
