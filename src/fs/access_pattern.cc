#include "fs/access_pattern.h"

#include <dirent.h>

#include <chrono>
#include <mutex>
#include <utility>

namespace nydus::fs {

void AccessRecorder::Touch(Slot& s, uint64_t offset, uint64_t size) {
  if (size == 0) return;
  const uint64_t first = offset / kAccessBlock;
  const uint64_t last = (offset + size - 1) / kAccessBlock;
  if (last < first || last - first > (1u << 24)) return;  // overflow / absurd request
  std::lock_guard<std::mutex> lock(s.blocks_mu);
  if (s.blocks.size() <= last) s.blocks.resize(last + 1, false);
  for (uint64_t b = first; b <= last; ++b) {
    if (!s.blocks[b]) {
      s.blocks[b] = true;
      ++s.touched;
    }
  }
}

void AccessRecorder::RecordRead(uint64_t ino, uint64_t offset, uint64_t size) {
  {
    std::shared_lock lock(mu_);
    auto it = index_.find(ino);
    if (it != index_.end()) {
      it->second->nr_read.fetch_add(1, std::memory_order_relaxed);
      Touch(*it->second, offset, size);
      return;
    }
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now);
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now - secs);
  std::unique_lock lock(mu_);
  auto [it, inserted] = index_.try_emplace(ino, nullptr);
  if (inserted) {
    Slot& s = slots_.emplace_back();
    s.ino = ino;
    s.secs = static_cast<uint64_t>(secs.count());
    s.nanos = static_cast<uint32_t>(nanos.count());
    it->second = &s;
  }
  it->second->nr_read.fetch_add(1, std::memory_order_relaxed);
  Touch(*it->second, offset, size);
}

std::vector<AccessRecord> AccessRecorder::Snapshot() const {
  std::shared_lock lock(mu_);
  std::vector<AccessRecord> out;
  out.reserve(slots_.size());
  for (const Slot& s : slots_) {
    uint64_t touched;
    {
      std::lock_guard<std::mutex> blocks_lock(s.blocks_mu);
      touched = s.touched;
    }
    out.push_back({s.ino, s.nr_read.load(std::memory_order_relaxed), s.secs, s.nanos,
                   touched * kAccessBlock});
  }
  return out;
}

size_t AccessRecorder::size() const {
  std::shared_lock lock(mu_);
  return slots_.size();
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
