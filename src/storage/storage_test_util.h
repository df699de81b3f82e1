// Test-only helpers for the storage tests: fixture names, regular-file listing and a
// hand-made image (v5 here, v6 with its CI array in v6_test_image.h) whose single blob is
// built chunk by chunk (each chunk compressed independently, kept raw when that does not
// shrink it, as RAFS builders do).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/digest.h"
#include "compress/compressor.h"
#include "meta/image.h"
#include "storage/blob_backend.h"
#include "storage/chunk_reader.h"

namespace nydus::storage::testing {

constexpr char kV6Boot[] = "bootstrap/rafs-v6-2.2.boot";
constexpr char kV6BlobDir[] = "blobs";
constexpr char kV6BlobId[] = "be7d77eeb719f70884758d1aa800ed0fb09d701aaec469964e9d54325f0d5fef";
constexpr char kV5Sha256[] = "repeatable/sha256-nocompress-repeatable";
constexpr char kV5Blake3[] = "repeatable/blake3-lz4_block-non_repeatable";
constexpr char kV5BlobDir[] = "repeatable/blobs";

inline LocalfsConfig DirConfig(std::string dir, std::vector<std::string> alt_dirs = {}) {
  LocalfsConfig c;
  c.dir = std::move(dir);
  c.alt_dirs = std::move(alt_dirs);
  return c;
}

inline ChunkReaderOptions Options(bool validate_digest, uint64_t cache_bytes = 64ull << 20) {
  ChunkReaderOptions o;
  o.validate_digest = validate_digest;
  o.cache_bytes = cache_bytes;
  return o;
}

// (absolute path, inode) of every regular file, in pre-order.
inline std::vector<std::pair<std::string, const meta::Inode*>> RegularFiles(
    const meta::Image& image) {
  std::vector<std::pair<std::string, const meta::Inode*>> out;
  meta::WalkTree(*image.root, [&](const meta::Node& n, const std::string& path) {
    if (n.inode->IsReg()) out.emplace_back(path, n.inode.get());
    return true;
  });
  return out;
}

// Deterministic test data: compressible text-like bytes mixed with a pseudo-random run.
inline Bytes PatternBytes(size_t size, uint32_t seed) {
  Bytes out(size);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < size; ++i) {
    if ((i / 512) % 4 == 3) {
      x = x * 1103515245u + 12345u;
      out[i] = static_cast<uint8_t>(x >> 16);
    } else {
      out[i] = static_cast<uint8_t>("fn main() { nydus(); }\n"[(i + seed) % 23]);
    }
  }
  return out;
}

// A hand-made image with one blob and one regular file per entry of `files`, the blob bytes
// to serve it, and the file contents.
struct HandImage {
  meta::Image image;
  Bytes blob;
  std::vector<Bytes> contents;  // contents[i] is the file "/f<i>"

  const meta::Inode& file(size_t i) const { return *image.root->children[i]->inode; }
};

// What differs between the hand-made v5 and v6 images (v6_test_image.h).
struct HandLayout {
  uint32_t version = format::kRafsVersionV5;
  std::string blob_id = "hand-blob-0";
  uint64_t uncompressed_align = 1;  // v6 builders align chunks' uncompressed offsets to 4 KiB
};

// Fills `h` with the tree, chunk records and blob data (chunks only, stored back to back)
// of `files`; image.blobs[0] describes the chunk data only.
inline void BuildHandImage(HandImage* h, std::vector<Bytes> files, uint32_t chunk_size,
                           format::Compressor algo, format::Digester digester,
                           const HandLayout& layout = {}) {
  meta::Image& img = h->image;
  img.version = layout.version;
  img.chunk_size = chunk_size;
  img.compressor = algo;
  img.digester = digester;
  meta::BlobInfo blob;
  blob.blob_id = layout.blob_id;
  blob.compressor = algo;
  blob.digester = digester;
  blob.chunk_size = chunk_size;
  img.root = std::make_unique<meta::Node>();
  img.root->name = "/";
  img.root->inode = std::make_shared<meta::Inode>();
  img.root->inode->mode = S_IFDIR | 0755;
  uint32_t index = 0;
  uint64_t uoff = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    auto node = std::make_unique<meta::Node>();
    node->name = "f" + std::to_string(f);
    node->inode = std::make_shared<meta::Inode>();
    node->inode->mode = S_IFREG | 0644;
    node->inode->size = files[f].size();
    for (uint64_t off = 0; off < files[f].size(); off += chunk_size) {
      size_t len = std::min<uint64_t>(chunk_size, files[f].size() - off);
      ByteSpan raw(files[f].data() + off, len);
      Bytes stored(raw.begin(), raw.end());
      meta::ChunkInfo c;
      if (auto z = compress::Compress(algo, raw); z.ok() && z->size() < len) {
        stored = std::move(z).value();
        c.flags = format::kChunkCompressed;
      }
      c.digest = ComputeDigest(static_cast<DigestAlgo>(digester), raw);
      c.compressed_offset = h->blob.size();
      c.compressed_size = static_cast<uint32_t>(stored.size());
      c.uncompressed_size = static_cast<uint32_t>(len);
      c.uncompressed_offset = uoff;
      c.file_offset = off;
      c.index = index++;
      uoff = RoundUp(uoff + len, layout.uncompressed_align);
      h->blob.insert(h->blob.end(), stored.begin(), stored.end());
      node->inode->chunks.push_back(c);
    }
    img.root->children.push_back(std::move(node));
  }
  blob.chunk_count = index;
  blob.compressed_size = h->blob.size();
  blob.uncompressed_size = uoff;
  img.blobs.push_back(blob);
  h->contents = std::move(files);
}

// The v5 image of `files` in blob "hand-blob-0".
inline std::unique_ptr<HandImage> MakeHandImage(std::vector<Bytes> files, uint32_t chunk_size,
                                                format::Compressor algo,
                                                format::Digester digester) {
  auto h = std::make_unique<HandImage>();
  BuildHandImage(h.get(), std::move(files), chunk_size, algo, digester);
  return h;
}

// One file of `chunks` chunks of `chunk_size` bytes, the last one 100 bytes short (pattern
// `seed`), in blob "hand-blob-0" with BLAKE3 digests.
inline std::unique_ptr<HandImage> OneFileImage(size_t chunks, uint32_t chunk_size,
                                               format::Compressor algo, uint8_t seed = 7) {
  return MakeHandImage({PatternBytes(chunk_size * chunks - 100, seed)}, chunk_size, algo,
                       format::Digester::kBlake3);
}

}  // namespace nydus::storage::testing
