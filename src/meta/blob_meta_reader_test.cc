#include "meta/blob_meta_reader.h"

#include <gtest/gtest.h>

#include <cstring>

#include "base/file_util.h"
#include "compress/compressor.h"
#include "meta/bootstrap_reader.h"
#include "meta/meta_test_util.h"
#include "testing/test_util.h"

namespace nydus::meta {
namespace {

using namespace nydus::meta::testing;
using format::ChunkCompressInfo;

// A BlobReadFn over an in-memory blob.
BlobReadFn MemReader(const Bytes& blob) {
  return [&blob](uint64_t off, std::span<uint8_t> buf) -> Status {
    if (!RangeInside(off, buf.size(), blob.size())) return Status::IOError("short read");
    std::memcpy(buf.data(), blob.data() + off, buf.size());
    return Status::OK();
  };
}

class FixtureBlobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string boot = nydus::testing::FixturePath(kV6Boot);
    std::string blob = nydus::testing::FixturePath(kV6Blob);
    if (boot.empty() || blob.empty()) GTEST_SKIP() << "v6 fixture boot/blob not found";
    auto image = ReadBootstrapFile(boot);
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    info_ = image->blobs.at(0);
    image_ = std::move(image).value();
    auto data = ReadWholeFile(blob);
    ASSERT_TRUE(data.ok());
    blob_ = std::move(data).value();
  }
  Image image_;
  BlobInfo info_;
  Bytes blob_;
};

TEST_F(FixtureBlobTest, ReadsChunkInfoArray) {
  ASSERT_OK_AND_ASSIGN(auto cis, ReadBlobChunkInfos(info_, MemReader(blob_)));
  ASSERT_EQ(cis.size(), 2u);
  EXPECT_EQ(cis[0].uncompressed_offset, 0u);
  EXPECT_EQ(cis[0].uncompressed_size, 16931u);
  EXPECT_EQ(cis[0].compressed_offset, 0u);
  EXPECT_EQ(cis[0].compressed_size, 4828u);
  EXPECT_EQ(cis[1].uncompressed_offset, 20480u);
  EXPECT_EQ(cis[1].uncompressed_size, 13400u);
  EXPECT_EQ(cis[1].compressed_offset, 4828u);
  EXPECT_EQ(cis[1].compressed_size, 2974u);
  // They agree with the bootstrap's chunk records (CI index = ChunkInfo::index).
  WalkTree(*image_.root, [&](const Node& n, const std::string&) {
    for (const auto& c : n.inode->chunks) {
      EXPECT_EQ(cis[c.index].uncompressed_offset, c.uncompressed_offset);
      EXPECT_EQ(cis[c.index].compressed_size, c.compressed_size);
    }
    return true;
  });
}

TEST_F(FixtureBlobTest, ReadsTocAndChecksItsDigest) {
  ASSERT_OK_AND_ASSIGN(BlobToc toc, ReadBlobToc(info_, MemReader(blob_)));
  EXPECT_EQ(toc.size, 1024u);
  EXPECT_EQ(toc.digest, info_.blob_toc_digest);
  ASSERT_EQ(toc.entries.size(), 4u);
  EXPECT_EQ(toc.entries[0].name, "image.blob");
  EXPECT_EQ(toc.entries[1].name, "blob.meta");
  EXPECT_EQ(toc.entries[2].name, "blob.meta.header");
  EXPECT_EQ(toc.entries[3].name, "blob.digest");
  const TocEntryInfo* meta = toc.Find("blob.meta");
  ASSERT_NE(meta, nullptr);
  EXPECT_EQ(meta->compressed_offset, 8314u);
  EXPECT_EQ(meta->compressed_size, 32u);
  EXPECT_EQ(meta->compressor(), format::Compressor::kNone);
  const TocEntryInfo* header = toc.Find("blob.meta.header");
  ASSERT_NE(header, nullptr);
  EXPECT_EQ(header->compressed_offset, 8314u + 32u);
  EXPECT_EQ(header->uncompressed_size, 4096u);

  // blob.digest holds the chunk digests in CI order, and its ToC digest covers them.
  const TocEntryInfo* digests = toc.Find("blob.digest");
  ASSERT_NE(digests, nullptr);
  ASSERT_EQ(digests->compressed_offset, 12954u);
  ASSERT_EQ(digests->uncompressed_size, 64u);
  ByteSpan arr(blob_.data() + 12954, 64);
  EXPECT_EQ(Sha256(arr), digests->uncompressed_digest);
  WalkTree(*image_.root, [&](const Node& n, const std::string&) {
    for (const auto& c : n.inode->chunks) {
      EXPECT_EQ(std::memcmp(arr.data() + 32 * c.index, c.digest.data(), 32), 0);
    }
    return true;
  });
  EXPECT_EQ(toc.Find("image.boot"), nullptr);
}

TEST_F(FixtureBlobTest, BlobIdIsSha256WithoutTheDigestArray) {
  Bytes cut(blob_.begin(), blob_.begin() + 12954);
  cut.insert(cut.end(), blob_.begin() + 12954 + 64, blob_.end());
  EXPECT_EQ(DigestHex(Sha256(cut)), kV6BlobId);
}

TEST_F(FixtureBlobTest, AutoDetectsTocWithoutItsSize) {
  info_.blob_toc_size = 0;
  ASSERT_OK_AND_ASSIGN(BlobToc toc, ReadBlobToc(info_, MemReader(blob_)));
  EXPECT_EQ(toc.entries.size(), 4u);
  EXPECT_EQ(toc.digest, image_.blobs[0].blob_toc_digest);
}

TEST_F(FixtureBlobTest, RejectsCorruptMeta) {
  Bytes bad = blob_;
  bad[8314 + 32] ^= 1;  // header magic
  auto r = ReadBlobChunkInfos(info_, MemReader(bad));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad header magic"), std::string::npos);

  bad = blob_;
  bad[8314 + 32 + 12] = 3;  // s_ci_entries
  EXPECT_EQ(ReadBlobChunkInfos(info_, MemReader(bad)).status().code(), StatusCode::kCorruption);

  bad = blob_;
  StoreLE64(bad.data() + 8314 + 24, 0x00b9d000000012ffull);  // chunk 1 ends past the data
  r = ReadBlobChunkInfos(info_, MemReader(bad));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("chunk 1 ends at compressed"), std::string::npos)
      << r.status().ToString();

  BlobInfo short_blob = info_;
  short_blob.compressed_size = 8000;  // CI would lie beyond the blob
  EXPECT_EQ(ReadBlobChunkInfos(short_blob, MemReader(blob_)).status().code(),
            StatusCode::kCorruption);

  auto failing = [](uint64_t, std::span<uint8_t>) { return Status::IOError("backend down"); };
  r = ReadBlobChunkInfos(info_, failing);
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
}

TEST_F(FixtureBlobTest, RejectsCorruptToc) {
  Bytes bad = blob_;
  bad[13530 + 8] ^= 0x20;  // entry 0 name: digest no longer matches
  auto r = ReadBlobToc(info_, MemReader(bad));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("differs from blob_toc_digest"), std::string::npos);

  bad = blob_;
  bad[14042] = 'x';  // tar header name (checksum breaks too)
  EXPECT_EQ(ReadBlobToc(info_, MemReader(bad)).status().code(), StatusCode::kCorruption);

  BlobInfo no_toc = info_;
  no_toc.features &= ~format::kBlobHasToc;
  EXPECT_EQ(ReadBlobToc(no_toc, MemReader(blob_)).status().code(), StatusCode::kNotFound);

  BlobInfo odd = info_;
  odd.blob_toc_size = 1000;
  EXPECT_EQ(ReadBlobToc(odd, MemReader(blob_)).status().code(), StatusCode::kCorruption);
}

// A synthetic v2 blob: `n` chunks of 4 KiB, each stored raw back to back.
BlobInfo SyntheticV2(uint32_t n) {
  BlobInfo b;
  b.blob_id = std::string(64, 'a');
  b.chunk_count = n;
  b.features = format::kBlobAligned | format::kBlobChunkInfoV2;
  b.compressed_size = uint64_t{n} * 4096;  // chunk data only
  b.uncompressed_size = uint64_t{n} * 4096;
  b.ci_uncompressed_size = uint64_t{n} * format::kCiV2Size;
  b.ci_compressed_size = b.ci_uncompressed_size;
  return b;
}

Bytes EncodeV2(const std::vector<ChunkCompressInfo>& cis) {
  Bytes out(cis.size() * format::kCiV2Size);
  for (size_t i = 0; i < cis.size(); ++i) format::EncodeCiV2(cis[i], out.data() + 24 * i);
  return out;
}

Bytes Header(const BlobInfo& b) {
  format::BlobMetaHeader h{};
  h.s_magic = h.s_magic2 = format::kBlobMetaMagic;
  h.s_features = b.features;
  h.s_ci_compressor = static_cast<uint32_t>(b.ci_compressor);
  h.s_ci_entries = b.chunk_count;
  h.s_ci_offset = b.ci_offset;
  h.s_ci_compressed_size = b.ci_compressed_size;
  h.s_ci_uncompressed_size = b.ci_uncompressed_size;
  Bytes out(sizeof(h));
  std::memcpy(out.data(), &h, sizeof(h));
  return out;
}

std::vector<ChunkCompressInfo> RawChunks(uint32_t n) {
  std::vector<ChunkCompressInfo> cis(n);
  for (uint32_t i = 0; i < n; ++i) {
    cis[i].compressed_offset = cis[i].uncompressed_offset = uint64_t{i} * 4096;
    cis[i].compressed_size = cis[i].uncompressed_size = 4096;
  }
  return cis;
}

TEST(DecodeBlobChunkInfosTest, ValidatesV2Records) {
  BlobInfo b = SyntheticV2(3);
  auto cis = RawChunks(3);
  ASSERT_OK_AND_ASSIGN(auto got, DecodeBlobChunkInfos(b, EncodeV2(cis), Header(b)));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].uncompressed_offset, 8192u);

  auto bad = cis;
  bad[1].zran = true;
  EXPECT_NE(
      DecodeBlobChunkInfos(b, EncodeV2(bad), Header(b)).status().message().find("ZRAN chunk 1"),
      std::string::npos);
  bad = cis;
  bad[2].uncompressed_offset = 0;  // overlaps chunk 0
  EXPECT_NE(DecodeBlobChunkInfos(b, EncodeV2(bad), Header(b))
                .status()
                .message()
                .find("overlaps the previous chunk"),
            std::string::npos);
  bad = cis;
  bad[0].compressed_size = 100;  // raw chunk with differing sizes
  EXPECT_EQ(DecodeBlobChunkInfos(b, EncodeV2(bad), Header(b)).status().code(),
            StatusCode::kCorruption);
  bad = cis;
  bad[0].compressed_size = 0;
  bad[0].compressed = true;  // zero compressed size only for SEPARATE blobs
  EXPECT_EQ(DecodeBlobChunkInfos(b, EncodeV2(bad), Header(b)).status().code(),
            StatusCode::kCorruption);
  b.features |= format::kBlobSeparate;
  EXPECT_OK(DecodeBlobChunkInfos(b, EncodeV2(bad), Header(b)).status());

  BlobInfo wrong = SyntheticV2(3);
  wrong.ci_uncompressed_size = 70;  // not 3 x 24
  wrong.ci_compressed_size = 70;
  EXPECT_EQ(DecodeBlobChunkInfos(wrong, Bytes(70), Header(wrong)).status().code(),
            StatusCode::kCorruption);
  EXPECT_EQ(DecodeBlobChunkInfos(b, EncodeV2(cis), Bytes(100)).status().code(),
            StatusCode::kCorruption);
}

TEST(DecodeBlobChunkInfosTest, ValidatesZranTables) {
  // Two zran chunks sharing one 40-byte inflate context followed by a 16-byte dictionary.
  BlobInfo b = SyntheticV2(2);
  b.features |= format::kBlobZran | format::kBlobSeparate;
  b.ci_uncompressed_size = b.ci_compressed_size = 48 + 40 + 16;
  auto cis = RawChunks(2);
  for (auto& c : cis) {
    c.zran = true;
    c.compressed = true;
    c.compressed_offset = 0;
    c.compressed_size = 100;
  }
  cis[1].data = 4096;  // context 0, offset 4096 in its output
  auto make = [&](const std::vector<ChunkCompressInfo>& records, uint32_t count) {
    Bytes data = EncodeV2(records);
    data.resize(b.ci_uncompressed_size);
    Bytes header = Header(b);
    auto* h = reinterpret_cast<format::BlobMetaHeader*>(header.data());
    h->s_ci_zran_offset = 48;
    h->s_ci_zran_size = 56;
    h->s_ci_zran_count = count;
    return DecodeBlobChunkInfos(b, data, header);
  };
  ASSERT_OK_AND_ASSIGN(auto got, make(cis, 1));
  EXPECT_TRUE(got[1].zran);
  EXPECT_EQ(got[1].data, 4096u);
  auto bad = cis;
  bad[1].data = 1ull << 32;  // context 1 does not exist
  EXPECT_NE(make(bad, 1).status().message().find("zran index 1 beyond 1 contexts"),
            std::string::npos);
  EXPECT_NE(make(cis, 2).status().message().find("invalid zran table"), std::string::npos);
}

TEST(ReadBlobChunkInfosTest, DecompressesZstdCompressedCi) {
  const uint32_t n = 64;
  BlobInfo b = SyntheticV2(n);
  Bytes ci = EncodeV2(RawChunks(n));
  ASSERT_OK_AND_ASSIGN(Bytes packed, compress::Compress(format::Compressor::kZstd, ci));
  ASSERT_LT(packed.size(), ci.size());
  b.ci_compressor = format::Compressor::kZstd;
  b.ci_offset = b.compressed_size;
  b.ci_compressed_size = packed.size();
  Bytes blob(b.ci_offset, 0);
  blob.insert(blob.end(), packed.begin(), packed.end());
  Bytes header = Header(b);
  blob.insert(blob.end(), header.begin(), header.end());
  b.compressed_size = blob.size();  // the whole file; data size is still ci_offset
  b.features |= format::kBlobCapTarToc;
  ASSERT_OK_AND_ASSIGN(auto got, ReadBlobChunkInfos(b, MemReader(blob)));
  EXPECT_EQ(got.size(), n);
  EXPECT_EQ(got.back().compressed_offset, uint64_t{n - 1} * 4096);

  blob[b.ci_offset] ^= 0xff;  // break the zstd frame magic
  auto r = ReadBlobChunkInfos(b, MemReader(blob));
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
}

}  // namespace
}  // namespace nydus::meta
