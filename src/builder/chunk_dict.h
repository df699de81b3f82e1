// ChunkDict: the chunk deduplication map of one build (reference spec §3.0 "Deduplication")
// together with the output blob table it implies.
//
// Key: (chunk digest, uncompressed size). Three sources, searched in this order (as
// nydus-image 2.2 does: the global --chunk-dict first, then the layered dict):
//   1. a --chunk-dict bootstrap (AddDictImage): its chunks name blobs of *its* blob table;
//      such a blob enters the output blob table only when one of its chunks is first used,
//      at the end of the table at that moment;
//   2. the parent bootstrap of a layered build (AddParent): its blob table is the prefix of
//      the output table, so its chunks keep their blob indexes;
//   3. chunks written by this build (AddBuiltChunk).
// The first chunk seen for a key wins; later ones with the same key are ignored. Chunks of
// an image whose digester differs from the build's are not added (they cannot match).
//
// The blob being built gets its output index lazily too (NewBlobIndex, on its first new
// chunk), so that the table order matches the reference: parent blobs, then dict and new
// blobs in order of first reference. blobs() holds a placeholder for the new blob, to be
// replaced by the BlobWriter's final BlobInfo.
//
// Thread-safety: none for mutation. Const methods (Find, Contains) may run concurrently with
// each other while no mutating method runs.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/digest.h"
#include "base/result.h"
#include "format/rafs.h"
#include "meta/image.h"

namespace nydus::builder {

class ChunkDict {
 public:
  enum class Source { kDict, kLayered };
  struct Entry {
    meta::ChunkInfo chunk;  // as stored by its source; blob_index is source-relative for kDict
    Source source;
  };

  // At most 256 blobs in an image (the v6 device id is one byte).
  static constexpr uint32_t kMaxBlobs = 256;

  explicit ChunkDict(format::Digester digester) : digester_(digester) {}
  ChunkDict(const ChunkDict&) = delete;
  ChunkDict& operator=(const ChunkDict&) = delete;

  // Seeds from the parent bootstrap: copies its blob table (dropping INLINED_FS_META, as the
  // reference does for blobs it re-records) and all chunks of its regular files.
  // REQUIRES: called at most once, before any blob was allocated. Corruption when a chunk
  // names a blob outside the parent's table.
  Status AddParent(const meta::Image& parent);
  // Seeds from a --chunk-dict bootstrap (may be called more than once for several dicts).
  // Corruption when a chunk names a blob outside that image's table.
  Status AddDictImage(const meta::Image& dict);

  // The stored chunk for this key, or nullptr. Pointers stay valid for the dict's lifetime.
  const Entry* Find(const Digest& digest, uint32_t uncompressed_size) const;
  bool Contains(const Digest& digest, uint32_t uncompressed_size) const {
    return Find(digest, uncompressed_size) != nullptr;
  }
  // The chunk to reference in the output image for `entry`: a dict chunk gets its blob's
  // output index, appending that blob to the table on first use. file_offset is left as
  // stored; the caller sets it. OutOfRange when the table would exceed kMaxBlobs.
  Result<meta::ChunkInfo> Use(const Entry& entry);

  // Output index of the blob being built, allocated on the first call.
  Result<uint32_t> NewBlobIndex();
  std::optional<uint32_t> new_blob_index() const { return new_blob_index_; }
  // Records a chunk just written to the new blob (chunk.blob_index = NewBlobIndex()).
  void AddBuiltChunk(const meta::ChunkInfo& chunk);

  // Output blob table so far, in index order (placeholder entry at new_blob_index()).
  const std::vector<meta::BlobInfo>& blobs() const { return blobs_; }
  // Number of distinct chunk keys.
  size_t size() const { return dict_.size() + layered_.size(); }
  format::Digester digester() const { return digester_; }

 private:
  struct Key {
    Digest digest;
    uint32_t size;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  using Map = std::unordered_map<Key, Entry, KeyHash>;

  Status AddImageChunks(const meta::Image& image, Source source, uint32_t blob_base,
                        Map* map);
  Result<uint32_t> AllocBlob(const meta::BlobInfo& info);

  format::Digester digester_;
  Map dict_;      // --chunk-dict chunks
  Map layered_;   // parent and built chunks
  std::vector<meta::BlobInfo> dict_blobs_;     // blob tables of the dict images, concatenated
  std::vector<std::optional<uint32_t>> dict_blob_map_;  // dict blob → output index
  std::vector<meta::BlobInfo> blobs_;          // output blob table
  std::optional<uint32_t> new_blob_index_;
};

}  // namespace nydus::builder
