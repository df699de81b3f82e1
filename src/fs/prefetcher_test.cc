// Prefetcher over a hand-made v5 image with two blobs held by a MemBackend behind a backend
// that logs every request: the separated prefetch blob (format::kBlobSeparatedPrefetch) is
// fetched first, whole and in stored order, and nothing is fetched twice or without cause.
#include "fs/prefetcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "base/digest.h"
#include "format/rafs.h"
#include "fs/fs_test_util.h"
#include "meta/tree_image_view.h"
#include "storage/chunk_reader.h"
#include "storage/fake_backend.h"
#include "testing/test_util.h"

namespace nydus::fs {
namespace {

using testing::ImageBuilder;

constexpr uint64_t kChunk = 4096;
const std::string kPlainBlob(64, 'a');      // blob 0: the image's own data
const std::string kSeparatedBlob(64, 'b');  // blob 1: what `optimize` appends

struct Request {
  std::string blob;
  uint64_t offset = 0;
  uint64_t size = 0;
  bool operator==(const Request&) const = default;
};

// Forwards to a base backend and logs every ReadAt, in the order they reach it.
class LoggingBackend : public storage::BlobBackend {
 public:
  explicit LoggingBackend(storage::BlobBackend* base) : base_(base) {}

  Result<std::shared_ptr<storage::BlobReader>> Open(const std::string& blob_id) override {
    ASSIGN_OR_RETURN(std::shared_ptr<storage::BlobReader> r, base_->Open(blob_id));
    return std::shared_ptr<storage::BlobReader>(new Reader(this, blob_id, std::move(r)));
  }
  std::string type() const override { return "logging(" + base_->type() + ")"; }

  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }

 private:
  class Reader : public storage::BlobReader {
   public:
    Reader(LoggingBackend* owner, std::string id, std::shared_ptr<storage::BlobReader> base)
        : owner_(owner), id_(std::move(id)), base_(std::move(base)) {}
    Result<uint64_t> Size() override { return base_->Size(); }
    Status ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
      {
        std::lock_guard<std::mutex> lock(owner_->mu_);
        owner_->log_.push_back({id_, offset, buf.size()});
      }
      return base_->ReadAt(offset, buf);
    }

   private:
    LoggingBackend* owner_;
    std::string id_;
    std::shared_ptr<storage::BlobReader> base_;
  };

  storage::BlobBackend* base_;
  mutable std::mutex mu_;
  std::vector<Request> log_;  // guarded by mu_
};

// Forwards to a view and counts the calls that walking the tree makes.
class CountingView : public meta::ImageView {
 public:
  explicit CountingView(const meta::ImageView* base) : base_(base) {}
  const meta::Image& header() const override { return base_->header(); }
  uint64_t root_id() const override { return base_->root_id(); }
  uint64_t inode_count() const override { return base_->inode_count(); }
  uint64_t BlockCount(uint32_t bsize) const override { return base_->BlockCount(bsize); }
  Result<meta::InodeAttrs> GetInode(uint64_t id) const override {
    ++calls_;
    return base_->GetInode(id);
  }
  Result<meta::ViewEntry> Lookup(uint64_t dir, std::string_view name) const override {
    return base_->Lookup(dir, name);
  }
  Status ReadDir(uint64_t dir, uint64_t offset, const DirFn& fn) const override {
    ++calls_;
    return base_->ReadDir(dir, offset, fn);
  }
  Result<std::string> ReadLink(uint64_t id) const override { return base_->ReadLink(id); }
  Result<std::vector<meta::Xattr>> Xattrs(uint64_t id) const override { return base_->Xattrs(id); }
  Status Chunks(uint64_t id, uint64_t offset, uint64_t len,
                std::vector<meta::ChunkInfo>* out) const override {
    ++calls_;
    return base_->Chunks(id, offset, len, out);
  }
  uint64_t calls() const { return calls_.load(); }

 private:
  const meta::ImageView* base_;
  mutable std::atomic<uint64_t> calls_{0};
};

// A v5 image laid out as `nydus-image optimize` leaves it (uncompressed chunks):
//   /a      3 chunks, all copied to blob 1 (stored in the order 2, 0, 1: first access)
//   /d/c    2 chunks: chunk 0 copied to blob 1 (stored first), chunk 1 still in blob 0
//   /d/e    a hardlink to /a
//   /b      2 chunks in blob 0, not read by the workload
// Blob 1 carries kBlobSeparatedPrefetch when `flag` is set.
class PrefetcherTest : public ::testing::Test {
 protected:
  void Build(bool flag, std::vector<std::string> table = {}) {
    ImageBuilder b(format::kRafsVersionV5, 1);
    b.image().prefetch = std::move(table);
    b.image().compressor = format::Compressor::kNone;
    b.image().digester = format::Digester::kBlake3;
    meta::Node* a = b.AddFile(b.root(), "a", 2, 3 * kChunk - 100);
    meta::Node* d = b.AddDir(b.root(), "d", 3);
    meta::Node* c = b.AddFile(d, "c", 4, 2 * kChunk - 7);
    meta::Node* f = b.AddFile(b.root(), "b", 5, 2 * kChunk);
    a->inode->nlink = 2;
    file_a_ = a->inode;
    b.Add(d, "e", a->inode);

    AddChunk(c, 0, 1);
    AddChunk(a, 2, 1);
    AddChunk(a, 0, 1);
    AddChunk(a, 1, 1);
    AddChunk(f, 0, 0);
    AddChunk(c, 1, 0);
    AddChunk(f, 1, 0);
    for (meta::Node* n : {a, c, f}) {
      std::sort(n->inode->chunks.begin(), n->inode->chunks.end(),
                [](const auto& x, const auto& y) { return x.file_offset < y.file_offset; });
    }
    for (uint32_t i = 0; i < 2; ++i) {
      meta::BlobInfo info;
      info.blob_id = i == 0 ? kPlainBlob : kSeparatedBlob;
      info.chunk_count = static_cast<uint32_t>(chunks_[i].size());
      info.compressor = format::Compressor::kNone;
      info.chunk_size = kChunk;
      info.compressed_size = info.uncompressed_size = blobs_[i].size();
      if (i == 1 && flag) info.features = format::kBlobSeparatedPrefetch;
      b.image().blobs.push_back(info);
      mem_.Put(info.blob_id, blobs_[i]);
    }
    image_ = b.Finish();
    ASSERT_OK_AND_ASSIGN(view_, meta::TreeImageView::Create(image_));
    counting_ = std::make_unique<CountingView>(view_.get());
    storage::ChunkReaderOptions ropts;
    ropts.validate_digest = true;
    ropts.work_dir = dir_.path();
    reader_ = std::make_unique<storage::ChunkReader>(*image_, &backend_, ropts);
  }

  // Appends chunk `k` of `node`'s file to blob `blob` (content: a function of inode, offset).
  void AddChunk(meta::Node* node, uint32_t k, uint32_t blob) {
    const uint64_t begin = k * kChunk;
    const uint64_t len = std::min<uint64_t>(kChunk, node->inode->size - begin);
    Bytes piece(len);
    for (size_t i = 0; i < len; ++i) {
      piece[i] = static_cast<uint8_t>(node->inode->ino * 31 + (begin + i) * 7 + (begin + i) / 13);
    }
    meta::ChunkInfo ch;
    ch.digest = Blake3(piece);
    ch.blob_index = blob;
    ch.index = static_cast<uint32_t>(chunks_[blob].size());
    ch.compressed_size = ch.uncompressed_size = static_cast<uint32_t>(len);
    ch.compressed_offset = ch.uncompressed_offset = blobs_[blob].size();
    ch.file_offset = begin;
    node->inode->chunks.push_back(ch);
    chunks_[blob].push_back(ch);
    blobs_[blob].insert(blobs_[blob].end(), piece.begin(), piece.end());
  }

  // Runs a prefetcher to its end over the counting view.
  Prefetcher::Stats Run(PrefetchOptions opts, std::vector<std::string> paths = {}) {
    std::unique_ptr<Prefetcher> p =
        Prefetcher::Start(counting_.get(), reader_.get(), opts, std::move(paths));
    p->Wait();
    return p->stats();
  }

  // The ranges of blob `blob` fetched, sorted, must tile exactly [0, size of the blob).
  void ExpectWholeBlobOnce(const std::vector<Request>& log, uint32_t blob) {
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const Request& r : log) {
      if (r.blob == image_->blobs[blob].blob_id) ranges.push_back({r.offset, r.size});
    }
    std::sort(ranges.begin(), ranges.end());
    uint64_t end = 0;
    for (const auto& [off, size] : ranges) {
      EXPECT_EQ(off, end) << "blob " << blob << ": gap or overlap";
      end = off + size;
    }
    EXPECT_EQ(end, blobs_[blob].size()) << "blob " << blob;
  }

  ::nydus::testing::TempDir dir_;
  storage::MemBackend mem_;
  LoggingBackend backend_{&mem_};
  Bytes blobs_[2];
  std::vector<meta::ChunkInfo> chunks_[2];  // per blob, in stored order
  std::shared_ptr<const meta::Inode> file_a_;
  std::shared_ptr<const meta::Image> image_;
  std::shared_ptr<const meta::TreeImageView> view_;
  std::unique_ptr<CountingView> counting_;
  std::unique_ptr<storage::ChunkReader> reader_;
};

TEST_F(PrefetcherTest, SeparatedBlobIsFetchedWholeInOneRequest) {
  Build(/*flag=*/true);
  PrefetchOptions opts;
  opts.threads = 4;
  Prefetcher::Stats s = Run(opts);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.chunks, 4u);
  EXPECT_EQ(s.bytes_planned, blobs_[1].size());
  EXPECT_EQ(s.files, 2u);  // /a (also /d/e) and /d/c
  EXPECT_EQ(s.batches_done, 1u);
  EXPECT_EQ(s.errors, 0u);
  // The four chunks are adjacent and under batch_size: one request for the whole blob.
  EXPECT_EQ(backend_.requests(), (std::vector<Request>{{kSeparatedBlob, 0, blobs_[1].size()}}));
  for (const meta::ChunkInfo& c : chunks_[1]) EXPECT_TRUE(reader_->IsReady(c)) << c.index;
  for (const meta::ChunkInfo& c : chunks_[0]) EXPECT_FALSE(reader_->IsReady(c)) << c.index;

  // What was fetched is the right data: /a reads back from the cache alone.
  const meta::Inode& a = *file_a_;
  Bytes out(a.size);
  ASSERT_OK_AND_ASSIGN(size_t n, reader_->ReadFile(a.chunks, a.size, 0, out));
  EXPECT_EQ(n, a.size);
  EXPECT_EQ(backend_.requests().size(), 1u);
}

TEST_F(PrefetcherTest, SeparatedBlobBatchesGoOutInStoredOrder) {
  Build(/*flag=*/true);
  PrefetchOptions opts;
  opts.threads = 1;
  opts.batch_size = 1;  // one chunk per batch
  Prefetcher::Stats s = Run(opts);
  EXPECT_EQ(s.chunks, 4u);
  EXPECT_EQ(s.batches_done, 4u);
  std::vector<Request> want;
  for (const meta::ChunkInfo& c : chunks_[1]) {
    want.push_back({kSeparatedBlob, c.compressed_offset, c.compressed_size});
  }
  EXPECT_EQ(backend_.requests(), want);
}

// The list comes after the separated blob, and its chunks already fetched there are not
// planned again; prefetch_all likewise. One worker and one chunk per batch: the log is the plan.
TEST_F(PrefetcherTest, ListFollowsWithoutRefetching) {
  Build(/*flag=*/true);
  PrefetchOptions opts;
  opts.threads = 1;
  opts.batch_size = 1;
  Prefetcher::Stats s = Run(opts, {"/b", "/a", "/d"});
  EXPECT_EQ(s.chunks, 7u);
  EXPECT_EQ(s.files, 3u);
  EXPECT_EQ(s.bytes_planned, blobs_[0].size() + blobs_[1].size());
  EXPECT_EQ(s.errors, 0u);
  std::vector<Request> want;
  for (uint32_t blob : {1, 0}) {
    for (const meta::ChunkInfo& c : chunks_[blob]) {
      want.push_back({image_->blobs[blob].blob_id, c.compressed_offset, c.compressed_size});
    }
  }
  EXPECT_EQ(backend_.requests(), want);
}

TEST_F(PrefetcherTest, PrefetchAllFollowsWithoutRefetching) {
  Build(/*flag=*/true);
  PrefetchOptions opts;
  opts.threads = 1;
  opts.prefetch_all = true;
  Prefetcher::Stats s = Run(opts, {"/d/c"});
  EXPECT_EQ(s.chunks, 7u);
  EXPECT_EQ(s.files, 3u);
  EXPECT_EQ(s.bytes_planned, blobs_[0].size() + blobs_[1].size());
  EXPECT_EQ(s.errors, 0u);
  // Phase 0: blob 1 in one request; the list: /d/c's chunk 1; then the rest of blob 0 (/b's
  // two chunks, not adjacent: two requests).
  const meta::ChunkInfo& b0 = chunks_[0][0];
  const meta::ChunkInfo& c1 = chunks_[0][1];
  const meta::ChunkInfo& b1 = chunks_[0][2];
  EXPECT_EQ(backend_.requests(),
            (std::vector<Request>{{kSeparatedBlob, 0, blobs_[1].size()},
                                  {kPlainBlob, c1.compressed_offset, c1.compressed_size},
                                  {kPlainBlob, b0.compressed_offset, b0.compressed_size},
                                  {kPlainBlob, b1.compressed_offset, b1.compressed_size}}));
}

// With several workers the plan is the same and every byte is fetched once.
TEST_F(PrefetcherTest, SeveralWorkersFetchEachByteOnce) {
  Build(/*flag=*/true);
  PrefetchOptions opts;
  opts.threads = 4;
  opts.batch_size = 1;
  opts.prefetch_all = true;
  Prefetcher::Stats s = Run(opts);
  EXPECT_EQ(s.chunks, 7u);
  EXPECT_EQ(s.files, 3u);
  EXPECT_EQ(s.batches_done, 7u);
  EXPECT_EQ(s.errors, 0u);
  std::vector<Request> log = backend_.requests();
  EXPECT_EQ(log.size(), 7u);
  ExpectWholeBlobOnce(log, 0);
  ExpectWholeBlobOnce(log, 1);
}

// Without the feature bit, blob 1 is an ordinary blob: only the list is fetched.
TEST_F(PrefetcherTest, WithoutTheFlagOnlyTheListIsFetched) {
  Build(/*flag=*/false);
  PrefetchOptions opts;
  opts.threads = 1;
  opts.batch_size = 1;
  Prefetcher::Stats s = Run(opts, {"/b"});
  EXPECT_EQ(s.chunks, 2u);
  EXPECT_EQ(s.files, 1u);
  const meta::ChunkInfo& b0 = chunks_[0][0];
  const meta::ChunkInfo& b1 = chunks_[0][2];
  std::vector<Request> want{{kPlainBlob, b0.compressed_offset, b0.compressed_size},
                            {kPlainBlob, b1.compressed_offset, b1.compressed_size}};
  EXPECT_EQ(backend_.requests(), want);
}

// nydusify's default table "/" means everything, except on an image with a separated
// prefetch blob: there it means the blob. An explicit "/" (or prefetch_all) still means all.
TEST_F(PrefetcherTest, DefaultRootTableMeansTheSeparatedBlob) {
  Build(/*flag=*/true, {"/"});
  PrefetchOptions opts;
  opts.threads = 1;
  Prefetcher::Stats s = Run(opts);
  EXPECT_EQ(s.chunks, 4u);
  EXPECT_EQ(backend_.requests(), (std::vector<Request>{{kSeparatedBlob, 0, blobs_[1].size()}}));
}

TEST_F(PrefetcherTest, ExplicitRootListStillMeansEverything) {
  Build(/*flag=*/true, {"/"});
  PrefetchOptions opts;
  opts.threads = 1;
  Prefetcher::Stats s = Run(opts, {"/"});
  EXPECT_EQ(s.chunks, 7u);
  ExpectWholeBlobOnce(backend_.requests(), 0);
  ExpectWholeBlobOnce(backend_.requests(), 1);
}

TEST_F(PrefetcherTest, RootTableWithoutSeparatedBlobMeansEverything) {
  Build(/*flag=*/false, {"/"});
  PrefetchOptions opts;
  opts.threads = 1;
  Prefetcher::Stats s = Run(opts);
  EXPECT_EQ(s.chunks, 7u);
}

TEST_F(PrefetcherTest, NothingFlaggedAndNoListFetchesNothingAndWalksNothing) {
  Build(/*flag=*/false);
  PrefetchOptions opts;
  Prefetcher::Stats s = Run(opts);
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.chunks, 0u);
  EXPECT_EQ(s.files, 0u);
  EXPECT_EQ(s.bytes_planned, 0u);
  EXPECT_EQ(s.batches_done, 0u);
  EXPECT_TRUE(backend_.requests().empty());
  EXPECT_EQ(counting_->calls(), 0u);  // no walk of the tree
}

}  // namespace
}  // namespace nydus::fs
