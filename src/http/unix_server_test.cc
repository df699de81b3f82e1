#include "http/unix_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/test_util.h"

namespace nydus::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

ParseOutcome Parse(std::string_view in, HttpRequest* req, ServerLimits limits = {}) {
  return ParseHttpRequest(in, limits, req);
}

TEST(ParseHttpRequestTest, SimpleGetWithQuery) {
  HttpRequest req;
  auto o = Parse(
      "GET /api/v1/metrics/files?id=%2Fmnt&latest=true&x=a+b HTTP/1.1\r\n"
      "Host: localhost\r\n\r\n",
      &req);
  ASSERT_EQ(o.kind, ParseOutcome::kComplete);
  EXPECT_TRUE(o.keep_alive);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/api/v1/metrics/files");
  EXPECT_EQ(req.Query("id").value_or(""), "/mnt");
  EXPECT_EQ(req.Query("latest").value_or(""), "true");
  EXPECT_EQ(req.Query("x").value_or(""), "a b");
  EXPECT_FALSE(req.Query("y").has_value());
  EXPECT_EQ(req.Header("HOST").value_or(""), "localhost");
}

TEST(ParseHttpRequestTest, AbsoluteFormAsTheReferenceTestUses) {
  HttpRequest req;
  auto o = Parse("GET http://localhost/api/v1/daemon?arg1=test HTTP/1.0\r\n\r\n", &req);
  ASSERT_EQ(o.kind, ParseOutcome::kComplete);
  EXPECT_FALSE(o.keep_alive);  // HTTP/1.0 without keep-alive
  EXPECT_EQ(req.path, "/api/v1/daemon");
  EXPECT_EQ(req.Query("arg1").value_or(""), "test");
}

TEST(ParseHttpRequestTest, BodyAndPipelining) {
  std::string two =
      "PUT /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nConnection: "
      "close\r\n\r\n";
  HttpRequest req;
  auto o = Parse(two, &req);
  ASSERT_EQ(o.kind, ParseOutcome::kComplete);
  EXPECT_EQ(req.body, "hello");
  auto o2 = Parse(std::string_view(two).substr(o.consumed), &req);
  ASSERT_EQ(o2.kind, ParseOutcome::kComplete);
  EXPECT_EQ(req.path, "/b");
  EXPECT_FALSE(o2.keep_alive);
}

TEST(ParseHttpRequestTest, IncompleteAndExpectContinue) {
  HttpRequest req;
  EXPECT_EQ(Parse("", &req).kind, ParseOutcome::kIncomplete);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: x\r\n", &req).kind, ParseOutcome::kIncomplete);
  auto o = Parse("POST /m HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\nabc", &req);
  EXPECT_EQ(o.kind, ParseOutcome::kIncomplete);
  EXPECT_TRUE(o.headers_done);
  EXPECT_TRUE(o.expect_continue);
}

TEST(ParseHttpRequestTest, Errors) {
  HttpRequest req;
  struct Case {
    std::string in;
    int status;
  } cases[] = {
      {"\x01\x02garbage\r\n", 400},
      {"GET\r\n\r\n", 400},
      {"GET  / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/2.0\r\n\r\n", 505},
      {"GET / FTP/1.1\r\n\r\n", 400},
      {"GET foo HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\n\n", 400},
      {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 400},
      {"PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
      {"PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
      {"PUT / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", 413},
      {"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
  };
  for (const auto& c : cases) {
    auto o = Parse(c.in, &req);
    EXPECT_EQ(o.kind, ParseOutcome::kError) << c.in;
    EXPECT_EQ(o.error_status, c.status) << c.in;
  }
  std::string big = "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a');
  EXPECT_EQ(Parse(big, &req).error_status, 431);
  EXPECT_EQ(Parse(big + "\r\n\r\n", &req).error_status, 431);
}

TEST(SerializeResponseTest, Shapes) {
  std::string ok = SerializeResponse(HttpResponse::Json(200, "{}"), true);
  EXPECT_EQ(ok,
            "HTTP/1.1 200 OK\r\nServer: Nydus API\r\nContent-Type: application/json\r\n"
            "Content-Length: 2\r\nConnection: keep-alive\r\n\r\n{}");
  std::string nc = SerializeResponse(HttpResponse::NoContent(), false);
  EXPECT_EQ(nc.find("Content-Length"), std::string::npos);
  HttpResponse evil = HttpResponse::Json(200, "");
  evil.headers = {{"X-A", "1\r\nInjected: yes"}, {"X-B", "2"}};
  std::string s = SerializeResponse(evil, false);
  EXPECT_EQ(s.find("Injected"), std::string::npos);
  EXPECT_NE(s.find("X-B: 2\r\n"), std::string::npos);
  EXPECT_EQ(ErrorBody("NoRoute"), R"({"code":"UNDEFINED","message":"NoRoute"})");
}

// ---- live server ----

int Connect(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

void Send(int fd, std::string_view s) {
  ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
}

// Reads one response (headers + Content-Length body). Returns "" on EOF/timeout.
std::string ReadResponse(int fd) {
  std::string buf;
  char c[4096];
  for (;;) {
    size_t he = buf.find("\r\n\r\n");
    if (he != std::string::npos) {
      size_t len = 0;
      size_t cl = buf.find("Content-Length: ");
      if (cl != std::string::npos && cl < he) len = std::stoul(buf.substr(cl + 16));
      if (buf.size() >= he + 4 + len) return buf.substr(0, he + 4 + len);
    }
    ssize_t n = ::recv(fd, c, sizeof(c), 0);
    if (n <= 0) return buf;
    buf.append(c, static_cast<size_t>(n));
  }
}

bool PeerClosed(int fd) {
  char c;
  return ::recv(fd, &c, 1, 0) == 0;
}

class UnixServerTest : public ::testing::Test {
 protected:
  std::string Sock() { return dir_.Join("api.sock"); }
  static HttpResponse Echo(const HttpRequest& r) {
    return HttpResponse::Json(200, r.method + " " + r.path + " " + r.body);
  }
  testing::TempDir dir_;
};

TEST_F(UnixServerTest, ServesKeepAliveAndRemovesSocketOnStop) {
  UnixServer server(Sock(), Echo);
  ASSERT_OK(server.Start());
  struct stat st;
  ASSERT_EQ(::lstat(Sock().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  int fd = Connect(Sock());
  ASSERT_GE(fd, 0);
  Send(fd, "GET /one HTTP/1.1\r\n\r\n");
  std::string r1 = ReadResponse(fd);
  EXPECT_NE(r1.find("200 OK"), std::string::npos);
  EXPECT_NE(r1.find("GET /one "), std::string::npos);
  Send(fd, "PUT /two HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_NE(ReadResponse(fd).find("PUT /two abc"), std::string::npos);
  Send(fd, "GET /three HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_NE(ReadResponse(fd).find("Connection: close"), std::string::npos);
  EXPECT_TRUE(PeerClosed(fd));
  ::close(fd);

  server.Stop();
  EXPECT_NE(::lstat(Sock().c_str(), &st), 0);
  server.Stop();  // idempotent
}

TEST_F(UnixServerTest, ExpectContinue) {
  UnixServer server(Sock(), Echo);
  ASSERT_OK(server.Start());
  int fd = Connect(Sock());
  Send(fd, "POST /m HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  char buf[64] = {};
  ASSERT_GT(::recv(fd, buf, sizeof(buf) - 1, 0), 0);
  EXPECT_EQ(std::string(buf), "HTTP/1.1 100 Continue\r\n\r\n");
  Send(fd, "hi");
  EXPECT_NE(ReadResponse(fd).find("POST /m hi"), std::string::npos);
  ::close(fd);
}

TEST_F(UnixServerTest, ConcurrentClients) {
  std::atomic<int> calls{0};
  UnixServer server(Sock(), [&](const HttpRequest& r) {
    calls++;
    return HttpResponse::Json(200, r.path);
  });
  ASSERT_OK(server.Start());
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      int fd = Connect(Sock());
      if (fd < 0) return;
      for (int i = 0; i < 25; ++i) {
        std::string path = "/c" + std::to_string(t) + "/" + std::to_string(i);
        std::string req = "GET " + path + " HTTP/1.1\r\n\r\n";
        if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) < 0) break;
        std::string resp = ReadResponse(fd);
        if (resp.size() >= path.size() && resp.substr(resp.size() - path.size()) == path) good++;
      }
      ::close(fd);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 200);
  EXPECT_EQ(calls.load(), 200);
}

TEST_F(UnixServerTest, GarbageAndOversizedHeadersGet4xxAndClose) {
  UnixServer server(Sock(), Echo);
  ASSERT_OK(server.Start());
  int fd = Connect(Sock());
  Send(fd, std::string("\xff\xfe\x00garbage\r\n\r\n", 14));
  std::string r = ReadResponse(fd);
  EXPECT_NE(r.find("400 Bad Request"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("code":"UNDEFINED")"), std::string::npos);
  EXPECT_TRUE(PeerClosed(fd));
  ::close(fd);

  fd = Connect(Sock());
  std::string big = "GET / HTTP/1.1\r\nX-Big: " + std::string(17 * 1024, 'a');
  Send(fd, big);
  r = ReadResponse(fd);
  EXPECT_NE(r.find("431"), std::string::npos) << r.substr(0, 80);
  ::close(fd);

  fd = Connect(Sock());
  Send(fd, "PUT / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n");
  EXPECT_NE(ReadResponse(fd).find("413"), std::string::npos);
  ::close(fd);

  // Still serving after all that.
  fd = Connect(Sock());
  Send(fd, "GET /ok HTTP/1.1\r\n\r\n");
  EXPECT_NE(ReadResponse(fd).find("200 OK"), std::string::npos);
  ::close(fd);
}

TEST_F(UnixServerTest, StopWhileClientsConnected) {
  std::atomic<bool> in_handler{false};
  UnixServer server(Sock(), [&](const HttpRequest& r) {
    if (r.path == "/slow") {
      in_handler = true;
      std::this_thread::sleep_for(milliseconds(300));
    }
    return HttpResponse::Json(200, "done");
  });
  ASSERT_OK(server.Start());
  int idle = Connect(Sock());     // connected, never sends
  int partial = Connect(Sock());  // half a request
  Send(partial, "GET / HTTP/1.1\r\n");
  int slow = Connect(Sock());
  Send(slow, "GET /slow HTTP/1.1\r\n\r\n");
  while (!in_handler) std::this_thread::sleep_for(milliseconds(5));
  auto t0 = steady_clock::now();
  server.Stop();
  auto took = steady_clock::now() - t0;
  EXPECT_LT(took, milliseconds(3000));
  // The running handler finished and its answer was delivered, with Connection: close.
  std::string r = ReadResponse(slow);
  EXPECT_NE(r.find("done"), std::string::npos);
  EXPECT_NE(r.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(PeerClosed(idle));
  EXPECT_TRUE(PeerClosed(partial));
  EXPECT_EQ(server.ActiveConnections(), 0u);
  EXPECT_LT(Connect(Sock()), 0);
  ::close(idle);
  ::close(partial);
  ::close(slow);
}

TEST_F(UnixServerTest, StaleSocketIsReplacedLiveOneRefused) {
  // A stale socket file: bound, then its owner went away.
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, Sock().c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::close(fd);
  }
  UnixServer a(Sock(), Echo);
  ASSERT_OK(a.Start());
  UnixServer b(Sock(), Echo);
  Status s = b.Start();
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  // b's failure did not disturb a.
  int fd = Connect(Sock());
  ASSERT_GE(fd, 0);
  Send(fd, "GET /x HTTP/1.1\r\n\r\n");
  EXPECT_NE(ReadResponse(fd).find("200 OK"), std::string::npos);
  ::close(fd);
}

TEST_F(UnixServerTest, RefusesNonSocketFileAndLongPath) {
  std::ofstream(Sock()) << "precious";
  UnixServer a(Sock(), Echo);
  EXPECT_EQ(a.Start().code(), StatusCode::kAlreadyExists);
  std::ifstream in(Sock());
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
  UnixServer b(dir_.Join(std::string(200, 'x')), Echo);
  EXPECT_EQ(b.Start().code(), StatusCode::kInvalidArgument);
}

TEST_F(UnixServerTest, ConnectionLimitAndHandlerThatThrows) {
  UnixServer::Options opts;
  opts.max_connections = 1;
  UnixServer server(
      Sock(), [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); }, opts);
  ASSERT_OK(server.Start());
  int first = Connect(Sock());
  Send(first, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_NE(ReadResponse(first).find("500"), std::string::npos);
  int second = Connect(Sock());
  EXPECT_NE(ReadResponse(second).find("503"), std::string::npos);
  ::close(first);
  ::close(second);
}

TEST_F(UnixServerTest, IdleTimeoutClosesConnection) {
  UnixServer::Options opts;
  opts.idle_timeout_ms = 100;
  opts.io_timeout_ms = 100;
  UnixServer server(Sock(), Echo, opts);
  ASSERT_OK(server.Start());
  int fd = Connect(Sock());
  Send(fd, "GET / HTTP/1.1\r\n");  // never finished
  EXPECT_NE(ReadResponse(fd).find("408"), std::string::npos);
  ::close(fd);
  fd = Connect(Sock());
  EXPECT_TRUE(PeerClosed(fd));
  ::close(fd);
}

}  // namespace
}  // namespace nydus::http
