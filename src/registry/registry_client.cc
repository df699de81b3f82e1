// RegistryClient: auth negotiation, redirects, retries, mirrors and proxy (see the header).
#include "registry/registry_client.h"

#include <algorithm>
#include <cstring>
#include <thread>
#include <tuple>

#include "base/logging.h"
#include "base/redact.h"

namespace nydus::registry {

namespace {

constexpr char kClientId[] = "nydus-registry-client";
constexpr auto kNever = std::chrono::steady_clock::time_point::max();
constexpr std::chrono::seconds kForever = std::chrono::seconds::max();

bool Is2xx(long s) { return s >= 200 && s < 300; }
bool IsRedirect(long s) { return s == 301 || s == 302 || s == 303 || s == 307 || s == 308; }

http::Request WithHeader(http::Request req, const std::string& name, const std::string& value) {
  req.headers.push_back({name, value});
  return req;
}

// Appends what to do for TLS failures we can recognise.
Status WithTlsHint(const Status& st) {
  const std::string& m = st.message();
  if (m.find("self signed certificate") != std::string::npos ||
      m.find("self-signed certificate") != std::string::npos ||
      m.find("unable to get local issuer certificate") != std::string::npos) {
    return Status(st.code(), m + " (the registry's certificate is not trusted: add its CA to the "
                                 "system store, or set \"skip_verify\": true in the registry "
                                 "backend config)");
  }
  return st;
}

// Transport errors worth another attempt: not TLS trust failures, which stay until fixed.
bool RetryableTransport(const Status& st) {
  return st.code() == StatusCode::kIOError && st.message().find("certificate") == std::string::npos;
}

bool ParseUint(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = n;
  return true;
}

}  // namespace

Result<std::unique_ptr<RegistryClient>> RegistryClient::Create(RegistryConfig config,
                                                               Options options) {
  if (config.host.empty() || config.repo.empty()) {
    return Status::InvalidArgument("registry backend needs 'host' and 'repo'");
  }
  RETURN_IF_ERROR(DecodeAuth(config.auth).status());
  return std::unique_ptr<RegistryClient>(new RegistryClient(std::move(config), std::move(options)));
}

RegistryClient::RegistryClient(RegistryConfig config, Options options)
    : config_(std::move(config)),
      options_(std::move(options)),
      use_http_(config_.scheme == "http") {
  auto creds = DecodeAuth(config_.auth);
  if (creds.ok()) std::tie(user_, pass_) = *creds;
  http::ClientOptions o;
  o.timeout_sec = config_.timeout > 0 ? config_.timeout : 5;
  o.connect_timeout_sec = config_.connect_timeout > 0 ? config_.connect_timeout : 5;
  o.skip_verify = config_.skip_verify;
  direct_ = std::make_unique<http::HttpClient>(o);
  if (!config_.proxy.url.empty()) {
    o.proxy = config_.proxy.url;
    proxied_ = std::make_unique<http::HttpClient>(o);
  }
  if (!config_.registry_token.empty()) {
    cached_auth_ = "Bearer " + config_.registry_token;
  }
  auth_stale_at_ = kNever;
  mirror_state_.resize(config_.mirrors.size());
}

RegistryClient::~RegistryClient() = default;

std::string RegistryClient::RepoUrl() const {
  return std::string(use_http_ ? "http" : "https") + "://" + config_.host + "/v2/" + config_.repo;
}

std::string RegistryClient::Where() const {
  return "registry " + config_.host + " (repo " + config_.repo + ")";
}

std::string RegistryClient::BlobDigest(const std::string& blob_id) {
  return blob_id.find(':') == std::string::npos ? "sha256:" + blob_id : blob_id;
}

RegistryStats RegistryClient::stats() const {
  RegistryStats s;
  s.requests = requests_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  s.latency_us = latency_us_.load(std::memory_order_relaxed);
  s.reads = reads_.load(std::memory_order_relaxed);
  return s;
}

Status RegistryClient::Tally(Status st, Clock::time_point t0) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
  latency_us_.fetch_add(static_cast<uint64_t>(std::max<int64_t>(us, 0)), std::memory_order_relaxed);
  if (!st.ok()) errors_.fetch_add(1, std::memory_order_relaxed);
  return st;
}

Result<http::Response> RegistryClient::DoCounted(http::HttpClient& client,
                                                 const http::Request& req) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  return client.Do(req);
}

// ------------------------------------------------------------------------------ transport

Result<http::Response> RegistryClient::Transport(const http::Request& req, bool registry,
                                                 const std::function<void()>& restart) {
  if (registry) {
    for (size_t i = 0; i < config_.mirrors.size(); ++i) {
      const MirrorConfig& m = config_.mirrors[i];
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (mirror_state_[i].disabled_until > options_.now()) continue;
      }
      auto mirror =
          SplitUrl(m.host.find("://") == std::string::npos ? "https://" + m.host : m.host);
      auto target = SplitUrl(req.url);
      if (!mirror.ok() || !target.ok()) continue;
      http::Request mreq = req;
      mreq.url = mirror->scheme + "://" + mirror->authority + target->rest;
      for (const auto& [k, v] : m.headers) mreq.headers.push_back({k, v});
      if (restart) restart();
      Result<http::Response> r = DoCounted(*direct_, mreq);
      std::lock_guard<std::mutex> lock(mu_);
      MirrorState& state = mirror_state_[i];
      if (r.ok() && r->status < 500) {
        state.failures = 0;
        return r;
      }
      if (++state.failures >= std::max<uint32_t>(m.failure_limit, 1)) {
        state.failures = 0;
        state.disabled_until =
            options_.now() + std::chrono::seconds(std::max<uint64_t>(m.health_check_interval, 1));
        LOG_WARN("registry mirror {} disabled for {}s after repeated failures",
                 RedactUrl(m.host),
                 m.health_check_interval);
      }
    }
  }
  if (proxied_) {
    http::Request preq = req;
    if (config_.proxy.use_http && preq.url.starts_with("https://")) {
      preq.url = "http://" + preq.url.substr(8);
    }
    if (restart) restart();
    Result<http::Response> r = DoCounted(*proxied_, preq);
    if (!config_.proxy.fallback || (r.ok() && r->status < 500)) return r;
    LOG_WARN("registry proxy {} failed ({}); falling back to the origin",
             RedactUrl(config_.proxy.url),
             r.ok() ? "HTTP " + std::to_string(r->status) : r.status().ToString());
  }
  if (restart) restart();
  return DoCounted(*direct_, req);
}

// ------------------------------------------------------------------------------------ auth

std::string RegistryClient::CachedAuth() {
  std::optional<AuthChallenge> bearer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cached_auth_.empty() || options_.now() < auth_stale_at_) return cached_auth_;
    bearer = last_bearer_;
    cached_auth_.clear();
  }
  if (!bearer) return "";
  Result<TokenReply> token = FetchToken(*bearer);
  if (!token.ok()) return "";  // the request goes out anonymous and renegotiates on its 401
  std::string header = "Bearer " + token->token;
  CacheAuth(header, std::chrono::seconds(token->expires_in), bearer);
  return header;
}

void RegistryClient::CacheAuth(const std::string& header, std::chrono::seconds ttl,
                               const std::optional<AuthChallenge>& bearer) {
  std::lock_guard<std::mutex> lock(mu_);
  cached_auth_ = header;
  if (ttl == kForever) {
    auth_stale_at_ = kNever;
  } else {
    auto margin = std::min<std::chrono::seconds>(std::chrono::seconds(10), ttl / 2);
    auth_stale_at_ = options_.now() + ttl - margin;
  }
  if (bearer) last_bearer_ = bearer;
}

void RegistryClient::DropAuth(const std::string& header) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cached_auth_ == header) cached_auth_.clear();
}

Result<TokenReply> RegistryClient::FetchToken(const AuthChallenge& c) {
  std::lock_guard<std::mutex> one_at_a_time(token_mu_);
  std::string realm = c.Param("realm");
  std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  if (!c.Param("service").empty()) url += "service=" + UrlEscape(c.Param("service")) + "&";
  if (!c.Param("scope").empty()) url += "scope=" + UrlEscape(c.Param("scope")) + "&";
  url += std::string("client_id=") + kClientId;
  http::Request req;
  req.url = url;
  if (!user_.empty() || !pass_.empty())
    req.headers.push_back({"Authorization", "Basic " + config_.auth});
  Result<http::Response> r = DoCounted(*direct_, req);
  const std::string what = Where() + ": token server " + RedactUrl(realm);
  if (!r.ok()) return WithTlsHint(r.status()).WithContext(what);
  std::string summary = SummarizeErrorBody(r->body);
  if (r->status == 401 || r->status == 403) {
    return Status::PermissionDenied(
        Where() + " rejected the credentials: token server " + RedactUrl(realm) +
        " answered " + std::to_string(r->status) + (summary.empty() ? "" : " " + summary) +
        (user_.empty() ? "; set 'auth' (base64 of user:password) in the registry backend config "
                         "or the IMAGE_PULL_AUTH environment variable"
                       : "; check the user and password in 'auth' / IMAGE_PULL_AUTH"));
  }
  if (!Is2xx(r->status)) {
    return Status::Unavailable(what + " answered HTTP " + std::to_string(r->status) +
                               (summary.empty() ? "" : ": " + summary));
  }
  Result<TokenReply> reply = ParseTokenReply(r->body);
  if (!reply.ok()) return reply.status().WithContext(what);
  return reply;
}

Status RegistryClient::AuthorizationFor(const http::Response& resp, std::string* header,
                                        std::chrono::seconds* ttl) {
  header->clear();
  std::optional<std::string> www = resp.Find("WWW-Authenticate");
  if (!www) return Status::OK();
  std::optional<AuthChallenge> c = ParseWwwAuthenticate(*www);
  if (!c) return Status::OK();
  if (c->scheme == "basic") {
    if (user_.empty() && pass_.empty()) return Status::OK();
    *header = "Basic " + config_.auth;
    *ttl = kForever;
    return Status::OK();
  }
  if (c->scheme == "bearer" && !c->Param("realm").empty()) {
    ASSIGN_OR_RETURN(TokenReply token, FetchToken(*c));
    *header = "Bearer " + token.token;
    *ttl = std::chrono::seconds(token.expires_in);
  }
  return Status::OK();
}

Result<http::Response> RegistryClient::Send(const http::Request& req, const std::string& path,
                                            const std::function<void()>& restart) {
  for (;;) {
    http::Request base = req;
    base.url = RepoUrl() + path;
    std::string auth = CachedAuth();
    Result<http::Response> r =
        Transport(auth.empty() ? base : WithHeader(base, "Authorization", auth), true, restart);
    if (!r.ok()) {
      if (!use_http_ && r.status().message().find("wrong version number") != std::string::npos) {
        LOG_WARN("{}: TLS failed with 'wrong version number'; falling back to http", Where());
        use_http_ = true;
        continue;
      }
      return WithTlsHint(r.status());
    }
    if (r->status != 401) return r;
    if (!auth.empty()) {
      // An expired token (Harbor answers it with a Basic challenge): renegotiate from scratch.
      DropAuth(auth);
      r = Transport(base, true, restart);
      if (!r.ok() || r->status != 401) return r;
    }
    std::string header;
    std::chrono::seconds ttl{0};
    RETURN_IF_ERROR(AuthorizationFor(*r, &header, &ttl));
    if (header.empty()) return r;  // nothing we can answer: the caller reports the 401
    Result<http::Response> r2 = Transport(WithHeader(base, "Authorization", header), true, restart);
    if (r2.ok() && r2->status != 401 && r2->status != 403) {
      std::optional<AuthChallenge> bearer;
      if (header.starts_with("Bearer "))
        bearer = ParseWwwAuthenticate(*r->Find("WWW-Authenticate"));
      CacheAuth(header, ttl, bearer);
    }
    return r2;
  }
}

// ------------------------------------------------------------------------------- statuses

Status RegistryClient::StatusError(const http::Response& resp, const std::string& what) const {
  std::string summary = SummarizeErrorBody(resp.body);
  std::string detail =
      what + ": HTTP " + std::to_string(resp.status) + (summary.empty() ? "" : " " + summary);
  bool has_creds = !user_.empty() || !pass_.empty() || !config_.registry_token.empty();
  switch (resp.status) {
    case 401:
      if (!has_creds) {
        return Status::PermissionDenied(
            Where() + " requires credentials (" + detail +
            "): set 'auth' (base64 of user:password) in the registry backend config or the "
            "IMAGE_PULL_AUTH environment variable");
      }
      return Status::PermissionDenied(
          Where() + " rejected the credentials (" + detail +
          "): check the user and password in 'auth' / IMAGE_PULL_AUTH (or 'registry_token')");
    case 403:
      return Status::PermissionDenied(Where() + " denied access (" + detail +
                                      "): the account may not pull from this repository");
    case 404:
      return Status::NotFound(Where() + ": not found (" + detail + ")");
    case 416:
      return Status::OutOfRange(Where() + ": range not satisfiable (" + detail + ")");
    case 429:
      return Status::Unavailable(Where() + ": rate limited (" + detail + ")");
    default:
      if (resp.status >= 500) return Status::Unavailable(Where() + ": " + detail);
      return Status::IOError(Where() + ": unexpected answer (" + detail + ")");
  }
}

void RegistryClient::AdviseForStatus(const http::Response& resp, RetryAdvice* advice) {
  advice->retryable = resp.status >= 500 || resp.status == 429;
  uint64_t secs = 0;
  std::optional<std::string> after = resp.Find("Retry-After");
  if (advice->retryable && after && ParseUint(*after, &secs)) {  // HTTP-date form: ignored
    advice->at_least = std::chrono::milliseconds(std::min<uint64_t>(secs, 3600) * 1000);
  }
}

template <typename F>
Status RegistryClient::WithRetries(const std::string& what, F&& attempt) {
  constexpr std::chrono::milliseconds kMaxDelay(8000);
  for (uint32_t n = 0;; ++n) {
    RetryAdvice advice;
    Status st = attempt(&advice);
    if (st.ok() || !advice.retryable || n >= config_.retry_limit) return st;
    auto delay = std::min(std::max<std::chrono::milliseconds>(
                              options_.backoff_base * (1u << std::min(n, 10u)), advice.at_least),
                          kMaxDelay);
    LOG_WARN("{} failed (attempt {} of {}): {}; retrying in {} ms", what, n + 1,
             config_.retry_limit + 1, st.ToString(), delay.count());
    options_.sleep(delay);
  }
}

// ---------------------------------------------------------------------------------- blobs

Result<std::string> RegistryClient::RewriteRedirect(const std::string& base_url,
                                                    const std::string& location) const {
  ASSIGN_OR_RETURN(std::string resolved, ResolveLocation(base_url, location));
  ASSIGN_OR_RETURN(UrlParts p, SplitUrl(resolved));
  if (!config_.blob_url_scheme.empty()) p.scheme = config_.blob_url_scheme;
  if (!config_.blob_redirected_host.empty()) {
    p.authority = config_.blob_redirected_host.find(':') != std::string::npos || p.port.empty()
                      ? config_.blob_redirected_host
                      : config_.blob_redirected_host + ":" + p.port;
  }
  return p.ToString();
}

Result<http::Response> RegistryClient::FollowRedirect(const http::Request& req,
                                                      const http::Response& resp,
                                                      const std::string& base_url,
                                                      const std::string& digest,
                                                      const std::function<void()>& restart) {
  std::optional<std::string> location = resp.Find("Location");
  if (!location || location->empty()) {
    return Status::IOError(Where() + ": redirect " + std::to_string(resp.status) + " for " +
                           digest + " without a Location");
  }
  Result<std::string> target = RewriteRedirect(base_url, *location);
  if (!target.ok()) return target.status().WithContext(Where() + ": bad redirect for " + digest);
  http::Request rreq = req;  // never carries the registry's Authorization
  rreq.url = *target;
  Result<http::Response> r = Transport(rreq, false, restart);
  if (r.ok() && Is2xx(r->status)) {
    std::lock_guard<std::mutex> lock(mu_);
    redirects_[digest] = Redirect{*target, options_.now() + options_.redirect_ttl};
  }
  if (!r.ok())
    return WithTlsHint(r.status()).WithContext("redirected to " + RedactUrl(*target));
  return r;
}

Status RegistryClient::ReadOnce(const std::string& blob_id, uint64_t offset, std::span<uint8_t> buf,
                                RetryAdvice* advice) {
  const std::string digest = BlobDigest(blob_id);
  const std::string path = "/blobs/" + digest;
  const std::string what =
      "read " + digest + " [" + std::to_string(offset) + ", +" + std::to_string(buf.size()) + ")";
  size_t pos = 0;
  http::Request req;
  req.headers.push_back(
      {"Range", "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + buf.size() - 1)});
  req.sink_2xx_only = true;
  req.body_sink = [&pos, buf](std::span<const uint8_t> data) {
    if (data.size() > buf.size() - pos) {
      return Status::IOError("registry sent more than the " + std::to_string(buf.size()) +
                             " bytes requested (Range ignored?)");
    }
    std::memcpy(buf.data() + pos, data.data(), data.size());
    pos += data.size();
    return Status::OK();
  };
  std::function<void()> restart = [&pos] { pos = 0; };

  std::optional<Result<http::Response>> resp;
  std::string cached;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = redirects_.find(digest);
    if (it != redirects_.end() && options_.now() < it->second.expires) cached = it->second.url;
  }
  if (!cached.empty()) {
    http::Request rreq = req;
    rreq.url = cached;
    Result<http::Response> r = Transport(rreq, false, restart);
    if (r.ok() && Is2xx(r->status)) {
      resp = std::move(r);
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      redirects_.erase(digest);  // expired or failed: back through the registry
    }
  }
  if (!resp) {
    Result<http::Response> r = Send(req, path, restart);
    if (r.ok() && IsRedirect(r->status)) {
      r = FollowRedirect(req, *r, RepoUrl() + path, digest, restart);
    }
    resp = std::move(r);
  }
  if (!resp->ok()) {
    advice->retryable = RetryableTransport(resp->status());
    return resp->status().WithContext(Where() + ": " + what);
  }
  const http::Response& rr = **resp;
  if (!Is2xx(rr.status)) {
    AdviseForStatus(rr, advice);
    return StatusError(rr, what);
  }
  if (rr.status == 206) {
    std::optional<std::string> cr = rr.Find("Content-Range");
    std::string want = "bytes " + std::to_string(offset) + "-";
    if (cr && !cr->starts_with(want)) {
      return Status::IOError(Where() + ": " + what + ": server sent range '" + *cr + "'");
    }
  } else if (offset != 0) {
    return Status::IOError(Where() + ": " + what + ": server ignored the Range header (HTTP " +
                           std::to_string(rr.status) + ")");
  }
  if (pos != buf.size()) {
    advice->retryable = true;
    return Status::IOError(Where() + ": " + what + ": short body, " + std::to_string(pos) + " of " +
                           std::to_string(buf.size()) + " bytes");
  }
  return Status::OK();
}

Status RegistryClient::ReadBlob(const std::string& blob_id, uint64_t offset,
                                std::span<uint8_t> buf) {
  if (buf.empty()) return Status::OK();
  auto t0 = Clock::now();
  reads_.fetch_add(1, std::memory_order_relaxed);
  if (offset > UINT64_MAX - buf.size()) {
    return Tally(Status::OutOfRange("blob " + blob_id + ": read past 2^64"), t0);
  }
  Status st = WithRetries("registry read of " + blob_id, [&](RetryAdvice* advice) {
    return ReadOnce(blob_id, offset, buf, advice);
  });
  if (st.ok()) bytes_.fetch_add(buf.size(), std::memory_order_relaxed);
  return Tally(std::move(st), t0);
}

Result<uint64_t> RegistryClient::HeadBlob(const std::string& blob_id) {
  auto t0 = Clock::now();
  const std::string digest = BlobDigest(blob_id);
  const std::string path = "/blobs/" + digest;
  uint64_t size = 0;
  Status st = WithRetries("registry HEAD of " + blob_id, [&](RetryAdvice* advice) -> Status {
    http::Request req;
    req.method = "HEAD";
    Result<http::Response> r = Send(req, path, nullptr);
    if (r.ok() && IsRedirect(r->status)) {
      r = FollowRedirect(req, *r, RepoUrl() + path, digest, nullptr);
    }
    if (!r.ok()) {
      advice->retryable = RetryableTransport(r.status());
      return r.status().WithContext(Where() + ": HEAD " + digest);
    }
    if (!Is2xx(r->status)) {
      AdviseForStatus(*r, advice);
      return StatusError(*r, "HEAD " + digest);
    }
    std::optional<std::string> len = r->Find("Content-Length");
    if (!len || !ParseUint(*len, &size)) {
      return Status::IOError(Where() + ": HEAD " + digest + ": no valid Content-Length");
    }
    return Status::OK();
  });
  st = Tally(std::move(st), t0);
  if (!st.ok()) return st;
  return size;
}

Status RegistryClient::CheckAccess(const std::string& blob_id) {
  std::string ctx = "cannot access blob " + BlobDigest(blob_id);
  Result<uint64_t> size = HeadBlob(blob_id);
  Status st = size.status();
  if (st.ok() && *size > 0) {
    uint8_t byte = 0;
    st = ReadBlob(blob_id, 0, std::span<uint8_t>(&byte, 1));
  }
  if (st.ok()) return st;
  if ((st.code() == StatusCode::kIOError || st.code() == StatusCode::kUnavailable) &&
      st.message().find("certificate") == std::string::npos) {
    return Status(st.code(), ctx + ": " + st.message() +
                                 " (check that host and port are right and the registry is up; "
                                 "timeout " +
                                 std::to_string(config_.timeout) + " s)");
  }
  return st.WithContext(ctx);
}

Result<Manifest> RegistryClient::GetManifest(const std::string& reference,
                                             std::vector<std::string> accept) {
  auto t0 = Clock::now();
  if (accept.empty()) {
    accept = {"application/vnd.oci.image.manifest.v1+json",
              "application/vnd.oci.image.index.v1+json",
              "application/vnd.docker.distribution.manifest.v2+json",
              "application/vnd.docker.distribution.manifest.list.v2+json"};
  }
  std::string accept_value;
  for (const std::string& a : accept) accept_value += (accept_value.empty() ? "" : ", ") + a;
  Manifest m;
  Status st = WithRetries("registry manifest " + reference, [&](RetryAdvice* advice) -> Status {
    http::Request req;
    req.headers.push_back({"Accept", accept_value});
    Result<http::Response> r = Send(req, "/manifests/" + reference, nullptr);
    if (!r.ok()) {
      advice->retryable = RetryableTransport(r.status());
      return r.status();
    }
    if (!Is2xx(r->status)) {
      AdviseForStatus(*r, advice);
      return StatusError(*r, "manifest " + reference);
    }
    m.media_type = r->Find("Content-Type").value_or("");
    m.digest = r->Find("Docker-Content-Digest").value_or("");
    m.body = std::move(r->body);
    return Status::OK();
  });
  st = Tally(std::move(st), t0);
  if (!st.ok()) return st;
  return m;
}

}  // namespace nydus::registry
