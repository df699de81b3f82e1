// RafsFs::Read over a hand-made v5 image whose blob lives in a MemBackend.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/digest.h"
#include "format/rafs.h"
#include "fs/fs_test_util.h"
#include "fs/rafs_fs.h"
#include "storage/chunk_reader.h"
#include "storage/fake_backend.h"
#include "testing/test_util.h"

namespace nydus::fs {
namespace {

using testing::ImageBuilder;

const std::string kBlobId(64, 'a');
constexpr uint64_t kChunk = 4096;

// A v5 image with /f (3 uncompressed chunks: 4096 + 4096 + 1000 bytes, stored in the blob in
// reverse order) over a blob held by a MemBackend.
class RafsFsReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    content_.resize(2 * kChunk + 1000);
    for (size_t i = 0; i < content_.size(); ++i) content_[i] = static_cast<uint8_t>(i * 7 + i / 13);

    ImageBuilder b(format::kRafsVersionV5, 1);
    b.image().compressor = format::Compressor::kNone;
    b.image().digester = format::Digester::kBlake3;
    meta::Node* f = b.AddFile(b.root(), "f", 2, content_.size());
    Bytes blob;
    for (uint32_t i = 0; i < 3; ++i) {
      const uint32_t k = 2 - i;  // file chunk stored at position i of the blob
      const uint64_t begin = k * kChunk;
      const uint64_t len = std::min<uint64_t>(kChunk, content_.size() - begin);
      ByteSpan piece(content_.data() + begin, len);
      meta::ChunkInfo c;
      c.digest = Blake3(piece);
      c.blob_index = 0;
      c.index = k;
      c.compressed_size = c.uncompressed_size = static_cast<uint32_t>(len);
      c.compressed_offset = blob.size();
      c.uncompressed_offset = begin;
      c.file_offset = begin;
      f->inode->chunks.push_back(c);
      blob.insert(blob.end(), piece.begin(), piece.end());
    }
    std::sort(f->inode->chunks.begin(), f->inode->chunks.end(),
              [](const auto& a, const auto& b) { return a.file_offset < b.file_offset; });
    meta::BlobInfo info;
    info.blob_id = kBlobId;
    info.chunk_count = 3;
    info.compressor = format::Compressor::kNone;
    info.chunk_size = kChunk;
    info.compressed_size = info.uncompressed_size = blob.size();
    b.image().blobs.push_back(info);
    backend_.Put(kBlobId, std::move(blob));

    image_ = b.Finish();
    storage::ChunkReaderOptions ropts;
    ropts.validate_digest = true;
    reader_ = std::make_unique<storage::ChunkReader>(*image_, &backend_, ropts);
    ASSERT_OK_AND_ASSIGN(fs_, RafsFs::Create(image_, reader_.get(), {}));
  }

  // Reads [offset, offset + size) through the fs; expects exactly `want` bytes of content.
  void ExpectRead(uint64_t offset, size_t size, size_t want) {
    std::vector<uint8_t> buf(size, 0xee);
    ASSERT_OK_AND_ASSIGN(size_t n, fs_->Read(2, offset, buf));
    ASSERT_EQ(n, want) << "offset " << offset << " size " << size;
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(buf[i], content_[offset + i]) << "byte " << offset + i;
    }
  }

  Bytes content_;
  storage::MemBackend backend_;
  std::shared_ptr<const meta::Image> image_;
  std::unique_ptr<storage::ChunkReader> reader_;
  std::unique_ptr<RafsFs> fs_;
};

TEST_F(RafsFsReadTest, WholeFile) { ExpectRead(0, content_.size(), content_.size()); }

TEST_F(RafsFsReadTest, RangesAcrossChunks) {
  ExpectRead(0, 10, 10);
  ExpectRead(kChunk - 3, 10, 10);           // crosses chunk 0 → 1
  ExpectRead(100, 2 * kChunk, 2 * kChunk);  // spans all three chunks
  ExpectRead(2 * kChunk + 999, 1, 1);       // last byte
}

TEST_F(RafsFsReadTest, ShortAtEndOfFile) {
  ExpectRead(2 * kChunk + 500, 4096, 500);
  ExpectRead(0, 1 << 20, content_.size());
  ExpectRead(content_.size(), 10, 0);
  ExpectRead(content_.size() + 10, 10, 0);
}

TEST_F(RafsFsReadTest, BackendErrorsPassThrough) {
  storage::FaultyBackend faulty(&backend_);
  faulty.FailAllReads(Status::IOError("injected"));
  storage::ChunkReader reader(*image_, &faulty, {});
  ASSERT_OK_AND_ASSIGN(auto fs, RafsFs::Create(image_, &reader, {}));
  std::vector<uint8_t> buf(10);
  auto r = fs->Read(2, 0, buf);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
  EXPECT_NE(r.status().message().find("inode 2"), std::string::npos) << r.status().ToString();
}

// A blob that went away, credentials the registry stopped accepting, a refused range: for the
// file being read that is an I/O error (EIO at the FUSE edge, not ENOENT / EACCES / ERANGE),
// whether the backend's read or its (lazy, first-use) open failed; the message is kept.
TEST_F(RafsFsReadTest, DataSourceFailuresAreIOErrors) {
  for (bool at_open : {false, true}) {
    for (const Status& injected :
         {Status::NotFound("blob gone"), Status::PermissionDenied("rejected the credentials"),
          Status::OutOfRange("range not satisfiable"), Status::InvalidArgument("odd")}) {
      storage::FaultyBackend faulty(&backend_);
      if (at_open) {
        faulty.FailOpens(injected);
      } else {
        faulty.FailAllReads(injected);
      }
      storage::ChunkReader reader(*image_, &faulty, {});
      ASSERT_OK_AND_ASSIGN(auto fs, RafsFs::Create(image_, &reader, {}));
      std::vector<uint8_t> buf(10);
      auto r = fs->Read(2, 0, buf);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), StatusCode::kIOError) << r.status().ToString();
      EXPECT_NE(r.status().message().find(injected.message()), std::string::npos)
          << r.status().ToString();
    }
  }
  // Not a data-source failure: a directory is still InvalidArgument.
  std::vector<uint8_t> buf(10);
  EXPECT_EQ(fs_->Read(kRootIno, 0, buf).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(RafsFsReadTest, CorruptDataIsAnErrorNotWrongBytes) {
  storage::FaultyBackend faulty(&backend_);
  faulty.FlipBit(kBlobId, 0, 3);  // blob position 0 holds file chunk 2
  storage::ChunkReaderOptions ropts;
  ropts.validate_digest = true;
  storage::ChunkReader reader(*image_, &faulty, ropts);
  ASSERT_OK_AND_ASSIGN(auto fs, RafsFs::Create(image_, &reader, {}));
  std::vector<uint8_t> buf(100);
  ASSERT_OK_AND_ASSIGN(size_t n, fs->Read(2, 0, buf));  // chunk 0 is intact
  EXPECT_EQ(n, 100u);
  EXPECT_EQ(fs->Read(2, 2 * kChunk, buf).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace nydus::fs
