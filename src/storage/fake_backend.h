// In-memory and fault-injecting BlobBackends for tests (storage and, later, fs tests).
//
//   MemBackend      blob id → bytes, held in memory.
//   FaultyBackend   a decorator over any backend that fails the n-th read, truncates blobs
//                   (short reads), flips bits in returned data and can hold reads at a gate
//                   until the test releases them.
//
// Both count opens and reads so tests can assert how much I/O a component issued.
// Thread-safety: every method of both classes and of the readers they return may be called
// concurrently.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "storage/blob_backend.h"

namespace nydus::storage {

class MemBackend : public BlobBackend {
 public:
  MemBackend() = default;

  // Adds or replaces blob `id`. Readers opened before keep the bytes they saw.
  void Put(const std::string& id, Bytes data);
  // Removes blob `id`; later Opens fail with NotFound.
  void Remove(const std::string& id);

  Result<std::shared_ptr<BlobReader>> Open(const std::string& blob_id) override;
  std::string type() const override { return "mem"; }

  uint64_t opens() const { return opens_.load(); }
  uint64_t reads() const { return reads_->load(); }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Bytes>> blobs_;  // guarded by mu_
  std::atomic<uint64_t> opens_{0};
  // Shared with the readers so that a reader may outlive the backend.
  std::shared_ptr<std::atomic<uint64_t>> reads_ = std::make_shared<std::atomic<uint64_t>>(0);
};

class FaultyBackend : public BlobBackend {
 public:
  // `base` is borrowed and must outlive this backend and every reader it returned; those
  // readers borrow this backend and must not outlive it.
  explicit FaultyBackend(BlobBackend* base);
  ~FaultyBackend() override;

  // Read numbers count every ReadAt through this backend (all blobs), starting at 1.
  // The n-th read returns `error` without touching the base backend.
  void FailNthRead(uint64_t n, Status error);
  // Every read from now on returns `error` (OK clears it).
  void FailAllReads(Status error);
  // Every Open from now on returns `error` (OK clears it).
  void FailOpens(Status error);
  // Blob `id` behaves as if it were only `size` bytes long: Size() is clamped and a read
  // crossing `size` fills the bytes before it and returns IOError ("short read").
  void Truncate(const std::string& id, uint64_t size);
  // Reads of blob `id` that cover byte `offset` return data with bit `bit` (0..7) of that
  // byte inverted: every such read, or with `count` >= 0 only the next `count` of them (the
  // faultproxy's `mode=flip&count=N`). The base blob is not modified.
  void FlipBit(const std::string& id, uint64_t offset, int bit, int count = -1);
  // Reads in which a flip set above was applied (one per read, however many bits).
  uint64_t flipped_reads() const { return flipped_reads_.load(); }
  // Clears every fault set above.
  void ClearFaults();

  // While held, every read blocks before reaching the base backend until ReleaseReads().
  void HoldReads();
  void ReleaseReads();
  // Waits until at least `n` reads are blocked at the gate; false after `timeout_ms`.
  bool WaitForHeldReads(size_t n, int timeout_ms);

  Result<std::shared_ptr<BlobReader>> Open(const std::string& blob_id) override;
  std::string type() const override { return "faulty(" + base_->type() + ")"; }

  uint64_t reads() const { return reads_.load(); }
  uint64_t opens() const { return opens_.load(); }

 private:
  class Reader;
  struct Flip {
    uint64_t offset;
    int bit;
    int remaining;  // reads still to flip; negative: every read
  };

  // Called by Reader::ReadAt: counts the read, waits at the gate, applies faults.
  Status ReadThrough(const std::string& id, BlobReader* base, uint64_t offset,
                     std::span<uint8_t> buf);
  std::optional<uint64_t> TruncatedSize(const std::string& id) const;

  BlobBackend* const base_;
  std::atomic<uint64_t> reads_{0};
  std::atomic<uint64_t> opens_{0};
  std::atomic<uint64_t> flipped_reads_{0};

  mutable std::mutex mu_;
  std::condition_variable gate_cv_;
  std::map<uint64_t, Status> fail_nth_;             // guarded by mu_
  Status fail_all_;                                 // guarded by mu_
  Status fail_opens_;                               // guarded by mu_
  std::map<std::string, uint64_t> truncated_;       // guarded by mu_
  std::map<std::string, std::vector<Flip>> flips_;  // guarded by mu_
  bool held_ = false;                               // guarded by mu_
  size_t waiting_ = 0;                              // guarded by mu_
};

}  // namespace nydus::storage
