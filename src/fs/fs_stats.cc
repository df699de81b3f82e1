#include "fs/fs_stats.h"

#include <bit>

namespace nydus::fs {

size_t ReadSizeBucket(uint64_t bytes) {
  // The reference packs the bucket of each power of two of the KiB count into a nibble table.
  const uint64_t kib = bytes >> 10;
  if (kib == 0) return 0;
  const int log2 = 63 - std::countl_zero(kib);  // 0 for 1K..2K
  static constexpr size_t kTable[] = {1, 1, 2, 2, 3, 3, 4, 5, 5, 6};
  return log2 < 10 ? kTable[log2] : 7;
}

size_t ReadLatencyBucket(uint64_t us) {
  if (us <= 200) return 0;
  if (us <= 1000) return 1;
  if (us <= 20000) return 2;
  if (us <= 50000) return 3;
  if (us <= 500000) return 4;
  if (us <= 1000000) return 5;
  if (us <= 2000000) return 6;
  return 7;
}

void FsStats::Record(Fop op, bool ok, uint64_t latency_us) {
  const auto i = static_cast<size_t>(op);
  if (i >= kFopCount) return;
  (ok ? fop_hits_ : fop_errors_)[i].fetch_add(1, std::memory_order_relaxed);
  fop_latency_[i].fetch_add(latency_us, std::memory_order_relaxed);
  if (ok && op == Fop::kOpen) nr_opens_.fetch_add(1, std::memory_order_relaxed);
}

void FsStats::RecordRead(uint64_t bytes, uint64_t latency_us) {
  data_read_.fetch_add(bytes, std::memory_order_relaxed);
  block_count_read_[ReadSizeBucket(bytes)].fetch_add(1, std::memory_order_relaxed);
  read_latency_dist_[ReadLatencyBucket(latency_us)].fetch_add(1,
                                                                    std::memory_order_relaxed);
}

FsStatsSnapshot FsStats::Snapshot() const {
  FsStatsSnapshot s;
  auto load = [](const Counter& c) { return c.load(std::memory_order_relaxed); };
  s.data_read = load(data_read_);
  s.nr_opens = load(nr_opens_);
  for (size_t i = 0; i < kReadSizeBuckets; ++i) s.block_count_read[i] = load(block_count_read_[i]);
  for (size_t i = 0; i < kFopCount; ++i) {
    s.fop_hits[i] = load(fop_hits_[i]);
    s.fop_errors[i] = load(fop_errors_[i]);
    s.fop_cumulative_latency_total[i] = load(fop_latency_[i]);
  }
  for (size_t i = 0; i < kReadLatencyBuckets; ++i) {
    s.read_latency_dist[i] = load(read_latency_dist_[i]);
  }
  return s;
}

}  // namespace nydus::fs
