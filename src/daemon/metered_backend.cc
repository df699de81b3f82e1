#include "daemon/metered_backend.h"

#include <chrono>
#include <utility>

namespace nydus::daemon {
namespace {

class MeteredReader : public storage::BlobReader {
 public:
  MeteredReader(std::shared_ptr<storage::BlobReader> inner,
                std::shared_ptr<BackendCounters> counters)
      : inner_(std::move(inner)), counters_(std::move(counters)) {}
  Result<uint64_t> Size() override { return inner_->Size(); }
  Status ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    const auto t0 = std::chrono::steady_clock::now();
    Status st = inner_->ReadAt(offset, buf);
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
    counters_->Record(st.ok() ? buf.size() : 0, static_cast<uint64_t>(us), st.ok());
    return st;
  }

 private:
  std::shared_ptr<storage::BlobReader> inner_;
  std::shared_ptr<BackendCounters> counters_;
};

}  // namespace

void BackendCounters::Record(uint64_t bytes, uint64_t micros, bool ok) {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  read_count_.fetch_add(1, kRelaxed);
  if (!ok) {
    read_errors_.fetch_add(1, kRelaxed);
    return;
  }
  const uint64_t ms = micros / 1000;
  read_amount_total_.fetch_add(bytes, kRelaxed);
  latency_millis_total_.fetch_add(ms, kRelaxed);
  const size_t size_idx = RequestSizeIndex(bytes);
  latency_by_size_[size_idx].fetch_add(ms, kRelaxed);
  count_by_size_[size_idx].fetch_add(1, kRelaxed);
  dist_[size_idx][LatencyMillisIndex(ms)].fetch_add(1, kRelaxed);
}

void BackendCounters::Fill(BackendMetrics* out) const {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  out->read_count = read_count_.load(kRelaxed);
  out->read_errors = read_errors_.load(kRelaxed);
  out->read_amount_total = read_amount_total_.load(kRelaxed);
  out->read_cumulative_latency_millis_total = latency_millis_total_.load(kRelaxed);
  for (size_t s = 0; s < kBlockReadSizesMax; ++s) {
    out->read_cumulative_latency_millis_dist[s] = latency_by_size_[s].load(kRelaxed);
    out->read_count_block_size_dist[s] = count_by_size_[s].load(kRelaxed);
    for (size_t l = 0; l < kReadLatencyRangeMax; ++l) {
      out->read_latency_sizes_dist[s][l] = dist_[s][l].load(kRelaxed);
    }
  }
}

MeteredBackend::MeteredBackend(std::unique_ptr<storage::BlobBackend> inner)
    : inner_(std::move(inner)), counters_(std::make_shared<BackendCounters>()) {}

Result<std::shared_ptr<storage::BlobReader>> MeteredBackend::Open(const std::string& blob_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<storage::BlobReader> reader, inner_->Open(blob_id));
  return std::shared_ptr<storage::BlobReader>(
      std::make_shared<MeteredReader>(std::move(reader), counters_));
}

}  // namespace nydus::daemon
