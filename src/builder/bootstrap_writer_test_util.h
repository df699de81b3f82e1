// Test-only helpers for the bootstrap writer tests: hand-built images with real chunk data,
// and tree comparisons. Header-only; included by *_test.cc files only.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/digest.h"
#include "format/rafs.h"
#include "meta/image.h"

namespace nydus::builder::writer_test {

inline std::shared_ptr<meta::Inode> NewInode(uint32_t mode, uint64_t mtime = 1700000000) {
  auto inode = std::make_shared<meta::Inode>();
  inode->mode = mode;
  inode->uid = 1000;
  inode->gid = 1000;
  inode->mtime = mtime;
  inode->mtime_nsec = 42;
  return inode;
}

// Adds `name` under `dir` (kept sorted) and returns the new node.
inline meta::Node* AddNode(meta::Node* dir, const std::string& name,
                           std::shared_ptr<meta::Inode> inode) {
  auto node = std::make_unique<meta::Node>();
  node->name = name;
  node->inode = std::move(inode);
  meta::Node* raw = node.get();
  dir->PutChild(std::move(node));
  return raw;
}

inline meta::Node* AddDir(meta::Node* dir, const std::string& name, uint32_t perm = 0755) {
  return AddNode(dir, name, NewInode(S_IFDIR | perm));
}

// Deterministic pseudo-random bytes.
inline Bytes PatternBytes(uint64_t seed, size_t n) {
  Bytes out(n);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<uint8_t>(x);
  }
  return out;
}

// Builds an image whose regular files have real chunk data stored uncompressed in
// per-blob cache buffers at 4K-aligned uncompressed offsets (v6 ALIGNED layout).
//
// Blob k's data starts at k * kBlobStride (zeros before it). Kernel 6.18 merges the reads
// of two consecutive chunks of a file into one bio when their block addresses are adjacent,
// even if they sit on different devices (observed: the second chunk is then read from the
// first chunk's device); disjoint address ranges per blob keep the mount tests clear of it.
class ImageMaker {
 public:
  static constexpr uint64_t kBlobStride = 16 << 20;

  ImageMaker(uint32_t version, uint32_t chunk_size, size_t blob_count,
             format::Digester digester = format::Digester::kBlake3) {
    image_.version = version;
    image_.chunk_size = chunk_size;
    image_.compressor = format::Compressor::kNone;
    image_.digester = digester;
    image_.root = std::make_unique<meta::Node>();
    image_.root->name = "/";
    image_.root->inode = NewInode(S_IFDIR | 0755, 0);
    caches_.resize(blob_count);
    for (size_t i = 0; i < blob_count; ++i) {
      caches_[i].resize(i * kBlobStride, 0);
      meta::BlobInfo b;
      b.blob_id = ToHex(Sha256(AsBytes("blob-" + std::to_string(i))));
      b.features = format::kBlobAligned | format::kBlobCapTarToc;
      b.compressor = format::Compressor::kNone;
      b.digester = digester;
      b.chunk_size = chunk_size;
      image_.blobs.push_back(b);
    }
  }

  meta::Node* root() { return image_.root.get(); }

  // A regular file of `data`; chunk k goes to blob `blob_of(k)` (all in blob 0 if empty).
  // Chunks with identical bytes in the same blob are stored once (dedup).
  meta::Node* AddFile(meta::Node* dir, const std::string& name, const Bytes& data,
                      std::vector<uint32_t> blob_of = {}) {
    auto inode = NewInode(S_IFREG | 0644);
    inode->size = data.size();
    for (size_t off = 0, k = 0; off < data.size(); off += image_.chunk_size, ++k) {
      size_t len = std::min<size_t>(image_.chunk_size, data.size() - off);
      uint32_t blob = blob_of.empty() ? 0 : blob_of[k % blob_of.size()];
      inode->chunks.push_back(StoreChunk(blob, ByteSpan(data.data() + off, len), off));
    }
    meta::Node* node = AddNode(dir, name, inode);
    contents_[inode.get()] = data;
    return node;
  }

  // Finishes blob sizes and CI fields, recomputes nlink like NormalizeTree, and returns
  // the image. The maker keeps the cache buffers and file contents.
  meta::Image Finish() {
    for (size_t i = 0; i < image_.blobs.size(); ++i) {
      meta::BlobInfo& b = image_.blobs[i];
      caches_[i].resize(RoundUp(caches_[i].size(), format::kBlockSize), 0);
      b.uncompressed_size = caches_[i].size();
      b.compressed_size = caches_[i].size() + 4096;
      b.ci_offset = caches_[i].size();
      b.ci_compressed_size = b.ci_uncompressed_size = uint64_t{b.chunk_count} * 16;
    }
    std::map<const meta::Inode*, uint32_t> names;
    CountNames(*image_.root, &names);
    FixNlink(image_.root.get(), names);
    return std::move(image_);
  }

  const Bytes& cache(size_t blob) const { return caches_[blob]; }
  const std::map<const meta::Inode*, Bytes>& contents() const { return contents_; }

 private:
  meta::ChunkInfo StoreChunk(uint32_t blob, ByteSpan data, uint64_t file_offset) {
    meta::ChunkInfo c;
    c.digest = ComputeDigest(static_cast<DigestAlgo>(image_.digester), data);
    c.blob_index = blob;
    c.file_offset = file_offset;
    c.uncompressed_size = c.compressed_size = static_cast<uint32_t>(data.size());
    auto key = std::make_pair(c.digest, blob);
    auto it = stored_.find(key);
    if (it != stored_.end()) {
      meta::ChunkInfo dup = it->second;
      dup.file_offset = file_offset;
      return dup;
    }
    Bytes& cache = caches_[blob];
    cache.resize(RoundUp(cache.size(), format::kBlockSize), 0);
    c.uncompressed_offset = c.compressed_offset = cache.size();
    c.index = image_.blobs[blob].chunk_count++;
    cache.insert(cache.end(), data.begin(), data.end());
    stored_[key] = c;
    return c;
  }

  static void CountNames(const meta::Node& n, std::map<const meta::Inode*, uint32_t>* names) {
    (*names)[n.inode.get()]++;
    for (const auto& c : n.children) CountNames(*c, names);
  }
  static void FixNlink(meta::Node* n, const std::map<const meta::Inode*, uint32_t>& names) {
    if (!n->inode->IsDir()) {
      n->inode->nlink = names.at(n->inode.get());
      return;
    }
    uint32_t subdirs = 0;
    for (auto& c : n->children) {
      subdirs += c->inode->IsDir() ? 1 : 0;
      FixNlink(c.get(), names);
    }
    n->inode->nlink = 2 + subdirs;
  }

  meta::Image image_;
  std::vector<Bytes> caches_;
  std::map<std::pair<Digest, uint32_t>, meta::ChunkInfo> stored_;
  std::map<const meta::Inode*, Bytes> contents_;
};

// A valid POSIX ACL xattr value (version 2): user::rw-, user:1000:r--, group::r--,
// mask::r--, other::r--.
inline std::string AclValue() {
  Bytes v;
  AppendPod(&v, uint32_t{2});
  auto entry = [&](uint16_t tag, uint16_t perm, uint32_t id) {
    AppendPod(&v, tag);
    AppendPod(&v, perm);
    AppendPod(&v, id);
  };
  entry(0x01, 6, 0xffffffffu);
  entry(0x02, 4, 1000);
  entry(0x04, 4, 0xffffffffu);
  entry(0x10, 4, 0xffffffffu);
  entry(0x20, 4, 0xffffffffu);
  return std::string(v.begin(), v.end());
}

// A valid security.capability value (VFS_CAP_REVISION_2, cap_net_bind_service+ep).
inline std::string CapabilityValue() {
  Bytes v;
  for (uint32_t w : {0x02000001u, 0x400u, 0u, 0u, 0u}) AppendPod(&v, w);
  return std::string(v.begin(), v.end());
}

struct RichImage {
  meta::Image image;
  std::unique_ptr<ImageMaker> maker;  // owns the blob caches and file contents
};

inline meta::Node* AddSymlink(meta::Node* dir, const std::string& name, const std::string& target) {
  auto inode = NewInode(S_IFLNK | 0777);
  inode->symlink = target;
  inode->size = target.size();
  return AddNode(dir, name, inode);
}

inline meta::Node* AddSpecial(meta::Node* dir, const std::string& name, uint32_t mode,
                              dev_t rdev = 0) {
  auto inode = NewInode(mode);
  inode->rdev = rdev;
  return AddNode(dir, name, inode);
}

// The tree the writer tests share, with 4 KiB chunks in two blobs: empty, one-chunk,
// multi-blob, contiguous (page-cache layout) and deduplicated files; hardlinks across
// directories; big uid/gid; a negative mtime; char/block devices (one with a major > 255
// and a minor > 65535), fifo, socket; symlinks of 9, 1003 and 4095 bytes (one with an
// xattr); a directory of 400 entries with varied name lengths (several dirent blocks);
// 255-byte names; xattrs of every namespace including both ACL names; an inline directory
// with xattrs and a directory whose big xattr forces plain (non-inline) dirents; prefetch
// patterns (one missing, one an empty file).
inline RichImage MakeRichImage(uint32_t version) {
  RichImage r;
  r.maker = std::make_unique<ImageMaker>(version, 4096, 2);
  ImageMaker& m = *r.maker;
  meta::Node* root = m.root();
  m.AddFile(root, "empty", {});
  m.AddFile(root, "small.txt", PatternBytes(1, 100));
  m.AddFile(root, "two-blobs.bin", PatternBytes(2, 3 * 4096 - 100), {0, 1});
  m.AddFile(root, "contig.bin", PatternBytes(3, 5 * 4096 - 7), {1});
  Bytes dup = PatternBytes(4, 5000);
  m.AddFile(root, "dup1", dup);
  m.AddFile(root, "dup2", dup);
  meta::Node* ids = m.AddFile(root, "big-ids", PatternBytes(5, 10));
  ids->inode->uid = 100000;
  ids->inode->gid = 4000000000u;
  meta::Node* old = m.AddFile(root, "neg-mtime", PatternBytes(6, 10));
  old->inode->mtime = static_cast<uint64_t>(int64_t{-1000000});
  old->inode->mtime_nsec = 123456789;

  meta::Node* dir = AddDir(root, "dir");
  meta::Node* hl = m.AddFile(root, "hl-a", PatternBytes(7, 6000));
  AddNode(dir, "hl-b", hl->inode);
  meta::Node* deeper = AddDir(AddDir(dir, "sub"), "deeper");
  m.AddFile(deeper, "file", PatternBytes(8, 1));

  AddSpecial(root, "dev-chr", S_IFCHR | 0600, makedev(1, 3));
  AddSpecial(root, "dev-blk", S_IFBLK | 0660, makedev(8, 1));
  AddSpecial(root, "dev-big", S_IFCHR | 0600, makedev(300, 70000));
  AddSpecial(root, "fifo", S_IFIFO | 0644);
  AddSpecial(root, "sock", S_IFSOCK | 0755);

  AddSymlink(root, "sym-short", "small.txt");
  std::string long_target;
  while (long_target.size() < 1003) long_target += "segment/";
  long_target.resize(1003);
  meta::Node* sym = AddSymlink(root, "sym-1003", long_target);
  sym->inode->xattrs = {{"trusted.sym", "link-xattr"}};
  AddSymlink(root, "sym-4095", std::string(4095, 'p'));

  meta::Node* many = AddDir(root, "many");
  for (int i = 0; i < 400; ++i) {
    char prefix[16];
    snprintf(prefix, sizeof(prefix), "e%04d-", i);
    std::string name = prefix + std::string(i % 61, 'n');
    if (i % 50 == 0) {
      AddDir(many, name);
    } else {
      m.AddFile(many, name, {});
    }
  }
  meta::Node* lng = AddDir(root, "long");
  m.AddFile(lng, std::string(255, 'L'), PatternBytes(9, 300));
  AddDir(lng, std::string(254, 'D') + "d");

  meta::Node* xf = m.AddFile(root, "xattrs", PatternBytes(10, 50));
  xf->inode->xattrs = {{"security.capability", CapabilityValue()},
                       {"system.posix_acl_access", AclValue()},
                       {"trusted.t", "x"},
                       {"user.empty", ""},
                       {"user.foo", "bar"}};
  meta::Node* idir = AddDir(root, "inline-dir");
  idir->inode->xattrs = {{"system.posix_acl_default", AclValue()}, {"user.dir", "1"}};
  m.AddFile(idir, "a", PatternBytes(11, 20));
  meta::Node* pdir = AddDir(root, "plain-dir");
  pdir->inode->xattrs = {{"user.big", std::string(4000, 'v')}};
  for (int i = 0; i < 40; ++i) m.AddFile(pdir, "p" + std::to_string(i), {});

  r.image = m.Finish();
  r.image.prefetch = {"/small.txt", "/dir", "/missing", "/empty"};
  return r;
}

// A random tree of about `count` nodes (seeded, reproducible): files of 0..3 chunks in two
// blobs, directories, symlinks of 1..4095 bytes, devices, fifos, hardlinks, names of 1..255
// bytes, and xattrs from a few bytes up to inode areas over 4 KiB (inodes then span blocks).
inline RichImage MakeRandomImage(uint32_t version, uint64_t seed, size_t count) {
  RichImage r;
  r.maker = std::make_unique<ImageMaker>(version, 4096, 2);
  ImageMaker& m = *r.maker;
  uint64_t state = seed * 2654435761u + 7;
  auto rnd = [&](uint64_t n) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return n == 0 ? 0 : state % n;
  };
  auto random_xattrs = [&](bool user_ok) {
    std::vector<meta::Xattr> xs;
    const char* prefixes[] = {"trusted.", "security.", "user."};
    size_t n = rnd(4) + 1;
    for (size_t i = 0; i < n; ++i) {
      std::string name = prefixes[rnd(user_ok ? 3 : 2)] + std::string("x") + std::to_string(i);
      size_t len = rnd(10) == 0 ? 1500 + rnd(3000) : rnd(200);
      xs.push_back({name, std::string(len, static_cast<char>('a' + rnd(26)))});
    }
    std::sort(xs.begin(), xs.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return xs;
  };
  std::vector<meta::Node*> dirs{m.root()};
  std::vector<std::shared_ptr<meta::Inode>> files;
  for (size_t k = 0; k < count; ++k) {
    meta::Node* dir = dirs[rnd(dirs.size())];
    std::string name = std::to_string(k) + "-" + std::string(rnd(10) == 0 ? 240 : rnd(40), 'n');
    uint64_t kind = rnd(100);
    meta::Node* node;
    if (kind < 45) {
      node = m.AddFile(dir, name, PatternBytes(seed * 100000 + k, rnd(4) * 3000),
                       {static_cast<uint32_t>(rnd(2)), static_cast<uint32_t>(rnd(2))});
      files.push_back(node->inode);
    } else if (kind < 60) {
      node = AddDir(dir, name);
      dirs.push_back(node);
    } else if (kind < 75) {
      size_t len = rnd(8) == 0 ? 3000 + rnd(1096) : 1 + rnd(300);
      node = AddSymlink(dir, name, std::string(len, 's'));
    } else if (kind < 82) {
      node = AddSpecial(dir, name, rnd(2) ? S_IFCHR | 0600 : S_IFIFO | 0600,
                        makedev(rnd(4096), rnd(1 << 20)));
    } else if (kind < 90 && !files.empty()) {
      node = AddNode(dir, name, files[rnd(files.size())]);
    } else {
      node = m.AddFile(dir, name, {});
    }
    if (node->inode->xattrs.empty() && rnd(5) == 0) {
      node->inode->xattrs = random_xattrs(node->inode->IsReg() || node->inode->IsDir());
    }
  }
  r.image = m.Finish();
  return r;
}

// Compares two trees node by node (names, modes, ids, times, nlink, rdev, sizes of
// non-directories, symlinks, xattrs, chunks) and hardlink sharing.
inline void ExpectSameTree(const meta::Image& want, const meta::Image& got) {
  using Entry = std::pair<std::string, const meta::Node*>;
  std::vector<Entry> a, b;
  meta::WalkTree(*want.root, [&](const meta::Node& n, const std::string& p) {
    a.emplace_back(p, &n);
    return true;
  });
  meta::WalkTree(*got.root, [&](const meta::Node& n, const std::string& p) {
    b.emplace_back(p, &n);
    return true;
  });
  ASSERT_EQ(a.size(), b.size());
  std::map<const meta::Inode*, std::string> first_a, first_b;
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string& path = a[i].first;
    ASSERT_EQ(path, b[i].first);
    const meta::Inode& x = *a[i].second->inode;
    const meta::Inode& y = *b[i].second->inode;
    SCOPED_TRACE(path);
    EXPECT_EQ(x.mode, y.mode);
    EXPECT_EQ(x.uid, y.uid);
    EXPECT_EQ(x.gid, y.gid);
    EXPECT_EQ(x.mtime, y.mtime);
    EXPECT_EQ(x.mtime_nsec, y.mtime_nsec);
    EXPECT_EQ(x.nlink, y.nlink);
    if (!x.IsDir()) {
      EXPECT_EQ(x.size, y.size);
    }
    if (x.IsChr() || x.IsBlk()) {
      EXPECT_EQ(x.rdev, y.rdev);
    }
    EXPECT_EQ(x.symlink, y.symlink);
    EXPECT_EQ(x.xattrs, y.xattrs);
    ASSERT_EQ(x.chunks.size(), y.chunks.size());
    for (size_t k = 0; k < x.chunks.size(); ++k) {
      const meta::ChunkInfo& c = x.chunks[k];
      const meta::ChunkInfo& d = y.chunks[k];
      EXPECT_EQ(c.digest, d.digest) << "chunk " << k;
      EXPECT_EQ(c.blob_index, d.blob_index) << "chunk " << k;
      EXPECT_EQ(c.index, d.index) << "chunk " << k;
      EXPECT_EQ(c.uncompressed_offset, d.uncompressed_offset) << "chunk " << k;
      EXPECT_EQ(c.uncompressed_size, d.uncompressed_size) << "chunk " << k;
      EXPECT_EQ(c.compressed_offset, d.compressed_offset) << "chunk " << k;
      EXPECT_EQ(c.compressed_size, d.compressed_size) << "chunk " << k;
      EXPECT_EQ(c.flags, d.flags) << "chunk " << k;
    }
    // Hardlinks: both sides group the same paths.
    EXPECT_EQ(first_a.emplace(&x, path).first->second, first_b.emplace(&y, path).first->second);
  }
}

}  // namespace nydus::builder::writer_test
