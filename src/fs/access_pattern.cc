#include "fs/access_pattern.h"

#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <utility>

namespace nydus::fs {

void AccessRecorder::Touch(Slot& s, uint64_t offset, uint64_t size) {
  if (size == 0) return;
  const uint64_t first = offset / kAccessBlock;
  const uint64_t last = (offset + size - 1) / kAccessBlock;
  if (last < first || last - first > (1u << 24)) return;  // overflow / absurd request
  if (s.blocks.size() <= last) s.blocks.resize(last + 1, false);
  for (uint64_t b = first; b <= last; ++b) {
    if (!s.blocks[b]) {
      s.blocks[b] = true;
      ++s.touched;
    }
  }
}

void AccessRecorder::RecordRead(uint64_t ino, uint64_t offset, uint64_t size) {
  // Fibonacci hashing: consecutive inode numbers land in different shards.
  Shard& shard = shards_[(ino * 0x9E3779B97F4A7C15ull) >> 60];
  static_assert(kShards == 16, "the shift above takes the top 4 bits");
  std::lock_guard<std::mutex> lock(shard.mu);
  auto [it, inserted] = shard.slots.try_emplace(ino);
  Slot& s = it->second;
  if (inserted) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now);
    s.seq = next_seq_.fetch_add(1, std::memory_order_relaxed);
    s.secs = static_cast<uint64_t>(secs.count());
    s.nanos = static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - secs).count());
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  ++s.nr_read;
  Touch(s, offset, size);
}

namespace {

// Runs of set bits in `blocks` as [offset, length] byte ranges.
std::vector<std::pair<uint64_t, uint64_t>> BlockRuns(const std::vector<bool>& blocks) {
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  const uint64_t n = blocks.size();
  for (uint64_t b = 0; b < n;) {
    if (!blocks[b]) {
      ++b;
      continue;
    }
    const uint64_t start = b;
    while (b < n && blocks[b]) ++b;
    runs.emplace_back(start * kAccessBlock, (b - start) * kAccessBlock);
  }
  return runs;
}

}  // namespace

std::vector<std::pair<uint64_t, uint64_t>> ClampRanges(
    std::vector<std::pair<uint64_t, uint64_t>> ranges, uint64_t size) {
  while (!ranges.empty() && ranges.back().first >= size) ranges.pop_back();
  if (!ranges.empty() && ranges.back().second > size - ranges.back().first) {
    ranges.back().second = size - ranges.back().first;
  }
  return ranges;
}

std::vector<AccessRecord> AccessRecorder::Snapshot() const {
  std::vector<std::pair<uint64_t, AccessRecord>> seq_records;
  seq_records.reserve(size());
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    for (const auto& [ino, s] : shard.slots) {
      AccessRecord r;
      r.ino = ino;
      r.nr_read = s.nr_read;
      r.first_access_time_secs = s.secs;
      r.first_access_time_nanos = s.nanos;
      r.bytes_touched = s.touched * kAccessBlock;
      r.ranges = BlockRuns(s.blocks);
      seq_records.emplace_back(s.seq, std::move(r));
    }
  }
  std::sort(seq_records.begin(), seq_records.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<AccessRecord> out;
  out.reserve(seq_records.size());
  for (auto& [seq, r] : seq_records) out.push_back(std::move(r));
  return out;
}

Result<std::unordered_map<uint64_t, std::string>> ResolvePaths(
    const RafsFs& fs, const std::unordered_set<uint64_t>& inos) {
  std::unordered_map<uint64_t, std::string> out;
  if (inos.empty()) return out;
  if (inos.count(kRootIno)) out.emplace(kRootIno, "/");
  // Breadth first: (directory ino, its path with a trailing '/').
  std::deque<std::pair<uint64_t, std::string>> queue;
  queue.emplace_back(kRootIno, "/");
  std::unordered_set<uint64_t> seen_dirs{kRootIno};
  while (!queue.empty() && out.size() < inos.size()) {
    // Not a structured binding: clang 14 (the fuzz/ASan build) cannot capture one in the
    // lambda below.
    const uint64_t dir = queue.front().first;
    const std::string prefix = std::move(queue.front().second);
    queue.pop_front();
    Status st = fs.ReadDir(dir, 0, [&](const DirEntry& e) {
      if (e.name == "." || e.name == "..") return true;
      std::string path = prefix + e.name;
      if (inos.count(e.ino)) out.try_emplace(e.ino, path);
      if (e.type == DT_DIR && seen_dirs.insert(e.ino).second) {
        queue.emplace_back(e.ino, path + "/");
      }
      return true;
    });
    if (!st.ok()) return st.WithContext("resolving access-pattern paths under " + prefix);
  }
  return out;
}

}  // namespace nydus::fs
