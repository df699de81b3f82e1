// ImageStat: chunk and deduplication statistics over RAFS images, `nydus-image stat`
// (reference 2.2 stat.rs semantics, our own code).
//
// Base images (-B one bootstrap, or -D every bootstrap of a directory) are summed into one
// ImageInfo; their distinct chunks (by digest, counted once per image) form the dedup
// dictionary. An optional target image (-T) is then split against that dictionary: its
// distinct chunks already in a base image are "referenced" (ref_*), the others "owned"
// (own_*). With dedup enabled (-D) Finalize also fills the base image's dedup_* fields (the
// distinct chunks over all base images) and the threshold table of the text report: row N
// counts a chunk stored once if at least N base images hold it, else once per image.
//
// ImageInfo fields: dirs, files, symlinks, chunks (chunk references; a hardlinked inode's
// chunks once), file_size, comp_size, uncomp_size (chunk bytes plus padding_size, each file
// rounded up to 4 KiB), chunk_sizes[9] (chunk counts the files would have with chunk sizes
// 2^12..2^20), file_sizes[45] (files by bit length of their size, capped at 44), dedup_*,
// own_*, ref_*.
//
// Thread-safety: none; a plain value type.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/json.h"
#include "meta/image.h"

namespace nydus::meta {

struct ImageInfo {
  uint64_t dirs = 0, files = 0, symlinks = 0, chunks = 0;
  uint64_t file_size = 0, comp_size = 0, uncomp_size = 0, padding_size = 0;
  std::array<uint64_t, 9> chunk_sizes{};
  std::array<uint64_t, 45> file_sizes{};
  uint64_t dedup_chunks = 0, dedup_comp_size = 0, dedup_uncomp_size = 0;
  uint64_t own_chunks = 0, own_comp_size = 0, own_uncomp_size = 0;
  uint64_t ref_chunks = 0, ref_comp_size = 0, ref_uncomp_size = 0;

  Json ToJson() const;
  void Add(const ImageInfo& other);  // sums everything but dedup_* and ref_*
};

// One row of the deduplication table: a chunk held by at least `threshold` base images is
// counted once ("base"), any other chunk once per image ("image").
struct DedupRow {
  uint64_t raw_chunks = 0, dedup_chunks = 0;
  uint64_t comp_content_size = 0, comp_base_size = 0, comp_image_size = 0;
  uint64_t uncomp_content_size = 0, uncomp_base_size = 0, uncomp_image_size = 0;
};

class ImageStat {
 public:
  static constexpr size_t kDedupRows = 20;

  explicit ImageStat(bool dedup_enabled) : dedup_enabled_(dedup_enabled) {}

  void AddBase(const Image& image);
  // Call after every AddBase: the split uses the dictionary of the base images added so far.
  void SetTarget(const Image& image);
  // Once, after the images are in: pads uncomp_size and computes the dedup fields.
  void Finalize();

  // {"dedup_enabled", "target_enabled", "base_image", "target_image"} as the reference writes
  // them, plus "images" (one ImageInfo per base image, in order), "total_chunks" (chunk
  // references of the base images), "unique_chunks" (distinct digests over them) and
  // "dedup_ratio" (total / unique, 0 when there is none).
  Json ToJson() const;
  // The reference's text report: target statistics (with -T), base statistics, and with dedup
  // the threshold table (rows until one has no chunk; numbers in hex).
  std::string Report() const;

  const ImageInfo& base() const { return base_; }
  const ImageInfo& target() const { return target_; }
  const std::array<DedupRow, kDedupRows>& dedup_rows() const { return rows_; }

 private:
  struct DictEntry {
    uint32_t compressed_size = 0, uncompressed_size = 0;
    uint64_t images = 0;  // base images holding the chunk
  };
  struct DigestHash {
    size_t operator()(const Digest& d) const;
  };

  const bool dedup_enabled_;
  bool target_enabled_ = false;
  bool finalized_ = false;
  ImageInfo base_, target_;
  std::vector<ImageInfo> per_image_;
  std::unordered_map<Digest, DictEntry, DigestHash> dict_;
  std::array<DedupRow, kDedupRows> rows_{};
};

}  // namespace nydus::meta
