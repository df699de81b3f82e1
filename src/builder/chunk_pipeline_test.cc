#include "builder/chunk_pipeline.h"

#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "compress/compressor.h"
#include "testing/test_util.h"

namespace nydus::builder {
namespace {

constexpr uint32_t kChunk = 0x1000;

using ::nydus::testing::RandomBytes;

Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// A source tree on disk plus the inodes the walker would have produced for it.
class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Bytes r0 = RandomBytes(kChunk, 1), r1 = RandomBytes(kChunk, 2);
    Bytes text(3 * kChunk + 100);
    for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<uint8_t>("abcab\n"[i % 6]);
    // a: chunks r0 r1 r0 + short tail (dedup inside the file).
    AddFile("a", Concat({r0, r1, r0, RandomBytes(1500, 3)}));
    AddFile("b", Concat({r1, RandomBytes(kChunk, 4)}));  // r1 dedups across files
    AddFile("empty", {});
    AddFile("text", text);
    AddSparse("sparse", 10 * kChunk + 10);  // zero chunks dedup, short zero tail
    AddFile("copy", Concat({r0, r1, r0, RandomBytes(1500, 3)}));  // same as a
  }

  void AddFile(const std::string& name, const Bytes& data) {
    ASSERT_OK(WriteWholeFile(dir_.Join(name), data));
    AddInode(name, data.size());
  }
  void AddSparse(const std::string& name, uint64_t size) {
    UniqueFd fd(::open(dir_.Join(name).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
    AddInode(name, size);
  }
  void AddInode(const std::string& name, uint64_t size) {
    auto inode = std::make_shared<meta::Inode>();
    inode->mode = S_IFREG | 0644;
    inode->size = size;
    inodes_[name] = inode;
    files_.emplace_back(inode.get(), dir_.Join(name));
  }

  BlobWriterOptions Options() const {
    BlobWriterOptions o;
    o.chunk_size = kChunk;
    o.blob_toc = true;
    return o;
  }

  // Builds the blob with `threads` workers (0: no pool); returns its bytes.
  Bytes Build(size_t threads, size_t window, meta::BlobInfo* info = nullptr,
              ChunkDict* dict = nullptr) {
    ChunkDict own(format::Digester::kBlake3);
    if (dict == nullptr) dict = &own;
    std::unique_ptr<ThreadPool> pool;
    if (threads > 0) pool = std::make_unique<ThreadPool>(threads);
    std::string path = out_.Join("blob" + std::to_string(builds_++));
    auto w = BlobWriter::Create(path, Options());
    EXPECT_OK(w.status());
    if (!w.ok()) return {};
    ChunkPipelineOptions popts;
    popts.window_chunks = window;
    EXPECT_OK(WriteFileData(files_, dict, w->get(), pool.get(), popts));
    auto fin = (*w)->Finish();
    EXPECT_OK(fin.status());
    if (info && fin.ok()) *info = *fin;
    auto bytes = ReadWholeFile(path);
    EXPECT_OK(bytes.status());
    return bytes.ok() ? *bytes : Bytes();
  }

  const std::vector<meta::ChunkInfo>& Chunks(const std::string& name) {
    return inodes_[name]->chunks;
  }

  testing::TempDir dir_, out_;
  std::map<std::string, std::shared_ptr<meta::Inode>> inodes_;
  std::vector<std::pair<meta::Inode*, std::string>> files_;
  int builds_ = 0;
};

TEST_F(PipelineTest, SameBytesForAnyThreadCountAndWindow) {
  Bytes base = Build(0, 0);
  ASSERT_FALSE(base.empty());
  auto base_chunks = Chunks("a");
  for (size_t threads : {1, 2, 4}) {
    for (size_t window : {0, 1, 3}) {
      EXPECT_EQ(Build(threads, window), base) << threads << " threads, window " << window;
      ASSERT_EQ(Chunks("a").size(), base_chunks.size());
      for (size_t i = 0; i < base_chunks.size(); ++i) {
        EXPECT_EQ(Chunks("a")[i].compressed_offset, base_chunks[i].compressed_offset);
      }
    }
  }
}

TEST_F(PipelineTest, ChunkingAndDedup) {
  meta::BlobInfo info;
  Bytes blob = Build(2, 0, &info);
  const auto& a = Chunks("a");
  ASSERT_EQ(a.size(), 4u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].file_offset, i * kChunk);
  EXPECT_EQ(a[3].uncompressed_size, 1500u);
  // Within a file: chunk 2 is chunk 0.
  EXPECT_EQ(a[2].index, a[0].index);
  EXPECT_EQ(a[2].compressed_offset, a[0].compressed_offset);
  // Across files.
  ASSERT_EQ(Chunks("b").size(), 2u);
  EXPECT_EQ(Chunks("b")[0].index, a[1].index);
  EXPECT_EQ(Chunks("b")[0].file_offset, 0u);
  ASSERT_EQ(Chunks("copy").size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(Chunks("copy")[i].index, a[i].index);
  EXPECT_TRUE(Chunks("empty").empty());
  // Sparse: ten identical zero chunks plus a 10-byte zero tail.
  const auto& s = Chunks("sparse");
  ASSERT_EQ(s.size(), 11u);
  for (size_t i = 1; i < 10; ++i) EXPECT_EQ(s[i].index, s[0].index);
  EXPECT_NE(s[10].index, s[0].index);
  EXPECT_EQ(s[10].uncompressed_size, 10u);
  // Distinct chunks: a(3) + b(1) + text(4) + sparse(2).
  EXPECT_EQ(info.chunk_count, 10u);
  // Indexes and offsets follow commit order.
  EXPECT_EQ(a[0].index, 0u);
  EXPECT_EQ(a[1].compressed_offset, a[0].compressed_size);
  EXPECT_EQ(Chunks("text")[0].uncompressed_offset, 4u * kChunk);  // after a(3) and b(1)
  EXPECT_TRUE(Chunks("text")[0].compressed());
  EXPECT_FALSE(a[0].compressed());  // random data is stored raw

  // Every chunk reads back as the file's bytes.
  for (const auto& [name, inode] : inodes_) {
    ASSERT_OK_AND_ASSIGN(Bytes want, ReadWholeFile(dir_.Join(name)));
    for (const meta::ChunkInfo& c : inode->chunks) {
      Bytes got(c.uncompressed_size);
      ASSERT_OK(compress::Decompress(
          c.compressed() ? format::Compressor::kZstd : format::Compressor::kNone,
          ByteSpan(blob).subspan(c.compressed_offset, c.compressed_size), got));
      EXPECT_EQ(got, Bytes(want.begin() + c.file_offset,
                           want.begin() + c.file_offset + c.uncompressed_size))
          << name << " @" << c.file_offset;
      EXPECT_EQ(c.digest, Blake3(got));
    }
  }
}

TEST_F(PipelineTest, DedupAgainstParentWritesNothing) {
  meta::BlobInfo first;
  Build(2, 0, &first);
  meta::Image parent;
  parent.digester = format::Digester::kBlake3;
  parent.blobs = {first};
  parent.root = std::make_unique<meta::Node>();
  parent.root->name = "/";
  parent.root->inode = std::make_shared<meta::Inode>();
  parent.root->inode->mode = S_IFDIR | 0755;
  for (const auto& [name, inode] : inodes_) {
    auto node = std::make_unique<meta::Node>();
    node->name = name;
    node->inode = std::make_shared<meta::Inode>(*inode);
    parent.root->PutChild(std::move(node));
  }
  auto before = Chunks("text");
  ChunkDict dict(format::Digester::kBlake3);
  ASSERT_OK(dict.AddParent(parent));
  meta::BlobInfo second;
  Bytes blob = Build(2, 0, &second, &dict);
  EXPECT_TRUE(blob.empty());
  EXPECT_EQ(second.chunk_count, 0u);
  EXPECT_FALSE(dict.new_blob_index().has_value());
  ASSERT_EQ(Chunks("text").size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(Chunks("text")[i].blob_index, 0u);
    EXPECT_EQ(Chunks("text")[i].compressed_offset, before[i].compressed_offset);
    EXPECT_EQ(Chunks("text")[i].file_offset, before[i].file_offset);
  }
}

TEST_F(PipelineTest, NewBlobIndexFollowsParentBlobs) {
  ChunkDict dict(format::Digester::kBlake3);
  meta::Image parent;
  parent.blobs.resize(2);
  parent.root = std::make_unique<meta::Node>();
  parent.root->inode = std::make_shared<meta::Inode>();
  parent.root->inode->mode = S_IFDIR | 0755;
  ASSERT_OK(dict.AddParent(parent));
  Build(1, 0, nullptr, &dict);
  EXPECT_EQ(dict.new_blob_index(), 2u);
  for (const auto& c : Chunks("a")) EXPECT_EQ(c.blob_index, 2u);
}

TEST_F(PipelineTest, HardlinkedInodeDoneOnce) {
  files_.push_back(files_.front());  // second name of "a"
  meta::BlobInfo info;
  Build(2, 0, &info);
  EXPECT_EQ(Chunks("a").size(), 4u);
  EXPECT_EQ(info.chunk_count, 10u);
}

TEST_F(PipelineTest, SizeMismatchNamesTheFile) {
  inodes_["text"]->size += 1;
  ChunkDict dict(format::Digester::kBlake3);
  ASSERT_OK_AND_ASSIGN(auto w, BlobWriter::Create(out_.Join("x"), Options()));
  Status st = WriteFileData(files_, &dict, w.get(), nullptr);
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_NE(st.message().find(dir_.Join("text")), std::string::npos) << st.ToString();
}

TEST_F(PipelineTest, MissingFileIsAnError) {
  AddInode("does-not-exist", 10);
  ChunkDict dict(format::Digester::kBlake3);
  ASSERT_OK_AND_ASSIGN(auto w, BlobWriter::Create(out_.Join("x"), Options()));
  Status st = WriteFileData(files_, &dict, w.get(), nullptr);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("does-not-exist"), std::string::npos) << st.ToString();
}

TEST_F(PipelineTest, DigesterMismatchRejected) {
  ChunkDict dict(format::Digester::kSha256);
  ASSERT_OK_AND_ASSIGN(auto w, BlobWriter::Create(out_.Join("x"), Options()));
  EXPECT_EQ(WriteFileData(files_, &dict, w.get(), nullptr).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nydus::builder
