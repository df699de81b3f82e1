// MemBackend and FaultyBackend (see fake_backend.h).

#include "storage/fake_backend.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace nydus::storage {

namespace {

class MemReader : public BlobReader {
 public:
  MemReader(std::string id, std::shared_ptr<const Bytes> data,
            std::shared_ptr<std::atomic<uint64_t>> reads)
      : id_(std::move(id)), data_(std::move(data)), reads_(std::move(reads)) {}

  Result<uint64_t> Size() override { return uint64_t{data_->size()}; }

  Status ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    reads_->fetch_add(1);
    if (!RangeInside(offset, buf.size(), data_->size())) {
      return Status::IOError("mem blob " + id_ + ": read of " + std::to_string(buf.size()) +
                             " bytes at " + std::to_string(offset) + " beyond its " +
                             std::to_string(data_->size()) + " bytes");
    }
    if (!buf.empty()) std::memcpy(buf.data(), data_->data() + offset, buf.size());
    return Status::OK();
  }

 private:
  const std::string id_;
  const std::shared_ptr<const Bytes> data_;
  const std::shared_ptr<std::atomic<uint64_t>> reads_;
};

}  // namespace

void MemBackend::Put(const std::string& id, Bytes data) {
  auto blob = std::make_shared<const Bytes>(std::move(data));
  std::lock_guard<std::mutex> lock(mu_);
  blobs_[id] = std::move(blob);
}

void MemBackend::Remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  blobs_.erase(id);
}

Result<std::shared_ptr<BlobReader>> MemBackend::Open(const std::string& blob_id) {
  opens_.fetch_add(1);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = blobs_.find(blob_id);
  if (it == blobs_.end()) return Status::NotFound("blob " + blob_id + " not found in memory");
  return std::shared_ptr<BlobReader>(std::make_shared<MemReader>(blob_id, it->second, reads_));
}

// A reader of the base backend whose reads go through FaultyBackend::ReadThrough.
// Borrows the FaultyBackend, which must outlive it.
class FaultyBackend::Reader : public BlobReader {
 public:
  Reader(FaultyBackend* owner, std::string id, std::shared_ptr<BlobReader> base)
      : owner_(owner), id_(std::move(id)), base_(std::move(base)) {}

  Result<uint64_t> Size() override {
    ASSIGN_OR_RETURN(uint64_t size, base_->Size());
    std::optional<uint64_t> cut = owner_->TruncatedSize(id_);
    return cut ? std::min(size, *cut) : size;
  }

  Status ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    return owner_->ReadThrough(id_, base_.get(), offset, buf);
  }

 private:
  FaultyBackend* const owner_;
  const std::string id_;
  const std::shared_ptr<BlobReader> base_;
};

FaultyBackend::FaultyBackend(BlobBackend* base) : base_(base) {}

FaultyBackend::~FaultyBackend() { ReleaseReads(); }

void FaultyBackend::FailNthRead(uint64_t n, Status error) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_nth_[n] = std::move(error);
}

void FaultyBackend::FailAllReads(Status error) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_all_ = std::move(error);
}

void FaultyBackend::FailOpens(Status error) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_opens_ = std::move(error);
}

void FaultyBackend::Truncate(const std::string& id, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  truncated_[id] = size;
}

void FaultyBackend::FlipBit(const std::string& id, uint64_t offset, int bit, int count) {
  std::lock_guard<std::mutex> lock(mu_);
  flips_[id].push_back(Flip{offset, bit & 7, count});
}

void FaultyBackend::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  fail_nth_.clear();
  fail_all_ = Status::OK();
  fail_opens_ = Status::OK();
  truncated_.clear();
  flips_.clear();
}

void FaultyBackend::HoldReads() {
  std::lock_guard<std::mutex> lock(mu_);
  held_ = true;
}

void FaultyBackend::ReleaseReads() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = false;
  }
  gate_cv_.notify_all();
}

bool FaultyBackend::WaitForHeldReads(size_t n, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return gate_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                           [&] { return waiting_ >= n; });
}

Result<std::shared_ptr<BlobReader>> FaultyBackend::Open(const std::string& blob_id) {
  opens_.fetch_add(1);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fail_opens_.ok()) return fail_opens_;
  }
  ASSIGN_OR_RETURN(std::shared_ptr<BlobReader> base, base_->Open(blob_id));
  return std::shared_ptr<BlobReader>(std::make_shared<Reader>(this, blob_id, std::move(base)));
}

std::optional<uint64_t> FaultyBackend::TruncatedSize(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = truncated_.find(id);
  if (it == truncated_.end()) return std::nullopt;
  return it->second;
}

Status FaultyBackend::ReadThrough(const std::string& id, BlobReader* base, uint64_t offset,
                                  std::span<uint8_t> buf) {
  uint64_t n = reads_.fetch_add(1) + 1;
  std::optional<uint64_t> cut;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (held_) {
      ++waiting_;
      gate_cv_.notify_all();  // wakes WaitForHeldReads
      gate_cv_.wait(lock, [&] { return !held_; });
      --waiting_;
    }
    if (auto it = fail_nth_.find(n); it != fail_nth_.end()) return it->second;
    if (!fail_all_.ok()) return fail_all_;
    if (auto it = truncated_.find(id); it != truncated_.end()) cut = it->second;
  }
  if (cut && !RangeInside(offset, buf.size(), *cut)) {
    uint64_t avail = offset < *cut ? *cut - offset : 0;
    if (avail > 0) RETURN_IF_ERROR(base->ReadAt(offset, buf.first(avail)));
    return Status::IOError("blob " + id + ": short read at " + std::to_string(offset) + ": got " +
                           std::to_string(avail) + " of " + std::to_string(buf.size()) + " bytes");
  }
  RETURN_IF_ERROR(base->ReadAt(offset, buf));
  // Flips apply to reads that returned data; a counted one is used up by the first
  // `remaining` of them (decided under mu_, so concurrent reads never over-spend it).
  bool flipped = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = flips_.find(id); it != flips_.end()) {
      for (Flip& f : it->second) {
        if (f.remaining == 0 || f.offset < offset || f.offset - offset >= buf.size()) continue;
        if (f.remaining > 0) --f.remaining;
        buf[f.offset - offset] ^= static_cast<uint8_t>(1u << f.bit);
        flipped = true;
      }
    }
  }
  if (flipped) flipped_reads_.fetch_add(1);
  return Status::OK();
}

}  // namespace nydus::storage
