#include "daemon/api_router.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "http/http_client.h"
#include "http/unix_server.h"
#include "testing/test_util.h"

namespace nydus::daemon {
namespace {

using http::HttpRequest;
using http::HttpResponse;

class FakeBackend : public ApiBackend {
 public:
  Result<DaemonInfo> GetDaemonInfo(bool include_fs_info) override {
    DaemonInfo info;
    info.version = {"2.2.5", "abcdef", "2024-01-01", "release", "g++"};
    info.id = "d1";
    info.state = DaemonState::kRunning;
    if (include_fs_info) {
      FsBackendDescriptor d;
      d.mountpoint = "/";
      d.mounted_time = "2024-01-01 00:00:00.5 +00:00:00";
      d.config = Json{{"version", 2}};
      info.backend_collection.emplace();
      (*info.backend_collection)["/"] = d;
    }
    return info;
  }
  Status SetLogLevel(const std::string& level) override {
    log_level = level;
    return Status::OK();
  }
  Result<FsMetrics> GetFsMetrics(const std::optional<std::string>& id) override {
    if (!fs_status.ok()) return fs_status;
    if (id && *id != "/") return Status::NotFound("no counter for " + *id);
    FsMetrics m;
    m.id = "/";
    m.data_read = 4096;
    m.fop_hits[static_cast<int>(StatsFop::kRead)] = 3;
    m.fop_cumulative_latency_total[static_cast<int>(StatsFop::kRead)] = 1500;
    m.read_latency_dist = {1, 2, 0, 0, 0, 0, 0, 0};
    return m;
  }
  Result<BackendMetrics> GetBackendMetrics(const std::optional<std::string>&) override {
    BackendMetrics m;
    m.id = "/";
    m.backend_type = "localfs";
    m.read_count = 7;
    m.read_amount_total = 1 << 20;
    m.read_latency_sizes_dist[7][1] = 7;
    return m;
  }
  Result<BlobcacheMetrics> GetBlobcacheMetrics(const std::optional<std::string>&) override {
    BlobcacheMetrics m;
    m.id = "/";
    m.store_path = "/cache";
    m.underlying_files = {"/cache/abc"};
    m.whole_hits = 5;
    return m;
  }
  Status Exit() override {
    exits++;
    return Status::OK();
  }
  Result<std::vector<InflightOp>> GetInflightOps() override { return inflight; }
  Result<std::map<uint64_t, InodeMetrics>> GetFilesMetrics(
      const std::optional<std::string>&) override {
    InodeMetrics m;
    m.total_fops = 2;
    return std::map<uint64_t, InodeMetrics>{{42, m}};
  }
  Result<std::vector<std::vector<uint64_t>>> GetLatestReadFiles(
      const std::optional<std::string>&) override {
    return std::vector<std::vector<uint64_t>>{{1, 2}, {5}};
  }
  Result<std::vector<AccessPattern>> GetAccessPatterns(const std::optional<std::string>&) override {
    return patterns;
  }
  Status Mount(const std::string& mp, const MountCmd& cmd) override {
    mounts.push_back("mount " + mp + " " + cmd.source + " " + cmd.fs_type);
    return mount_status;
  }
  Status Remount(const std::string& mp, const MountCmd& cmd) override {
    mounts.push_back("remount " + mp + " " + cmd.source);
    return Status::OK();
  }
  Status Umount(const std::string& mp) override {
    mounts.push_back("umount " + mp);
    return Status::OK();
  }

  std::string log_level;
  int exits = 0;
  Status fs_status;
  Status mount_status;
  std::vector<InflightOp> inflight;
  std::vector<AccessPattern> patterns;
  std::vector<std::string> mounts;
};

class ApiRouterTest : public ::testing::Test {
 protected:
  HttpResponse Do(const std::string& method, const std::string& target, std::string body = "") {
    std::string wire = method + " " + target +
                       " HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                       body;
    HttpRequest req;
    auto o = http::ParseHttpRequest(wire, {}, &req);
    EXPECT_EQ(o.kind, http::ParseOutcome::kComplete);
    return router_.Handle(req);
  }
  static Json Body(const HttpResponse& r) { return Json::parse(r.body); }
  static std::vector<std::string> Keys(const Json& j) {
    std::vector<std::string> k;
    for (auto it = j.begin(); it != j.end(); ++it) k.push_back(it.key());
    return k;
  }

  FakeBackend backend_;
  ApiRouter router_{&backend_};
};

TEST_F(ApiRouterTest, DaemonInfoV1AndV2) {
  auto r = Do("GET", "/api/v1/daemon");
  ASSERT_EQ(r.status, 200);
  Json j = Body(r);
  EXPECT_EQ(Keys(j), (std::vector<std::string>{"version", "id", "supervisor", "state",
                                               "backend_collection"}));
  EXPECT_EQ(Keys(j["version"]), (std::vector<std::string>{"package_ver", "git_commit", "build_time",
                                                          "profile", "rustc"}));
  EXPECT_EQ(j["state"], "RUNNING");
  EXPECT_TRUE(j["supervisor"].is_null());
  EXPECT_EQ(j["backend_collection"]["/"]["backend_type"], "Rafs");
  EXPECT_EQ(Keys(j["backend_collection"]["/"]),
            (std::vector<std::string>{"backend_type", "mountpoint", "mounted_time", "config"}));
  auto v2 = Body(Do("GET", "/api/v2/daemon"));
  EXPECT_TRUE(v2["backend_collection"].is_null());
}

TEST_F(ApiRouterTest, SetLogLevel) {
  EXPECT_EQ(Do("PUT", "/api/v1/daemon", R"({"log_level":"Debug"})").status, 204);
  EXPECT_EQ(backend_.log_level, "debug");
  for (const char* bad :
       {"", "{", "[]", R"({"log_level":3})", R"({"log_level":"loud"})", R"({"level":"info"})"}) {
    auto r = Do("PUT", "/api/v1/daemon", bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(Body(r)["code"], "UNDEFINED");
  }
  EXPECT_EQ(Do("GET", "/api/v1/daemon", "{}").status, 400);  // GET with a body
}

TEST_F(ApiRouterTest, MetricsShapes) {
  Json fs = Body(Do("GET", "/api/v1/metrics?id=/"));
  EXPECT_EQ(Keys(fs), (std::vector<std::string>{
                          "files_account_enabled", "access_pattern_enabled",
                          "record_latest_read_files_enabled", "measure_latency", "id", "nr_opens",
                          "data_read", "block_count_read", "fop_hits", "fop_errors",
                          "fop_cumulative_latency_total", "read_latency_dist"}));
  EXPECT_EQ(fs["fop_hits"].size(), 15u);
  EXPECT_EQ(fs["fop_hits"][4], 3);
  EXPECT_EQ(fs["block_count_read"].size(), 8u);

  auto nf = Do("GET", "/api/v1/metrics?id=/nope");
  EXPECT_EQ(nf.status, 404);
  EXPECT_NE(Body(nf)["message"].get<std::string>().find("GlobalMetrics("), std::string::npos);

  Json be = Body(Do("GET", "/api/v1/metrics/backend?id=/"));
  EXPECT_EQ(Keys(be),
            (std::vector<std::string>{"backend_type", "read_count", "read_errors",
                                      "read_amount_total", "read_cumulative_latency_millis_total",
                                      "read_cumulative_latency_millis_dist",
                                      "read_count_block_size_dist", "read_latency_sizes_dist"}));
  EXPECT_EQ(be["read_latency_sizes_dist"][7][1], 7);

  Json bc = Body(Do("GET", "/api/v1/metrics/blobcache"));
  EXPECT_EQ(bc["underlying_files"][0], "/cache/abc");
  EXPECT_EQ(bc["whole_hits"], 5);
  EXPECT_FALSE(bc.contains("id"));
  EXPECT_EQ(bc.size(), 17u);

  Json files = Body(Do("GET", "/api/v1/metrics/files"));
  EXPECT_EQ(files["42"]["total_fops"], 2);
  Json latest = Body(Do("GET", "/api/v1/metrics/files?latest=true"));
  EXPECT_EQ(latest, Json::parse("[[1,2],[5]]"));
  EXPECT_EQ(Body(Do("GET", "/api/v1/metrics/pattern")), Json::array());
}

TEST_F(ApiRouterTest, AccessPatternRecords) {
  AccessPattern a;
  a.ino = 5;
  a.nr_read = 3;
  a.first_access_time_secs = 1700000000;
  a.first_access_time_nanos = 42;
  a.path = "/usr/lib/libc.so";
  a.size = 700 << 10;
  a.ranges = {{0, 192 << 10}, {640 << 10, 60 << 10}};
  a.bytes_touched = 252 << 10;
  AccessPattern b;
  b.ino = 9;
  b.path = "/etc/empty";
  backend_.patterns = {a, b};
  Json j = Body(Do("GET", "/api/v1/metrics/pattern"));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(Keys(j[0]), (std::vector<std::string>{"ino", "nr_read", "first_access_time_secs",
                                                  "first_access_time_nanos", "path", "size",
                                                  "bytes_touched", "ranges"}));
  EXPECT_EQ(j[0]["path"], "/usr/lib/libc.so");
  EXPECT_EQ(j[0]["size"], 700 << 10);
  EXPECT_EQ(j[0]["bytes_touched"], 252 << 10);
  EXPECT_EQ(j[0]["ranges"], Json::parse("[[0,196608],[655360,61440]]"));
  EXPECT_EQ(j[1]["ranges"], Json::array());  // nothing touched: an empty array, not null
}

TEST_F(ApiRouterTest, Inflight) {
  EXPECT_EQ(Do("GET", "/api/v1/metrics/inflight").status, 204);
  backend_.inflight.push_back({72057594037929010ull, 44, 22728, 1612245570});
  Json j = Body(Do("GET", "/api/v1/metrics/inflight"));
  EXPECT_EQ(
      j.dump(),
      R"([{"inode":72057594037929010,"opcode":44,"unique":22728,"timestamp_secs":1612245570}])");
}

TEST_F(ApiRouterTest, MountUmount) {
  std::string body =
      R"({"source":"/b/boot","fs_type":"rafs","config":"{}","prefetch_files":["/a"]})";
  EXPECT_EQ(Do("POST", "/api/v1/mount?mountpoint=/sub", body).status, 204);
  EXPECT_EQ(Do("PUT", "/api/v1/mount?mountpoint=/sub", body).status, 204);
  EXPECT_EQ(Do("DELETE", "/api/v1/mount?mountpoint=%2Fsub").status, 204);
  EXPECT_EQ(backend_.mounts, (std::vector<std::string>{"mount /sub /b/boot rafs",
                                                       "remount /sub /b/boot", "umount /sub"}));
  EXPECT_EQ(Do("POST", "/api/v1/mount", body).status, 400);  // no mountpoint
  EXPECT_EQ(Do("POST", "/api/v1/mount?mountpoint=/m", R"({"config":"{}"})").status, 400);
  EXPECT_EQ(Do("POST", "/api/v1/mount?mountpoint=/m", R"({"source":"x","config":{}})").status, 400);
  EXPECT_EQ(Do("POST", "/api/v1/mount?mountpoint=/m", R"({"source":"x","config":"",
            "prefetch_files":[1]})")
                .status,
            400);
  EXPECT_EQ(Do("DELETE", "/api/v1/mount?mountpoint=/m", "{}").status, 400);
  backend_.mount_status = Status::AlreadyExists("/m is mounted");
  auto r = Do("POST", "/api/v1/mount?mountpoint=/m", body);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Body(r)["message"], "Mount(AlreadyExists: /m is mounted)");
}

TEST_F(ApiRouterTest, RoutingErrors) {
  auto r = Do("GET", "/api/v1/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"code":"UNDEFINED","message":"NoRoute"})");
  EXPECT_EQ(Do("GET", "/api/v1/metricsX").status, 404);
  r = Do("DELETE", "/api/v1/daemon");
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "GET, PUT");
  EXPECT_EQ(Do("POST", "/api/v1/metrics").status, 405);
  EXPECT_EQ(Do("GET", "/api/v1/daemon/exit").status, 405);
  EXPECT_EQ(Do("PUT", "/api/v1/daemon/exit").status, 204);
  EXPECT_EQ(backend_.exits, 1);
  EXPECT_EQ(Do("PUT", "/api/v1/daemon/start").status, 400);        // UnexpectedEvent
  EXPECT_EQ(Do("PUT", "/api/v1/daemon/fuse/sendfd").status, 501);  // no hot upgrade
  EXPECT_EQ(Do("GET", "/api/v1/daemon/backend").status, 400);      // no mountpoint
  EXPECT_EQ(Do("GET", "/api/v1/daemon/backend?mountpoint=/").status, 404);
  EXPECT_EQ(Body(Do("GET", "/api/v1/daemon/events"))["max_errors"], 500);
  backend_.fs_status = Status::Unavailable("not ready");
  EXPECT_EQ(Do("GET", "/api/v1/metrics").status, 503);
}

// A checker of the Prometheus text exposition format 0.0.4 (the subset we emit).
void CheckExposition(const std::string& text) {
  std::map<std::string, std::string> types;  // family → type
  std::set<std::string> finished;            // families whose samples are over
  std::string current;
  std::map<std::string, double> last_bucket, inf_bucket, count;  // histogram checks, by id
  auto valid_name = [](const std::string& n) {
    if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
    for (char c : n) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') return false;
    }
    return true;
  };
  size_t pos = 0;
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.rfind("# HELP ", 0) == 0) {
      std::string name = line.substr(7, line.find(' ', 7) - 7);
      ASSERT_TRUE(valid_name(name)) << line;
      ASSERT_EQ(types.count(name), 0u) << "family declared twice: " << name;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      size_t sp = line.find(' ', 7);
      std::string name = line.substr(7, sp - 7), type = line.substr(sp + 1);
      ASSERT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      if (type == "counter") {
        EXPECT_TRUE(name.ends_with("_total")) << name;
      }
      types[name] = type;
      continue;
    }
    ASSERT_NE(line[0], '#') << line;
    size_t name_end = line.find_first_of("{ ");
    ASSERT_NE(name_end, std::string::npos) << line;
    std::string name = line.substr(0, name_end);
    ASSERT_TRUE(valid_name(name)) << line;
    std::string family = name, suffix;
    for (const char* s : {"_bucket", "_sum", "_count"}) {
      if (name.ends_with(s) && types.count(name.substr(0, name.size() - strlen(s))) &&
          types[name.substr(0, name.size() - strlen(s))] == "histogram") {
        family = name.substr(0, name.size() - strlen(s));
        suffix = s;
      }
    }
    ASSERT_EQ(types.count(family), 1u) << "sample before its # TYPE: " << line;
    if (family != current) {
      ASSERT_EQ(finished.count(family), 0u) << "family not contiguous: " << family;
      if (!current.empty()) finished.insert(current);
      current = family;
    }
    size_t i = name_end;
    std::map<std::string, std::string> labels;
    if (line[i] == '{') {
      ++i;
      while (line[i] != '}') {
        size_t eq = line.find('=', i);
        ASSERT_NE(eq, std::string::npos) << line;
        std::string lname = line.substr(i, eq - i);
        ASSERT_TRUE(valid_name(lname)) << line;
        ASSERT_EQ(line[eq + 1], '"') << line;
        std::string value;
        for (i = eq + 2; line[i] != '"'; ++i) {
          ASSERT_LT(i, line.size()) << line;
          if (line[i] == '\\') {
            ++i;
            ASSERT_TRUE(line[i] == '\\' || line[i] == '"' || line[i] == 'n') << line;
          }
          value.push_back(line[i]);
        }
        labels[lname] = value;
        ++i;
        if (line[i] == ',') ++i;
      }
      ++i;
    }
    ASSERT_EQ(line[i], ' ') << line;
    char* end = nullptr;
    std::string num = line.substr(i + 1);
    double v = std::strtod(num.c_str(), &end);
    ASSERT_TRUE(end && *end == '\0') << "bad value: " << line;
    if (suffix == "_bucket") {
      ASSERT_EQ(labels.count("le"), 1u) << line;
      std::string key = family + labels["id"];
      EXPECT_GE(v, last_bucket[key]) << "buckets must be cumulative: " << line;
      last_bucket[key] = v;
      if (labels["le"] == "+Inf") inf_bucket[key] = v;
    } else if (suffix == "_count") {
      count[family + labels["id"]] = v;
    }
  }
  for (const auto& [k, v] : count) EXPECT_EQ(inf_bucket[k], v) << k;
}

TEST_F(ApiRouterTest, PrometheusExposition) {
  auto r = Do("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  CheckExposition(r.body);
  EXPECT_NE(r.body.find("nydusd_fs_read_bytes_total{id=\"/\"} 4096\n"), std::string::npos);
  EXPECT_NE(r.body.find("nydusd_fs_fop_hits_total{id=\"/\",op=\"read\"} 3\n"), std::string::npos);
  EXPECT_NE(r.body.find("nydusd_fs_read_latency_seconds_bucket{id=\"/\",le=\"0.001\"} 3\n"),
            std::string::npos);
  EXPECT_NE(r.body.find("nydusd_fs_read_latency_seconds_sum{id=\"/\"} 0.0015"), std::string::npos);
  EXPECT_NE(r.body.find("nydusd_backend_read_requests_total{id=\"/\",backend_type=\"localfs\"} 7"),
            std::string::npos);
  EXPECT_NE(r.body.find("nydusd_info{version=\"2.2.5\""), std::string::npos);
  EXPECT_NE(r.body.find("nydusd_inflight_requests 0\n"), std::string::npos);

  MetricsSnapshot odd;  // hostile label values still give valid text
  FsMetrics m;
  m.id = std::string("/a\"b\\c\nd\xff", 9);
  odd.fs.push_back(m);
  odd.fs.push_back(FsMetrics{});
  CheckExposition(RenderPrometheus(odd));
  EXPECT_EQ(RenderPrometheus(MetricsSnapshot{}), "");
}

TEST(ApiTypesTest, BucketsMatchTheReference) {
  EXPECT_EQ(RequestSizeIndex(0), 0u);
  EXPECT_EQ(RequestSizeIndex(1023), 0u);
  EXPECT_EQ(RequestSizeIndex(1024), 1u);
  EXPECT_EQ(RequestSizeIndex(4095), 1u);
  EXPECT_EQ(RequestSizeIndex(4096), 2u);
  EXPECT_EQ(RequestSizeIndex(16 << 10), 3u);
  EXPECT_EQ(RequestSizeIndex(64 << 10), 4u);
  EXPECT_EQ(RequestSizeIndex(128 << 10), 5u);
  EXPECT_EQ(RequestSizeIndex(512 << 10), 6u);
  EXPECT_EQ(RequestSizeIndex(1 << 20), 7u);
  EXPECT_EQ(RequestSizeIndex(~0ull), 7u);
  EXPECT_EQ(LatencyMicrosIndex(200), 0u);
  EXPECT_EQ(LatencyMicrosIndex(201), 1u);
  EXPECT_EQ(LatencyMicrosIndex(3'000'000), 7u);
  EXPECT_EQ(LatencyMillisIndex(1), 0u);
  EXPECT_EQ(LatencyMillisIndex(100), 3u);
  EXPECT_EQ(LatencyMillisIndex(2001), 7u);
  using namespace std::chrono;
  EXPECT_EQ(FormatMountedTime(system_clock::time_point(seconds(1704067200) + milliseconds(500))),
            "2024-01-01 00:00:00.5 +00:00:00");
  EXPECT_EQ(FormatMountedTime(system_clock::time_point(seconds(0))),
            "1970-01-01 00:00:00.0 +00:00:00");
}

TEST(ApiTypesTest, MountCmdRoundTrip) {
  MountCmd c{"/boot", "rafs", R"({"version":2})", std::vector<std::string>{"/a", "/b"}};
  auto back = ParseMountCmd(DumpJson(ToJson(c)));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->source, "/boot");
  EXPECT_EQ(back->config, R"({"version":2})");
  EXPECT_EQ(back->prefetch_files->size(), 2u);
  auto minimal = ParseMountCmd(R"({"source":"s","config":"c","prefetch_files":null,"x":1})");
  ASSERT_TRUE(minimal.ok());
  EXPECT_EQ(minimal->fs_type, "");
  EXPECT_FALSE(minimal->prefetch_files.has_value());
  EXPECT_FALSE(ParseMountCmd(std::string(100000, '[')).ok());  // deep nesting, no crash
}

// The router behind the real server, driven by the real client, over a unix socket.
TEST(ApiEndToEndTest, ServerRouterClient) {
  testing::TempDir dir;
  FakeBackend backend;
  ApiRouter router(&backend);
  http::UnixServer server(dir.Join("api.sock"),
                          [&](const HttpRequest& r) { return router.Handle(r); });
  ASSERT_OK(server.Start());
  http::ClientOptions opts;
  opts.unix_socket = dir.Join("api.sock");
  http::HttpClient client(opts);
  http::Request get;
  get.url = "http://localhost/api/v1/daemon";
  auto r = client.Do(get);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Json::parse(r->body)["state"], "RUNNING");
  http::Request put;
  put.method = "PUT";
  put.url = "http://localhost/api/v1/daemon";
  put.body = R"({"log_level":"trace"})";
  r = client.Do(put);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(backend.log_level, "trace");
  http::Request mount;
  mount.method = "POST";
  mount.url = "http://localhost/api/v1/mount?mountpoint=/m";
  mount.body = R"({"source":"/boot","fs_type":"rafs","config":")" + std::string(4000, 'x') +
               R"("})";  // > 1 KiB: curl may send Expect: 100-continue
  r = client.Do(mount);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 204);
  server.Stop();
}

}  // namespace
}  // namespace nydus::daemon
