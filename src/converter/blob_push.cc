// Pushing blobs for nydusify convert (see blob_push.h).
#include "converter/blob_push.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "base/logging.h"

namespace nydus::converter::internal {

std::string Elapsed(Clock::time_point t0) {
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  char b[32];
  std::snprintf(b, sizeof(b), "%.3fs", s);
  return b;
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

Status PushFile(registry::RepoClient& dst, registry::RepoClient* mount_from,
                const std::string& path, const std::string& digest, const char* tag,
                const char* what) {
  auto t0 = Clock::now();
  uint64_t size = FileSize(path);
  if (dst.HeadBlob(digest).ok()) {
    LOG_INFO("{} {} digest={} size={} elapsed={} (already exists, skipped)", tag, what, digest,
             size, Elapsed(t0));
    return Status::OK();
  }
  if (mount_from) {
    auto mounted = dst.MountBlob(digest, mount_from->options().repo);
    if (mounted.ok() && *mounted) {
      LOG_INFO("{} {} digest={} size={} elapsed={} (mounted from {})", tag, what, digest, size,
               Elapsed(t0), mount_from->options().repo);
      return Status::OK();
    }
  }
  // A failed upload (connection error, 5xx, 429) starts over, up to 3 attempts in all: the
  // registry discards an upload session that was never committed.
  Status st;
  for (int attempt = 1;; ++attempt) {
    st = dst.PushBlobFile(path, digest);
    const bool transient =
        st.code() == StatusCode::kUnavailable || st.code() == StatusCode::kIOError;
    if (st.ok() || !transient || attempt == 3) break;
    LOG_WARN("{} {} digest={}: attempt {} failed ({}), retrying", tag, what, digest, attempt,
             st.ToString());
    std::this_thread::sleep_for(std::chrono::seconds(attempt));
  }
  if (!st.ok()) return st.WithContext(std::string(what) + " " + digest);
  LOG_INFO("{} {} digest={} size={} elapsed={}", tag, what, digest, size, Elapsed(t0));
  return Status::OK();
}

Result<uint64_t> EnsureBlob(registry::RepoClient& dst, registry::RepoClient* from,
                            const ImageRef& from_ref, const std::string& digest,
                            const std::string& scratch_dir, const std::string& origin) {
  auto size = dst.HeadBlob(digest);
  if (size.ok() || from == nullptr) {
    return size.ok() ? size
                     : size.status().WithContext("blob " + digest + " (from the " + origin + ")");
  }
  auto t0 = Clock::now();
  if (from_ref.ApiHost() == dst.options().host) {
    auto mounted = dst.MountBlob(digest, from_ref.repo);
    if (mounted.ok() && *mounted) {
      ASSIGN_OR_RETURN(uint64_t n, dst.HeadBlob(digest));
      LOG_INFO("[BLOB] Push blob digest={} size={} elapsed={} (mounted from {} {})", digest, n,
               Elapsed(t0), origin, from_ref.repo);
      return n;
    }
  }
  const std::string path = scratch_dir + "/" + digest.substr(7);
  auto n = from->DownloadBlob(digest, path);
  if (!n.ok()) return n.status().WithContext("copy " + origin + " blob " + digest);
  const std::string what = "Push blob (from the " + origin + ")";
  Status pushed = PushFile(dst, nullptr, path, digest, "[BLOB]", what.c_str());
  ::unlink(path.c_str());
  RETURN_IF_ERROR(pushed);
  return *n;
}

Result<uint64_t> EnsureDictBlob(registry::RepoClient& dst, registry::RepoClient* dict_repo,
                                const ImageRef& dict_ref, const std::string& digest,
                                const std::string& scratch_dir) {
  return EnsureBlob(dst, dict_repo, dict_ref, digest, scratch_dir, "chunk dict");
}

}  // namespace nydus::converter::internal
