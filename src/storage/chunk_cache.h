// ChunkCache: a byte-bounded LRU cache of decompressed, verified chunks, keyed by
// (blob index, chunk index). Values are shared immutable buffers, so a reader keeps its
// bytes alive even after the entry is evicted.
// Thread-safety: all methods may be called concurrently (one internal mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "base/bytes.h"
#include "base/digest.h"

namespace nydus::storage {

struct ChunkKey {
  uint32_t blob_index = 0;
  uint32_t chunk_index = 0;
  bool operator==(const ChunkKey&) const = default;
};

struct ChunkKeyHash {
  size_t operator()(const ChunkKey& k) const {
    return std::hash<uint64_t>()(uint64_t{k.blob_index} << 32 | k.chunk_index);
  }
};

// A decompressed chunk plus what identified it when it was fetched. Two chunk descriptors
// with the same key but a different digest or size describe different data (a corrupt
// bootstrap); callers compare `digest` before trusting a cached value.
struct CachedChunk {
  Digest digest{};
  std::shared_ptr<const Bytes> data;
};

class ChunkCache {
 public:
  // `capacity_bytes` bounds the sum of cached data sizes; 0 disables caching.
  explicit ChunkCache(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}
  ChunkCache(const ChunkCache&) = delete;
  ChunkCache& operator=(const ChunkCache&) = delete;

  // The entry for `key`, marked most recently used; data == nullptr when absent.
  CachedChunk Lookup(const ChunkKey& key);
  // Inserts or replaces `key`, then evicts least recently used entries until the total fits.
  // A value larger than the whole capacity is not cached.
  void Insert(const ChunkKey& key, CachedChunk value);

  uint64_t capacity() const { return capacity_; }
  uint64_t size_bytes() const;
  size_t entries() const;
  uint64_t evictions() const;

 private:
  struct Entry {
    ChunkKey key;
    CachedChunk value;
  };
  using List = std::list<Entry>;

  void EraseLocked(List::iterator it);

  const uint64_t capacity_;
  mutable std::mutex mu_;
  List lru_;  // most recently used first; guarded by mu_
  std::unordered_map<ChunkKey, List::iterator, ChunkKeyHash> index_;  // guarded by mu_
  uint64_t bytes_ = 0;      // sum of lru_ data sizes; guarded by mu_
  uint64_t evictions_ = 0;  // guarded by mu_
};

}  // namespace nydus::storage
