// RegistryBackend and its reader.
#include "registry/registry_backend.h"

#include <algorithm>
#include <cctype>

namespace nydus::registry {

namespace {

class RegistryReader : public storage::BlobReader {
 public:
  RegistryReader(std::shared_ptr<RegistryClient> client, std::string blob_id, uint64_t size)
      : client_(std::move(client)), blob_id_(std::move(blob_id)), size_(size) {}

  Result<uint64_t> Size() override { return size_; }

  Status ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    if (buf.empty()) return Status::OK();
    if (offset > size_ || buf.size() > size_ - offset) {
      return Status::IOError("blob " + blob_id_ + ": read [" + std::to_string(offset) + ", +" +
                             std::to_string(buf.size()) + ") past its end (" +
                             std::to_string(size_) + " bytes)");
    }
    return client_->ReadBlob(blob_id_, offset, buf);
  }

 private:
  const std::shared_ptr<RegistryClient> client_;
  const std::string blob_id_;
  const uint64_t size_;
};

// A blob id goes into a URL path: 64 lower-case hex digits, optionally "sha256:"-prefixed.
Status CheckBlobId(const std::string& id) {
  std::string_view hex = id;
  if (hex.starts_with("sha256:")) hex.remove_prefix(7);
  bool ok = hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
              return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
            });
  if (!ok) {
    return Status::InvalidArgument("registry backend: invalid blob id '" + id +
                                   "' (want 64 lower-case hex digits)");
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<RegistryBackend>> RegistryBackend::Create(RegistryConfig config,
                                                                 RegistryClient::Options options) {
  ASSIGN_OR_RETURN(std::unique_ptr<RegistryClient> client,
                   RegistryClient::Create(std::move(config), std::move(options)));
  return std::unique_ptr<RegistryBackend>(
      new RegistryBackend(std::shared_ptr<RegistryClient>(std::move(client))));
}

Result<std::shared_ptr<storage::BlobReader>> RegistryBackend::Open(const std::string& blob_id) {
  RETURN_IF_ERROR(CheckBlobId(blob_id));
  ASSIGN_OR_RETURN(uint64_t size, client_->HeadBlob(blob_id));
  return std::shared_ptr<storage::BlobReader>(
      std::make_shared<RegistryReader>(client_, blob_id, size));
}

Result<std::unique_ptr<storage::BlobBackend>> NewRegistryBackend(const Json& raw,
                                                                 const std::string& path) {
  ASSIGN_OR_RETURN(RegistryConfig config, ParseRegistryConfig(raw, path));
  RETURN_IF_ERROR(ApplyImagePullAuthFromEnv(&config));
  ASSIGN_OR_RETURN(std::unique_ptr<RegistryBackend> backend, RegistryBackend::Create(config));
  return std::unique_ptr<storage::BlobBackend>(std::move(backend));
}

}  // namespace nydus::registry
