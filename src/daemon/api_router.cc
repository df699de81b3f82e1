// ApiRouter: request → ApiBackend call → reference-shaped response (see api_router.h).
#include "daemon/api_router.h"

#include <initializer_list>
#include <string_view>
#include <utility>

namespace nydus::daemon {

using http::HttpRequest;
using http::HttpResponse;

// ---- ApiBackend defaults: a daemon without the feature ----

Result<std::map<uint64_t, InodeMetrics>> ApiBackend::GetFilesMetrics(
    const std::optional<std::string>&) {
  return std::map<uint64_t, InodeMetrics>();
}
Result<std::vector<std::vector<uint64_t>>> ApiBackend::GetLatestReadFiles(
    const std::optional<std::string>&) {
  return std::vector<std::vector<uint64_t>>();
}
Result<std::vector<AccessPattern>> ApiBackend::GetAccessPatterns(
    const std::optional<std::string>&) {
  return std::vector<AccessPattern>();
}
Result<std::vector<InflightOp>> ApiBackend::GetInflightOps() { return std::vector<InflightOp>(); }
Result<ErrorEvents> ApiBackend::GetEvents() { return ErrorEvents(); }
std::vector<std::string> ApiBackend::MetricIds() { return {}; }
Result<Json> ApiBackend::GetFsBackendInfo(const std::string& mountpoint) {
  return Status::NotFound("no filesystem mounted at " + mountpoint);
}
Status ApiBackend::Mount(const std::string&, const MountCmd&) {
  return Status::NotSupported("mounting through the API is not supported");
}
Status ApiBackend::Remount(const std::string&, const MountCmd&) {
  return Status::NotSupported("remounting through the API is not supported");
}
Status ApiBackend::Umount(const std::string&) {
  return Status::NotSupported("unmounting through the API is not supported");
}
// A running daemon cannot be started again: the reference's UnexpectedEvent (400).
Status ApiBackend::Start() { return Status::InvalidArgument("UnexpectedEvent(Start)"); }
Status ApiBackend::SendFuseFd() { return Status::NotSupported("hot upgrade is not supported"); }
Status ApiBackend::TakeoverFuseFd() { return Status::NotSupported("hot upgrade is not supported"); }

namespace {

constexpr std::string_view kV1 = "/api/v1";

HttpResponse Error(int status, const std::string& message) {
  return HttpResponse::Json(status, http::ErrorBody(message));
}

int HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kNotSupported:
      return 501;
    case StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

// "<Kind>(<code>: <message>)", the shape of the reference's Debug-formatted HttpError.
HttpResponse FromStatus(const char* kind, const Status& s) {
  return Error(HttpStatusOf(s), std::string(kind) + "(" + s.ToString() + ")");
}

HttpResponse Ok(const Json& j) { return HttpResponse::Json(200, DumpJson(j)); }

HttpResponse Empty(const Status& s, const char* kind) {
  return s.ok() ? HttpResponse::NoContent() : FromStatus(kind, s);
}

// Checks method and body presence like the reference's `match (method, body)`: a wrong
// method is 405; a body where none belongs, or none where one is needed, is 400.
std::optional<HttpResponse> Check(const HttpRequest& req,
                                  std::initializer_list<std::pair<const char*, bool>> allowed) {
  std::string allow;
  for (const auto& [method, needs_body] : allowed) {
    if (req.method == method || (req.method == "HEAD" && std::string_view(method) == "GET")) {
      if (needs_body != !req.body.empty()) return Error(400, "BadRequest");
      return std::nullopt;
    }
    allow += allow.empty() ? method : std::string(", ") + method;
  }
  HttpResponse r = Error(405, "MethodNotAllowed(" + req.method + ")");
  r.headers.emplace_back("Allow", allow);
  return r;
}

std::optional<std::string> Id(const HttpRequest& req) { return req.Query("id"); }

template <typename T>
Json ArrayJson(const std::vector<T>& v) {
  Json a = Json::array();
  for (const auto& e : v) a.push_back(ToJson(e));
  return a;
}

}  // namespace

HttpResponse ApiRouter::Handle(const HttpRequest& req) {
  const std::string& p = req.path;
  if (p == "/metrics") {
    if (auto bad = Check(req, {{"GET", false}})) return *bad;
    HttpResponse r = HttpResponse::Json(200, RenderPrometheus(CollectMetrics()));
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }
  if (p == "/api/v1/daemon" || p == "/api/v2/daemon") return Daemon(req);
  if (p == "/api/v1/mount") return Mount(req);
  if (p.starts_with("/api/v1/metrics")) return Metrics(req);
  if (p == "/api/v1/daemon/events") {
    if (auto bad = Check(req, {{"GET", false}})) return *bad;
    auto r = backend_->GetEvents();
    return r.ok() ? Ok(ToJson(*r)) : FromStatus("Events", r.status());
  }
  if (p == "/api/v1/daemon/backend") {
    if (auto bad = Check(req, {{"GET", false}})) return *bad;
    auto mp = req.Query("mountpoint");
    if (!mp) return Error(400, "QueryString(\"'mountpoint' should be specified in query string\")");
    auto r = backend_->GetFsBackendInfo(*mp);
    return r.ok() ? Ok(*r) : FromStatus("FsBackendInfo", r.status());
  }
  using Action = Status (ApiBackend::*)();
  static const std::pair<std::string_view, std::pair<Action, const char*>> kPuts[] = {
      {"/api/v1/daemon/start", {&ApiBackend::Start, "Configure"}},
      {"/api/v1/daemon/exit", {&ApiBackend::Exit, "Configure"}},
      {"/api/v1/daemon/fuse/sendfd", {&ApiBackend::SendFuseFd, "Upgrade"}},
      {"/api/v1/daemon/fuse/takeover", {&ApiBackend::TakeoverFuseFd, "Upgrade"}},
  };
  for (const auto& [path, action] : kPuts) {
    if (p != path) continue;
    if (auto bad = Check(req, {{"PUT", false}})) return *bad;
    std::lock_guard<std::mutex> lock(mutate_mu_);
    return Empty((backend_->*action.first)(), action.second);
  }
  if (p == "/api/v2/blobs") return Error(501, "Unsupported(blob cache management)");
  return Error(404, "NoRoute");
}

HttpResponse ApiRouter::Daemon(const HttpRequest& req) {
  const bool v1 = req.path.starts_with(kV1);
  if (auto bad = Check(req, {{"GET", false}, {"PUT", true}})) return *bad;
  if (req.method == "PUT") {
    auto level = ParseDaemonConf(req.body);
    if (!level.ok()) return Error(400, "ParseBody(" + level.status().message() + ")");
    std::lock_guard<std::mutex> lock(mutate_mu_);
    return Empty(backend_->SetLogLevel(*level), "Configure");
  }
  auto info = backend_->GetDaemonInfo(/*include_fs_info=*/v1);
  if (!info.ok()) return FromStatus("DaemonInfo", info.status());
  if (!v1) info->backend_collection.reset();
  return Ok(ToJson(*info));
}

HttpResponse ApiRouter::Mount(const HttpRequest& req) {
  if (auto bad = Check(req, {{"POST", true}, {"PUT", true}, {"DELETE", false}})) return *bad;
  auto mp = req.Query("mountpoint");
  if (!mp) return Error(400, "QueryString(\"'mountpoint' should be specified in query string\")");
  if (req.method == "DELETE") {
    std::lock_guard<std::mutex> lock(mutate_mu_);
    return Empty(backend_->Umount(*mp), "Mount");
  }
  auto cmd = ParseMountCmd(req.body);
  if (!cmd.ok()) return Error(400, "ParseBody(" + cmd.status().message() + ")");
  std::lock_guard<std::mutex> lock(mutate_mu_);
  Status s = req.method == "POST" ? backend_->Mount(*mp, *cmd) : backend_->Remount(*mp, *cmd);
  return Empty(s, "Mount");
}

HttpResponse ApiRouter::Metrics(const HttpRequest& req) {
  const std::string_view sub = std::string_view(req.path).substr(kV1.size() + 8);  // "/metrics"
  if (sub != "" && sub != "/files" && sub != "/pattern" && sub != "/backend" &&
      sub != "/blobcache" && sub != "/inflight") {
    return Error(404, "NoRoute");
  }
  if (auto bad = Check(req, {{"GET", false}})) return *bad;
  if (sub == "") {
    auto r = backend_->GetFsMetrics(Id(req));
    return r.ok() ? Ok(ToJson(*r)) : FromStatus("GlobalMetrics", r.status());
  }
  if (sub == "/files") {
    // As the reference: `latest` is on only when it parses as the bool `true`.
    if (req.Query("latest").value_or("") == "true") {
      auto r = backend_->GetLatestReadFiles(Id(req));
      return r.ok() ? Ok(Json(*r)) : FromStatus("FsFilesMetrics", r.status());
    }
    auto r = backend_->GetFilesMetrics(Id(req));
    if (!r.ok()) return FromStatus("FsFilesMetrics", r.status());
    Json j = Json::object();
    for (const auto& [ino, m] : *r) j[std::to_string(ino)] = ToJson(m);
    return Ok(j);
  }
  if (sub == "/pattern") {
    auto r = backend_->GetAccessPatterns(Id(req));
    return r.ok() ? Ok(ArrayJson(*r)) : FromStatus("Pattern", r.status());
  }
  if (sub == "/backend") {
    auto r = backend_->GetBackendMetrics(Id(req));
    return r.ok() ? Ok(ToJson(*r)) : FromStatus("BackendMetrics", r.status());
  }
  if (sub == "/blobcache") {
    auto r = backend_->GetBlobcacheMetrics(Id(req));
    return r.ok() ? Ok(ToJson(*r)) : FromStatus("BlobcacheMetrics", r.status());
  }
  auto r = backend_->GetInflightOps();
  if (!r.ok()) return FromStatus("InflightMetrics", r.status());
  if (r->empty()) return HttpResponse::NoContent();  // the reference's "nothing is hung"
  return Ok(ArrayJson(*r));
}

MetricsSnapshot ApiRouter::CollectMetrics() {
  MetricsSnapshot snap;
  if (auto r = backend_->GetDaemonInfo(false); r.ok()) snap.info = std::move(*r);
  std::vector<std::optional<std::string>> ids;
  for (const std::string& id : backend_->MetricIds()) ids.emplace_back(id);
  if (ids.empty()) ids.emplace_back(std::nullopt);
  for (const auto& id : ids) {
    if (auto r = backend_->GetFsMetrics(id); r.ok()) snap.fs.push_back(std::move(*r));
    if (auto r = backend_->GetBackendMetrics(id); r.ok()) snap.backends.push_back(std::move(*r));
    if (auto r = backend_->GetBlobcacheMetrics(id); r.ok()) {
      snap.blobcaches.push_back(std::move(*r));
    }
  }
  if (auto r = backend_->GetInflightOps(); r.ok()) snap.inflight = r->size();
  return snap;
}

}  // namespace nydus::daemon
