// HttpClient: blocking HTTP/1.1 requests over libcurl, for the registry backend, nydusify and
// nydusctl (which talks to nydusd's API over a unix socket).
//
// Connections are reused: each client keeps a pool of curl easy handles (one per concurrent
// caller), so sequential requests to one host reuse the keep-alive connection. Every request
// has a total timeout and a connect timeout, so a dead peer is an error, never a hang.
// Transport failures (DNS, refused, reset, TLS, timeout) are Status errors: IOError, with
// "timed out" in the message for timeouts. Any HTTP status, including 4xx/5xx, is a Response
// (the caller decides). Redirects are not followed unless `follow_redirects` is set: the
// registry client follows them itself so that credentials never reach another host.
// Header values are never logged by this class (they may hold credentials).
// Thread-safety: Do() may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace nydus::http {

struct ClientOptions {
  double timeout_sec = 30;  // whole request; 0 = no limit (not recommended)
  double connect_timeout_sec = 5;
  bool skip_verify = false;       // accept any TLS certificate (self-signed registries)
  std::string proxy;              // "http://host:port", empty = none (env proxies ignored)
  std::string unix_socket;        // connect to this unix socket instead of TCP (nydusctl)
  bool follow_redirects = false;  // let curl follow 3xx itself (max 10)
  std::string user_agent = "nydus-cpp";
};

struct Header {
  std::string name;  // as received/sent; compare case-insensitively
  std::string value;
};

struct Request {
  std::string method = "GET";   // GET HEAD PUT POST PATCH DELETE
  std::string url;              // absolute; with unix_socket e.g. "http://localhost/api/v1/daemon"
  std::vector<Header> headers;  // extra request headers
  std::string body;             // request body for PUT/POST/PATCH
  // When set, response body bytes are passed here as they arrive instead of being collected in
  // Response::body; a non-OK Status aborts the transfer and is returned by Do().
  std::function<Status(std::span<const uint8_t>)> body_sink;
  // Optional per-request override of ClientOptions::timeout_sec (seconds, > 0).
  std::optional<double> timeout_sec;
  // With body_sink: only the body of a 2xx response goes to the sink; the body of any other
  // status (an error document, a redirect page) is kept in Response::body, capped at
  // kMaxErrorBody bytes.
  bool sink_2xx_only = false;
};

// Largest non-2xx body kept when Request::sink_2xx_only is set.
inline constexpr size_t kMaxErrorBody = 64 * 1024;

struct Response {
  long status = 0;
  std::vector<Header> headers;  // of the final response
  std::string body;             // unless Request::body_sink was set
  std::string effective_url;

  // First header named `name` (case-insensitive), or nullopt.
  std::optional<std::string> Find(std::string_view name) const;
};

// Counters of one client since it was created (monotonic; read without locking).
struct ClientStats {
  uint64_t requests = 0;          // Do() calls that reached the transport
  uint64_t connections = 0;       // new connections opened (the rest reused a live one)
  uint64_t transport_errors = 0;  // Do() calls that returned a non-OK Status
};

class HttpClient {
 public:
  explicit HttpClient(ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  const ClientOptions& options() const { return options_; }
  Result<Response> Do(const Request& request);
  ClientStats stats() const;

 private:
  struct Pool;
  ClientOptions options_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace nydus::http
