// Storage backends: where blob bytes come from (localfs now; registry in a later issue).
// A BlobBackend opens blobs by id; a BlobReader reads byte ranges of one blob.
// Thread-safety: BlobReader::ReadAt and BlobBackend::Open are safe to call concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace nydus::storage {

class BlobReader {
 public:
  virtual ~BlobReader() = default;
  // Size of the blob in bytes.
  virtual Result<uint64_t> Size() = 0;
  // Reads exactly buf.size() bytes at `offset`; a short blob is IOError naming the blob.
  virtual Status ReadAt(uint64_t offset, std::span<uint8_t> buf) = 0;
};

class BlobBackend {
 public:
  virtual ~BlobBackend() = default;
  // NotFound (naming the id and where it looked) when the blob does not exist.
  virtual Result<std::shared_ptr<BlobReader>> Open(const std::string& blob_id) = 0;
  // "localfs", "registry", ...
  virtual std::string type() const = 0;
};

struct LocalfsConfig {
  std::string dir;                    // blob = dir/<blob_id>
  std::string blob_file;              // one file for every blob (overrides dir)
  std::vector<std::string> alt_dirs;  // searched when dir/<blob_id> is missing
};

// InvalidArgument when neither dir nor blob_file is set.
Result<std::unique_ptr<BlobBackend>> NewLocalfsBackend(const LocalfsConfig& config);

}  // namespace nydus::storage
