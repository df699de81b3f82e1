#include "builder/chunk_dict.h"

#include <string>

namespace nydus::builder {

size_t ChunkDict::KeyHash::operator()(const Key& k) const {
  // Digests are uniformly distributed; 8 bytes of one are a good hash already.
  return static_cast<size_t>(LoadLE64(k.digest.data()) ^
                             (static_cast<uint64_t>(k.size) * 0x9e3779b97f4a7c15ull));
}

Status ChunkDict::AddImageChunks(const meta::Image& image, Source source, uint32_t blob_base,
                                 Map* map) {
  if (image.digester != digester_ || image.root == nullptr) return Status::OK();
  Status status;
  meta::WalkTree(*image.root, [&](const meta::Node& node, const std::string& path) {
    if (node.inode == nullptr || !node.inode->IsReg()) return true;
    for (const meta::ChunkInfo& chunk : node.inode->chunks) {
      if (chunk.blob_index >= image.blobs.size()) {
        status = Status::Corruption("chunk dict: " + path + ": chunk blob index " +
                                    std::to_string(chunk.blob_index) + " out of range (" +
                                    std::to_string(image.blobs.size()) + " blobs)");
        return false;
      }
      Entry entry{chunk, source};
      entry.chunk.blob_index += blob_base;
      entry.chunk.file_offset = 0;
      map->try_emplace(Key{chunk.digest, chunk.uncompressed_size}, entry);
    }
    return true;
  });
  return status;
}

Status ChunkDict::AddParent(const meta::Image& parent) {
  if (!blobs_.empty() || new_blob_index_.has_value()) {
    return Status::Internal("chunk dict: parent added after blobs were allocated");
  }
  if (parent.blobs.size() > kMaxBlobs) {
    return Status::Corruption("chunk dict: parent has " + std::to_string(parent.blobs.size()) +
                              " blobs (max " + std::to_string(kMaxBlobs) + ")");
  }
  RETURN_IF_ERROR(AddImageChunks(parent, Source::kLayered, 0, &layered_));
  for (meta::BlobInfo blob : parent.blobs) {
    blob.features &= ~format::kBlobInlinedFsMeta;
    blobs_.push_back(std::move(blob));
  }
  return Status::OK();
}

Status ChunkDict::AddDictImage(const meta::Image& dict) {
  const uint32_t base = static_cast<uint32_t>(dict_blobs_.size());
  RETURN_IF_ERROR(AddImageChunks(dict, Source::kDict, base, &dict_));
  for (meta::BlobInfo blob : dict.blobs) {
    blob.features &= ~format::kBlobInlinedFsMeta;
    dict_blobs_.push_back(std::move(blob));
    dict_blob_map_.push_back(std::nullopt);
  }
  return Status::OK();
}

const ChunkDict::Entry* ChunkDict::Find(const Digest& digest,
                                        uint32_t uncompressed_size) const {
  const Key key{digest, uncompressed_size};
  if (auto it = dict_.find(key); it != dict_.end()) return &it->second;
  if (auto it = layered_.find(key); it != layered_.end()) return &it->second;
  return nullptr;
}

Result<uint32_t> ChunkDict::AllocBlob(const meta::BlobInfo& info) {
  if (blobs_.size() >= kMaxBlobs) {
    return Status::OutOfRange("too many blobs in the image (max " +
                              std::to_string(kMaxBlobs) + ")");
  }
  blobs_.push_back(info);
  return static_cast<uint32_t>(blobs_.size() - 1);
}

Result<meta::ChunkInfo> ChunkDict::Use(const Entry& entry) {
  meta::ChunkInfo chunk = entry.chunk;
  if (entry.source == Source::kLayered) return chunk;
  const uint32_t inner = chunk.blob_index;  // validated when the dict was added
  if (!dict_blob_map_[inner].has_value()) {
    const meta::BlobInfo& blob = dict_blobs_[inner];
    // A dict blob already in the table (e.g. also a parent blob) is referenced, not copied.
    for (uint32_t i = 0; i < blobs_.size(); ++i) {
      if (i != new_blob_index_ && !blob.blob_id.empty() && blobs_[i].blob_id == blob.blob_id) {
        dict_blob_map_[inner] = i;
        break;
      }
    }
    if (!dict_blob_map_[inner].has_value()) {
      ASSIGN_OR_RETURN(uint32_t index, AllocBlob(blob));
      dict_blob_map_[inner] = index;
    }
  }
  chunk.blob_index = *dict_blob_map_[inner];
  return chunk;
}

Result<uint32_t> ChunkDict::NewBlobIndex() {
  if (!new_blob_index_.has_value()) {
    ASSIGN_OR_RETURN(uint32_t index, AllocBlob(meta::BlobInfo{}));
    new_blob_index_ = index;
  }
  return *new_blob_index_;
}

void ChunkDict::AddBuiltChunk(const meta::ChunkInfo& chunk) {
  Entry entry{chunk, Source::kLayered};
  entry.chunk.file_offset = 0;
  layered_.try_emplace(Key{chunk.digest, chunk.uncompressed_size}, entry);
}

}  // namespace nydus::builder
