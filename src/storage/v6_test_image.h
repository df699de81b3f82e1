// Test-only: a hand-made RAFS v6 image with one native blob and its CI array (optionally
// with a ToC), helpers to pick and damage CI records, and a backend that flips a bit in the
// next N reads covering a byte (the faultproxy's `mode=flip&count=N`). Used by
// blob_meta_heal_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/digest.h"
#include "compress/compressor.h"
#include "format/blob_meta.h"
#include "meta/image.h"
#include "storage/blob_backend.h"
#include "storage/storage_test_util.h"

namespace nydus::storage::testing {

using format::ChunkCompressInfo;
using format::Compressor;

inline constexpr char kV6TestBlob[] = "v6-blob-0";
inline constexpr uint32_t kV6TestChunk = 16 << 10;

// A RAFS v6 image with one native blob, laid out like the builder's: chunk data, CI array
// (v1 records, stored uncompressed) and its header; with `toc` also the tar headers and a
// ToC holding the blob.meta and blob.meta.header digests, pinned by the blob table.
struct V6Image {
  meta::Image image;
  Bytes blob;
  std::vector<Bytes> contents;  // contents[i] is the file "/f<i>"
  std::vector<ChunkCompressInfo> ci;
  Bytes meta_file;  // the expected `.blob.meta`

  const meta::Inode& file(size_t i) const { return *image.root->children[i]->inode; }
  const meta::BlobInfo& info() const { return image.blobs[0]; }
  std::vector<meta::ChunkInfo> chunks() const {
    std::vector<meta::ChunkInfo> out;
    for (const auto& child : image.root->children) {
      out.insert(out.end(), child->inode->chunks.begin(), child->inode->chunks.end());
    }
    return out;
  }
  // Blob offset of the byte of CI record `i` that holds bit 4 of comp_info's byte 5: the
  // lowest bit of (compressed_size - 1).
  uint64_t SizeBitOffset(size_t i) const { return info().ci_offset + i * 16 + 13; }
};

inline void AppendTar(Bytes* out, std::string_view name, uint64_t size) {
  uint8_t header[512];
  format::MakeReverseTarHeader(name, size, header);
  out->insert(out->end(), header, header + 512);
}

inline format::TocEntry TocEntryFor(const char* name, ByteSpan content, uint64_t offset,
                                    uint64_t size) {
  format::TocEntry e;
  std::memset(&e, 0, sizeof(e));
  e.flags = format::kTocFlagNone;
  std::memcpy(e.name, name, std::strlen(name));
  Digest d = Sha256(content);
  std::copy(d.begin(), d.end(), e.uncompressed_digest);
  e.compressed_offset = offset;
  e.compressed_size = size;
  e.uncompressed_size = content.size();
  return e;
}

inline std::unique_ptr<V6Image> MakeV6Image(std::vector<Bytes> files, bool toc) {
  const Compressor algo = Compressor::kZstd;
  auto h = std::make_unique<V6Image>();
  meta::Image& img = h->image;
  img.version = format::kRafsVersionV6;
  img.chunk_size = kV6TestChunk;
  img.compressor = algo;
  img.digester = format::Digester::kBlake3;
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
    for (uint64_t off = 0; off < files[f].size(); off += kV6TestChunk) {
      size_t len = std::min<uint64_t>(kV6TestChunk, files[f].size() - off);
      ByteSpan raw(files[f].data() + off, len);
      Bytes stored(raw.begin(), raw.end());
      meta::ChunkInfo c;
      if (auto z = compress::Compress(algo, raw); z.ok() && z->size() < len) {
        stored = std::move(z).value();
        c.flags = format::kChunkCompressed;
      }
      c.digest = Blake3(raw);
      c.compressed_offset = h->blob.size();
      c.compressed_size = static_cast<uint32_t>(stored.size());
      c.uncompressed_size = static_cast<uint32_t>(len);
      c.uncompressed_offset = uoff;
      c.file_offset = off;
      c.index = index++;
      uoff = RoundUp(uoff + len, 4096);
      h->blob.insert(h->blob.end(), stored.begin(), stored.end());
      node->inode->chunks.push_back(c);
      h->ci.push_back({c.compressed_offset, c.compressed_size, c.uncompressed_offset,
                       c.uncompressed_size, c.compressed(), false, 0});
    }
    img.root->children.push_back(std::move(node));
  }
  const uint64_t data_size = h->blob.size();
  if (toc) AppendTar(&h->blob, "image.blob", data_size);

  Bytes ci_data(h->ci.size() * 16);
  for (size_t i = 0; i < h->ci.size(); ++i) format::EncodeCiV1(h->ci[i], ci_data.data() + i * 16);
  meta::BlobInfo blob;
  blob.blob_id = kV6TestBlob;
  blob.chunk_count = index;
  blob.features = format::kBlobAligned | format::kBlobCapTarToc |
                  (toc ? format::kBlobHasToc | format::kBlobHasTarHeader : 0);
  blob.compressor = algo;
  blob.digester = img.digester;
  blob.chunk_size = kV6TestChunk;
  blob.uncompressed_size = uoff;
  blob.ci_compressor = Compressor::kNone;
  blob.ci_offset = h->blob.size();
  blob.ci_compressed_size = ci_data.size();
  blob.ci_uncompressed_size = ci_data.size();
  format::BlobMetaHeader hdr;
  std::memset(&hdr, 0, sizeof(hdr));
  hdr.s_magic = hdr.s_magic2 = format::kBlobMetaMagic;
  hdr.s_features = blob.features;
  hdr.s_ci_compressor = static_cast<uint32_t>(Compressor::kNone);
  hdr.s_ci_entries = index;
  hdr.s_ci_offset = blob.ci_offset;
  hdr.s_ci_compressed_size = hdr.s_ci_uncompressed_size = ci_data.size();
  ByteSpan header(reinterpret_cast<const uint8_t*>(&hdr), sizeof(hdr));
  h->blob.insert(h->blob.end(), ci_data.begin(), ci_data.end());
  h->blob.insert(h->blob.end(), header.begin(), header.end());
  if (toc) {
    AppendTar(&h->blob, "blob.meta", ci_data.size() + header.size());
    Bytes table;
    for (const format::TocEntry& e :
         {TocEntryFor("blob.meta", ci_data, blob.ci_offset, ci_data.size()),
          TocEntryFor("blob.meta.header", header, blob.ci_offset + ci_data.size(), 4096)}) {
      const auto* p = reinterpret_cast<const uint8_t*>(&e);
      table.insert(table.end(), p, p + sizeof(e));
    }
    AppendTar(&table, "rafs.blob.toc", 2 * sizeof(format::TocEntry));
    blob.blob_toc_size = static_cast<uint32_t>(table.size());
    blob.blob_toc_digest = Sha256(table);
    h->blob.insert(h->blob.end(), table.begin(), table.end());
  }
  blob.compressed_size = h->blob.size();
  img.blobs.push_back(blob);

  h->meta_file.assign(RoundUp(ci_data.size(), 4096) + 4096, 0);
  std::copy(ci_data.begin(), ci_data.end(), h->meta_file.begin());
  std::copy(header.begin(), header.end(), h->meta_file.end() - 4096);
  h->contents = std::move(files);
  return h;
}

// Four files of 3-5 chunks: compressible text and incompressible (stored raw) runs.
inline std::unique_ptr<V6Image> TestImage(bool toc = false) {
  std::vector<Bytes> files;
  for (uint32_t i = 0; i < 4; ++i) {
    files.push_back(PatternBytes(kV6TestChunk * (3 + i % 3) - 37 * i, i + 1));
  }
  return MakeV6Image(std::move(files), toc);
}

// A compressed chunk (not the blob's last) whose (compressed_size - 1) has its lowest bit
// set (`odd`) or clear: flipping that bit shrinks the recorded size by one (a plausible
// record, a gap after it) or grows it into the next chunk (overlap).
inline size_t PickChunk(const V6Image& h, bool odd) {
  for (size_t i = 0; i + 1 < h.ci.size(); ++i) {
    if (h.ci[i].compressed && ((h.ci[i].compressed_size - 1) & 1) == (odd ? 1u : 0u)) return i;
  }
  ADD_FAILURE() << "no suitable chunk";
  return 0;
}

inline const meta::ChunkInfo& ChunkAt(const V6Image& h, size_t index) {
  for (const auto& child : h.image.root->children) {
    for (const meta::ChunkInfo& c : child->inode->chunks) {
      if (c.index == index) return c;
    }
  }
  ADD_FAILURE() << "no chunk " << index;
  return h.image.root->children[0]->inode->chunks[0];
}

// The expected bytes of `chunk`.
inline Bytes Expected(const V6Image& h, const meta::ChunkInfo& chunk) {
  for (size_t f = 0; f < h.image.root->children.size(); ++f) {
    for (const meta::ChunkInfo& c : h.file(f).chunks) {
      if (c.index == chunk.index) {
        const Bytes& all = h.contents[f];
        return Bytes(all.begin() + c.file_offset,
                     all.begin() + c.file_offset + c.uncompressed_size);
      }
    }
  }
  return {};
}

// Flips bit `bit` of blob byte `offset` in the next `count` reads that cover it (the
// faultproxy's `mode=flip&count=N`); other reads pass through.
class FlipBackend : public BlobBackend {
 public:
  explicit FlipBackend(BlobBackend* base) : base_(base) {}
  void Flip(uint64_t offset, int bit, int count) {
    offset_ = offset;
    bit_ = bit;
    remaining_.store(count);
  }
  int remaining() const { return remaining_.load(); }
  Result<std::shared_ptr<BlobReader>> Open(const std::string& id) override {
    ASSIGN_OR_RETURN(std::shared_ptr<BlobReader> base, base_->Open(id));
    return std::shared_ptr<BlobReader>(std::make_shared<Reader>(this, std::move(base)));
  }
  std::string type() const override { return "flip"; }

 private:
  class Reader : public BlobReader {
   public:
    Reader(FlipBackend* owner, std::shared_ptr<BlobReader> base)
        : owner_(owner), base_(std::move(base)) {}
    Result<uint64_t> Size() override { return base_->Size(); }
    Status ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
      RETURN_IF_ERROR(base_->ReadAt(offset, buf));
      uint64_t at = owner_->offset_;
      if (at >= offset && at - offset < buf.size()) {
        int left = owner_->remaining_.load();
        while (left > 0 && !owner_->remaining_.compare_exchange_weak(left, left - 1)) {
        }
        if (left > 0) buf[at - offset] ^= static_cast<uint8_t>(1u << owner_->bit_);
      }
      return Status::OK();
    }

   private:
    FlipBackend* const owner_;
    const std::shared_ptr<BlobReader> base_;
  };
  BlobBackend* const base_;
  uint64_t offset_ = 0;  // set before any reader reads
  int bit_ = 0;
  std::atomic<int> remaining_{0};
};

// The `.blob.meta` of `h` with CI record `i` changed by `edit` (still a valid file).
inline Bytes EditedMetaFile(const V6Image& h, size_t i, void (*edit)(ChunkCompressInfo*)) {
  Bytes file = h.meta_file;
  ChunkCompressInfo c = h.ci[i];
  edit(&c);
  format::EncodeCiV1(c, file.data() + i * 16);
  return file;
}

}  // namespace nydus::storage::testing
