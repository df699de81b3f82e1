// RegistryClient and RegistryBackend against an in-process fake registry (http_test_server.h).
#include "registry/registry_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "http/http_test_server.h"
#include "registry/registry_backend.h"

namespace nydus::registry {
namespace {

using http::testing::TestHttpServer;
using http::testing::TestRequest;
using http::testing::TestResponse;

const std::string kId(64, 'a');
const std::string kMissing(64, 'b');

std::string BlobData() {
  std::string s;
  for (int i = 0; i < 100000; ++i) s += static_cast<char>('A' + (i * 7) % 26);
  return s;
}

// Serves GET/HEAD with Range on any path ending in the blob digest.
TestResponse ServeBlob(const TestRequest& req, const std::string& data) {
  TestResponse r;
  std::string range = req.Header("range");
  if (range.empty()) {
    r.body = data;
    return r;
  }
  uint64_t a = 0, b = 0;
  if (std::sscanf(range.c_str(), "bytes=%lu-%lu", &a, &b) != 2 || b >= data.size() || a > b) {
    r.status = 416;
    return r;
  }
  r.status = 206;
  r.body = data.substr(a, b - a + 1);
  r.headers.push_back({"Content-Range", "bytes " + std::to_string(a) + "-" + std::to_string(b) +
                                            "/" + std::to_string(data.size())});
  return r;
}

TestResponse Reply(int code, std::string body = "") {
  TestResponse r;
  r.status = code;
  r.body = std::move(body);
  return r;
}

// A registry with one blob in repo "python", in one of a few auth modes.
class FakeRegistry {
 public:
  enum class Auth { kNone, kBasic, kBearer };
  explicit FakeRegistry(Auth auth)
      : auth_(auth), server_([this](const TestRequest& r) { return Handle(r); }) {}

  std::string host() const { return server_.host(); }
  TestHttpServer& server() { return server_; }
  std::string data = BlobData();
  std::string redirect_to;        // when set, blob GETs answer 307 to redirect_to + digest
  std::atomic<int> fail_next{0};  // answer 503 this many times
  std::atomic<int> tokens_issued{0};
  uint64_t expires_in = 0;  // 0: omit (client default 60 s)
  void RevokeTokens() {
    std::lock_guard<std::mutex> lock(mu_);
    valid_tokens_.clear();
  }

 private:
  bool Authorized(const TestRequest& req) {
    std::string a = req.Header("authorization");
    switch (auth_) {
      case Auth::kNone:
        return true;
      case Auth::kBasic:
        return a == "Basic " + Base64Encode("user:secret");
      case Auth::kBearer: {
        std::lock_guard<std::mutex> lock(mu_);
        return a.starts_with("Bearer ") && valid_tokens_.count(a.substr(7)) != 0;
      }
    }
    return false;
  }

  TestResponse Handle(const TestRequest& req) {
    if (req.Path() == "/token") {
      if (req.Header("authorization") != "Basic " + Base64Encode("user:secret")) {
        return Reply(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"bad creds"}]})");
      }
      if (req.target.find("scope=repository%3Apython%3Apull") == std::string::npos) {
        return Reply(400, "bad scope");
      }
      std::string tok = "tok" + std::to_string(++tokens_issued);
      {
        std::lock_guard<std::mutex> lock(mu_);
        valid_tokens_.insert(tok);
      }
      std::string body = R"({"token": ")" + tok + "\"";
      if (expires_in) body += R"(, "expires_in": )" + std::to_string(expires_in);
      return Reply(200, body + "}");
    }
    if (fail_next > 0) {
      --fail_next;
      return Reply(503, "busy");
    }
    if (!Authorized(req)) {
      TestResponse r = Reply(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"auth"}]})");
      if (auth_ == Auth::kBasic) r.headers.push_back({"WWW-Authenticate", R"(Basic realm="t")"});
      if (auth_ == Auth::kBearer) {
        r.headers.push_back({"WWW-Authenticate", "Bearer realm=\"http://" + host() +
                                                     "/token\",service=\"fake\","
                                                     "scope=\"repository:python:pull\""});
      }
      return r;
    }
    std::string prefix = "/v2/python/blobs/sha256:";
    if (!req.Path().starts_with(prefix)) return Reply(404);
    std::string id = req.Path().substr(prefix.size());
    if (id != kId) return Reply(404, R"({"errors":[{"code":"BLOB_UNKNOWN"}]})");
    if (req.method == "GET" && !redirect_to.empty()) {
      TestResponse r = Reply(307);
      r.headers.push_back({"Location", redirect_to + id + "?X-Signature=s3cr3t"});
      return r;
    }
    if (req.method == "HEAD") {
      TestResponse r;
      r.head_length = static_cast<long long>(data.size());
      return r;
    }
    return ServeBlob(req, data);
  }

  Auth auth_;
  std::mutex mu_;
  std::set<std::string> valid_tokens_;
  TestHttpServer server_;  // last: stopped before the members it uses are destroyed
};

RegistryConfig Config(const std::string& host, const std::string& user_pass = "") {
  RegistryConfig c;
  c.scheme = "http";
  c.host = host;
  c.repo = "python";
  if (!user_pass.empty()) c.auth = Base64Encode(user_pass);
  return c;
}

std::unique_ptr<RegistryClient> Client(RegistryConfig c, RegistryClientOptions o = {}) {
  o.backoff_base = std::chrono::milliseconds(10);
  auto r = RegistryClient::Create(std::move(c), std::move(o));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

void ExpectRead(RegistryClient& c, const FakeRegistry& reg, uint64_t off, size_t len) {
  std::vector<uint8_t> buf(len);
  Status st = c.ReadBlob(kId, off, buf);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(std::string(buf.begin(), buf.end()), reg.data.substr(off, len));
}

TEST(RegistryClientTest, AnonymousHeadAndRangeRead) {
  FakeRegistry reg(FakeRegistry::Auth::kNone);
  auto c = Client(Config(reg.host()));
  Result<uint64_t> size = c->HeadBlob(kId);
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(*size, reg.data.size());
  ExpectRead(*c, reg, 0, 1);
  ExpectRead(*c, reg, 12345, 4096);
  ExpectRead(*c, reg, reg.data.size() - 10, 10);
  auto reqs = reg.server().requests();
  EXPECT_EQ(reqs.back().Header("range"), "bytes=99990-99999");
  EXPECT_EQ(reqs.back().Path(), "/v2/python/blobs/sha256:" + kId);
  EXPECT_EQ(reg.server().connections(), 1);  // keep-alive
  RegistryStats s = c->stats();
  EXPECT_EQ(s.reads, 3u);
  EXPECT_EQ(s.bytes, 1u + 4096 + 10);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_EQ(s.requests, 4u);
}

TEST(RegistryClientTest, MissingBlobIsNotFound) {
  FakeRegistry reg(FakeRegistry::Auth::kNone);
  auto c = Client(Config(reg.host()));
  Result<uint64_t> size = c->HeadBlob(kMissing);
  EXPECT_EQ(size.status().code(), StatusCode::kNotFound) << size.status().ToString();
  std::vector<uint8_t> buf(4);
  Status st = c->ReadBlob(kMissing, 0, buf);
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("BLOB_UNKNOWN"), std::string::npos) << st.ToString();
  EXPECT_EQ(c->stats().errors, 2u);
}

TEST(RegistryClientTest, AnonymousAgainstProtectedRegistrySaysWhatToDo) {
  FakeRegistry reg(FakeRegistry::Auth::kBasic);
  auto c = Client(Config(reg.host()));
  Status st = c->CheckAccess(kId);
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(st.message().find("requires credentials"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("IMAGE_PULL_AUTH"), std::string::npos);
}

TEST(RegistryClientTest, BasicAuth) {
  FakeRegistry reg(FakeRegistry::Auth::kBasic);
  auto c = Client(Config(reg.host(), "user:secret"));
  ASSERT_TRUE(c->CheckAccess(kId).ok());
  ExpectRead(*c, reg, 100, 100);
  ExpectRead(*c, reg, 200, 100);
  // After the first challenge the header is cached: one 401 in total.
  int unauthorized = 0;
  for (const TestRequest& r : reg.server().requests()) unauthorized += !r.Has("authorization");
  EXPECT_EQ(unauthorized, 1);
}

TEST(RegistryClientTest, WrongPasswordIsAClearError) {
  FakeRegistry reg(FakeRegistry::Auth::kBasic);
  auto c = Client(Config(reg.host(), "user:wrong"));
  Status st = c->CheckAccess(kId);
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  const std::string& m = st.message();
  EXPECT_NE(m.find("registry " + reg.host() + " (repo python) rejected the credentials"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("401"), std::string::npos) << m;
  EXPECT_EQ(m.find(Base64Encode("user:wrong")), std::string::npos) << m;
  EXPECT_EQ(m.find("wrong"), std::string::npos) << m;
}

TEST(RegistryClientTest, BearerTokenFlowCachesTheToken) {
  FakeRegistry reg(FakeRegistry::Auth::kBearer);
  auto c = Client(Config(reg.host(), "user:secret"));
  ExpectRead(*c, reg, 0, 10);
  ExpectRead(*c, reg, 10, 10);
  ExpectRead(*c, reg, 20, 10);
  EXPECT_EQ(reg.tokens_issued.load(), 1);
  auto reqs = reg.server().requests();
  // 401, token, retry, then two direct reads.
  ASSERT_EQ(reqs.size(), 5u);
  EXPECT_EQ(reqs[1].Path(), "/token");
  EXPECT_NE(reqs[1].target.find("service=fake"), std::string::npos);
  EXPECT_NE(reqs[1].target.find("client_id=nydus-registry-client"), std::string::npos);
  EXPECT_EQ(reqs[4].Header("authorization"), "Bearer tok1");
}

TEST(RegistryClientTest, BearerWrongPasswordAtTokenServer) {
  FakeRegistry reg(FakeRegistry::Auth::kBearer);
  auto c = Client(Config(reg.host(), "user:nope"));
  Status st = c->CheckAccess(kId);
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << st.ToString();
  EXPECT_NE(st.message().find("rejected the credentials"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("bad creds"), std::string::npos) << st.ToString();
}

TEST(RegistryClientTest, TokenIsRefreshedOnExpiryAndOn401) {
  FakeRegistry reg(FakeRegistry::Auth::kBearer);
  reg.expires_in = 300;
  std::atomic<int64_t> skew_sec{0};
  RegistryClientOptions o;
  o.now = [&] { return std::chrono::steady_clock::now() + std::chrono::seconds(skew_sec.load()); };
  auto c = Client(Config(reg.host(), "user:secret"), o);
  ExpectRead(*c, reg, 0, 10);
  EXPECT_EQ(reg.tokens_issued.load(), 1);
  skew_sec = 100;
  ExpectRead(*c, reg, 0, 10);
  EXPECT_EQ(reg.tokens_issued.load(), 1);  // still fresh
  skew_sec = 295;                          // within the safety margin before expiry
  reg.server().ClearRequests();
  ExpectRead(*c, reg, 0, 10);
  EXPECT_EQ(reg.tokens_issued.load(), 2);  // fetched proactively: no 401 seen
  auto reqs = reg.server().requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].Path(), "/token");
  EXPECT_EQ(reqs[1].Header("authorization"), "Bearer tok2");
  // The registry forgets the token: the 401 triggers a new one.
  reg.RevokeTokens();
  ExpectRead(*c, reg, 0, 10);
  EXPECT_EQ(reg.tokens_issued.load(), 3);
}

TEST(RegistryClientTest, PresetRegistryToken) {
  FakeRegistry reg(FakeRegistry::Auth::kBearer);
  RegistryConfig cfg = Config(reg.host());
  cfg.registry_token = "preset";
  auto c = Client(cfg);
  std::vector<uint8_t> buf(1);
  Status st = c->ReadBlob(kId, 0, buf);
  // The preset token is sent first; without creds the token server refuses.
  EXPECT_EQ(reg.server().requests().at(0).Header("authorization"), "Bearer preset");
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << st.ToString();
}

TEST(RegistryClientTest, RedirectToStorageWithoutCredentials) {
  std::string data = BlobData();
  TestHttpServer storage([&data](const TestRequest& req) {
    if (req.target.find("X-Signature=s3cr3t") == std::string::npos) return Reply(403);
    return ServeBlob(req, data);
  });
  FakeRegistry reg(FakeRegistry::Auth::kBasic);
  reg.redirect_to = storage.url("/store/");
  auto c = Client(Config(reg.host(), "user:secret"));
  ExpectRead(*c, reg, 5, 50);
  ExpectRead(*c, reg, 500, 50);
  auto sreqs = storage.requests();
  ASSERT_EQ(sreqs.size(), 2u);
  for (const TestRequest& r : sreqs) {
    EXPECT_FALSE(r.Has("authorization")) << r.Header("authorization");
    EXPECT_EQ(r.Path(), "/store/" + kId);
  }
  EXPECT_EQ(sreqs[1].Header("range"), "bytes=500-549");
  // The second read went straight to the cached redirect: the registry saw 401 + one GET.
  EXPECT_EQ(reg.server().requests().size(), 2u);
}

TEST(RegistryClientTest, ExpiredRedirectGoesBackThroughTheRegistry) {
  std::string data = BlobData();
  std::atomic<bool> expired{false};
  TestHttpServer storage([&](const TestRequest& req) {
    return expired ? Reply(403, "expired") : ServeBlob(req, data);
  });
  FakeRegistry reg(FakeRegistry::Auth::kNone);
  reg.redirect_to = storage.url("/s/");
  auto c = Client(Config(reg.host()));
  ExpectRead(*c, reg, 0, 10);
  expired = true;
  std::vector<uint8_t> buf(10);
  Status st = c->ReadBlob(kId, 0, buf);
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << st.ToString();
  EXPECT_EQ(reg.server().requests().size(), 2u);  // retried through the registry once
  EXPECT_EQ(st.message().find("s3cr3t"), std::string::npos) << st.ToString();
  expired = false;
  ExpectRead(*c, reg, 0, 10);
}

TEST(RegistryClientTest, BlobRedirectedHostAndScheme) {
  std::string data = BlobData();
  TestHttpServer storage([&data](const TestRequest& req) { return ServeBlob(req, data); });
  FakeRegistry reg(FakeRegistry::Auth::kNone);
  // The registry redirects to an unresolvable host on the storage port; we rewrite the host.
  reg.redirect_to = "https://storage.invalid:" + std::to_string(storage.port()) + "/s/";
  RegistryConfig cfg = Config(reg.host());
  cfg.blob_redirected_host = "127.0.0.1";
  cfg.blob_url_scheme = "http";
  auto c = Client(cfg);
  ExpectRead(*c, reg, 7, 7);
  EXPECT_EQ(storage.requests().size(), 1u);
}

TEST(RegistryClientTest, RetriesServerErrors) {
  FakeRegistry reg(FakeRegistry::Auth::kNone);
  reg.fail_next = 2;
  RegistryConfig cfg = Config(reg.host());
  cfg.retry_limit = 2;
  auto c = Client(cfg);
  ExpectRead(*c, reg, 0, 100);
  EXPECT_EQ(reg.server().requests().size(), 3u);

  reg.fail_next = 3;
  std::vector<uint8_t> buf(10);
  Status st = c->ReadBlob(kId, 0, buf);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find("503"), std::string::npos);
}

// Client options that record the retry delays instead of sleeping.
RegistryClientOptions RecordingSleep(std::vector<std::chrono::milliseconds>* delays) {
  RegistryClientOptions o;
  o.sleep = [delays](std::chrono::milliseconds d) { delays->push_back(d); };
  return o;
}

// A server that answers the first `failures` blob GETs with `status` (+ Retry-After when
// `retry_after` is set), then serves the blob.
struct Throttling {
  Throttling(int status, int failures, std::string retry_after)
      : server([this, status, retry_after](const TestRequest& req) {
          if (req.method == "GET" && left > 0) {
            --left;
            TestResponse r = Reply(status, R"({"errors":[{"code":"TOOMANYREQUESTS"}]})");
            if (!retry_after.empty()) r.headers.push_back({"Retry-After", retry_after});
            return r;
          }
          return ServeBlob(req, data);
        }) {
    left = failures;
  }
  // A client of this server with `retry_limit` retries whose waits go to `delays`.
  std::unique_ptr<RegistryClient> NewClient(uint32_t retry_limit,
                                            std::vector<std::chrono::milliseconds>* delays) {
    RegistryConfig cfg = Config(server.host());
    cfg.retry_limit = retry_limit;
    return Client(cfg, RecordingSleep(delays));
  }
  std::string data = BlobData();
  std::atomic<int> left{0};
  TestHttpServer server;  // last: stopped before the members it uses are destroyed
};

// The waits of one 10-byte ReadBlob (retry_limit 1) from a registry that answers `status`
// with Retry-After `retry_after` once and then serves the blob; the read must succeed.
std::vector<std::chrono::milliseconds> WaitsOfOneRetry(int status, const char* retry_after) {
  std::vector<std::chrono::milliseconds> delays;
  Throttling reg(status, 1, retry_after);
  auto c = reg.NewClient(1, &delays);
  std::vector<uint8_t> buf(10);
  Status st = c->ReadBlob(kId, 0, buf);
  EXPECT_TRUE(st.ok()) << retry_after << ": " << st.ToString();
  return delays;
}

TEST(RegistryClientTest, TooManyRequestsIsRetriedAfterRetryAfter) {
  using std::chrono::milliseconds;
  std::vector<milliseconds> delays;
  Throttling reg(429, 2, "2");
  auto c = reg.NewClient(2, &delays);
  std::vector<uint8_t> buf(100);
  Status st = c->ReadBlob(kId, 5, buf);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(std::string(buf.begin(), buf.end()), reg.data.substr(5, 100));
  // Retry-After 2 s beats the 10 ms / 20 ms backoff of the test client.
  EXPECT_EQ(delays, (std::vector<milliseconds>{milliseconds(2000), milliseconds(2000)}));

  // Without Retry-After: the plain backoff. Once the retries are used up: Unavailable.
  delays.clear();
  Throttling bare(429, 100, "");
  auto c2 = bare.NewClient(2, &delays);
  st = c2->ReadBlob(kId, 0, buf);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find("rate limited"), std::string::npos) << st.ToString();
  EXPECT_EQ(delays, (std::vector<milliseconds>{milliseconds(10), milliseconds(20)}));
  EXPECT_EQ(bare.left, 97);  // 3 attempts
}

TEST(RegistryClientTest, RetryAfterIsCappedAndAlsoHonouredFor503) {
  using std::chrono::milliseconds;
  EXPECT_EQ(WaitsOfOneRetry(429, "3600"), (std::vector<milliseconds>{milliseconds(8000)}));
  EXPECT_EQ(WaitsOfOneRetry(503, "1"), (std::vector<milliseconds>{milliseconds(1000)}));

  // 4xx other than 429 are not retried, Retry-After or not.
  std::vector<milliseconds> delays;
  Throttling denied(403, 1, "1");
  auto c3 = denied.NewClient(3, &delays);
  std::vector<uint8_t> buf(10);
  EXPECT_EQ(c3->ReadBlob(kId, 0, buf).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(delays.empty());
}

// A Retry-After the client cannot use (an HTTP-date, negative, fractional, over 2^64 seconds,
// hex) leaves the plain backoff; it neither crashes nor waits longer than the cap.
TEST(RegistryClientTest, UnusableRetryAfterFallsBackToTheBackoff) {
  using std::chrono::milliseconds;
  for (const char* after :
       {"Wed, 21 Oct 2015 07:28:00 GMT", "-5", "1.5", "99999999999999999999", "0x10"}) {
    EXPECT_EQ(WaitsOfOneRetry(429, after), (std::vector<milliseconds>{milliseconds(10)}))
        << after;
  }
  // The largest value the parser takes is capped like the others.
  EXPECT_EQ(WaitsOfOneRetry(429, "9999999999999999999"),
            (std::vector<milliseconds>{milliseconds(8000)}));
}

TEST(RegistryClientTest, DeadServerFailsWithinTheTimeout) {
  TestHttpServer hang([](const TestRequest&) {
    TestResponse r;
    r.hang = true;
    return r;
  });
  RegistryConfig cfg = Config(hang.host());
  cfg.timeout = 1;
  cfg.retry_limit = 1;
  auto c = Client(cfg);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<uint8_t> buf(10);
  Status st = c->ReadBlob(kId, 0, buf);
  double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(st.code(), StatusCode::kIOError) << st.ToString();
  EXPECT_NE(st.message().find("timed out"), std::string::npos) << st.ToString();
  EXPECT_GE(sec, 1.9);  // two attempts of 1 s
  EXPECT_LT(sec, 4.0);
  EXPECT_EQ(hang.requests().size(), 2u);
}

TEST(RegistryClientTest, RefusedConnectionNamesTheRegistry) {
  std::string host;
  {
    TestHttpServer gone([](const TestRequest&) { return Reply(200); });
    host = gone.host();
  }
  auto c = Client(Config(host));
  Status st = c->CheckAccess(kId);
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_NE(st.message().find("registry " + host), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("registry is up"), std::string::npos) << st.ToString();
}

TEST(RegistryClientTest, ShortBodyIsIOError) {
  TestHttpServer liar([](const TestRequest& req) {
    TestResponse r = Reply(206, "abc");
    if (req.method == "HEAD") r.head_length = 1000;
    return r;
  });
  auto c = Client(Config(liar.host()));
  std::vector<uint8_t> buf(10);
  Status st = c->ReadBlob(kId, 0, buf);
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_NE(st.message().find("short body, 3 of 10"), std::string::npos) << st.ToString();
  std::vector<uint8_t> small(2);
  st = c->ReadBlob(kId, 0, small);
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_NE(st.message().find("more than"), std::string::npos) << st.ToString();
}

TEST(RegistryClientTest, MirrorIsTriedFirstAndFallsBackToOrigin) {
  FakeRegistry origin(FakeRegistry::Auth::kNone);
  std::atomic<bool> mirror_down{false};
  std::string data = BlobData();
  TestHttpServer mirror([&](const TestRequest& req) {
    if (mirror_down) return Reply(502);
    return ServeBlob(req, data);
  });
  RegistryConfig cfg = Config(origin.host());
  MirrorConfig m;
  m.host = mirror.url("");
  m.headers["X-Dragonfly-Registry"] = "o";
  cfg.mirrors.push_back(m);
  auto c = Client(cfg);
  ExpectRead(*c, origin, 0, 10);
  EXPECT_EQ(origin.server().requests().size(), 0u);
  EXPECT_EQ(mirror.requests().at(0).Header("x-dragonfly-registry"), "o");
  mirror_down = true;
  ExpectRead(*c, origin, 0, 10);
  EXPECT_EQ(origin.server().requests().size(), 1u);
  EXPECT_FALSE(origin.server().requests().at(0).Has("x-dragonfly-registry"));
}

TEST(RegistryClientTest, ManifestFetch) {
  TestHttpServer reg([](const TestRequest& req) {
    if (req.Path() != "/v2/python/manifests/latest") return Reply(404);
    TestResponse r = Reply(200, "{\"schemaVersion\":2}");
    r.headers.push_back({"Content-Type", "application/vnd.oci.image.manifest.v1+json"});
    r.headers.push_back({"Docker-Content-Digest", "sha256:1234"});
    r.headers.push_back({"X-Accept", req.Header("accept")});
    return r;
  });
  auto c = Client(Config(reg.host()));
  Result<Manifest> m = c->GetManifest("latest");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(m->digest, "sha256:1234");
  EXPECT_EQ(m->body, "{\"schemaVersion\":2}");
  EXPECT_NE(reg.requests().at(0).Header("accept").find("application/vnd.oci.image.index.v1+json"),
            std::string::npos);
  EXPECT_EQ(c->GetManifest("nope").status().code(), StatusCode::kNotFound);
}

TEST(RegistryBackendTest, OpenSizeAndReadAt) {
  FakeRegistry reg(FakeRegistry::Auth::kBearer);
  auto backend = RegistryBackend::Create(Config(reg.host(), "user:secret"));
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  EXPECT_EQ((*backend)->type(), "registry");
  auto reader = (*backend)->Open(kId);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ(*(*reader)->Size(), reg.data.size());
  std::vector<uint8_t> buf(333);
  ASSERT_TRUE((*reader)->ReadAt(1000, buf).ok());
  EXPECT_EQ(std::string(buf.begin(), buf.end()), reg.data.substr(1000, 333));
  Status st = (*reader)->ReadAt(reg.data.size() - 10, buf);
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_NE(st.message().find("past its end"), std::string::npos);

  EXPECT_EQ((*backend)->Open(kMissing).status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*backend)->Open("../etc").status().code(), StatusCode::kInvalidArgument);
  RegistryStats s = (*backend)->metrics();
  EXPECT_EQ(s.bytes, 333u);
  EXPECT_EQ(s.errors, 1u);
  EXPECT_GT(s.requests, 3u);
  EXPECT_GT(s.latency_us, 0u);
}

// Whatever the registry answers to a blob GET after the mount (401 for credentials that stopped
// working, 403, 404, 416), ReadAt fails with the client's code and the registry's answer in the
// message. (The FUSE read of the file sees EIO: fs::RafsFs::Read turns any data-source failure
// into IOError, for every backend; fs_read_test.cc DataSourceFailuresAreIOErrors.)
TEST(RegistryBackendTest, ReadAtFailuresKeepTheRegistryAnswer) {
  std::atomic<int> get_status{200};
  std::string data = BlobData();
  TestHttpServer reg([&](const TestRequest& req) {
    if (req.method == "HEAD") {
      TestResponse r;
      r.head_length = static_cast<long long>(data.size());
      return r;
    }
    if (get_status == 200) return ServeBlob(req, data);
    TestResponse r = Reply(get_status, R"({"errors":[{"code":"X","message":"nope"}]})");
    if (get_status == 401) r.headers.push_back({"WWW-Authenticate", R"(Basic realm="t")"});
    return r;
  });
  auto backend = RegistryBackend::Create(Config(reg.host(), "user:secret"));
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  auto reader = (*backend)->Open(kId);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  std::vector<uint8_t> buf(100);
  ASSERT_TRUE((*reader)->ReadAt(0, buf).ok());
  struct Case {
    int http;
    StatusCode code;
    std::string words;
  };
  for (const Case& c :
       std::vector<Case>{{401, StatusCode::kPermissionDenied, "rejected the credentials"},
                         {403, StatusCode::kPermissionDenied, "denied access"},
                         {404, StatusCode::kNotFound, "not found"},
                         {416, StatusCode::kOutOfRange, "range not satisfiable"}}) {
    get_status = c.http;
    Status st = (*reader)->ReadAt(0, buf);
    EXPECT_EQ(st.code(), c.code) << c.http << ": " << st.ToString();
    EXPECT_NE(st.message().find(c.words), std::string::npos) << st.ToString();
  }
  get_status = 500;
  EXPECT_EQ((*reader)->ReadAt(0, buf).code(), StatusCode::kUnavailable);
  get_status = 200;
  EXPECT_TRUE((*reader)->ReadAt(0, buf).ok());
}

TEST(RegistryBackendTest, FromRawJsonWithImagePullAuth) {
  FakeRegistry reg(FakeRegistry::Auth::kBasic);
  Json raw = {{"scheme", "http"},
              {"host", reg.host()},
              {"repo", "python"},
              {"auth", Base64Encode("user:wrong")}};
  ::setenv("IMAGE_PULL_AUTH", Base64Encode("user:secret").c_str(), 1);
  auto backend = NewRegistryBackend(raw, "backend.registry");
  ::unsetenv("IMAGE_PULL_AUTH");
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  EXPECT_EQ((*backend)->type(), "registry");
  auto reader = (*backend)->Open(kId);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();

  raw["timeout"] = -1;
  EXPECT_EQ(NewRegistryBackend(raw, "backend.registry").status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nydus::registry
