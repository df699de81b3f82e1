// RafsFs over the reference images in ../shared/fixtures/nydus: the v6 bootstrap with its blob,
// the two v5 "repeatable" bootstraps with theirs (file contents checked against the md5 sums
// the reference recorded), and the large v5 daemon-test bootstrap (metadata only).
#include <dirent.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/digest.h"
#include "base/file_util.h"
#include "base/json.h"
#include "fs/rafs_fs.h"
#include "meta/bootstrap_reader.h"
#include "meta/meta_test_util.h"
#include "meta/tree_image_view.h"
#include "meta/v6_direct_view.h"
#include "storage/blob_backend.h"
#include "storage/chunk_reader.h"
#include "testing/test_util.h"

namespace nydus::fs {
namespace {

using meta::testing::kV5Blake3;
using meta::testing::kV5Daemon;
using meta::testing::kV5Sha256;
using meta::testing::kV6Boot;

// A RafsFs over a fixture bootstrap, reading data from `blob_dir` (none when empty).
struct Mounted {
  std::unique_ptr<storage::BlobBackend> backend;
  std::shared_ptr<const meta::Image> image;
  std::unique_ptr<storage::ChunkReader> reader;
  std::unique_ptr<RafsFs> fs;
};

// `direct`: serve a v6 bootstrap through a V6DirectView (m.image then is the full decode,
// for the test's own expectations only).
Result<Mounted> Mount(const std::string& boot, const std::string& blob_dir, bool direct = false) {
  Mounted m;
  ASSIGN_OR_RETURN(meta::Image image, meta::ReadBootstrapFile(boot));
  m.image = std::make_shared<const meta::Image>(std::move(image));
  std::shared_ptr<const meta::ImageView> view;
  if (direct) {
    ASSIGN_OR_RETURN(view, meta::V6DirectView::Open(boot));
  } else {
    ASSIGN_OR_RETURN(view, meta::TreeImageView::Create(m.image));
  }
  if (!blob_dir.empty()) {
    storage::LocalfsConfig cfg;
    cfg.dir = blob_dir;
    ASSIGN_OR_RETURN(m.backend, storage::NewLocalfsBackend(cfg));
    storage::ChunkReaderOptions ropts;
    ropts.validate_digest = true;
    m.reader = std::make_unique<storage::ChunkReader>(view->header(), m.backend.get(), ropts);
  }
  ASSIGN_OR_RETURN(m.fs, RafsFs::Create(view, m.reader.get(), {}));
  return m;
}

Result<Bytes> ReadAll(const RafsFs& fs, uint64_t ino) {
  ASSIGN_OR_RETURN(Attr a, fs.GetAttr(ino));
  Bytes data(a.size);
  ASSIGN_OR_RETURN(size_t n, fs.Read(ino, 0, data));
  if (n != a.size) return Status::IOError("short read " + std::to_string(n));
  return data;
}

std::string Md5Hex(ByteSpan data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  return ToHex(ByteSpan(md, len));
}

// What a directory walk through RafsFs found at one path.
struct Found {
  std::string type;  // "directory", "file", "link" or "other" (the .result vocabulary)
  std::string target;
  uint64_t ino = 0;
  bool operator==(const Found& o) const { return type == o.type && target == o.target; }
};

std::string TypeName(uint32_t mode) {
  if (S_ISDIR(mode)) return "directory";
  if (S_ISREG(mode)) return "file";
  if (S_ISLNK(mode)) return "link";
  return "other";
}

// Walks the tree from the root with ReadDir + Lookup, checking on the way that both agree
// and that "." and ".." point where they should. Keys are absolute paths ("" for the root).
void Walk(const RafsFs& fs, uint64_t dir, uint64_t parent, const std::string& path,
          std::map<std::string, Found>* out) {
  std::vector<DirEntry> entries;
  ASSERT_OK(fs.ReadDir(dir, 0, [&](const DirEntry& e) {
    entries.push_back(e);
    return true;
  }));
  std::set<std::string> seen;
  for (const DirEntry& e : entries) {
    ASSERT_TRUE(seen.insert(e.name).second) << path << ": duplicate " << e.name;
    if (e.name == ".") {
      EXPECT_EQ(e.ino, dir) << path;
      continue;
    }
    if (e.name == "..") {
      EXPECT_EQ(e.ino, parent) << path;
      continue;
    }
    ASSERT_OK_AND_ASSIGN(Entry looked, fs.Lookup(dir, e.name));
    ASSERT_EQ(looked.ino, e.ino) << path << "/" << e.name;
    EXPECT_EQ(looked.attr.ino, e.ino);
    EXPECT_EQ(e.type, IFTODT(looked.attr.mode)) << path << "/" << e.name;
    Found f{TypeName(looked.attr.mode), "", e.ino};
    if (S_ISLNK(looked.attr.mode)) {
      ASSERT_OK_AND_ASSIGN(f.target, fs.ReadLink(e.ino));
    }
    const std::string child = path + "/" + e.name;
    (*out)[child] = f;
    if (S_ISDIR(looked.attr.mode)) Walk(fs, e.ino, dir, child, out);
  }
  EXPECT_TRUE(seen.count(".") && seen.count("..")) << path;
}

// The .result JSON tree as path → Found.
void Flatten(const Json& node, const std::string& path, std::map<std::string, Found>* out) {
  for (const Json& c : node["contents"]) {
    const std::string p = path + "/" + c["name"].get<std::string>();
    const std::string type = c["type"].get<std::string>();
    (*out)[p] = Found{type == "directory" || type == "file" || type == "link" ? type : "other",
                      c.contains("target") ? c["target"].get<std::string>() : "", 0};
    if (type == "directory") Flatten(c, p, out);
  }
}

class V6FixtureTest : public ::testing::TestWithParam<bool> {};

// The same checks through the full decode (TreeImageView) and the direct view.
TEST_P(V6FixtureTest, V6ReferenceImage) {
  NYDUS_REQUIRE_FIXTURE(boot, kV6Boot);
  NYDUS_REQUIRE_FIXTURE(blobs, "blobs");
  ASSERT_OK_AND_ASSIGN(Mounted m, Mount(boot, blobs, /*direct=*/GetParam()));
  const RafsFs& fs = *m.fs;

  ASSERT_OK_AND_ASSIGN(Attr root, fs.GetAttr(kRootIno));
  EXPECT_EQ(root.mode, S_IFDIR | 0755u);
  EXPECT_EQ(root.nlink, 2u);
  std::vector<std::string> names;
  std::vector<uint64_t> inos;
  ASSERT_OK(fs.ReadDir(kRootIno, 0, [&](const DirEntry& e) {
    names.push_back(e.name);
    inos.push_back(e.ino);
    return true;
  }));
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "lib.rs", "sync_io.rs"}));
  EXPECT_EQ(inos, (std::vector<uint64_t>{1, 1, 133, 136}));  // nids; the root nid 128 is 1

  ASSERT_OK_AND_ASSIGN(Entry lib, fs.Lookup(kRootIno, "lib.rs"));
  EXPECT_EQ(lib.ino, 133u);
  EXPECT_EQ(lib.attr.size, 16931u);
  EXPECT_EQ(lib.attr.mode, S_IFREG | 0644u);
  EXPECT_EQ(lib.attr.mtime, 0x63f23c61);
  EXPECT_EQ(lib.attr.blocks, 34u);
  EXPECT_EQ(fs.GetStatFs().files, 3u);  // TreeImageView: distinct inodes; direct: s_inos
  // The superblock (flags 0x194) has no HAS_XATTR and enable_xattr defaults to false.
  EXPECT_EQ(fs.ListXattr(133).status().code(), StatusCode::kNotSupported);

  // File data: the whole file hashes to the chunk digest the builder recorded, and partial
  // reads agree with it.
  for (uint64_t ino : {133u, 136u}) {
    ASSERT_OK_AND_ASSIGN(Bytes data, ReadAll(fs, ino));
    const meta::Inode& in = *m.image->root->children[ino == 133 ? 0 : 1]->inode;
    ASSERT_EQ(in.chunks.size(), 1u);
    EXPECT_EQ(Blake3(data), in.chunks[0].digest) << "nid " << ino;
    Bytes mid(1000);
    ASSERT_OK_AND_ASSIGN(size_t n, fs.Read(ino, 5000, mid));
    ASSERT_EQ(n, 1000u);
    EXPECT_TRUE(std::equal(mid.begin(), mid.end(), data.begin() + 5000));
  }
  ASSERT_OK_AND_ASSIGN(Bytes lib_data, ReadAll(fs, 133));
  const std::string head(lib_data.begin(), lib_data.begin() + 64);
  EXPECT_EQ(head.rfind("// Copyright (C) 2020 Alibaba Cloud. All rights reserved.\n", 0), 0u)
      << head;
}

INSTANTIATE_TEST_SUITE_P(Views, V6FixtureTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Direct" : "Tree"; });

class RepeatableFixtureTest : public ::testing::TestWithParam<const char*> {};

// The tree matches the reference's listing and every file's md5 matches the recorded one.
TEST_P(RepeatableFixtureTest, TreeAndContentsMatchReference) {
  NYDUS_REQUIRE_FIXTURE(boot, GetParam());
  NYDUS_REQUIRE_FIXTURE(result, std::string(GetParam()) + ".result");
  NYDUS_REQUIRE_FIXTURE(blobs, "repeatable/blobs");
  ASSERT_OK_AND_ASSIGN(Mounted m, Mount(boot, blobs));
  const RafsFs& fs = *m.fs;

  ASSERT_OK_AND_ASSIGN(Bytes raw, ReadWholeFile(result));
  std::string text(raw.begin(), raw.end());
  const size_t json_end = text.find("\n]\n");
  ASSERT_NE(json_end, std::string::npos);
  Json listing = Json::parse(text.substr(0, json_end + 2));
  std::map<std::string, Found> want, got;
  Flatten(listing[0], "", &want);
  Walk(fs, kRootIno, kRootIno, "", &got);
  EXPECT_EQ(got, want);

  // md5 lines: "<hex>  <path>".
  size_t checked = 0;
  for (size_t pos = json_end + 3; pos < text.size();) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.size() < 35) continue;
    const std::string md5 = line.substr(0, 32), path = line.substr(34);
    ASSERT_TRUE(got.count(path)) << path;
    ASSERT_OK_AND_ASSIGN(Bytes data, ReadAll(fs, got[path].ino));
    EXPECT_EQ(Md5Hex(data), md5) << path;
    ++checked;
  }
  EXPECT_EQ(checked, 23u);
  // The md5 list shows /hardlink-test/foo and test.sh with equal contents: hardlinks.
  EXPECT_EQ(got["/hardlink-test/foo"].ino, got["/hardlink-test/test.sh"].ino);
}

INSTANTIATE_TEST_SUITE_P(Repeatable, RepeatableFixtureTest,
                         ::testing::Values(kV5Sha256, kV5Blake3));

// The large v5 daemon-test bootstrap, metadata only: a full walk is consistent and
// reaches every inode once.
TEST(RafsFsFixtureTest, V5DaemonBootstrapWalk) {
  NYDUS_REQUIRE_FIXTURE(boot, kV5Daemon);
  ASSERT_OK_AND_ASSIGN(Mounted m, Mount(boot, ""));
  std::map<std::string, Found> got;
  Walk(*m.fs, kRootIno, kRootIno, "", &got);
  std::set<uint64_t> inos = {kRootIno};
  for (const auto& [path, f] : got) inos.insert(f.ino);
  EXPECT_EQ(inos.size(), m.fs->GetStatFs().files);
  EXPECT_EQ(inos.size(), 16816u + 1);  // s_inodes_count (hardlinks once) + the root
  // /bin/bunzip2, bzcat (and one more name) are one inode.
  EXPECT_EQ(got["/bin/bunzip2"].ino, got["/bin/bzcat"].ino);
  ASSERT_OK_AND_ASSIGN(Attr bunzip2, m.fs->GetAttr(got["/bin/bunzip2"].ino));
  EXPECT_EQ(bunzip2.nlink, 3u);
}

}  // namespace
}  // namespace nydus::fs
