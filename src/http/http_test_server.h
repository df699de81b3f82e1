// TestHttpServer: a tiny in-process HTTP/1.1 server for unit tests (http, registry). Header-only
// and not part of nydus_http; include it only from *_test.cc.
//
// It listens on 127.0.0.1:<ephemeral> (or a unix socket path), serves each connection on its
// own thread with keep-alive, and answers every request through the handler given to the
// constructor. It records every request and counts accepted connections, so tests can assert
// what reached the server (e.g. that no Authorization header was sent) and connection reuse.
// A response may ask the server to hang (never answer until Stop) or to close the connection.
// Thread-safety: the handler runs on connection threads, concurrently; the accessors lock.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace nydus::http::testing {

struct TestRequest {
  std::string method;
  std::string target;                          // path and query, as sent
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  int connection_id = 0;  // 1-based index of the connection it arrived on

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool Has(const std::string& lower_name) const { return headers.count(lower_name) != 0; }
  std::string Path() const { return target.substr(0, target.find('?')); }
};

struct TestResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // For HEAD: the Content-Length to announce (default body.size()); the body is never sent.
  long long head_length = -1;
  bool hang = false;   // send nothing; hold the connection until Stop()
  bool close = false;  // close the connection after this response
};

class TestHttpServer {
 public:
  using Handler = std::function<TestResponse(const TestRequest&)>;

  // TCP on 127.0.0.1 with an ephemeral port; or, with unix_path, a unix socket there.
  explicit TestHttpServer(Handler handler, std::string unix_path = "")
      : handler_(std::move(handler)), unix_path_(std::move(unix_path)) {
    if (unix_path_.empty()) {
      listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int one = 1;
      ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = 0;
      ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      socklen_t len = sizeof(addr);
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
      port_ = ntohs(addr.sin_port);
    } else {
      ::unlink(unix_path_.c_str());
      listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", unix_path_.c_str());
      ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    }
    ::listen(listen_fd_, 64);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~TestHttpServer() { Stop(); }
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  int port() const { return port_; }
  // "127.0.0.1:<port>"
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url(const std::string& path = "/") const { return "http://" + host() + path; }

  int connections() const { return accepted_.load(); }
  std::vector<TestRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  void ClearRequests() {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.clear();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    cv_.notify_all();
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      threads.swap(conn_threads_);
    }
    for (std::thread& t : threads) t.join();
    if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
  }

 private:
  void AcceptLoop() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR) continue;
        return;
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) {
        ::close(fd);
        return;
      }
      int id = ++accepted_;
      conn_fds_.push_back(fd);
      conn_threads_.emplace_back([this, fd, id] { Serve(fd, id); });
    }
  }

  static bool ReadMore(int fd, std::string* buf) {
    char tmp[16384];
    ssize_t n;
    do {
      n = ::recv(fd, tmp, sizeof(tmp), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    buf->append(tmp, static_cast<size_t>(n));
    return true;
  }

  static bool SendAll(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  void Serve(int fd, int id) {
    std::string buf;
    for (;;) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!ReadMore(fd, &buf)) return Finish(fd);
      }
      TestRequest req;
      req.connection_id = id;
      std::string head = buf.substr(0, end);
      buf.erase(0, end + 4);
      size_t line_end = head.find("\r\n");
      std::string first = head.substr(0, line_end);
      size_t sp1 = first.find(' ');
      size_t sp2 = first.rfind(' ');
      req.method = first.substr(0, sp1);
      req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
      size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        size_t e = head.find("\r\n", pos);
        if (e == std::string::npos) e = head.size();
        std::string line = head.substr(pos, e - pos);
        pos = e + 2;
        size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        size_t v = line.find_first_not_of(' ', colon + 1);
        req.headers[name] = v == std::string::npos ? "" : line.substr(v);
      }
      size_t body_len = req.Has("content-length") ? std::stoul(req.Header("content-length")) : 0;
      while (buf.size() < body_len) {
        if (!ReadMore(fd, &buf)) return Finish(fd);
      }
      req.body = buf.substr(0, body_len);
      buf.erase(0, body_len);
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(req);
      }
      TestResponse resp = handler_(req);
      if (resp.hang) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopped_; });
        lock.unlock();
        return Finish(fd);
      }
      std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " Test\r\n";
      bool has_length = false;
      for (const auto& [k, v] : resp.headers) {
        out += k + ": " + v + "\r\n";
        std::string lk = k;
        std::transform(lk.begin(), lk.end(), lk.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        if (lk == "content-length") has_length = true;
      }
      bool head_req = req.method == "HEAD";
      if (!has_length) {
        long long n = head_req && resp.head_length >= 0 ? resp.head_length
                                                        : static_cast<long long>(resp.body.size());
        out += "Content-Length: " + std::to_string(n) + "\r\n";
      }
      if (resp.close) out += "Connection: close\r\n";
      out += "\r\n";
      if (!head_req) out += resp.body;
      if (!SendAll(fd, out) || resp.close) return Finish(fd);
    }
  }

  void Finish(int fd) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = std::find(conn_fds_.begin(), conn_fds_.end(), fd);
    if (it != conn_fds_.end()) conn_fds_.erase(it);
    ::close(fd);
  }

  Handler handler_;
  std::string unix_path_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::atomic<int> accepted_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::vector<int> conn_fds_;
  std::vector<std::thread> conn_threads_;
  std::vector<TestRequest> requests_;
};

}  // namespace nydus::http::testing
