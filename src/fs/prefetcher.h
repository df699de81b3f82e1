// Prefetcher: fills the blob cache in the background right after a mount, so that the files
// a container needs first are local before it asks for them (the reference's fs_prefetch /
// [rafs.prefetch]).
//
// What is prefetched, in this order:
//   0. the separated prefetch blobs: every chunk of a blob whose features have
//      format::kBlobSeparatedPrefetch (`nydus-image optimize` copies the chunks of the files a
//      workload reads, in first-access order, into such a blob and points those files at it),
//      in stored order, so that the workload's data arrives in a few large sequential
//      requests. Found by walking the whole tree, which happens only when a blob has the bit;
//      this is done whenever prefetch runs, whatever the list and prefetch_all say.
//   1. the prefetch list: the paths given by --prefetch-files or the mount API's
//      prefetch_files when non-empty, otherwise the image's own prefetch table
//      (ImageView::PrefetchIds). A directory means every regular file below it.
//   2. with prefetch_all — or when the list is exactly the root ("/"), as the reference
//      does — every chunk of every file of the image, after the list. Ours: when the image
//      has a separated prefetch blob, an image table of exactly "/" (nydusify's default) is
//      taken to mean that blob instead, so an optimized image does not pull everything
//      behind its workload's data; prefetch_all or an explicit "/" list still do.
// Chunks are deduplicated across phases (a chunk of phase 0 is not fetched again for the list),
// grouped per blob in stored order and handed to ChunkReader::Warm in batches of about
// `batch_size` bytes by `threads` workers, each batch one merged backend request where the
// chunks are adjacent. Workers take batches in phase order, so phase 0 is requested first.
// `bandwidth_limit` (bytes/s, 0 = none) paces the workers. On-demand reads never wait for
// prefetch except for the very chunk being fetched (ChunkReader's single flight); prefetch
// errors are logged and counted, never fatal.
//
// Ownership: borrows the view and the reader, which must outlive the Prefetcher; the
// destructor stops the workers (between batches) and joins them.
// Thread-safety: stats() may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "meta/image_view.h"
#include "storage/chunk_reader.h"

namespace nydus::fs {

struct PrefetchOptions {
  uint32_t threads = 8;
  uint64_t batch_size = 1 << 20;  // bytes per Warm() call (v1 merging_size)
  uint64_t bandwidth_limit = 0;   // bytes per second; 0 = unlimited
  bool prefetch_all = false;
};

class Prefetcher {
 public:
  struct Stats {
    uint64_t files = 0;            // regular files planned (phase 0 and the expanded list)
    uint64_t chunks = 0;           // distinct chunks planned
    uint64_t batches_done = 0;     // Warm() calls finished
    uint64_t bytes_planned = 0;    // compressed bytes planned
    uint64_t errors = 0;           // Warm() calls that failed
    bool done = false;             // every worker finished (or was stopped)
    int64_t begin_ms = 0, end_ms = 0;  // wall clock (ms since the epoch); end 0 while running
  };

  // Starts the workers. `paths` (absolute) replace the image's prefetch table when non-empty.
  // Paths that do not resolve are logged and skipped.
  static std::unique_ptr<Prefetcher> Start(const meta::ImageView* view,
                                           storage::ChunkReader* reader,
                                           const PrefetchOptions& options,
                                           std::vector<std::string> paths);
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  Stats stats() const;
  // Blocks until every worker finished (tests).
  void Wait();

 private:
  Prefetcher(const meta::ImageView* view, storage::ChunkReader* reader,
             const PrefetchOptions& options);
  void Plan(const std::vector<std::string>& paths);
  void Run();
  void Pace(uint64_t bytes);

  const meta::ImageView* view_;
  storage::ChunkReader* reader_;
  PrefetchOptions options_;
  std::vector<std::vector<meta::ChunkInfo>> batches_;  // immutable once workers run
  std::atomic<size_t> next_batch_{0};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> batches_done_{0}, errors_{0};
  std::atomic<int> running_{0};
  std::atomic<int64_t> end_ms_{0};
  std::atomic<uint64_t> files_{0}, chunks_{0}, bytes_planned_{0};  // set by the planner
  int64_t begin_ms_ = 0;
  std::mutex pace_mu_;                // guards the pacing state
  double pace_start_ = 0;             // seconds (steady clock) of the first paced batch
  uint64_t paced_bytes_ = 0;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;   // wakes a pacing sleep on stop
  std::thread planner_;
  std::vector<std::thread> workers_;
};

}  // namespace nydus::fs
