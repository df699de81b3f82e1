// RegistryClient: an OCI distribution (docker registry v2) client for one repository, used by
// the registry storage backend and meant for nydusify later (manifests, blob uploads).
//
// Behaviour (reference spec §6, storage/src/backend/registry.rs, with documented deviations):
// - URLs are <scheme>://<host>/v2/<repo>/...; a scheme other than "http" means https, and a
//   TLS "wrong version number" error (an http registry) switches to http for good.
// - Auth: anonymous; `registry_token` (sent as Bearer); on 401 the WWW-Authenticate challenge
//   is answered: Basic → the configured user:pass; Bearer realm/service/scope → GET the realm
//   (Basic credentials if configured) for {"token"|"access_token", "expires_in"} (default 60 s,
//   the distribution token spec; the reference uses 600 s). The Authorization header is cached
//   (tokens until shortly before expiry, then fetched again; also dropped and re-negotiated on a
//   401, as for Harbor's expired tokens).
// - Blob GETs answered with a redirect (301/302/303/307/308) are followed by us: the Location
//   is rewritten by blob_url_scheme / blob_redirected_host, requested with the same Range and
//   WITHOUT the Authorization header (credentials never leave the registry host; the token realm
//   is the one other host that gets the Basic credentials, as the registry asked). The redirect
//   URL is cached per blob for up to 10 minutes; a 401/403 from it drops the entry and the read
//   goes through the registry again once.
// - Transport errors, 5xx and 429 are retried `retry_limit` times with backoff 500 ms × 2^attempt
//   (capped at 8 s); a Retry-After (delta-seconds) on a 429/503 lengthens that wait to at least
//   its value, also capped at 8 s (a FUSE read must not wait minutes). Every request has the
//   configured timeout and connect timeout.
// - proxy.url: requests go through that HTTP proxy; with `fallback`, a transport error or a
//   status >= 500 retries directly. mirrors: tried in order for registry requests (scheme/host
//   replaced, headers added); a transport error or >= 500 counts a failure, and a mirror at
//   failure_limit is skipped for health_check_interval seconds. (Ping URLs are not probed.)
// - Errors: 401 → PermissionDenied "registry H rejected the credentials for repo R ..." (or
//   "requires credentials" when anonymous), 403 → PermissionDenied, 404 → NotFound,
//   5xx → Unavailable, transport → IOError. Messages never contain credentials, tokens or the
//   query of a redirect URL.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "http/http_client.h"
#include "registry/registry_auth.h"
#include "registry/registry_config.h"

namespace nydus::registry {

// Counters since creation (atomics; a snapshot is not one consistent instant).
struct RegistryStats {
  uint64_t requests = 0;    // HTTP requests sent (any host, any status)
  uint64_t bytes = 0;       // blob bytes read into callers' buffers
  uint64_t errors = 0;      // ReadBlob / HeadBlob / CheckAccess / GetManifest calls that failed
  uint64_t latency_us = 0;  // cumulative wall time of those calls
  uint64_t reads = 0;       // ReadBlob calls
};

struct Manifest {
  std::string media_type;  // Content-Type of the response
  std::string digest;      // Docker-Content-Digest, if the registry sent it
  std::string body;
};

// Knobs for tests; the defaults are the production behaviour.
struct RegistryClientOptions {
  // The clock for token and redirect expiry (tests move time forward).
  std::function<std::chrono::steady_clock::time_point()> now = [] {
    return std::chrono::steady_clock::now();
  };
  std::chrono::milliseconds backoff_base{500};  // retry n waits backoff_base * 2^n (max 8 s)
  // How the retry loop waits (tests record the delays instead of sleeping).
  std::function<void(std::chrono::milliseconds)> sleep = [](std::chrono::milliseconds d) {
    std::this_thread::sleep_for(d);
  };
  std::chrono::seconds redirect_ttl{600};  // how long a blob's redirect URL is reused
};

class RegistryClient {
 public:
  using Clock = std::chrono::steady_clock;
  using Options = RegistryClientOptions;

  // InvalidArgument for a bad config (see ParseRegistryConfig).
  static Result<std::unique_ptr<RegistryClient>> Create(RegistryConfig config,
                                                        Options options = {});
  ~RegistryClient();

  const RegistryConfig& config() const { return config_; }
  // "<scheme>://<host>/v2/<repo>" with the scheme in use now.
  std::string RepoUrl() const;
  // "sha256:<hex>" for a bare hex id; ids with an algorithm prefix are kept.
  static std::string BlobDigest(const std::string& blob_id);

  // Size of the blob (HEAD, Content-Length).
  Result<uint64_t> HeadBlob(const std::string& blob_id);
  // Reads exactly buf.size() bytes at `offset` (a shorter or longer body is IOError).
  Status ReadBlob(const std::string& blob_id, uint64_t offset, std::span<uint8_t> buf);
  // A 1-byte range read of the blob, for mount time: OK, or a message that says whether the
  // credentials were rejected, the blob is missing, or the registry is unreachable, and what to
  // do about it.
  Status CheckAccess(const std::string& blob_id);
  // GET /v2/<repo>/manifests/<reference>; `accept` defaults to the OCI and Docker manifest and
  // index media types.
  Result<Manifest> GetManifest(const std::string& reference, std::vector<std::string> accept = {});

  RegistryStats stats() const;

 private:
  RegistryClient(RegistryConfig config, Options options);

  // One registry request with auth negotiation (no retries). `path` is below RepoUrl().
  // `restart` is called before each request that may feed req.body_sink.
  Result<http::Response> Send(const http::Request& req, const std::string& path,
                              const std::function<void()>& restart);
  // Sends through the mirrors / proxy / origin as configured. `registry`: req.url is a
  // registry URL (mirrors apply).
  Result<http::Response> Transport(const http::Request& req, bool registry,
                                   const std::function<void()>& restart);
  Result<http::Response> DoCounted(http::HttpClient& client, const http::Request& req);
  // What a failed attempt tells the retry loop.
  struct RetryAdvice {
    bool retryable = false;
    std::chrono::milliseconds at_least{0};  // the server's Retry-After (capped)
  };
  // Whether an HTTP status is worth another attempt (5xx, 429), and its Retry-After.
  static void AdviseForStatus(const http::Response& resp, RetryAdvice* advice);
  Status ReadOnce(const std::string& blob_id, uint64_t offset, std::span<uint8_t> buf,
                  RetryAdvice* advice);
  template <typename F>
  Status WithRetries(const std::string& what, F&& attempt);
  Status StatusError(const http::Response& resp, const std::string& what) const;
  // The Authorization value answering the 401's challenge ("" if there is none we can answer)
  // and how long it stays good.
  Status AuthorizationFor(const http::Response& challenge_resp, std::string* header,
                          std::chrono::seconds* ttl);
  Result<TokenReply> FetchToken(const AuthChallenge& challenge);
  // The cached Authorization value ("" if none); a stale token is fetched again first.
  std::string CachedAuth();
  void CacheAuth(const std::string& header, std::chrono::seconds ttl,
                 const std::optional<AuthChallenge>& bearer);
  void DropAuth(const std::string& header);
  Result<std::string> RewriteRedirect(const std::string& base_url,
                                      const std::string& location) const;
  // Follows a registry redirect for `req` (no Authorization) and caches it under `digest`.
  Result<http::Response> FollowRedirect(const http::Request& req, const http::Response& resp,
                                        const std::string& base_url, const std::string& digest,
                                        const std::function<void()>& restart);
  std::string Where() const;  // "registry <host> (repo <repo>)"
  Status Tally(Status st, Clock::time_point t0);

  const RegistryConfig config_;
  const Options options_;
  std::string user_, pass_;
  std::atomic<bool> use_http_;
  std::unique_ptr<http::HttpClient> direct_;
  std::unique_ptr<http::HttpClient> proxied_;  // null without proxy.url

  std::mutex mu_;                             // guards the members below
  std::string cached_auth_;                   // "Bearer x" / "Basic x" / ""
  Clock::time_point auth_stale_at_;           // max() = never
  std::optional<AuthChallenge> last_bearer_;  // to refresh a stale token without a 401
  struct Redirect {
    std::string url;
    Clock::time_point expires;
  };
  std::map<std::string, Redirect> redirects_;  // blob digest → storage URL
  struct MirrorState {
    uint32_t failures = 0;
    Clock::time_point disabled_until{};
  };
  std::vector<MirrorState> mirror_state_;
  std::mutex token_mu_;  // one token fetch at a time

  std::atomic<uint64_t> requests_{0}, bytes_{0}, errors_{0}, latency_us_{0}, reads_{0};
};

}  // namespace nydus::registry
