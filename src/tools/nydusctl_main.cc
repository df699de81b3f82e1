// nydusctl: a client for nydusd's HTTP API on its unix socket. Flags follow the reference
// nydusctl 2.2 (src/bin/nydusctl/main.rs):
//
//   nydusctl -S SOCK [-r] info
//   nydusctl -S SOCK [-r] set log-level LEVEL
//   nydusctl -S SOCK [-r] metrics backend|cache|fsstats|inflight [-I SECS]
//   nydusctl -S SOCK mount -s SOURCE -c CONFIG_FILE -m MOUNTPOINT [-t rafs|passthrough_fs]
//   nydusctl -S SOCK umount MOUNTPOINT
//   nydusctl -S SOCK [-r] access-pattern [--id MOUNTPOINT] [--min-coverage PCT]
//            [--format list|json]
//
// `access-pattern` is ours: the files the mount has read (rafs config access_pattern: true),
// in first-access order, one path per line — a prefetch list for `nydusify convert
// --prefetch-patterns` or `nydusd --prefetch-files`; --min-coverage leaves out files over
// 1 MiB of which less than PCT percent was read (a prefetch list names whole files);
// --format json prints the same files with the byte ranges read, in 64 KiB blocks, as the
// reference's prefetch-files JSON ({"version":"v1","files":[{"path":..,"ranges":[[offset,
// length],..] or null for a file read whole}]}, for `nydus-image optimize --prefetch-files`);
// -r prints GET /api/v1/metrics/pattern.
//
// Differences from the reference: `-t` defaults to rafs (required there), `metrics inflight` is
// an addition, and human output prints strings without JSON quotes. `-r` prints the daemon's
// JSON as received. Exit status 1 with "Error: ..." on stderr when the daemon cannot be reached
// or answers with an error (its {"code","message"} body is shown).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "base/json.h"
#include "http/http_client.h"
#include "tools/nydusctl_format.h"

namespace {

using nydus::Json;
using nydus::Result;
using nydus::Status;

constexpr const char* kVersion = "2.2.5-nydus-cpp";

class Client {
 public:
  explicit Client(const std::string& sock) : options_sock_(sock), client_(Options(sock)) {}

  // GET → the JSON body (null for 204); an error for transport failures and 4xx/5xx.
  Result<Json> Get(const std::string& path) {
    auto r = Call("GET", path, "");
    if (!r.ok()) return r.status();
    if (r->empty()) return Json(nullptr);
    Json j = Json::parse(*r, nullptr, false);
    if (j.is_discarded()) return Status::Corruption("daemon answered with invalid JSON: " + *r);
    return j;
  }
  Status Send(const std::string& method, const std::string& path, const std::string& body) {
    return Call(method, path, body).status();
  }

 private:
  static nydus::http::ClientOptions Options(const std::string& sock) {
    nydus::http::ClientOptions o;
    o.unix_socket = sock;
    o.timeout_sec = 300;  // a mount may fetch a bootstrap first
    o.user_agent = "nydusctl";
    return o;
  }
  Result<std::string> Call(const std::string& method, const std::string& path,
                           const std::string& body) {
    nydus::http::Request req;
    req.method = method;
    req.url = "http://localhost/api/" + path;
    req.body = body;
    if (!body.empty()) req.headers.push_back({"Content-Type", "application/json"});
    auto r = client_.Do(req);
    if (!r.ok()) return r.status().WithContext("nydusd API socket " + options_sock_);
    if (r->status >= 400) {
      return Status::IOError("Request failed (HTTP " + std::to_string(r->status) + "). " + r->body);
    }
    return std::move(r->body);
  }
  std::string options_sock_;
  nydus::http::HttpClient client_;
};

int Fail(const Status& s) {
  std::fprintf(stderr, "Error: %s\n", s.message().c_str());
  return 1;
}

void Print(const std::string& s) {
  std::fputs(s.c_str(), stdout);
  std::fflush(stdout);
}

std::string Raw(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

// Without --id and with several filesystems mounted, nydusd wants an id: show each mount.
int MetricsPerMount(Client& c, const std::string& category, const std::string& path, bool raw) {
  auto info = c.Get("v1/daemon");
  if (!info.ok()) return Fail(info.status());
  const Json* fs = info->contains("backend_collection") ? &(*info)["backend_collection"] : nullptr;
  if (fs == nullptr || !fs->is_object() || fs->empty()) {
    return Fail(Status::NotFound("no filesystem is mounted"));
  }
  Json all = Json::object();
  for (const auto& [mp, desc] : fs->items()) {
    auto m = c.Get(path + "?id=" + nydus::nydusctl::QueryEscape(mp));
    if (!m.ok()) return Fail(m.status());
    if (raw) {
      all[mp] = std::move(*m);
      continue;
    }
    Print("[" + mp + "]\n");
    if (category == "backend") {
      Print(nydus::nydusctl::FormatBackend(*m));
    } else if (category == "cache") {
      Print(nydus::nydusctl::FormatCache(*m));
    } else {
      Print(nydus::nydusctl::FormatFsStats(*m));
    }
  }
  if (raw) Print(Raw(all));
  return 0;
}

int Metrics(Client& c, const std::string& category, bool raw, unsigned interval,
            const std::string& id) {
  static const std::pair<const char*, const char*> kPaths[] = {{"backend", "v1/metrics/backend"},
                                                               {"cache", "v1/metrics/blobcache"},
                                                               {"fsstats", "v1/metrics"},
                                                               {"inflight", "v1/metrics/inflight"}};
  std::string path;
  for (const auto& [name, p] : kPaths) {
    if (category == name) path = p;
  }
  if (!id.empty() && category != "inflight") {
    path += "?id=" + nydus::nydusctl::QueryEscape(id);
  }
  auto m = c.Get(path);
  if (!m.ok() && id.empty() && category != "inflight" &&
      m.status().message().find("several filesystems") != std::string::npos) {
    return MetricsPerMount(c, category, path, raw);
  }
  if (!m.ok()) return Fail(m.status());
  if (category == "backend" && interval > 0) {  // the reference's -I: deltas, until killed
    Json last = std::move(*m);
    for (;;) {
      std::this_thread::sleep_for(std::chrono::seconds(interval));
      auto cur = c.Get(path);
      if (!cur.ok()) return Fail(cur.status());
      Print(raw ? Raw(*cur) : nydus::nydusctl::FormatBackendDelta(last, *cur, interval));
      last = std::move(*cur);
    }
  }
  for (;;) {
    if (raw) {
      Print(Raw(*m));
    } else if (category == "backend") {
      Print(nydus::nydusctl::FormatBackend(*m));
    } else if (category == "cache") {
      Print(nydus::nydusctl::FormatCache(*m));
    } else if (category == "fsstats") {
      Print(nydus::nydusctl::FormatFsStats(*m));
    } else {
      Print(nydus::nydusctl::FormatInflight(*m));
    }
    if (interval == 0) return 0;
    std::this_thread::sleep_for(std::chrono::seconds(interval));
    m = c.Get(path);
    if (!m.ok()) return Fail(m.status());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"A client to query and configure the nydusd daemon"};
  app.set_version_flag("-V,--version", kVersion);
  app.fallthrough();  // -r may follow the subcommand, as the reference's global flag
  app.require_subcommand(1);
  std::string sock;
  bool raw = false;
  app.add_option("-S,--sock", sock, "Sets file path for the nydusd API socket")->required();
  app.add_flag("-r,--raw", raw, "Outputs messages in plain json mode");

  CLI::App* info = app.add_subcommand("info", "Gets information about the nydusd daemon");
  CLI::App* set = app.add_subcommand("set", "Configures parameters for the nydusd daemon");
  std::string kind, value;
  set->add_option("KIND", kind, "the parameter to configure")
      ->required()
      ->check(CLI::IsMember({"log-level"}));
  set->add_option("VALUE", value, "the configuration value (trace, debug, info, warn, error)")
      ->required();
  CLI::App* metrics =
      app.add_subcommand("metrics", "Gets runtime metrics about backend, cache and filesystems");
  std::string category;
  unsigned interval = 0;
  metrics->add_option("category", category, "the metrics category to fetch")
      ->required()
      ->check(CLI::IsMember({"backend", "cache", "fsstats", "inflight"}));
  metrics->add_option("-I,--interval", interval, "interval to refresh the metrics (seconds)");
  std::string metrics_id;
  metrics->add_option("--id", metrics_id,
                      "the filesystem (mountpoint) to show; default: the only one, or each");
  CLI::App* mount = app.add_subcommand("mount", "Mounts a new filesystem instance");
  std::string source, config, mountpoint, type = "rafs";
  mount->add_option("-s,--source", source, "Storage backend for the filesystem instance")
      ->required();
  mount->add_option("-c,--config", config, "Configuration file for the new filesystem instance")
      ->required();
  mount->add_option("-m,--mountpoint", mountpoint, "Mountpoint for the new filesystem instance")
      ->required();
  mount->add_option("-t,--type", type, "Type of the new filesystem instance")
      ->default_str("rafs")
      ->check(CLI::IsMember({"rafs", "passthrough_fs"}));
  CLI::App* umount = app.add_subcommand("umount", "Umounts a filesystem instance");
  std::string umount_point;
  umount->add_option("mountpoint,-m", umount_point, "Mountpoint of the filesystem instance")
      ->required();
  CLI::App* pattern = app.add_subcommand(
      "access-pattern", "Prints the files a mount has read, in first-access order (a prefetch list)");
  std::string pattern_id;
  double min_coverage = 0;
  pattern->add_option("--id", pattern_id, "the filesystem (mountpoint); default: the only one");
  pattern->add_option("--min-coverage", min_coverage,
                      "leave out files over 1 MiB of which reads touched less than PCT percent")
      ->check(CLI::Range(0.0, 100.0));
  std::string pattern_format = "list";
  pattern
      ->add_option("--format", pattern_format,
                   "list: one path per line; json: prefetch-files JSON with the byte ranges read")
      ->default_str("list")
      ->check(CLI::IsMember({"list", "json"}));
  CLI11_PARSE(app, argc, argv);

  Client client(sock);
  if (info->parsed()) {
    auto r = client.Get("v1/daemon");
    if (!r.ok()) return Fail(r.status());
    Print(raw ? Raw(*r) : nydus::nydusctl::FormatInfo(*r));
    return 0;
  }
  if (set->parsed()) {
    Json body{{"log_level", value}};  // "log-level" is the only KIND
    Status s =
        client.Send("PUT", "v1/daemon", body.dump(-1, ' ', false, Json::error_handler_t::replace));
    return s.ok() ? 0 : Fail(s);
  }
  if (metrics->parsed()) return Metrics(client, category, raw, interval, metrics_id);
  if (mount->parsed()) {
    std::ifstream in(config, std::ios::binary);
    if (!in) return Fail(Status::NotFound("cannot read config file " + config));
    std::stringstream text;
    text << in.rdbuf();
    Json body{{"source", source}, {"fs_type", type}, {"config", text.str()}};
    Status s =
        client.Send("POST", "v1/mount?mountpoint=" + nydus::nydusctl::QueryEscape(mountpoint),
                    body.dump(-1, ' ', false, Json::error_handler_t::replace));
    return s.ok() ? 0 : Fail(s);
  }
  if (pattern->parsed()) {
    std::string path = "v1/metrics/pattern";
    if (!pattern_id.empty()) path += "?id=" + nydus::nydusctl::QueryEscape(pattern_id);
    auto r = client.Get(path);
    if (!r.ok()) return Fail(r.status());
    if (raw) {
      Print(Raw(*r));
      return 0;
    }
    auto enabled = client.Get(pattern_id.empty()
                                  ? std::string("v1/metrics")
                                  : "v1/metrics?id=" + nydus::nydusctl::QueryEscape(pattern_id));
    if (enabled.ok() && enabled->is_object() && enabled->contains("access_pattern_enabled") &&
        (*enabled)["access_pattern_enabled"] == false) {
      return Fail(Status::InvalidArgument(
          "access patterns are not recorded for this mount: set \"access_pattern\": true in "
          "its rafs config"));
    }
    size_t skipped = 0, sparse = 0;
    Print(pattern_format == "json"
              ? nydus::nydusctl::FormatAccessPatternJson(*r, min_coverage, &skipped, &sparse)
              : nydus::nydusctl::FormatAccessPattern(*r, min_coverage, &skipped, &sparse));
    if (skipped > 0) {
      std::fprintf(stderr, "warning: %zu record(s) without a usable path left out\n", skipped);
    }
    if (sparse > 0) {
      std::fprintf(stderr, "%zu large file(s) read below %.0f%% left out (loaded on demand)\n",
                   sparse, min_coverage);
    }
    return 0;
  }
  if (umount->parsed()) {
    Status s = client.Send("DELETE",
                           "v1/mount?mountpoint=" + nydus::nydusctl::QueryEscape(umount_point), "");
    return s.ok() ? 0 : Fail(s);
  }
  return 0;
}
