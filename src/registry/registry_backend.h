// The `registry` storage backend: storage::BlobBackend over a RegistryClient. Blob ids are the
// 64-hex sha256 of the blob; Open() issues a HEAD (so a missing blob or rejected credentials
// show up when the blob is first used) and caches the size; ReadAt() is one Range GET of
// exactly the requested bytes (with the client's retries). Errors keep the client's codes
// (PermissionDenied for a 401/403, NotFound, OutOfRange for a 416, Unavailable for 5xx/429);
// fs::RafsFs::Read turns any data-source failure into IOError, so a FUSE read fails with EIO.
// Ownership: the backend owns its client; readers share it (shared_ptr) and may outlive the
// backend. Thread-safety: Open, ReadAt, Size and metrics() may be called concurrently.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "registry/registry_client.h"
#include "registry/registry_config.h"
#include "storage/blob_backend.h"

namespace nydus::registry {

class RegistryBackend : public storage::BlobBackend {
 public:
  // `config` as parsed by ParseRegistryConfig (IMAGE_PULL_AUTH already applied if wanted).
  static Result<std::unique_ptr<RegistryBackend>> Create(RegistryConfig config,
                                                         RegistryClient::Options options = {});

  Result<std::shared_ptr<storage::BlobReader>> Open(const std::string& blob_id) override;
  std::string type() const override { return "registry"; }

  // For mount time: a HEAD plus a 1-byte read of the blob, with an actionable message.
  Status CheckAccess(const std::string& blob_id) { return client_->CheckAccess(blob_id); }
  // Requests, bytes, errors and cumulative latency since creation.
  RegistryStats metrics() const { return client_->stats(); }
  RegistryClient& client() { return *client_; }

 private:
  explicit RegistryBackend(std::shared_ptr<RegistryClient> client) : client_(std::move(client)) {}
  std::shared_ptr<RegistryClient> client_;
};

// The backend straight from the daemon's raw settings object (v2 `backend.registry`, v1
// `device.backend.config`), with IMAGE_PULL_AUTH from the environment applied.
Result<std::unique_ptr<storage::BlobBackend>> NewRegistryBackend(const Json& raw,
                                                                 const std::string& path);

}  // namespace nydus::registry
