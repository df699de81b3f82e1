// nydus-image stat: per-image counts, the base dictionary and the dedup table (image_stat.h).

#include "meta/image_stat.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <unordered_set>

namespace nydus::meta {

namespace {

// Adds `v` in lower-case hex, "0x" first, left-aligned in a field of 14 digits.
void AppendHexCell(std::string* out, uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%-14" PRIx64, v);
  *out += buf;
}

void AppendLine(std::string* out, const std::string& label, uint64_t v) {
  *out += label + std::to_string(v) + "\n";
}

std::string InfoReport(const ImageInfo& i) {
  std::string s = "\n";
  AppendLine(&s, "Directories:            ", i.dirs);
  AppendLine(&s, "Files:                  ", i.files);
  AppendLine(&s, "Symlinks:               ", i.symlinks);
  AppendLine(&s, "Chunks:                 ", i.chunks);
  AppendLine(&s, "File Size:              ", i.file_size);
  AppendLine(&s, "Padding Size:           ", i.padding_size);
  AppendLine(&s, "Uncompressed Size:      ", i.uncomp_size);
  AppendLine(&s, "Compressed Size:        ", i.comp_size);
  s += "\nFile Size Bits:\t\tFile Count:\n";
  for (size_t b = 0; b < i.file_sizes.size(); ++b)
    AppendLine(&s, std::to_string(b) + ":\t\t\t", i.file_sizes[b]);
  s += "\nChunk Size Bits:\tChunk Count:\n";
  for (size_t b = 0; b < i.chunk_sizes.size(); ++b) {
    AppendLine(&s, std::to_string(b + 12) + ":\t\t\t", i.chunk_sizes[b]);
  }
  s += "\n";
  AppendLine(&s, "Raw Content Size:\t", i.file_size);
  AppendLine(&s, "Comp Content Size:\t", i.comp_size);
  AppendLine(&s, "Raw Chunk Count:\t", i.chunks);
  AppendLine(&s, "Dedup Comp Size:\t", i.dedup_comp_size);
  AppendLine(&s, "Dedup Uncomp Size:\t", i.dedup_uncomp_size);
  AppendLine(&s, "Dedup Chunk Count:\t", i.dedup_chunks);
  AppendLine(&s, "Owned Comp Size:\t", i.own_comp_size);
  AppendLine(&s, "Owned Uncomp Size:\t", i.own_uncomp_size);
  AppendLine(&s, "Owned Chunk Count:\t", i.own_chunks);
  AppendLine(&s, "Referenced Comp Size:\t", i.ref_comp_size);
  AppendLine(&s, "Referenced Uncomp Size:\t", i.ref_uncomp_size);
  AppendLine(&s, "Referenced Chunk Count:\t", i.ref_chunks);
  return s;
}

// Counts one image into `info` and collects its distinct chunks by digest.
template <typename Dict>
void CountImage(const Image& image, ImageInfo* info, Dict* chunks) {
  if (!image.root) return;
  std::unordered_set<const Inode*> seen;
  WalkTree(*image.root, [&](const Node& node, const std::string&) {
    const Inode& inode = *node.inode;
    if (inode.IsReg()) {
      ++info->files;
      if (!seen.insert(&inode).second) return true;  // a hardlink's data counts once
      const uint64_t size = inode.size;
      const int bits = size == 0 ? 0 : 64 - __builtin_clzll(size);
      ++info->file_sizes[std::min<size_t>(bits, info->file_sizes.size() - 1)];
      info->file_size += size;
      info->padding_size += RoundUp(size, 4096) - size;
      info->chunks += inode.chunks.size();
      for (const ChunkInfo& c : inode.chunks) {
        info->comp_size += c.compressed_size;
        info->uncomp_size += c.uncompressed_size;
        chunks->emplace(c.digest, &c);
      }
      for (size_t b = 0; b < info->chunk_sizes.size(); ++b) {
        const uint64_t cs = uint64_t{1} << (b + 12);
        info->chunk_sizes[b] += size / cs + (size % cs != 0);
      }
    } else if (inode.IsDir()) {
      ++info->dirs;
    } else if (inode.IsSymlink()) {
      ++info->symlinks;
    }
    return true;
  });
}

}  // namespace

Json ImageInfo::ToJson() const {
  return Json{{"dirs", dirs},
              {"files", files},
              {"symlinks", symlinks},
              {"chunks", chunks},
              {"file_size", file_size},
              {"comp_size", comp_size},
              {"uncomp_size", uncomp_size},
              {"padding_size", padding_size},
              {"chunk_sizes", chunk_sizes},
              {"file_sizes", file_sizes},
              {"dedup_chunks", dedup_chunks},
              {"dedup_comp_size", dedup_comp_size},
              {"dedup_uncomp_size", dedup_uncomp_size},
              {"own_chunks", own_chunks},
              {"own_comp_size", own_comp_size},
              {"own_uncomp_size", own_uncomp_size},
              {"ref_chunks", ref_chunks},
              {"ref_comp_size", ref_comp_size},
              {"ref_uncomp_size", ref_uncomp_size}};
}

void ImageInfo::Add(const ImageInfo& o) {
  dirs += o.dirs, files += o.files, symlinks += o.symlinks, chunks += o.chunks;
  file_size += o.file_size, comp_size += o.comp_size, uncomp_size += o.uncomp_size;
  padding_size += o.padding_size;
  for (size_t i = 0; i < chunk_sizes.size(); ++i) chunk_sizes[i] += o.chunk_sizes[i];
  for (size_t i = 0; i < file_sizes.size(); ++i) file_sizes[i] += o.file_sizes[i];
  own_chunks += o.own_chunks, own_comp_size += o.own_comp_size;
  own_uncomp_size += o.own_uncomp_size;
}

size_t ImageStat::DigestHash::operator()(const Digest& d) const {
  size_t h;
  std::memcpy(&h, d.data(), sizeof(h));
  return h;
}

void ImageStat::AddBase(const Image& image) {
  ImageInfo info;
  std::unordered_map<Digest, const ChunkInfo*, DigestHash> chunks;
  CountImage(image, &info, &chunks);
  for (const auto& [digest, c] : chunks) {
    ++info.own_chunks;
    info.own_comp_size += c->compressed_size;
    info.own_uncomp_size += c->uncompressed_size;
    auto [it, fresh] = dict_.emplace(digest, DictEntry{c->compressed_size, c->uncompressed_size});
    ++it->second.images;
  }
  base_.Add(info);
  per_image_.push_back(info);
}

void ImageStat::SetTarget(const Image& image) {
  target_enabled_ = true;
  target_ = ImageInfo();
  std::unordered_map<Digest, const ChunkInfo*, DigestHash> chunks;
  CountImage(image, &target_, &chunks);
  for (const auto& [digest, c] : chunks) {
    const bool referenced = dict_.contains(digest);
    (referenced ? target_.ref_chunks : target_.own_chunks) += 1;
    (referenced ? target_.ref_comp_size : target_.own_comp_size) += c->compressed_size;
    (referenced ? target_.ref_uncomp_size : target_.own_uncomp_size) += c->uncompressed_size;
  }
}

void ImageStat::Finalize() {
  if (finalized_) return;
  finalized_ = true;
  base_.uncomp_size += base_.padding_size;
  for (ImageInfo& i : per_image_) i.uncomp_size += i.padding_size;
  if (target_enabled_) target_.uncomp_size += target_.padding_size;
  if (!dedup_enabled_) return;
  for (const auto& [digest, e] : dict_) {
    const uint64_t n = e.images, c = e.compressed_size, u = e.uncompressed_size;
    const size_t shared_rows = std::min<uint64_t>(kDedupRows, n);
    for (size_t r = 0; r < kDedupRows; ++r) {
      DedupRow& row = rows_[r];
      row.raw_chunks += n;
      row.comp_content_size += n * c;
      row.uncomp_content_size += n * u;
      if (r < shared_rows) {  // held by more than r images: stored once
        row.dedup_chunks += 1;
        row.comp_base_size += c;
        row.uncomp_base_size += u;
      } else {  // below the threshold: every image keeps its copy
        row.dedup_chunks += n;
        row.comp_image_size += n * c;
        row.uncomp_image_size += n * u;
      }
    }
    ++base_.dedup_chunks;
    base_.dedup_comp_size += c;
    base_.dedup_uncomp_size += u;
  }
}

Json ImageStat::ToJson() const {
  Json images = Json::array();
  for (const ImageInfo& i : per_image_) images.push_back(i.ToJson());
  const uint64_t unique = dict_.size();
  const double ratio =
      unique ? static_cast<double>(base_.chunks) / static_cast<double>(unique) : 0.0;
  return Json{{"dedup_enabled", dedup_enabled_}, {"target_enabled", target_enabled_},
              {"base_image", base_.ToJson()},    {"target_image", target_.ToJson()},
              {"images", std::move(images)},     {"total_chunks", base_.chunks},
              {"unique_chunks", unique},         {"dedup_ratio", ratio}};
}

std::string ImageStat::Report() const {
  std::string s;
  if (target_enabled_) s += "Target Image Statistics:\n" + InfoReport(target_);
  s += "\n\nBase Image Statistics:\n" + InfoReport(base_);
  if (!dedup_enabled_) return s;
  s += "\n\nChunk Deduplication Statistics:\n";
  s += "Global Dedup Thresh:\tRaw Chunks:\tDedup Chunks:\tComp Content Size:\tComp Base "
       "Size:\tComp Image Size:\tUncomp Content Size:\tUncomp Base Size\tUncomp Image Size\n";
  for (size_t r = 0; r < kDedupRows && rows_[r].dedup_chunks != 0; ++r) {
    const DedupRow& row = rows_[r];
    char idx[32];
    std::snprintf(idx, sizeof(idx), "%-24zu", r + 1);
    s += idx;
    for (uint64_t v : {row.raw_chunks, row.dedup_chunks, row.comp_content_size, row.comp_base_size,
                       row.comp_image_size, row.uncomp_content_size, row.uncomp_base_size,
                       row.uncomp_image_size}) {
      AppendHexCell(&s, v);
    }
    s += "\n";
  }
  return s;
}

}  // namespace nydus::meta
