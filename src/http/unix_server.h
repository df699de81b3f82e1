// UnixServer: a small HTTP/1.1 server on a unix stream socket, for nydusd's API (`--apisock`).
//
//   UnixServer server("/run/nydusd.sock", [&](const HttpRequest& r) { return router.Handle(r); });
//   RETURN_IF_ERROR(server.Start());   // bound, listening, serving on its own threads
//   ...
//   server.Stop();                      // unblocks everything, joins, removes the socket file
//
// Start() refuses a path where another live server answers (AlreadyExists), removes a stale
// socket file left by a dead one, and never removes a file that is not a socket. The socket
// is created with mode 0600 (options.socket_mode): the API can mount and exit the daemon.
// Requests are parsed strictly (ParseHttpRequest below): request line + headers at most
// max_header_bytes, a Content-Length body at most max_body_bytes, no chunked bodies. A bad
// request gets a 4xx/5xx answer with the reference's error JSON and the connection is closed;
// garbage never crashes the server. Connections are kept alive (HTTP/1.1 default, or
// "Connection: keep-alive" on 1.0); "Expect: 100-continue" is answered. Each connection is
// served on its own thread (at most max_connections; more get 503); a connection idle for
// idle_timeout_ms, or stalled mid-request or mid-response for io_timeout_ms, is closed.
//
// Ownership: the server owns its listening socket, its threads and the socket file (removed by
// Stop() only while it is still the one this server created).
// Thread-safety: the handler is called concurrently from connection threads and must be
// thread-safe; it must not call Stop(). Start() and Stop() from one controlling thread; Stop()
// waits for running handlers to return.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/result.h"

namespace nydus::http {

struct HttpRequest {
  std::string method;  // "GET", "PUT", ... (case-sensitive, as sent)
  std::string target;  // as sent, e.g. "/api/v1/mount?mountpoint=/x" (absolute form reduced)
  std::string path;    // target before '?', not decoded
  std::vector<std::pair<std::string, std::string>> query;    // decoded ('+' is a space)
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent
  std::string body;
  int version_minor = 1;  // HTTP/1.<minor>

  // First query parameter named `key`, or nullopt.
  std::optional<std::string> Query(std::string_view key) const;
  // First header named `name` (case-insensitive), or nullopt.
  std::optional<std::string> Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;                                          // never sent for 204 and 304
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  static HttpResponse Json(int status, std::string body);
  static HttpResponse NoContent() { return HttpResponse{204, "", "", {}}; }
};

// "OK", "Not Found", ...; "Unknown" for codes it does not know.
const char* ReasonPhrase(int status);

struct ServerLimits {
  size_t max_header_bytes = 16 * 1024;  // request line + headers + the blank line
  size_t max_body_bytes = 1024 * 1024;
};

// The result of parsing the front of a connection's input buffer.
struct ParseOutcome {
  enum Kind { kIncomplete, kComplete, kError };
  Kind kind = kIncomplete;
  size_t consumed = 0;           // kComplete: bytes of this request (head + body)
  bool headers_done = false;     // kIncomplete: the head is complete, the body is not
  bool expect_continue = false;  // headers_done and the client sent "Expect: 100-continue"
  bool keep_alive = false;       // kComplete: the connection may serve another request
  int error_status = 0;          // kError: 400, 413, 431, 501 or 505
  std::string error;             // kError: why, for the error body
};

// Parses one request from the front of `buf` into `*req` (filled only on kComplete). Pure and
// total: any input gives an outcome; this is the fuzzed entry point (fuzz/fuzz_http_request.cc).
ParseOutcome ParseHttpRequest(std::string_view buf, const ServerLimits& limits, HttpRequest* req);

// "HTTP/1.1 <status> <reason>" + headers + body, ready to write. `keep_alive` chooses the
// Connection header; `head_only` (HEAD requests) leaves the body out but keeps its length.
std::string SerializeResponse(const HttpResponse& resp, bool keep_alive, bool head_only = false);

// The body of every error the server itself produces: the reference's ErrorMessage,
// {"code":"UNDEFINED","message":<message>}.
std::string ErrorBody(std::string_view message);

class UnixServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  struct Options {
    ServerLimits limits;
    int max_connections = 32;
    int idle_timeout_ms = 60'000;  // between requests on a kept-alive connection
    int io_timeout_ms = 10'000;    // a started request or a response write may stall this long
    mode_t socket_mode = 0600;
  };

  UnixServer(std::string path, Handler handler);
  UnixServer(std::string path, Handler handler, Options options);
  ~UnixServer();  // Stop()
  UnixServer(const UnixServer&) = delete;
  UnixServer& operator=(const UnixServer&) = delete;

  // Binds and starts serving. InvalidArgument for a path too long for sockaddr_un,
  // AlreadyExists when a live server answers on `path` or it is not a socket, IOError otherwise.
  // REQUIRES: called at most once.
  Status Start();
  // Stops accepting, closes every connection (waiting for running handlers), joins all threads
  // and removes the socket file. Idempotent; a no-op before Start().
  void Stop();

  const std::string& path() const { return path_; }
  // Connections currently open (for tests and metrics).
  size_t ActiveConnections() const;

 private:
  struct Conn;
  void AcceptLoop();
  void ServeConnection(Conn* conn);
  void ReapFinished(bool all);
  // Waits until `fd` is ready for `events` or `timeout_ms` passes or Stop() begins.
  // Returns >0 ready, 0 timeout, <0 stopping or error.
  int WaitFd(int fd, short events, int timeout_ms) const;
  bool WriteAll(int fd, std::string_view data) const;

  const std::string path_;
  const Handler handler_;
  const Options options_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};  // a byte in [1] wakes every poll() for Stop()
  dev_t sock_dev_ = 0;           // identity of the socket file we created
  ino_t sock_ino_ = 0;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  bool stopped_ = false;
  std::thread accept_thread_;
  mutable std::mutex mu_;  // guards conns_
  std::list<std::unique_ptr<Conn>> conns_;
};

}  // namespace nydus::http
