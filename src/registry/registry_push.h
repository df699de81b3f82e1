// RepoClient: the read-write side of the OCI distribution API for one repository, as nydusify
// needs it (the read-only RegistryClient serves nydusd's blob reads):
//  - GET a manifest / index by tag or digest with an Accept list, GET a small blob (config),
//    stream a blob to a file checking its sha256;
//  - HEAD a blob (exists?), cross-repo mount (POST ?mount=<digest>&from=<repo>), upload a blob
//    from a file (POST, then one PUT for blobs up to kMonolithicLimit, else PATCH chunks of
//    kChunkSize and a closing PUT: memory stays bounded), PUT a manifest.
// Auth: anonymous until a 401; then the WWW-Authenticate challenge is answered: Basic with the
// configured user/password, Bearer by a token from the realm (scope from the challenge, or
// "repository:<repo>:pull,push"; Basic credentials on the token request when configured). The
// Authorization value is cached and renegotiated on the next 401.
// `insecure` means plain http (nydusify's --source-insecure / --target-insecure) and also skips
// TLS verification should a redirect lead to https.
// Errors: 401/403 → PermissionDenied, 404 → NotFound, 5xx → Unavailable, transport → IOError,
// all naming the registry and repository, never the credentials. Transport errors and 5xx of
// idempotent requests (GET/HEAD) are retried twice.
// Thread-safety: every method may be called concurrently (the HTTP client pools handles).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "http/http_client.h"
#include "registry/registry_client.h"  // Manifest

namespace nydus::registry {

struct RepoClientOptions {
  std::string host;  // "127.0.0.1:5000", "registry-1.docker.io"
  std::string repo;  // "library/python"
  bool insecure = false;
  std::string username;  // "" = anonymous
  std::string password;
  double timeout_sec = 1800;  // per request (blob transfers can be large)
  double connect_timeout_sec = 10;
};

class RepoClient {
 public:
  static constexpr uint64_t kMonolithicLimit = 64ull << 20;
  static constexpr uint64_t kChunkSize = 32ull << 20;

  static Result<std::unique_ptr<RepoClient>> Create(RepoClientOptions options);

  const RepoClientOptions& options() const { return options_; }
  // "<scheme>://<host>/v2/<repo>"
  std::string RepoUrl() const;

  // GET /manifests/<reference>; `accept` empty = OCI + Docker manifest and index types.
  Result<Manifest> GetManifest(const std::string& reference,
                               const std::vector<std::string>& accept = {});
  // A whole blob in memory (config blobs); refuses more than `max_size` bytes.
  Result<std::string> GetBlob(const std::string& digest, uint64_t max_size = 64ull << 20);
  // Streams a blob into `path` (created/truncated) and checks its sha256 against `digest`
  // (Corruption "digest mismatch" otherwise). Returns the byte count.
  Result<uint64_t> DownloadBlob(const std::string& digest, const std::string& path);
  // The repository's tags (GET /tags/list, first page); empty when the repository does not
  // exist yet (404).
  Result<std::vector<std::string>> ListTags();
  // Size of the blob, NotFound if the repository has no such blob.
  Result<uint64_t> HeadBlob(const std::string& digest);
  // Cross-repo mount from `from_repo` of the same registry: true if the registry mounted it
  // (201), false if it did not (the caller then uploads).
  Result<bool> MountBlob(const std::string& digest, const std::string& from_repo);
  // Uploads the file as blob `digest` ("sha256:<hex>"); the registry verifies the digest.
  Status PushBlobFile(const std::string& path, const std::string& digest);
  Status PushBlobBytes(const std::string& bytes, const std::string& digest);
  // The steps of a chunked upload, for callers that produce a blob piece by piece
  // (blob_stream.h): open a session (POST) → its URL; append `body` at `offset` (PATCH with
  // Content-Range) → the session's next URL; commit the bytes sent as `digest` (PUT with
  // ?digest=; the registry checks it); or abandon the session (DELETE, best effort).
  Result<std::string> StartUpload(const std::string& what);
  Result<std::string> PatchUpload(const std::string& url, uint64_t offset, std::string body,
                                  const std::string& what);
  Status CommitUpload(const std::string& url, const std::string& digest, const std::string& what);
  void CancelUpload(const std::string& url);
  // PUT /manifests/<reference>; returns the Docker-Content-Digest (or "" if not sent).
  Result<std::string> PutManifest(const std::string& reference, const std::string& media_type,
                                  const std::string& body);

 private:
  explicit RepoClient(RepoClientOptions options);
  // One request with auth negotiation; `path` below RepoUrl() or an absolute URL.
  Result<http::Response> Send(http::Request req);
  // Send() with retries for idempotent requests. `restart`, when given, runs before every
  // attempt, so that a body_sink collecting the answer starts empty each time.
  Result<http::Response> SendRetried(const http::Request& req,
                                     const std::function<void()>& restart = {});
  Status StatusError(const http::Response& resp, const std::string& what) const;
  Status Answer(const http::Response& challenge);  // sets auth_ from a 401's challenge
  std::string Auth();
  std::string Where() const;
  Result<std::string> NextLocation(const http::Response& resp, const std::string& base,
                                   const std::string& what) const;

  const RepoClientOptions options_;
  std::unique_ptr<http::HttpClient> http_;
  std::mutex mu_;
  std::string auth_;  // guarded by mu_: "Bearer …" / "Basic …" / ""
};

// The Accept list GetManifest uses by default (OCI + Docker schema2 manifest and index/list).
const std::vector<std::string>& ManifestAcceptTypes();

}  // namespace nydus::registry
