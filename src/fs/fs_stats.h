// FsStats: the per-filesystem I/O counters nydusd reports under /api/v1/metrics (the
// reference's GlobalIoStats, utils/src/metrics.rs): successes and failures per operation,
// cumulative latency per operation, bytes read, a read-size histogram and a read-latency
// histogram. Vfs updates them around every call into a mounted RafsFs.
// Thread-safety: Record* may be called concurrently (relaxed atomics); Snapshot reads a
// consistent-enough copy (each counter individually).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace nydus::fs {

// The reference's StatsFop order: the index of each operation in the per-op arrays.
enum class Fop : uint8_t {
  kGetattr,
  kReadlink,
  kOpen,
  kRelease,
  kRead,
  kStatfs,
  kGetxattr,
  kListxattr,
  kOpendir,
  kLookup,
  kReaddir,
  kReaddirplus,
  kAccess,
  kForget,
  kBatchForget,
  kMax,
};
inline constexpr size_t kFopCount = static_cast<size_t>(Fop::kMax);
// Read sizes: <1K, 1K~, 4K~, 16K~, 64K~, 128K~, 512K~, 1M~ (reference request_size_index).
inline constexpr size_t kReadSizeBuckets = 8;
// Read latency (reference latency_micros_range_index): <=200us, <=1ms, <=20ms, <=50ms,
// <=500ms, <=1s, <=2s, >2s.
inline constexpr size_t kReadLatencyBuckets = 8;

size_t ReadSizeBucket(uint64_t bytes);
size_t ReadLatencyBucket(uint64_t micros);

struct FsStatsSnapshot {
  uint64_t data_read = 0;
  uint64_t nr_opens = 0;
  std::array<uint64_t, kReadSizeBuckets> block_count_read{};
  std::array<uint64_t, kFopCount> fop_hits{};
  std::array<uint64_t, kFopCount> fop_errors{};
  std::array<uint64_t, kFopCount> fop_cumulative_latency_total{};  // microseconds
  std::array<uint64_t, kReadLatencyBuckets> read_latency_dist{};
};

class FsStats {
 public:
  // One finished operation: `ok` false counts an error; latency in microseconds.
  void Record(Fop op, bool ok, uint64_t latency_us);
  // One finished read of `bytes` bytes (in addition to Record(kRead, ...)).
  void RecordRead(uint64_t bytes, uint64_t latency_us);
  FsStatsSnapshot Snapshot() const;

 private:
  using Counter = std::atomic<uint64_t>;
  Counter data_read_{0};
  Counter nr_opens_{0};
  std::array<Counter, kReadSizeBuckets> block_count_read_{};
  std::array<Counter, kFopCount> fop_hits_{};
  std::array<Counter, kFopCount> fop_errors_{};
  std::array<Counter, kFopCount> fop_latency_{};
  std::array<Counter, kReadLatencyBuckets> read_latency_dist_{};
};

}  // namespace nydus::fs
