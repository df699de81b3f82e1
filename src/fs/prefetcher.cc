#include "fs/prefetcher.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <unordered_set>
#include <utility>

#include "base/logging.h"
#include "format/rafs.h"

namespace nydus::fs {
namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double SteadySec() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Collects the chunks of every regular file at or below the given ids, skipping chunks (and
// inodes) already seen.
class ChunkCollector {
 public:
  ChunkCollector(const meta::ImageView& view, const std::atomic<bool>& stop)
      : view_(view), stop_(stop) {}

  // Adds every chunk of the files at or below `id`. With `only_blobs`, a walk of its own that
  // keeps only the chunks of blobs `b` with (*only_blobs)[b] set: the inodes it visits stay
  // unseen for later unfiltered calls (their other chunks are still to be collected).
  void Add(uint64_t id, const std::vector<bool>* only_blobs = nullptr) {
    std::unordered_set<uint64_t> filtered_seen;
    std::unordered_set<uint64_t>& seen = only_blobs ? filtered_seen : seen_inodes_;
    std::vector<uint64_t> stack{id};
    std::vector<meta::ChunkInfo> chunks;
    while (!stack.empty() && !stop_.load(std::memory_order_relaxed)) {
      const uint64_t cur = stack.back();
      stack.pop_back();
      if ((only_blobs != nullptr && seen_inodes_.contains(cur)) || !seen.insert(cur).second) {
        continue;
      }
      Result<meta::InodeAttrs> attrs = view_.GetInode(cur);
      if (!attrs.ok()) {
        LOG_WARN("prefetch: skipping inode {}: {}", cur, attrs.status().ToString());
        continue;
      }
      if (attrs->IsDir()) {
        Status st = view_.ReadDir(cur, 0, [&](std::string_view name, uint64_t child, uint32_t,
                                              uint64_t) {
          if (name != "." && name != "..") stack.push_back(child);
          return true;
        });
        if (!st.ok()) LOG_WARN("prefetch: cannot list inode {}: {}", cur, st.ToString());
        continue;
      }
      if (!attrs->IsReg() || attrs->size == 0) continue;
      Status st = view_.Chunks(cur, 0, attrs->size, &chunks);
      if (!st.ok()) {
        LOG_WARN("prefetch: no chunks for inode {}: {}", cur, st.ToString());
        continue;
      }
      bool kept = only_blobs == nullptr;
      for (const meta::ChunkInfo& c : chunks) {
        if (only_blobs != nullptr &&
            (c.blob_index >= only_blobs->size() || !(*only_blobs)[c.blob_index])) {
          continue;
        }
        kept = true;
        if (seen_chunks_.insert({c.blob_index, c.index}).second) phase_.push_back(c);
      }
      // A file counts once: an unfiltered walk reaches it once (seen_inodes_), and skips
      // the count when a filtered walk made it.
      if (only_blobs != nullptr ? kept && filtered_files_.insert(cur).second
                                : !filtered_files_.contains(cur)) {
        ++files_;
      }
    }
  }

  // The chunks added since the last call, in stored order per blob.
  std::vector<meta::ChunkInfo> TakePhase() {
    std::sort(phase_.begin(), phase_.end(), [](const meta::ChunkInfo& a, const meta::ChunkInfo& b) {
      return std::tie(a.blob_index, a.compressed_offset) <
             std::tie(b.blob_index, b.compressed_offset);
    });
    return std::exchange(phase_, {});
  }
  uint64_t files() const { return files_; }

 private:
  const meta::ImageView& view_;
  const std::atomic<bool>& stop_;
  std::unordered_set<uint64_t> seen_inodes_;     // reached by unfiltered walks
  std::unordered_set<uint64_t> filtered_files_;  // files counted by filtered walks
  std::set<std::pair<uint32_t, uint32_t>> seen_chunks_;
  std::vector<meta::ChunkInfo> phase_;
  uint64_t files_ = 0;
};

// The id of absolute `path`, or an error.
Result<uint64_t> Resolve(const meta::ImageView& view, const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return Status::InvalidArgument("prefetch path '" + path + "' is not absolute");
  }
  uint64_t id = view.root_id();
  size_t i = 1;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) {
      ASSIGN_OR_RETURN(meta::ViewEntry e, view.Lookup(id, std::string_view(path).substr(i, j - i)));
      id = e.id;
    }
    i = j + 1;
  }
  return id;
}

}  // namespace

std::unique_ptr<Prefetcher> Prefetcher::Start(const meta::ImageView* view,
                                              storage::ChunkReader* reader,
                                              const PrefetchOptions& options,
                                              std::vector<std::string> paths) {
  std::unique_ptr<Prefetcher> p(new Prefetcher(view, reader, options));
  p->begin_ms_ = WallMs();
  p->running_ = 1;
  Prefetcher* self = p.get();
  p->planner_ = std::thread([self, paths = std::move(paths)] {
    self->Plan(paths);
    const uint32_t n = std::max<uint32_t>(1, self->options_.threads);
    for (uint32_t i = 0; i < n && !self->batches_.empty(); ++i) {
      self->workers_.emplace_back([self] { self->Run(); });
    }
    for (std::thread& t : self->workers_) t.join();
    self->end_ms_ = WallMs();
    self->running_ = 0;
    LOG_INFO("prefetch: {} ({} files, {} chunks, {} bytes, {} batches, {} failed)",
             self->stop_ ? "stopped" : "done", self->files_.load(), self->chunks_.load(),
             self->bytes_planned_.load(),
             self->batches_done_.load(), self->errors_.load());
  });
  return p;
}

Prefetcher::Prefetcher(const meta::ImageView* view, storage::ChunkReader* reader,
                       const PrefetchOptions& options)
    : view_(view), reader_(reader), options_(options) {}

Prefetcher::~Prefetcher() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (planner_.joinable()) planner_.join();
}

void Prefetcher::Wait() {
  if (planner_.joinable()) planner_.join();
}

void Prefetcher::Plan(const std::vector<std::string>& paths) {
  ChunkCollector collector(*view_, stop_);
  std::vector<std::vector<meta::ChunkInfo>> phases;
  // Phase 0: the separated prefetch blobs (`nydus-image optimize`), whole and first. Only
  // images that have one pay for the walk of the whole tree.
  const std::vector<meta::BlobInfo>& blobs = view_->header().blobs;
  std::vector<bool> separated(blobs.size(), false);
  bool any_separated = false;
  for (size_t b = 0; b < blobs.size(); ++b) {
    if (blobs[b].features & format::kBlobSeparatedPrefetch) separated[b] = any_separated = true;
  }
  if (any_separated) {
    collector.Add(view_->root_id(), &separated);
    phases.push_back(collector.TakePhase());
    std::vector<std::pair<uint64_t, uint64_t>> per_blob(blobs.size());  // chunks, bytes
    for (const meta::ChunkInfo& c : phases.back()) {
      ++per_blob[c.blob_index].first;
      per_blob[c.blob_index].second += c.compressed_size;
    }
    for (size_t b = 0; b < blobs.size(); ++b) {
      if (!separated[b]) continue;
      LOG_INFO("prefetch: separated prefetch blob {}: {} chunks (of {}), {} bytes",
               blobs[b].blob_id, per_blob[b].first, blobs[b].chunk_count, per_blob[b].second);
    }
  }
  std::vector<uint64_t> ids;
  std::vector<std::string> list = paths.empty() ? view_->header().prefetch : paths;
  bool all = options_.prefetch_all;
  for (const std::string& path : list) {
    Result<uint64_t> id = Resolve(*view_, path);
    if (!id.ok()) {
      LOG_WARN("prefetch: skipping {}: {}", path, id.status().ToString());
      continue;
    }
    ids.push_back(*id);
  }
  if (paths.empty()) {
    for (uint64_t id : view_->PrefetchIds()) ids.push_back(id);
  }
  // The reference prefetches everything when the list is exactly the root. A separated
  // prefetch blob supersedes that default: the image's own table of "/" (what nydusify
  // writes when given no patterns) then means its prefetch blob, not the whole image.
  if (ids.size() == 1 && ids[0] == view_->root_id()) {
    if (any_separated && paths.empty()) {
      LOG_INFO(
          "prefetch: the image's prefetch table is \"/\"; its separated prefetch blob "
          "is prefetched instead of the whole image (prefetch_all: true fetches it all)");
      ids.clear();
    } else {
      all = true;
    }
  }
  for (uint64_t id : ids) collector.Add(id);
  phases.push_back(collector.TakePhase());
  if (all) {
    collector.Add(view_->root_id());
    phases.push_back(collector.TakePhase());
  }
  // Cut each phase into batches of adjacent chunks of one blob, about batch_size bytes each.
  for (const auto& phase : phases) {
    std::vector<meta::ChunkInfo> batch;
    uint64_t bytes = 0;
    for (const meta::ChunkInfo& c : phase) {
      if (!batch.empty() &&
          (batch.back().blob_index != c.blob_index || bytes + c.compressed_size > options_.batch_size)) {
        batches_.push_back(std::move(batch));
        batch.clear();
        bytes = 0;
      }
      batch.push_back(c);
      bytes += c.compressed_size;
      bytes_planned_ += c.compressed_size;
      ++chunks_;
    }
    if (!batch.empty()) batches_.push_back(std::move(batch));
  }
  files_ = collector.files();
  LOG_INFO("prefetch: {} files, {} chunks, {} bytes in {} batches{}", files_.load(),
           chunks_.load(), bytes_planned_.load(), batches_.size(),
           all ? " (all of the image)" : "");
}

void Prefetcher::Run() {
  while (!stop_.load()) {
    const size_t i = next_batch_.fetch_add(1);
    if (i >= batches_.size()) return;
    uint64_t bytes = 0;
    for (const meta::ChunkInfo& c : batches_[i]) bytes += c.compressed_size;
    Pace(bytes);
    if (stop_.load()) return;
    Status st = reader_->Warm(batches_[i], options_.batch_size);
    if (!st.ok()) {
      errors_.fetch_add(1);
      LOG_WARN("prefetch: {}", st.ToString());
    }
    batches_done_.fetch_add(1);
  }
}

void Prefetcher::Pace(uint64_t bytes) {
  if (options_.bandwidth_limit == 0) return;
  double wake;
  {
    std::lock_guard<std::mutex> lock(pace_mu_);
    if (paced_bytes_ == 0) pace_start_ = SteadySec();
    wake = pace_start_ + static_cast<double>(paced_bytes_) / options_.bandwidth_limit;
    paced_bytes_ += bytes;
  }
  const double delay = wake - SteadySec();
  if (delay <= 0) return;
  std::unique_lock<std::mutex> lock(stop_mu_);
  stop_cv_.wait_for(lock, std::chrono::duration<double>(delay), [this] { return stop_.load(); });
}

Prefetcher::Stats Prefetcher::stats() const {
  Stats s;
  s.files = files_;
  s.chunks = chunks_;
  s.bytes_planned = bytes_planned_;
  s.batches_done = batches_done_.load();
  s.errors = errors_.load();
  s.done = running_.load() == 0;
  s.begin_ms = begin_ms_;
  s.end_ms = end_ms_.load();
  return s;
}

}  // namespace nydus::fs
