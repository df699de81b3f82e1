// MeteredBackend: a storage::BlobBackend decorator that counts every range read of the
// backend it wraps, for GET /api/v1/metrics/backend (the reference's BackendMetrics: reads,
// errors, bytes, cumulative latency, and latency by request size).
// Ownership: owns the wrapped backend; readers it returns keep a reference to the counters.
// Thread-safety: as the wrapped backend; counters are atomics.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>

#include "daemon/api_types.h"
#include "storage/blob_backend.h"

namespace nydus::daemon {

class BackendCounters {
 public:
  void Record(uint64_t bytes, uint64_t micros, bool ok);
  // Fills the counters of `out` (id and backend_type are left alone).
  void Fill(BackendMetrics* out) const;

 private:
  using Counter = std::atomic<uint64_t>;
  Counter read_count_{0}, read_errors_{0}, read_amount_total_{0}, latency_millis_total_{0};
  std::array<Counter, kBlockReadSizesMax> latency_by_size_{};
  std::array<Counter, kBlockReadSizesMax> count_by_size_{};
  std::array<std::array<Counter, kReadLatencyRangeMax>, kBlockReadSizesMax> dist_{};
};

class MeteredBackend : public storage::BlobBackend {
 public:
  explicit MeteredBackend(std::unique_ptr<storage::BlobBackend> inner);
  Result<std::shared_ptr<storage::BlobReader>> Open(const std::string& blob_id) override;
  std::string type() const override { return inner_->type(); }
  storage::BlobBackend* inner() { return inner_.get(); }
  const BackendCounters& counters() const { return *counters_; }

 private:
  std::unique_ptr<storage::BlobBackend> inner_;
  std::shared_ptr<BackendCounters> counters_;
};

}  // namespace nydus::daemon
