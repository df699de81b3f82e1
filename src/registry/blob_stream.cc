// A blob upload that overlaps the blob's production (see blob_stream.h).

#include "registry/blob_stream.h"

#include <utility>

namespace nydus::registry {

Result<std::unique_ptr<BlobStreamUpload>> BlobStreamUpload::Start(RepoClient* client,
                                                                  std::string what,
                                                                  uint64_t piece_size,
                                                                  size_t max_pending) {
  ASSIGN_OR_RETURN(std::string url, client->StartUpload(what));
  return std::unique_ptr<BlobStreamUpload>(
      new BlobStreamUpload(client, std::move(what), std::move(url),
                           piece_size == 0 ? 1 : piece_size, max_pending == 0 ? 1 : max_pending));
}

BlobStreamUpload::BlobStreamUpload(RepoClient* client, std::string what, std::string url,
                                   uint64_t piece_size, size_t max_pending)
    : client_(client),
      what_(std::move(what)),
      piece_size_(piece_size),
      max_pending_(max_pending),
      url_(std::move(url)) {
  sender_ = std::thread([this] { Run(); });
}

BlobStreamUpload::~BlobStreamUpload() {
  if (!finished_) Cancel();
  StopSender(/*drain=*/false);
}

void BlobStreamUpload::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping with nothing left
    std::string piece = std::move(pending_.front());
    pending_.pop_front();
    if (!error_.ok()) continue;  // drop: the upload already failed
    const std::string url = url_;
    const uint64_t offset = sent_;
    const uint64_t len = piece.size();
    cv_.notify_all();  // room in the queue
    lock.unlock();
    Result<std::string> next = client_->PatchUpload(url, offset, std::move(piece), what_);
    lock.lock();
    if (next.ok()) {
      url_ = std::move(next).value();
      sent_ += len;
    } else if (error_.ok()) {
      error_ = next.status();
    }
    cv_.notify_all();
  }
}

void BlobStreamUpload::QueuePieceLocked() {
  if (piece_.empty()) return;
  pending_.push_back(std::move(piece_));
  piece_.clear();
  cv_.notify_all();
}

void BlobStreamUpload::Append(ByteSpan data) {
  if (finished_) return;  // after Commit or Cancel: nothing can be sent any more
  while (!data.empty()) {
    const size_t room = static_cast<size_t>(piece_size_ - piece_.size());
    const size_t n = std::min(room, data.size());
    piece_.append(reinterpret_cast<const char*>(data.data()), n);
    data = data.subspan(n);
    std::unique_lock<std::mutex> lock(mu_);
    appended_ += n;
    if (piece_.size() < piece_size_) continue;
    // Back-pressure: wait for room, unless the upload failed (then the piece is dropped).
    cv_.wait(lock, [&] { return pending_.size() < max_pending_ || !error_.ok(); });
    if (!error_.ok()) {
      piece_.clear();
      continue;
    }
    QueuePieceLocked();
  }
}

void BlobStreamUpload::StopSender(bool drain) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!drain) pending_.clear();
    stopping_ = true;
    cv_.notify_all();
  }
  if (sender_.joinable()) sender_.join();
}

Status BlobStreamUpload::Commit(const std::string& digest) {
  if (finished_) return Status::Internal(what_ + ": upload already finished");
  {
    std::lock_guard<std::mutex> lock(mu_);
    QueuePieceLocked();
  }
  StopSender(/*drain=*/true);
  std::string url;
  Status error;
  {
    std::lock_guard<std::mutex> lock(mu_);
    url = url_;
    error = error_;
    if (error.ok() && sent_ != appended_) {
      error = Status::Internal(what_ + ": " + std::to_string(sent_) + " of " +
                               std::to_string(appended_) + " bytes sent");
    }
  }
  finished_ = true;
  if (!error.ok()) {
    client_->CancelUpload(url);
    return error;
  }
  Status st = client_->CommitUpload(url, digest, what_);
  if (!st.ok()) client_->CancelUpload(url);
  return st;
}

void BlobStreamUpload::Cancel() {
  if (finished_) return;
  finished_ = true;
  StopSender(/*drain=*/false);
  std::string url;
  {
    std::lock_guard<std::mutex> lock(mu_);
    url = url_;
  }
  client_->CancelUpload(url);
}

uint64_t BlobStreamUpload::bytes_appended() const {
  std::lock_guard<std::mutex> lock(mu_);
  return appended_;
}

}  // namespace nydus::registry
