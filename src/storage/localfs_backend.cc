// The localfs backend (reference spec §4.2 "localfs"): blobs are files, either one file for
// every blob (`blob_file`) or `dir/<blob_id>`, with `alt_dirs` searched when that file is
// missing or empty. Opened files are cached per blob id for the backend's lifetime.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "base/file_util.h"
#include "storage/blob_backend.h"

namespace nydus::storage {

namespace {

// A blob file opened read-only. pread needs no lock, so ReadAt is safe concurrently.
class LocalfsReader : public BlobReader {
 public:
  LocalfsReader(std::string blob_id, std::string path, UniqueFd fd)
      : blob_id_(std::move(blob_id)), path_(std::move(path)), fd_(std::move(fd)) {}

  Result<uint64_t> Size() override {
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) {
      return Status::FromErrno(errno, "blob " + blob_id_ + ": stat " + path_);
    }
    return static_cast<uint64_t>(st.st_size);
  }

  Status ReadAt(uint64_t offset, std::span<uint8_t> buf) override {
    if (buf.empty()) return Status::OK();
    if (offset > static_cast<uint64_t>(INT64_MAX) - buf.size()) {
      return Status::IOError("blob " + blob_id_ + ": read at offset " + std::to_string(offset) +
                             " out of range");
    }
    // PreadFull loops over EINTR and short transfers; end of file is an IOError.
    return PreadFull(fd_.get(), buf.data(), buf.size(), offset,
                     "blob " + blob_id_ + " (" + path_ + ") at offset " + std::to_string(offset) +
                         " length " + std::to_string(buf.size()));
  }

 private:
  const std::string blob_id_;
  const std::string path_;
  const UniqueFd fd_;
};

// A blob id names a file inside a directory: it must be one plain path component.
Status CheckBlobId(const std::string& id) {
  if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos ||
      id.find('\0') != std::string::npos) {
    return Status::InvalidArgument("invalid blob id '" + id + "'");
  }
  return Status::OK();
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

class LocalfsBackend : public BlobBackend {
 public:
  explicit LocalfsBackend(LocalfsConfig config) : config_(std::move(config)) {}

  Result<std::shared_ptr<BlobReader>> Open(const std::string& blob_id) override {
    {
      std::shared_lock<std::shared_mutex> lock(mu_);
      if (auto it = readers_.find(blob_id); it != readers_.end()) return it->second;
    }
    ASSIGN_OR_RETURN(std::string path, FindBlob(blob_id));
    ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(blob_id, path));
    auto reader = std::make_shared<LocalfsReader>(blob_id, path, std::move(fd));
    std::unique_lock<std::shared_mutex> lock(mu_);
    // A concurrent Open may have won the race: keep its reader so every caller shares one fd.
    auto [it, inserted] = readers_.emplace(blob_id, std::move(reader));
    return it->second;
  }

  std::string type() const override { return "localfs"; }

 private:
  // The path of blob `blob_id`: blob_file, else the first of dir/<id>, alt_dirs[i]/<id> that
  // is a non-empty regular file, else the first that exists at all.
  Result<std::string> FindBlob(const std::string& blob_id) const {
    if (!config_.blob_file.empty()) return config_.blob_file;
    RETURN_IF_ERROR(CheckBlobId(blob_id));
    std::vector<std::string> candidates;
    if (!config_.dir.empty()) candidates.push_back(JoinPath(config_.dir, blob_id));
    for (const auto& dir : config_.alt_dirs) candidates.push_back(JoinPath(dir, blob_id));
    std::string first_existing;
    for (const auto& path : candidates) {
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (st.st_size > 0) return path;
      if (first_existing.empty()) first_existing = path;
    }
    if (!first_existing.empty()) return first_existing;
    return Status::NotFound(NotFoundMessage(blob_id));
  }

  std::string NotFoundMessage(const std::string& blob_id) const {
    std::string msg = "blob " + blob_id + " not found in " +
                      (config_.dir.empty() ? std::string("<no dir>") : config_.dir) +
                      " (alt_dirs: ";
    if (config_.alt_dirs.empty()) msg += "none";
    for (size_t i = 0; i < config_.alt_dirs.size(); ++i) {
      msg += (i ? ", " : "") + config_.alt_dirs[i];
    }
    return msg + ")";
  }

  static Result<UniqueFd> OpenFile(const std::string& blob_id, const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      int err = errno;
      if (err == ENOENT) return Status::NotFound("blob " + blob_id + ": " + path + " not found");
      return Status::FromErrno(err, "blob " + blob_id + ": open " + path);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
      return Status::FromErrno(errno, "blob " + blob_id + ": stat " + path);
    }
    if (!S_ISREG(st.st_mode)) {
      return Status::InvalidArgument("blob " + blob_id + ": " + path + " is not a regular file");
    }
    return fd;
  }

  const LocalfsConfig config_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<BlobReader>> readers_;  // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<BlobBackend>> NewLocalfsBackend(const LocalfsConfig& config) {
  if (config.dir.empty() && config.blob_file.empty()) {
    return Status::InvalidArgument("localfs backend: neither dir nor blob_file is set");
  }
  return std::unique_ptr<BlobBackend>(std::make_unique<LocalfsBackend>(config));
}

}  // namespace nydus::storage
