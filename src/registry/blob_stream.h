// BlobStreamUpload: pushes a blob while it is being produced (nydusify convert streams each
// layer's new data blob as the builder writes it). The producer hands over every byte, in
// order (Append); full pieces go out as PATCH requests of one upload session from a
// background thread, so the upload overlaps the build; Commit sends the rest and commits the
// session under the digest, which is only known at the end. The registry checks the digest.
//
// Append never fails and waits only while `max_pending` full pieces are queued (memory stays
// below (max_pending + 2) * piece_size). After an upload error later bytes are dropped and
// Commit returns that error, so the caller can push the finished file the ordinary way.
// An upload neither committed nor cancelled is cancelled by the destructor (DELETE of the
// session, best effort).
//
// Thread-safety: one producer thread calls Append/Commit/Cancel; bytes_appended() from any.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/bytes.h"
#include "base/result.h"
#include "registry/registry_push.h"

namespace nydus::registry {

class BlobStreamUpload {
 public:
  // Opens the session (POST). `client` is borrowed and must outlive the upload; `what` names
  // the blob in errors.
  static Result<std::unique_ptr<BlobStreamUpload>> Start(RepoClient* client, std::string what,
                                                         uint64_t piece_size = 8ull << 20,
                                                         size_t max_pending = 2);
  ~BlobStreamUpload();
  BlobStreamUpload(const BlobStreamUpload&) = delete;
  BlobStreamUpload& operator=(const BlobStreamUpload&) = delete;

  // Ignored once the upload was committed or cancelled.
  void Append(ByteSpan data);
  // Sends what is left and commits the session as `digest` ("sha256:<hex>"). Call once;
  // returns the first upload error, if any (the session is then cancelled).
  Status Commit(const std::string& digest);
  // Drops what is queued and cancels the session.
  void Cancel();

  uint64_t bytes_appended() const;

 private:
  BlobStreamUpload(RepoClient* client, std::string what, std::string url, uint64_t piece_size,
                   size_t max_pending);
  void Run();  // the sender thread
  // Queues the current piece (if any) for sending; lock held.
  void QueuePieceLocked();
  // Stops the sender after it sent everything queued (drain) or at once (!drain).
  void StopSender(bool drain);

  RepoClient* const client_;
  const std::string what_;
  const uint64_t piece_size_;
  const size_t max_pending_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string url_;                  // the session's current URL; guarded by mu_
  std::string piece_;                // bytes not yet queued; producer only
  std::deque<std::string> pending_;  // full pieces to send; guarded by mu_
  uint64_t appended_ = 0;            // guarded by mu_
  uint64_t sent_ = 0;                // bytes the registry accepted; guarded by mu_
  bool stopping_ = false;            // guarded by mu_
  Status error_;                     // the first upload error; guarded by mu_
  bool finished_ = false;            // committed or cancelled; producer only
  std::thread sender_;
};

}  // namespace nydus::registry
