// Test-only: a hand-made RAFS v6 image with one native blob and its CI array (optionally
// with a ToC), built on storage_test_util.h's hand-made image, and helpers to pick and
// damage CI records. Used by blob_meta_heal_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/digest.h"
#include "format/blob_meta.h"
#include "meta/image.h"
#include "storage/storage_test_util.h"

namespace nydus::storage::testing {

using format::ChunkCompressInfo;
using format::Compressor;

inline constexpr char kV6TestBlob[] = "v6-blob-0";
inline constexpr uint32_t kV6TestChunk = 16 << 10;

// A RAFS v6 image with one native blob, laid out like the builder's: chunk data, CI array
// (v1 records, stored uncompressed) and its header; with `toc` also the tar headers and a
// ToC holding the blob.meta and blob.meta.header digests, pinned by the blob table.
struct V6Image : HandImage {
  std::vector<ChunkCompressInfo> ci;
  Bytes meta_file;  // the expected `.blob.meta`

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
  auto h = std::make_unique<V6Image>();
  BuildHandImage(h.get(), std::move(files), kV6TestChunk, Compressor::kZstd,
                 format::Digester::kBlake3,
                 HandLayout{format::kRafsVersionV6, kV6TestBlob, /*uncompressed_align=*/4096});
  for (const meta::ChunkInfo& c : h->chunks()) {
    h->ci.push_back({c.compressed_offset, c.compressed_size, c.uncompressed_offset,
                     c.uncompressed_size, c.compressed(), false, 0});
  }
  const uint64_t data_size = h->blob.size();
  if (toc) AppendTar(&h->blob, "image.blob", data_size);

  Bytes ci_data(h->ci.size() * 16);
  for (size_t i = 0; i < h->ci.size(); ++i) format::EncodeCiV1(h->ci[i], ci_data.data() + i * 16);
  meta::BlobInfo& blob = h->image.blobs[0];
  blob.features = format::kBlobAligned | format::kBlobCapTarToc |
                  (toc ? format::kBlobHasToc | format::kBlobHasTarHeader : 0);
  blob.ci_compressor = Compressor::kNone;
  blob.ci_offset = h->blob.size();
  blob.ci_compressed_size = ci_data.size();
  blob.ci_uncompressed_size = ci_data.size();
  format::BlobMetaHeader hdr;
  std::memset(&hdr, 0, sizeof(hdr));
  hdr.s_magic = hdr.s_magic2 = format::kBlobMetaMagic;
  hdr.s_features = blob.features;
  hdr.s_ci_compressor = static_cast<uint32_t>(Compressor::kNone);
  hdr.s_ci_entries = blob.chunk_count;
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

  h->meta_file.assign(RoundUp(ci_data.size(), 4096) + 4096, 0);
  std::copy(ci_data.begin(), ci_data.end(), h->meta_file.begin());
  std::copy(header.begin(), header.end(), h->meta_file.end() - 4096);
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

// The `.blob.meta` of `h` with CI record `i` changed by `edit` (still a valid file).
inline Bytes EditedMetaFile(const V6Image& h, size_t i, void (*edit)(ChunkCompressInfo*)) {
  Bytes file = h.meta_file;
  ChunkCompressInfo c = h.ci[i];
  edit(&c);
  format::EncodeCiV1(c, file.data() + i * 16);
  return file;
}

}  // namespace nydus::storage::testing
