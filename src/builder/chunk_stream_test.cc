#include "builder/chunk_stream.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "compress/compressor.h"
#include "testing/test_util.h"

namespace nydus::builder {
namespace {

constexpr uint32_t kChunk = 0x1000;

using ::nydus::testing::RandomBytes;

Bytes TextBytes(size_t n, uint32_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>("abcdefgh\n"[(i + seed) % 9]);
  return b;
}

// A stream of files whose chunks come from a small palette, so that the same chunk comes
// back within a window and many windows later; plus short tails and an empty file.
struct StreamSpec {
  std::vector<Bytes> files;
  size_t total_chunks = 0;
};

StreamSpec MakeSpec() {
  std::vector<Bytes> palette;
  for (uint32_t i = 0; i < 6; ++i) palette.push_back(RandomBytes(kChunk, 100 + i));
  for (uint32_t i = 0; i < 4; ++i) palette.push_back(TextBytes(kChunk, i));
  palette.push_back(Bytes(kChunk, 0));
  std::mt19937 rng(7);
  StreamSpec spec;
  for (int f = 0; f < 40; ++f) {
    Bytes data;
    const size_t chunks = rng() % 7;  // 0..6 full chunks
    for (size_t c = 0; c < chunks; ++c) {
      const Bytes& p = palette[rng() % palette.size()];
      data.insert(data.end(), p.begin(), p.end());
    }
    if (rng() % 2) {  // a short tail, sometimes repeated elsewhere
      Bytes tail = TextBytes(1 + rng() % 3 * 700, static_cast<uint32_t>(rng() % 3));
      data.insert(data.end(), tail.begin(), tail.end());
    }
    spec.total_chunks += (data.size() + kChunk - 1) / kChunk;
    spec.files.push_back(std::move(data));
  }
  return spec;
}

std::string Describe(const meta::ChunkInfo& c) {
  std::ostringstream s;
  s << DigestHex(c.digest) << " b" << c.blob_index << " i" << c.index << " f" << c.file_offset
    << " c" << c.compressed_offset << "+" << c.compressed_size << " u" << c.uncompressed_offset
    << "+" << c.uncompressed_size << " fl" << c.flags;
  return s.str();
}

struct Output {
  Bytes blob;
  meta::BlobInfo info;
  std::vector<std::vector<meta::ChunkInfo>> chunks;  // per file
  std::string Text() const {
    std::ostringstream s;
    for (size_t f = 0; f < chunks.size(); ++f) {
      for (const auto& c : chunks[f]) s << f << ": " << Describe(c) << "\n";
    }
    return s.str();
  }
};

BlobWriterOptions WriterOptions() {
  BlobWriterOptions o;
  o.chunk_size = kChunk;
  o.blob_toc = true;
  return o;
}

// Streams `spec` through a ChunkStream (threads 0: no pool).
Output RunStream(const StreamSpec& spec, size_t threads, size_t window, ChunkDict* dict,
                 const std::string& path) {
  Output out;
  std::unique_ptr<ThreadPool> pool;
  if (threads > 0) pool = std::make_unique<ThreadPool>(threads);
  auto w = BlobWriter::Create(path, WriterOptions());
  EXPECT_OK(w.status());
  if (!w.ok()) return out;
  std::vector<std::shared_ptr<meta::Inode>> inodes;
  {
    ChunkStream stream(dict, w->get(), pool.get(), window);
    if (window > 0) {
      EXPECT_EQ(stream.window(), window);
    }
    for (const Bytes& data : spec.files) {
      auto inode = std::make_shared<meta::Inode>();
      inode->mode = S_IFREG | 0644;
      inode->size = data.size();
      inodes.push_back(inode);
      for (uint64_t off = 0; off < data.size(); off += kChunk) {
        const auto n = static_cast<uint32_t>(std::min<uint64_t>(kChunk, data.size() - off));
        auto buf = stream.NextBuffer(inode.get(), off, n);
        EXPECT_OK(buf.status());
        if (!buf.ok()) return out;
        std::memcpy(*buf, data.data() + off, n);
      }
    }
    EXPECT_OK(stream.Flush());
  }
  auto fin = (*w)->Finish();
  EXPECT_OK(fin.status());
  if (fin.ok()) out.info = *fin;
  auto bytes = ReadWholeFile(path);
  if (bytes.ok()) out.blob = *bytes;  // no file: an empty blob was removed
  for (const auto& inode : inodes) out.chunks.push_back(inode->chunks);
  return out;
}

// The oracle: one chunk at a time, no stream, no threads: the first copy of each chunk is
// written, every later copy (and every chunk the dict had) referenced.
Output RunSequential(const StreamSpec& spec, ChunkDict* dict, const std::string& path) {
  Output out;
  auto w = BlobWriter::Create(path, WriterOptions());
  EXPECT_OK(w.status());
  if (!w.ok()) return out;
  for (const Bytes& data : spec.files) {
    std::vector<meta::ChunkInfo> chunks;
    for (uint64_t off = 0; off < data.size(); off += kChunk) {
      const ByteSpan piece =
          ByteSpan(data).subspan(off, std::min<uint64_t>(kChunk, data.size() - off));
      const Digest d = Blake3(piece);
      meta::ChunkInfo info;
      if (const ChunkDict::Entry* e = dict->Find(d, static_cast<uint32_t>(piece.size()))) {
        auto used = dict->Use(*e);
        EXPECT_OK(used.status());
        info = *used;
      } else {
        auto idx = dict->NewBlobIndex();
        EXPECT_OK(idx.status());
        if ((*w)->options().blob_index != *idx) EXPECT_OK((*w)->SetBlobIndex(*idx));
        auto prepared = PrepareChunk(piece, d, format::Compressor::kZstd);
        EXPECT_OK(prepared.status());
        auto added = (*w)->AddPreparedChunk(*prepared);
        EXPECT_OK(added.status());
        info = *added;
        dict->AddBuiltChunk(info);
      }
      info.file_offset = off;
      chunks.push_back(info);
    }
    out.chunks.push_back(std::move(chunks));
  }
  auto fin = (*w)->Finish();
  EXPECT_OK(fin.status());
  if (fin.ok()) out.info = *fin;
  auto bytes = ReadWholeFile(path);
  if (bytes.ok()) out.blob = *bytes;
  return out;
}

TEST(ChunkStreamTest, SameBytesAsSequentialForAnyThreadsAndWindow) {
  testing::TempDir tmp;
  const StreamSpec spec = MakeSpec();
  ASSERT_GT(spec.total_chunks, 100u);
  ChunkDict oracle_dict(format::Digester::kBlake3);
  const Output want = RunSequential(spec, &oracle_dict, tmp.Join("oracle"));
  ASSERT_FALSE(want.blob.empty());
  // Dedup really happened, inside windows and across them: at most 11 palette chunks and
  // 9 distinct tails.
  EXPECT_LE(want.info.chunk_count, 20u);
  int n = 0;
  for (size_t threads : {0, 1, 2, 4}) {
    for (size_t window : {1, 2, 3, 5, 16, 0}) {
      SCOPED_TRACE(std::to_string(threads) + " threads, window " + std::to_string(window));
      ChunkDict dict(format::Digester::kBlake3);
      const Output got =
          RunStream(spec, threads, window, &dict, tmp.Join("blob" + std::to_string(n++)));
      EXPECT_TRUE(got.blob == want.blob) << "blob bytes differ";
      EXPECT_EQ(got.Text(), want.Text());
      EXPECT_EQ(got.info.chunk_count, want.info.chunk_count);
      EXPECT_EQ(got.info.blob_id, want.info.blob_id);
      EXPECT_EQ(dict.size(), oracle_dict.size());
    }
  }
}

// Chunks a parent bootstrap holds are referenced (blob 0), never written again; the others
// go to the new blob (index 1), each once.
TEST(ChunkStreamTest, DictChunksAreReferencedNotWritten) {
  testing::TempDir tmp;
  StreamSpec first = MakeSpec();
  first.files.resize(first.files.size() / 2);
  ChunkDict first_dict(format::Digester::kBlake3);
  const Output base = RunStream(first, 2, 3, &first_dict, tmp.Join("first"));
  ASSERT_GT(base.info.chunk_count, 0u);

  meta::Image parent;
  parent.digester = format::Digester::kBlake3;
  parent.blobs = {base.info};
  parent.root = std::make_unique<meta::Node>();
  parent.root->name = "/";
  parent.root->inode = std::make_shared<meta::Inode>();
  parent.root->inode->mode = S_IFDIR | 0755;
  for (size_t f = 0; f < base.chunks.size(); ++f) {
    auto node = std::make_unique<meta::Node>();
    node->name = "f" + std::to_string(f);
    node->inode = std::make_shared<meta::Inode>();
    node->inode->mode = S_IFREG | 0644;
    node->inode->size = first.files[f].size();
    node->inode->chunks = base.chunks[f];
    parent.root->PutChild(std::move(node));
  }

  const StreamSpec full = MakeSpec();  // the first half again, then new files
  ChunkDict oracle_dict(format::Digester::kBlake3);
  ASSERT_OK(oracle_dict.AddParent(parent));
  const Output want = RunSequential(full, &oracle_dict, tmp.Join("oracle"));
  for (size_t f = 0; f < first.files.size(); ++f) {
    for (const auto& c : want.chunks[f]) EXPECT_EQ(c.blob_index, 0u) << "file " << f;
  }
  int n = 0;
  for (size_t threads : {0, 2, 4}) {
    for (size_t window : {1, 4, 0}) {
      SCOPED_TRACE(std::to_string(threads) + " threads, window " + std::to_string(window));
      ChunkDict dict(format::Digester::kBlake3);
      ASSERT_OK(dict.AddParent(parent));
      const Output got =
          RunStream(full, threads, window, &dict, tmp.Join("blob" + std::to_string(n++)));
      EXPECT_TRUE(got.blob == want.blob);
      EXPECT_EQ(got.Text(), want.Text());
      EXPECT_EQ(got.info.chunk_count, want.info.chunk_count);
    }
  }
}

TEST(ChunkStreamTest, EveryChunkReadsBack) {
  testing::TempDir tmp;
  const StreamSpec spec = MakeSpec();
  ChunkDict dict(format::Digester::kBlake3);
  const Output got = RunStream(spec, 2, 2, &dict, tmp.Join("blob"));
  for (size_t f = 0; f < spec.files.size(); ++f) {
    const Bytes& data = spec.files[f];
    ASSERT_EQ(got.chunks[f].size(), (data.size() + kChunk - 1) / kChunk);
    for (const meta::ChunkInfo& c : got.chunks[f]) {
      Bytes out(c.uncompressed_size);
      ASSERT_OK(compress::Decompress(
          c.compressed() ? format::Compressor::kZstd : format::Compressor::kNone,
          ByteSpan(got.blob).subspan(c.compressed_offset, c.compressed_size), out));
      EXPECT_TRUE(out == Bytes(data.begin() + static_cast<std::ptrdiff_t>(c.file_offset),
                               data.begin() + static_cast<std::ptrdiff_t>(c.file_offset +
                                                                          c.uncompressed_size)))
          << "file " << f << " @" << c.file_offset;
    }
  }
}

TEST(ChunkStreamTest, BadRequestsAndMismatchedDigesters) {
  testing::TempDir tmp;
  ASSERT_OK_AND_ASSIGN(auto w, BlobWriter::Create(tmp.Join("blob"), WriterOptions()));
  ChunkDict dict(format::Digester::kBlake3);
  ChunkStream stream(&dict, w.get(), nullptr, 2);
  meta::Inode inode;
  EXPECT_EQ(stream.NextBuffer(nullptr, 0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(stream.NextBuffer(&inode, 0, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(stream.NextBuffer(&inode, 0, kChunk + 1).status().code(), StatusCode::kInvalidArgument);
  ChunkDict sha(format::Digester::kSha256);
  ChunkStream bad(&sha, w.get(), nullptr);
  EXPECT_EQ(bad.NextBuffer(&inode, 0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.Flush().code(), StatusCode::kInvalidArgument);
  w->Abandon();
}

// Destroying a stream with chunks still on the pool waits for them (the sanitizer builds
// check that no task touches the stream afterwards); what was committed is a prefix of the
// requests, in order.
TEST(ChunkStreamTest, DestroyWithoutFlush) {
  testing::TempDir tmp;
  const StreamSpec spec = MakeSpec();
  ASSERT_OK_AND_ASSIGN(auto w, BlobWriter::Create(tmp.Join("blob"), WriterOptions()));
  ChunkDict dict(format::Digester::kBlake3);
  ThreadPool pool(4);
  auto inode = std::make_shared<meta::Inode>();
  const Bytes& data = spec.files[0].empty() ? spec.files[1] : spec.files[0];
  {
    ChunkStream stream(&dict, w.get(), &pool, 3);
    for (uint64_t i = 0; i < 20; ++i) {
      ASSERT_OK_AND_ASSIGN(uint8_t * buf, stream.NextBuffer(inode.get(), i * kChunk, kChunk));
      std::memcpy(buf, data.data(), std::min<size_t>(kChunk, data.size()));
    }
  }
  ASSERT_GE(inode->chunks.size(), 17u);  // the ring holds 3
  ASSERT_LE(inode->chunks.size(), 20u);
  for (size_t i = 0; i < inode->chunks.size(); ++i) {
    EXPECT_EQ(inode->chunks[i].file_offset, i * kChunk);
  }
  w->Abandon();
}

}  // namespace
}  // namespace nydus::builder
