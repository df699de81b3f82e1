// RepoClient: manifests, blob downloads and uploads with auth negotiation (see the header).
#include "registry/registry_push.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "base/digest.h"
#include "base/file_util.h"
#include "base/json.h"
#include "base/logging.h"
#include "base/redact.h"
#include "registry/registry_auth.h"
#include "registry/registry_config.h"

namespace nydus::registry {

namespace {

bool Is2xx(long s) { return s >= 200 && s < 300; }
bool IsRedirect(long s) { return s == 301 || s == 302 || s == 303 || s == 307 || s == 308; }

std::string WithQuery(const std::string& url, const std::string& kv) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + kv;
}

}  // namespace

const std::vector<std::string>& ManifestAcceptTypes() {
  static const std::vector<std::string> kTypes = {
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
  };
  return kTypes;
}

Result<std::unique_ptr<RepoClient>> RepoClient::Create(RepoClientOptions options) {
  if (options.host.empty() || options.repo.empty()) {
    return Status::InvalidArgument("registry reference needs a host and a repository");
  }
  return std::unique_ptr<RepoClient>(new RepoClient(std::move(options)));
}

RepoClient::RepoClient(RepoClientOptions options) : options_(std::move(options)) {
  http::ClientOptions o;
  o.timeout_sec = options_.timeout_sec;
  o.connect_timeout_sec = options_.connect_timeout_sec;
  o.skip_verify = options_.insecure;
  o.user_agent = "nydusify-cpp";
  http_ = std::make_unique<http::HttpClient>(o);
}

std::string RepoClient::RepoUrl() const {
  return std::string(options_.insecure ? "http" : "https") + "://" + options_.host + "/v2/" +
         options_.repo;
}

std::string RepoClient::Where() const {
  return "registry " + options_.host + " (repo " + options_.repo + ")";
}

std::string RepoClient::Auth() {
  std::lock_guard<std::mutex> lock(mu_);
  return auth_;
}

Status RepoClient::Answer(const http::Response& challenge) {
  auto header = challenge.Find("WWW-Authenticate");
  auto ch = header ? ParseWwwAuthenticate(*header) : std::nullopt;
  if (!ch) return StatusError(challenge, "authentication");
  const bool has_creds = !options_.username.empty() || !options_.password.empty();
  std::string basic = "Basic " + Base64Encode(options_.username + ":" + options_.password);
  std::string value;
  if (ch->scheme == "basic") {
    if (!has_creds) return StatusError(challenge, "authentication");
    value = basic;
  } else if (ch->scheme == "bearer") {
    std::string realm = ch->Param("realm");
    if (realm.empty())
      return Status::PermissionDenied(Where() + ": bearer challenge without realm");
    std::string scope = ch->Param("scope");
    if (scope.empty()) scope = "repository:" + options_.repo + ":pull,push";
    std::string url = WithQuery(
        realm, "service=" + UrlEscape(ch->Param("service")) + "&scope=" + UrlEscape(scope));
    http::Request req;
    req.url = url;
    if (has_creds) req.headers.push_back({"Authorization", basic});
    ASSIGN_OR_RETURN(http::Response resp, http_->Do(req));
    if (!Is2xx(resp.status)) return StatusError(resp, "token request to " + RedactUrl(realm));
    ASSIGN_OR_RETURN(TokenReply tok, ParseTokenReply(resp.body));
    value = "Bearer " + tok.token;
  } else {
    return Status::PermissionDenied(Where() + ": unsupported auth scheme '" + ch->scheme + "'");
  }
  std::lock_guard<std::mutex> lock(mu_);
  auth_ = value;
  return Status::OK();
}

Result<http::Response> RepoClient::Send(http::Request req) {
  if (req.url.empty() || req.url[0] == '/') req.url = RepoUrl() + req.url;
  for (int attempt = 0;; ++attempt) {
    http::Request r = req;
    std::string auth = Auth();
    if (!auth.empty()) r.headers.push_back({"Authorization", auth});
    ASSIGN_OR_RETURN(http::Response resp, http_->Do(r));
    if (resp.status != 401 || attempt > 0) return resp;
    RETURN_IF_ERROR(Answer(resp));
  }
}

Result<http::Response> RepoClient::SendRetried(const http::Request& req,
                                               const std::function<void()>& restart) {
  for (int attempt = 0;; ++attempt) {
    if (restart) restart();
    auto resp = Send(req);
    bool retry = (!resp.ok() && resp.status().code() == StatusCode::kIOError &&
                  resp.status().message().find("certificate") == std::string::npos) ||
                 (resp.ok() && resp->status >= 500);
    if (!retry || attempt >= 2) return resp;
    LOG_WARN("{}: {} {} failed ({}), retrying", Where(), req.method, RedactUrl(req.url),
             resp.ok() ? "HTTP " + std::to_string(resp->status) : resp.status().message());
    std::this_thread::sleep_for(std::chrono::milliseconds(500 << attempt));
  }
}

Status RepoClient::StatusError(const http::Response& resp, const std::string& what) const {
  std::string summary = SummarizeErrorBody(resp.body);
  std::string detail =
      what + ": HTTP " + std::to_string(resp.status) + (summary.empty() ? "" : " " + summary);
  const bool has_creds = !options_.username.empty() || !options_.password.empty();
  switch (resp.status) {
    case 401:
      return Status::PermissionDenied(
          Where() + (has_creds ? " rejected the credentials (" : " requires credentials (") +
          detail + "): log in with `docker login " + options_.host + "` (~/.docker/config.json)");
    case 403:
      return Status::PermissionDenied(Where() + " denied access (" + detail + ")");
    case 404:
      return Status::NotFound(Where() + ": not found (" + detail + ")");
    default:
      if (resp.status >= 500) return Status::Unavailable(Where() + ": " + detail);
      return Status::IOError(Where() + ": unexpected answer (" + detail + ")");
  }
}

Result<Manifest> RepoClient::GetManifest(const std::string& reference,
                                         const std::vector<std::string>& accept) {
  http::Request req;
  req.url = "/manifests/" + reference;
  std::string list;
  for (const auto& a : accept.empty() ? ManifestAcceptTypes() : accept) {
    list += (list.empty() ? "" : ", ") + a;
  }
  req.headers.push_back({"Accept", list});
  ASSIGN_OR_RETURN(http::Response resp, SendRetried(req));
  if (!Is2xx(resp.status)) return StatusError(resp, "manifest " + reference);
  Manifest m;
  m.media_type = resp.Find("Content-Type").value_or("");
  if (auto semi = m.media_type.find(';'); semi != std::string::npos) m.media_type.resize(semi);
  m.digest = resp.Find("Docker-Content-Digest").value_or("");
  m.body = std::move(resp.body);
  return m;
}

Result<std::string> RepoClient::GetBlob(const std::string& digest, uint64_t max_size) {
  std::string out;
  http::Request req;
  req.url = "/blobs/" + digest;
  req.sink_2xx_only = true;
  req.body_sink = [&](std::span<const uint8_t> d) {
    if (out.size() + d.size() > max_size) return Status::OutOfRange("blob " + digest + " too big");
    out.append(reinterpret_cast<const char*>(d.data()), d.size());
    return Status::OK();
  };
  // A retried transfer starts over: bytes of a broken attempt must not stay in front.
  ASSIGN_OR_RETURN(http::Response resp, SendRetried(req, [&] { out.clear(); }));
  if (IsRedirect(resp.status) && resp.Find("Location")) {
    ASSIGN_OR_RETURN(req.url, ResolveLocation(resp.effective_url, *resp.Find("Location")));
    out.clear();
    ASSIGN_OR_RETURN(resp, http_->Do(req));  // storage URL: no registry credentials
  }
  if (!Is2xx(resp.status)) return StatusError(resp, "blob " + digest);
  if (digest.starts_with("sha256:") && "sha256:" + DigestHex(Sha256(AsBytes(out))) != digest) {
    return Status::Corruption(Where() + ": blob " + digest + ": digest mismatch");
  }
  return out;
}

Result<uint64_t> RepoClient::DownloadBlob(const std::string& digest, const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return Status::FromErrno(errno, "create " + path);
  std::unique_ptr<Hasher> hasher;
  uint64_t n = 0;
  http::Request req;
  req.url = "/blobs/" + digest;
  req.sink_2xx_only = true;
  req.body_sink = [&](std::span<const uint8_t> d) {
    hasher->Update(ByteSpan(d.data(), d.size()));
    n += d.size();
    return WriteFull(fd.get(), d.data(), d.size(), path);
  };
  auto restart = [&] {
    hasher = NewHasher(DigestAlgo::kSha256);
    n = 0;
    (void)::ftruncate(fd.get(), 0);
    (void)::lseek(fd.get(), 0, SEEK_SET);
  };
  restart();
  Result<http::Response> resp = Status::Internal("unset");
  for (int attempt = 0; attempt < 3; ++attempt) {
    restart();
    resp = Send(req);
    if (resp.ok() && IsRedirect(resp->status) && resp->Find("Location")) {
      http::Request r2 = req;
      ASSIGN_OR_RETURN(r2.url, ResolveLocation(resp->effective_url, *resp->Find("Location")));
      restart();
      resp = http_->Do(r2);
    }
    if (resp.ok() && resp->status < 500) break;
  }
  if (!resp.ok()) return resp.status().WithContext(Where() + ": download " + digest);
  if (!Is2xx(resp->status)) return StatusError(*resp, "blob " + digest);
  std::string got = "sha256:" + DigestHex(hasher->Finish());
  if (digest.starts_with("sha256:") && got != digest) {
    return Status::Corruption(Where() + ": blob " + digest + ": digest mismatch (got " + got + ")");
  }
  return n;
}

Result<std::vector<std::string>> RepoClient::ListTags() {
  constexpr size_t kMaxTagList = 4u << 20;  // the registry's answer is untrusted
  std::string body;
  http::Request req;
  req.url = "/tags/list";
  req.sink_2xx_only = true;
  req.body_sink = [&](std::span<const uint8_t> d) {
    if (body.size() + d.size() > kMaxTagList) {
      return Status::OutOfRange(Where() + ": tags/list answer over 4 MiB");
    }
    body.append(reinterpret_cast<const char*>(d.data()), d.size());
    return Status::OK();
  };
  ASSIGN_OR_RETURN(http::Response resp, SendRetried(req, [&] { body.clear(); }));
  if (resp.status == 404) return std::vector<std::string>{};
  if (!Is2xx(resp.status)) return StatusError(resp, "list tags");
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::Corruption(Where() + ": tags/list: not a JSON object");
  std::vector<std::string> tags;
  if (auto it = j.find("tags"); it != j.end() && it->is_array()) {
    for (const auto& t : *it) {
      if (t.is_string()) tags.push_back(t.get<std::string>());
    }
  }
  return tags;
}

Result<uint64_t> RepoClient::HeadBlob(const std::string& digest) {
  http::Request req;
  req.method = "HEAD";
  req.url = "/blobs/" + digest;
  ASSIGN_OR_RETURN(http::Response resp, SendRetried(req));
  if (IsRedirect(resp.status)) return 0;  // exists, served elsewhere
  if (!Is2xx(resp.status)) return StatusError(resp, "blob " + digest);
  auto len = resp.Find("Content-Length");
  return len ? std::strtoull(len->c_str(), nullptr, 10) : 0;
}

Result<std::string> RepoClient::NextLocation(const http::Response& resp, const std::string& base,
                                             const std::string& what) const {
  auto loc = resp.Find("Location");
  if (!loc || loc->empty()) return Status::IOError(Where() + ": " + what + ": no Location");
  return ResolveLocation(base, *loc);
}

Result<std::string> RepoClient::StartUpload(const std::string& what) {
  http::Request req;
  req.method = "POST";
  req.url = "/blobs/uploads/";
  req.headers.push_back({"Content-Type", "application/octet-stream"});
  ASSIGN_OR_RETURN(http::Response resp, Send(req));
  if (resp.status != 202) return StatusError(resp, what + ": start upload");
  return NextLocation(resp, RepoUrl() + "/blobs/uploads/", what);
}

Result<bool> RepoClient::MountBlob(const std::string& digest, const std::string& from_repo) {
  http::Request req;
  req.method = "POST";
  req.url = "/blobs/uploads/?mount=" + UrlEscape(digest) + "&from=" + UrlEscape(from_repo);
  req.headers.push_back({"Content-Type", "application/octet-stream"});
  ASSIGN_OR_RETURN(http::Response resp, Send(req));
  if (resp.status == 201) return true;
  if (resp.status == 202) {  // an upload session was opened instead: cancel it
    if (auto loc = NextLocation(resp, RepoUrl() + "/blobs/uploads/", "mount"); loc.ok()) {
      CancelUpload(*loc);
    }
    return false;
  }
  return StatusError(resp, "mount " + digest + " from " + from_repo);
}

Status RepoClient::PushBlobBytes(const std::string& bytes, const std::string& digest) {
  const std::string what = "push blob " + digest;
  ASSIGN_OR_RETURN(std::string url, StartUpload(what));
  http::Request put;
  put.method = "PUT";
  put.url = WithQuery(url, "digest=" + UrlEscape(digest));
  put.headers.push_back({"Content-Type", "application/octet-stream"});
  put.body = bytes;
  ASSIGN_OR_RETURN(http::Response resp, Send(put));
  if (resp.status != 201 && !Is2xx(resp.status)) return StatusError(resp, what);
  return Status::OK();
}

Status RepoClient::PushBlobFile(const std::string& path, const std::string& digest) {
  const std::string what = "push blob " + digest;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "open " + path);
  off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size < 0) return Status::FromErrno(errno, "seek " + path);
  if (static_cast<uint64_t>(size) <= kMonolithicLimit) {
    std::string body(static_cast<size_t>(size), '\0');
    RETURN_IF_ERROR(PreadFull(fd.get(), body.data(), body.size(), 0, path));
    return PushBlobBytes(body, digest);
  }
  ASSIGN_OR_RETURN(std::string url, StartUpload(what));
  for (uint64_t off = 0; off < static_cast<uint64_t>(size);) {
    uint64_t len = std::min<uint64_t>(kChunkSize, size - off);
    std::string chunk(len, '\0');
    RETURN_IF_ERROR(PreadFull(fd.get(), chunk.data(), len, off, path));
    ASSIGN_OR_RETURN(url, PatchUpload(url, off, std::move(chunk), what));
    off += len;
  }
  return CommitUpload(url, digest, what);
}

Result<std::string> RepoClient::PatchUpload(const std::string& url, uint64_t offset,
                                            std::string body, const std::string& what) {
  if (body.empty()) return url;
  const uint64_t len = body.size();
  http::Request patch;
  patch.method = "PATCH";
  patch.url = url;
  patch.headers.push_back({"Content-Type", "application/octet-stream"});
  patch.headers.push_back(
      {"Content-Range", std::to_string(offset) + "-" + std::to_string(offset + len - 1)});
  patch.body = std::move(body);
  ASSIGN_OR_RETURN(http::Response resp, Send(patch));
  if (resp.status != 202) {
    return StatusError(resp, what + " (chunk at " + std::to_string(offset) + ")");
  }
  return NextLocation(resp, url, what);
}

Status RepoClient::CommitUpload(const std::string& url, const std::string& digest,
                                const std::string& what) {
  http::Request put;
  put.method = "PUT";
  put.url = WithQuery(url, "digest=" + UrlEscape(digest));
  put.headers.push_back({"Content-Type", "application/octet-stream"});
  ASSIGN_OR_RETURN(http::Response resp, Send(put));
  if (!Is2xx(resp.status)) return StatusError(resp, what + " (commit)");
  return Status::OK();
}

void RepoClient::CancelUpload(const std::string& url) {
  http::Request del;
  del.method = "DELETE";
  del.url = url;
  (void)Send(del);
}

Result<std::string> RepoClient::PutManifest(const std::string& reference,
                                            const std::string& media_type,
                                            const std::string& body) {
  http::Request req;
  req.method = "PUT";
  req.url = "/manifests/" + reference;
  req.headers.push_back({"Content-Type", media_type});
  req.body = body;
  ASSIGN_OR_RETURN(http::Response resp, Send(req));
  if (!Is2xx(resp.status)) return StatusError(resp, "push manifest " + reference);
  return resp.Find("Docker-Content-Digest").value_or("");
}

}  // namespace nydus::registry
