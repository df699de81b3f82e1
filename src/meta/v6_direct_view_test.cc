// V6DirectView against TreeImageView over the same v6 bootstrap (every inode, dirent, xattr,
// symlink and chunk range must agree), its open-time errors (the full reader's messages), and
// corruption confined to the inode or directory block it hits.
#include "meta/v6_direct_view.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "builder/bootstrap_writer.h"
#include "builder/bootstrap_writer_test_util.h"
#include "format/v6.h"
#include "meta/bootstrap_reader.h"
#include "meta/meta_test_util.h"
#include "meta/tree_image_view.h"
#include "testing/test_util.h"

namespace nydus::meta {
namespace {

struct Listed {
  std::string name;
  uint64_t id;
  uint32_t dtype;
  uint64_t next;
  bool operator==(const Listed&) const = default;
};

std::vector<Listed> List(const ImageView& v, uint64_t dir, uint64_t offset = 0) {
  std::vector<Listed> out;
  Status st =
      v.ReadDir(dir, offset, [&](std::string_view n, uint64_t id, uint32_t t, uint64_t next) {
        out.push_back({std::string(n), id, t, next});
        return true;
      });
  EXPECT_OK(st);
  return out;
}

bool SameAttrs(const InodeAttrs& a, const InodeAttrs& b) {
  return a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.size == b.size &&
         a.mtime == b.mtime && a.mtime_nsec == b.mtime_nsec && a.nlink == b.nlink &&
         a.rdev == b.rdev;
}

bool SameChunk(const ChunkInfo& a, const ChunkInfo& b) {
  return a.digest == b.digest && a.blob_index == b.blob_index && a.flags == b.flags &&
         a.compressed_size == b.compressed_size && a.uncompressed_size == b.uncompressed_size &&
         a.compressed_offset == b.compressed_offset &&
         a.uncompressed_offset == b.uncompressed_offset && a.file_offset == b.file_offset &&
         a.index == b.index;
}

class V6DirectViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rich_ = builder::writer_test::MakeRichImage(format::kRafsVersionV6);
    ASSERT_OK_AND_ASSIGN(boot_, builder::WriteBootstrapV6(rich_.image));
    ASSERT_OK_AND_ASSIGN(Image image, ReadBootstrap(boot_));
    image_ = std::make_shared<const Image>(std::move(image));
    ASSERT_OK_AND_ASSIGN(tree_, TreeImageView::Create(image_));
    ASSERT_OK_AND_ASSIGN(direct_, V6DirectView::FromBytes(boot_));
  }
  uint64_t NidOf(const std::string& path) {
    const Node* n = testing::FindPath(*image_, path);
    EXPECT_NE(n, nullptr) << path;
    return n ? n->inode->nid : 0;
  }
  // A direct view over a copy of the bootstrap edited by `edit`.
  std::shared_ptr<const V6DirectView> Patched(const std::function<void(Bytes*)>& edit) {
    Bytes b = boot_;
    edit(&b);
    auto v = V6DirectView::FromBytes(std::move(b));
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : nullptr;
  }

  builder::writer_test::RichImage rich_;
  Bytes boot_;
  std::shared_ptr<const Image> image_;
  std::shared_ptr<const TreeImageView> tree_;
  std::shared_ptr<const V6DirectView> direct_;
};

TEST_F(V6DirectViewTest, HeaderMatchesFullReader) {
  const Image& h = direct_->header();
  EXPECT_EQ(h.root, nullptr);
  EXPECT_TRUE(h.IsV6());
  EXPECT_EQ(h.flags, image_->flags);
  EXPECT_EQ(h.chunk_size, image_->chunk_size);
  EXPECT_EQ(h.compressor, image_->compressor);
  EXPECT_EQ(h.digester, image_->digester);
  EXPECT_EQ(h.explicit_uidgid, image_->explicit_uidgid);
  ASSERT_EQ(h.blobs.size(), image_->blobs.size());
  for (size_t i = 0; i < h.blobs.size(); ++i) {
    EXPECT_EQ(h.blobs[i].blob_id, image_->blobs[i].blob_id);
    EXPECT_EQ(h.blobs[i].uncompressed_size, image_->blobs[i].uncompressed_size);
  }
  EXPECT_EQ(direct_->root_id(), tree_->root_id());
  // The prefetch table, as nids: the reader resolved the same entries into paths.
  std::vector<uint64_t> want;
  for (const std::string& p : image_->prefetch) want.push_back(NidOf(p));
  EXPECT_EQ(direct_->PrefetchIds(), want);
  EXPECT_TRUE(tree_->PrefetchIds().empty());
  EXPECT_GT(direct_->inode_count(), 0u);
  EXPECT_GT(direct_->BlockCount(4096), 0u);
}

// Walks the whole tree through both views and compares every answer.
TEST_F(V6DirectViewTest, AgreesWithTreeViewEverywhere) {
  std::vector<uint64_t> dirs{tree_->root_id()};
  std::set<uint64_t> seen;
  size_t files = 0, chunks_checked = 0;
  while (!dirs.empty()) {
    const uint64_t dir = dirs.back();
    dirs.pop_back();
    std::vector<Listed> a = List(*tree_, dir), b = List(*direct_, dir);
    ASSERT_EQ(a, b) << "dir " << dir;
    // Resuming at every offset lists the same suffix.
    for (uint64_t off = 1; off <= a.size(); off += 7) {
      EXPECT_EQ(List(*direct_, dir, off), std::vector<Listed>(a.begin() + off, a.end()));
    }
    for (const Listed& e : a) {
      ASSERT_OK_AND_ASSIGN(ViewEntry x, tree_->Lookup(dir, e.name));
      ASSERT_OK_AND_ASSIGN(ViewEntry y, direct_->Lookup(dir, e.name));
      EXPECT_EQ(x.id, y.id) << e.name;
      EXPECT_EQ(x.id, e.id) << e.name;
      EXPECT_TRUE(SameAttrs(x.attrs, y.attrs)) << e.name;
      if (e.name == "." || e.name == ".." || !seen.insert(e.id).second) continue;
      ASSERT_OK_AND_ASSIGN(InodeAttrs ta, tree_->GetInode(e.id));
      ASSERT_OK_AND_ASSIGN(InodeAttrs da, direct_->GetInode(e.id));
      EXPECT_TRUE(SameAttrs(ta, da)) << e.name;
      ASSERT_OK_AND_ASSIGN(auto tx, tree_->Xattrs(e.id));
      ASSERT_OK_AND_ASSIGN(auto dx, direct_->Xattrs(e.id));
      EXPECT_EQ(tx, dx) << e.name;
      if (ta.IsDir()) dirs.push_back(e.id);
      if (ta.IsSymlink()) {
        ASSERT_OK_AND_ASSIGN(std::string t1, tree_->ReadLink(e.id));
        ASSERT_OK_AND_ASSIGN(std::string t2, direct_->ReadLink(e.id));
        EXPECT_EQ(t1, t2);
      }
      if (!ta.IsReg()) continue;
      ++files;
      const uint64_t size = ta.size;
      for (uint64_t off : {uint64_t{0}, uint64_t{1}, uint64_t{4095}, uint64_t{4096}, uint64_t{5000},
                           size > 0 ? size - 1 : 0, size, size + 10}) {
        for (uint64_t len :
             {uint64_t{0}, uint64_t{1}, uint64_t{4096}, uint64_t{9000}, UINT64_MAX - off}) {
          std::vector<ChunkInfo> c1, c2;
          ASSERT_OK(tree_->Chunks(e.id, off, len, &c1));
          ASSERT_OK(direct_->Chunks(e.id, off, len, &c2));
          ASSERT_EQ(c1.size(), c2.size()) << e.name << " " << off << "+" << len;
          for (size_t i = 0; i < c1.size(); ++i) EXPECT_TRUE(SameChunk(c1[i], c2[i])) << e.name;
          chunks_checked += c1.size();
        }
      }
    }
  }
  EXPECT_GT(files, 400u);
  EXPECT_GT(chunks_checked, 100u);
}

// VisitChunks sees each inode's chunks once (hardlinks too), the same on both views, and
// stops when asked.
TEST_F(V6DirectViewTest, VisitChunksSeesEveryReferencedChunkOnce) {
  std::multiset<std::pair<uint32_t, uint32_t>> want;
  std::set<const Inode*> inodes;
  WalkTree(*image_->root, [&](const Node& n, const std::string&) {
    if (!n.inode->IsReg() || !inodes.insert(n.inode.get()).second) return true;
    for (const ChunkInfo& c : n.inode->chunks) want.insert({c.blob_index, c.index});
    return true;
  });
  ASSERT_GT(want.size(), 1u);
  for (const ImageView* v :
       {static_cast<const ImageView*>(tree_.get()), static_cast<const ImageView*>(direct_.get())}) {
    std::multiset<std::pair<uint32_t, uint32_t>> got;
    ASSERT_OK(VisitChunks(*v, [&](const ChunkInfo& c) {
      got.insert({c.blob_index, c.index});
      return true;
    }));
    EXPECT_EQ(got, want);
    size_t calls = 0;
    ASSERT_OK(VisitChunks(*v, [&](const ChunkInfo&) { return ++calls < 2; }));
    EXPECT_EQ(calls, 2u);
  }
}

TEST_F(V6DirectViewTest, ErrorCodes) {
  const uint64_t file = NidOf("/small.txt"), dir = NidOf("/dir"), link = NidOf("/sym-short");
  std::vector<ChunkInfo> chunks;
  for (const ImageView* v :
       {static_cast<const ImageView*>(tree_.get()), static_cast<const ImageView*>(direct_.get())}) {
    EXPECT_EQ(v->GetInode(0).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(v->GetInode(uint64_t{1} << 40).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(v->Lookup(dir, "missing").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(v->Lookup(dir, "").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(v->Lookup(file, "x").status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(v->ReadDir(link, 0, [](auto, auto, auto, auto) { return true; }).code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(v->ReadLink(file).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(v->Chunks(dir, 0, 10, &chunks).code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(List(*v, dir, 1000).empty());
  }
}

TEST_F(V6DirectViewTest, OpenRefusesBadHeadersWithTheFullReadersMessage) {
  auto same_error = [](Bytes b, const char* what) {
    Result<Image> full = ReadBootstrap(b);
    auto direct = V6DirectView::FromBytes(b);
    ASSERT_FALSE(full.ok()) << what;
    ASSERT_FALSE(direct.ok()) << what;
    EXPECT_EQ(direct.status().ToString(), full.status().ToString()) << what;
  };
  same_error(Bytes(boot_.begin(), boot_.begin() + 4096), "truncated to 4096");
  Bytes b = boot_;
  b.resize(b.size() - 100);
  same_error(b, "not a multiple of 4096");
  b = boot_;
  testing::Put32(&b, format::kV6ExtSuperBlockOffset + 8, 0x1234);  // chunk size
  same_error(b, "chunk size");
  b = boot_;
  b[format::kV6SuperBlockOffset + 12] ^= 0xff;  // feature_compat
  same_error(b, "feature_compat");
  b = boot_;
  format::RafsV6SuperBlock sb{};
  ReadPod(b, format::kV6SuperBlockOffset, &sb);
  format::RafsV6SuperBlockExt ext{};
  ReadPod(b, format::kV6ExtSuperBlockOffset, &ext);
  b[ext.s_blob_table_offset] ^= 0x01;  // blob id no longer matches the device slot
  same_error(b, "blob id");
  // The root inode is checked at open.
  b = boot_;
  b[sb.s_meta_blkaddr * 4096ull + sb.s_root_nid * 32ull] = 0xff;  // i_format
  same_error(b, "root i_format");
}

TEST_F(V6DirectViewTest, OpenFromFileMapsIt) {
  nydus::testing::TempDir dir;
  const std::string path = dir.path() + "/image.boot";
  ASSERT_OK(WriteWholeFile(path, boot_));
  ASSERT_OK_AND_ASSIGN(auto view, V6DirectView::Open(path));
  EXPECT_EQ(List(*view, view->root_id()), List(*tree_, tree_->root_id()));
  ASSERT_OK_AND_ASSIGN(auto any, OpenImageView(path, /*direct=*/true));
  EXPECT_EQ(any->header().root, nullptr);  // on demand
  ASSERT_OK_AND_ASSIGN(any, OpenImageView(path, /*direct=*/false));
  EXPECT_NE(any->header().root, nullptr);  // decoded in full
  auto missing = OpenImageView(dir.path() + "/nope", true);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  Bytes truncated(boot_.begin(), boot_.begin() + 4096);
  ASSERT_OK(WriteWholeFile(path, truncated));
  auto full = ReadBootstrapFile(path);
  auto direct = OpenImageView(path, true);
  ASSERT_FALSE(direct.ok());
  EXPECT_EQ(direct.status().ToString(), full.status().ToString());
}

TEST_F(V6DirectViewTest, CorruptInodeAffectsOnlyThatInode) {
  const uint64_t file = NidOf("/small.txt"), other = NidOf("/dup1");
  format::RafsV6SuperBlock sb{};
  ReadPod(boot_, format::kV6SuperBlockOffset, &sb);
  const uint64_t at = sb.s_meta_blkaddr * 4096ull + file * 32;
  auto v = Patched([&](Bytes* b) { StoreLE16(b->data() + at, 0xff); });  // i_format
  ASSERT_NE(v, nullptr);
  auto r = v->GetInode(file);
  ASSERT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("v6: inode nid " + std::to_string(file)), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(v->Lookup(v->root_id(), "small.txt").status().code(), StatusCode::kCorruption);
  std::vector<ChunkInfo> chunks;
  EXPECT_EQ(v->Chunks(file, 0, 10, &chunks).code(), StatusCode::kCorruption);
  // Everything else still works, including listing the directory that holds it.
  EXPECT_OK(v->GetInode(other).status());
  EXPECT_OK(v->Lookup(v->root_id(), "dup1").status());
  EXPECT_EQ(List(*v, v->root_id()).size(), List(*tree_, tree_->root_id()).size());
  EXPECT_OK(v->Chunks(other, 0, 10, &chunks));
  EXPECT_EQ(chunks.size(), 1u);
  // The full reader refuses the whole image.
  Bytes b = boot_;
  StoreLE16(b.data() + at, 0xff);
  EXPECT_EQ(ReadBootstrap(b).status().code(), StatusCode::kCorruption);
}

TEST_F(V6DirectViewTest, CorruptDirentBlockAffectsOnlyThatDirectory) {
  const uint64_t many = NidOf("/many");
  format::RafsV6SuperBlock sb{};
  ReadPod(boot_, format::kV6SuperBlockOffset, &sb);
  format::RafsV6InodeCompact c{};
  ReadPod(boot_, sb.s_meta_blkaddr * 4096ull + many * 32, &c);
  ASSERT_GT(c.i_size, 2 * 4096u);  // several blocks
  const uint64_t block1 = uint64_t{c.i_u} * 4096 + 4096;
  auto v = Patched([&](Bytes* b) { StoreLE16(b->data() + block1 + 8, 5); });  // dirent 0 nameoff
  ASSERT_NE(v, nullptr);
  Status st = v->ReadDir(many, 0, [](auto, auto, auto, auto) { return true; });
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("v6: inode nid " + std::to_string(many)), std::string::npos)
      << st.ToString();
  EXPECT_OK(v->GetInode(many).status());  // the inode itself is fine
  EXPECT_OK(v->Lookup(v->root_id(), "many").status());
  // Lookups answer or report the corruption, depending on the blocks they probe.
  for (const Listed& e : List(*tree_, many)) {
    auto r = v->Lookup(many, e.name);
    if (!r.ok()) EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << e.name;
  }
  EXPECT_EQ(List(*v, NidOf("/dir")), List(*tree_, NidOf("/dir")));
}

TEST_F(V6DirectViewTest, ChunkTableIsIndexedLazily) {
  format::RafsV6SuperBlockExt ext_{};
  ReadPod(boot_, format::kV6ExtSuperBlockOffset, &ext_);
  ASSERT_GT(ext_.s_chunk_table_size, 0u);
  // A bad chunk table record: opening and metadata still work, data lookups fail with the
  // full reader's message.
  auto v = Patched([&](Bytes* b) { StoreLE32(b->data() + ext_.s_chunk_table_offset + 32, 99); });
  ASSERT_NE(v, nullptr);
  const uint64_t file = NidOf("/small.txt");
  EXPECT_OK(v->GetInode(file).status());
  EXPECT_EQ(List(*v, v->root_id()).size(), List(*tree_, tree_->root_id()).size());
  std::vector<ChunkInfo> chunks;
  Status st = v->Chunks(file, 0, 10, &chunks);
  ASSERT_EQ(st.code(), StatusCode::kCorruption);
  Bytes b = boot_;
  StoreLE32(b.data() + ext_.s_chunk_table_offset + 32, 99);
  EXPECT_EQ(st.ToString(), ReadBootstrap(b).status().ToString());
  EXPECT_EQ(v->Chunks(file, 0, 10, &chunks).ToString(), st.ToString());  // remembered
}

// Random byte flips in the metadata: every answer is a value or an error, never a crash,
// and errors are Corruption (or NotFound / InvalidArgument for what the bytes now say).
TEST_F(V6DirectViewTest, RandomFlipsNeverCrash) {
  format::RafsV6SuperBlock sb{};
  ReadPod(boot_, format::kV6SuperBlockOffset, &sb);
  const uint64_t meta = sb.s_meta_blkaddr * 4096ull;
  uint64_t state = 12345;
  auto rnd = [&](uint64_t n) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state % n;
  };
  for (int round = 0; round < 200; ++round) {
    Bytes b = boot_;
    for (int k = 0; k < 8; ++k) b[meta + rnd(b.size() - meta)] ^= 1u << rnd(8);
    auto v = V6DirectView::FromBytes(std::move(b));
    if (!v.ok()) {
      EXPECT_EQ(v.status().code(), StatusCode::kCorruption);
      continue;
    }
    std::vector<uint64_t> dirs{(*v)->root_id()};
    size_t budget = 3000;
    std::vector<ChunkInfo> chunks;
    while (!dirs.empty() && budget > 0) {
      uint64_t dir = dirs.back();
      dirs.pop_back();
      std::vector<std::pair<std::string, uint64_t>> entries;
      Status st = (*v)->ReadDir(dir, 0, [&](std::string_view n, uint64_t id, uint32_t, uint64_t) {
        entries.emplace_back(std::string(n), id);
        return --budget > 0;
      });
      if (!st.ok()) EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
      for (const auto& [name, id] : entries) {
        auto e = (*v)->Lookup(dir, name);
        if (!e.ok()) continue;
        if (e->attrs.IsDir() && name != "." && name != "..") dirs.push_back(e->id);
        (void)(*v)->Xattrs(e->id);
        if (e->attrs.IsSymlink()) (void)(*v)->ReadLink(e->id);
        if (e->attrs.IsReg()) (void)(*v)->Chunks(e->id, 0, UINT64_MAX, &chunks);
      }
    }
  }
}

}  // namespace
}  // namespace nydus::meta
