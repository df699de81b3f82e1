#include "http/http_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "http/http_test_server.h"

namespace nydus::http {
namespace {

using testing::TestHttpServer;
using testing::TestRequest;
using testing::TestResponse;

TestResponse Ok(std::string body) {
  TestResponse r;
  r.body = std::move(body);
  return r;
}

Request Req(std::string url, std::string method = "GET") {
  Request r;
  r.method = std::move(method);
  r.url = std::move(url);
  return r;
}

Request SinkReq(std::string url, std::function<Status(std::span<const uint8_t>)> sink,
                bool only_2xx = false) {
  Request r = Req(std::move(url));
  r.body_sink = std::move(sink);
  r.sink_2xx_only = only_2xx;
  return r;
}

TEST(HttpClientTest, GetReturnsBodyStatusAndHeaders) {
  TestHttpServer server([](const TestRequest& req) {
    TestResponse r = Ok("hello " + req.Path());
    r.headers.push_back({"X-Thing", "  v1 "});
    return r;
  });
  HttpClient client;
  Result<Response> r = client.Do(Req(server.url("/a/b")));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello /a/b");
  EXPECT_EQ(r->Find("x-thing").value_or(""), "v1");
  EXPECT_FALSE(r->Find("x-missing").has_value());
  EXPECT_EQ(r->effective_url, server.url("/a/b"));
}

TEST(HttpClientTest, HeadGetsLengthWithoutBody) {
  TestHttpServer server([](const TestRequest&) {
    TestResponse r;
    r.head_length = 123456;
    return r;
  });
  HttpClient client;
  Result<Response> r = client.Do(Req(server.url("/blob"), "HEAD"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Find("Content-Length").value_or(""), "123456");
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(server.requests().at(0).method, "HEAD");
}

TEST(HttpClientTest, RangeHeaderAndBodyArePassedThrough) {
  TestHttpServer server([](const TestRequest& req) {
    TestResponse r = Ok(req.method + "|" + req.Header("range") + "|" + req.body);
    r.status = 206;
    return r;
  });
  HttpClient client;
  Request ranged = Req(server.url("/x"));
  ranged.headers.push_back({"Range", "bytes=10-19"});
  Result<Response> r = client.Do(ranged);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 206);
  EXPECT_EQ(r->body, "GET|bytes=10-19|");
  Request put = Req(server.url("/x"), "PUT");
  put.body = "payload";
  r = client.Do(put);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "PUT||payload");
  Request post = Req(server.url("/x"), "POST");
  post.body = "p2";
  r = client.Do(post);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "POST||p2");
}

TEST(HttpClientTest, ErrorStatusIsAResponse) {
  TestHttpServer server([](const TestRequest&) {
    TestResponse r = Ok("nope");
    r.status = 503;
    return r;
  });
  HttpClient client;
  Result<Response> r = client.Do(Req(server.url("/")));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "nope");
}

TEST(HttpClientTest, RedirectsAreNotFollowedByDefault) {
  TestHttpServer server([](const TestRequest& req) {
    if (req.Path() == "/final") return Ok("final");
    TestResponse r;
    r.status = 307;
    r.headers.push_back({"Location", "/final"});
    return r;
  });
  HttpClient client;
  Result<Response> r = client.Do(Req(server.url("/start")));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 307);
  EXPECT_EQ(r->Find("location").value_or(""), "/final");

  ClientOptions follow;
  follow.follow_redirects = true;
  HttpClient follower(follow);
  r = follower.Do(Req(server.url("/start")));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "final");
  EXPECT_EQ(r->effective_url, server.url("/final"));
}

TEST(HttpClientTest, ServerThatNeverAnswersTimesOutWithinBound) {
  TestHttpServer server([](const TestRequest&) {
    TestResponse r;
    r.hang = true;
    return r;
  });
  ClientOptions opts;
  opts.timeout_sec = 0.5;
  HttpClient client(opts);
  auto t0 = std::chrono::steady_clock::now();
  Result<Response> r = client.Do(Req(server.url("/")));
  double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().ToString();
  EXPECT_GE(sec, 0.4);
  EXPECT_LT(sec, 3.0);

  // The per-request override wins.
  t0 = std::chrono::steady_clock::now();
  Request quick = Req(server.url("/"));
  quick.timeout_sec = 0.2;
  r = client.Do(quick);
  sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(r.ok());
  EXPECT_LT(sec, 0.45);
}

TEST(HttpClientTest, RefusedConnectionIsIOError) {
  int port;
  {
    TestHttpServer server([](const TestRequest&) { return Ok(""); });
    port = server.port();
  }  // closed: nothing listens there now
  HttpClient client;
  Result<Response> r = client.Do(Req("http://127.0.0.1:" + std::to_string(port) + "/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
  EXPECT_NE(r.status().message().find("127.0.0.1"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(client.stats().transport_errors, 1u);
}

TEST(HttpClientTest, BodySinkStreamsAndCanAbort) {
  std::string big(1 << 20, 'z');
  TestHttpServer server([&big](const TestRequest&) { return Ok(big); });
  HttpClient client;
  size_t seen = 0;
  Result<Response> r = client.Do(SinkReq(server.url("/"), [&](std::span<const uint8_t> bytes) {
    seen += bytes.size();
    return Status::OK();
  }));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(seen, big.size());
  EXPECT_TRUE(r->body.empty());

  seen = 0;
  r = client.Do(SinkReq(server.url("/"), [&](std::span<const uint8_t> bytes) {
    seen += bytes.size();
    return seen > 1000 ? Status::OutOfRange("enough") : Status::OK();
  }));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(r.status().message().find("enough"), std::string::npos);
  EXPECT_LT(seen, big.size());

  // The client still works after an aborted transfer.
  r = client.Do(Req(server.url("/")));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body.size(), big.size());
}

TEST(HttpClientTest, Sink2xxOnlyKeepsErrorBodies) {
  TestHttpServer server([](const TestRequest& req) {
    TestResponse r = Ok("error document");
    if (req.Path() == "/bad") r.status = 404;
    return r;
  });
  HttpClient client;
  std::string sunk;
  auto sink = [&](std::span<const uint8_t> b) {
    sunk.append(reinterpret_cast<const char*>(b.data()), b.size());
    return Status::OK();
  };
  Result<Response> r = client.Do(SinkReq(server.url("/bad"), sink, true));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "error document");
  EXPECT_TRUE(sunk.empty());
  r = client.Do(SinkReq(server.url("/good"), sink, true));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(sunk, "error document");
  EXPECT_TRUE(r->body.empty());
}

TEST(HttpClientTest, UnixSocket) {
  std::string path = "/tmp/nydus-http-test-" + std::to_string(::getpid()) + ".sock";
  TestHttpServer server([](const TestRequest& req) { return Ok("api " + req.Path()); }, path);
  ClientOptions uds;
  uds.unix_socket = path;
  HttpClient client(uds);
  Result<Response> r = client.Do(Req("http://localhost/api/v1/daemon"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "api /api/v1/daemon");
  EXPECT_EQ(server.requests().at(0).Header("host"), "localhost");
}

TEST(HttpClientTest, KeepAliveReusesOneConnection) {
  TestHttpServer server([](const TestRequest&) { return Ok("x"); });
  HttpClient client;
  for (int i = 0; i < 10; ++i) {
    Result<Response> r = client.Do(Req(server.url("/" + std::to_string(i))));
    ASSERT_TRUE(r.ok());
  }
  Result<Response> r = client.Do(Req(server.url("/h"), "HEAD"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(client.stats().connections, 1u);
  EXPECT_EQ(client.stats().requests, 11u);
  for (const TestRequest& req : server.requests()) EXPECT_EQ(req.connection_id, 1);
}

TEST(HttpClientTest, ConcurrentCallers) {
  TestHttpServer server([](const TestRequest& req) { return Ok(req.Path()); });
  HttpClient client;
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string path = "/" + std::to_string(t) + "/" + std::to_string(i);
        Result<Response> r = client.Do(Req(server.url(path)));
        if (r.ok() && r->body == path) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 80);
  EXPECT_LE(server.connections(), 4);
}

}  // namespace
}  // namespace nydus::http
