// Byte-bounded LRU of decompressed chunks (see chunk_cache.h).

#include "storage/chunk_cache.h"

namespace nydus::storage {

CachedChunk ChunkCache::Lookup(const ChunkKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return {};
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->value;
}

void ChunkCache::Insert(const ChunkKey& key, CachedChunk value) {
  if (value.data == nullptr) return;
  uint64_t charge = value.data->size();
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) EraseLocked(it->second);
  if (charge > capacity_) return;
  while (bytes_ + charge > capacity_ && !lru_.empty()) {
    EraseLocked(std::prev(lru_.end()));
    ++evictions_;
  }
  lru_.push_front(Entry{key, std::move(value)});
  index_[key] = lru_.begin();
  bytes_ += charge;
}

void ChunkCache::EraseLocked(List::iterator it) {
  bytes_ -= it->value.data->size();
  index_.erase(it->key);
  lru_.erase(it);
}

uint64_t ChunkCache::size_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

size_t ChunkCache::entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

uint64_t ChunkCache::evictions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return evictions_;
}

}  // namespace nydus::storage
