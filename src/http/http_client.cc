// HttpClient over libcurl easy handles. A handle keeps its own connection cache, so the pool
// hands the most recently used handle to the next caller (LIFO): sequential requests from one
// thread reuse its keep-alive connection, concurrent callers each get their own handle.
#include "http/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <mutex>

#include "base/redact.h"

namespace nydus::http {

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

long ToMillis(double sec) {
  if (sec <= 0) return 0;
  double ms = std::ceil(sec * 1000.0);
  return ms > 2e9 ? 2000000000L : static_cast<long>(ms);
}

// State of one transfer, shared with the curl callbacks.
struct Transfer {
  CURL* easy = nullptr;
  const Request* request = nullptr;
  Response* response = nullptr;
  Status sink_status;         // the body_sink's error that aborted the transfer
  bool sink_decided = false;  // whether `to_sink` was determined for this response
  bool to_sink = false;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    // A new response (after 100 Continue or a followed redirect): keep only the last one.
    t->response->headers.clear();
    t->sink_decided = false;
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->response->headers.push_back(
        {std::string(Trim(line.substr(0, colon))), std::string(Trim(line.substr(colon + 1)))});
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  const Request& req = *t->request;
  if (!req.body_sink) {
    t->response->body.append(data, len);
    return len;
  }
  if (!t->sink_decided) {
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    t->to_sink = !req.sink_2xx_only || (code >= 200 && code < 300);
    t->sink_decided = true;
  }
  if (!t->to_sink) {
    size_t room = kMaxErrorBody - std::min(kMaxErrorBody, t->response->body.size());
    t->response->body.append(data, std::min(room, len));
    return len;
  }
  Status st = req.body_sink(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data), len));
  if (!st.ok()) {
    t->sink_status = std::move(st);
    return 0;  // CURLE_WRITE_ERROR
  }
  return len;
}

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

std::optional<std::string> Response::Find(std::string_view name) const {
  for (const Header& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return h.value;
  }
  return std::nullopt;
}

struct HttpClient::Pool {
  std::mutex mu;
  std::vector<CURL*> idle;  // LIFO: back() is the most recently used handle
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> errors{0};

  ~Pool() {
    for (CURL* h : idle) curl_easy_cleanup(h);
  }
  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!idle.empty()) {
        CURL* h = idle.back();
        idle.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void Release(CURL* h) {
    std::lock_guard<std::mutex> lock(mu);
    idle.push_back(h);
  }
};

HttpClient::HttpClient(ClientOptions options)
    : options_(std::move(options)), pool_(std::make_unique<Pool>()) {
  GlobalInitOnce();
}

HttpClient::~HttpClient() = default;

ClientStats HttpClient::stats() const {
  ClientStats s;
  s.requests = pool_->requests.load(std::memory_order_relaxed);
  s.connections = pool_->connections.load(std::memory_order_relaxed);
  s.transport_errors = pool_->errors.load(std::memory_order_relaxed);
  return s;
}

Result<Response> HttpClient::Do(const Request& request) {
  const std::string what = request.method + " " + RedactUrl(request.url);
  if (request.url.empty()) return Status::InvalidArgument("http: empty URL");
  CURL* h = pool_->Acquire();
  if (h == nullptr) return Status::Internal("http: curl_easy_init failed");
  // Returns the handle to the pool on every path; curl_easy_reset keeps live connections.
  // The options pointing into this frame (error buffer, header list, callback data) are
  // cleared first: an idle handle may still close connections (and report an error) in
  // curl_easy_cleanup, long after this frame is gone.
  struct Returner {
    Pool* pool;
    CURL* h;
    ~Returner() {
      curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
      curl_easy_setopt(h, CURLOPT_HEADERDATA, nullptr);
      curl_easy_setopt(h, CURLOPT_WRITEDATA, nullptr);
      pool->Release(h);
    }
  } returner{pool_.get(), h};
  curl_easy_reset(h);

  Response response;
  Transfer t;
  t.easy = h;
  t.request = &request;
  t.response = &response;
  char errbuf[CURL_ERROR_SIZE] = {0};

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add_header = [&headers](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next != nullptr) {
      headers.release();
      headers.reset(next);
    }
  };
  bool has_expect = false;
  for (const Header& hd : request.headers) {
    if (EqualsIgnoreCase(hd.name, "Expect")) has_expect = true;
    // "Name;" is curl's way to send a header with an empty value.
    add_header(hd.value.empty() ? hd.name + ";" : hd.name + ": " + hd.value);
  }
  if (!has_expect) add_header("Expect:");  // no 100-continue round trip for bodies

  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  double timeout = request.timeout_sec.value_or(options_.timeout_sec);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ToMillis(timeout));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ToMillis(options_.connect_timeout_sec));
  // An empty string disables proxies, including the *_proxy environment variables.
  curl_easy_setopt(h, CURLOPT_PROXY, options_.proxy.c_str());
  if (!options_.unix_socket.empty()) {
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, options_.unix_socket.c_str());
  }
  if (options_.skip_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY_SSL_VERIFYHOST, 0L);
  }
  if (options_.follow_redirects) {
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  }

  const std::string& m = request.method;
  if (m == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (m == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE") {
    if (m != "DELETE" || !request.body.empty()) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
    if (m != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m.c_str());
  } else {
    return Status::InvalidArgument("http: unsupported method '" + m + "'");
  }

  pool_->requests.fetch_add(1, std::memory_order_relaxed);
  CURLcode rc = curl_easy_perform(h);
  long new_conns = 0;
  if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &new_conns) == CURLE_OK && new_conns > 0) {
    pool_->connections.fetch_add(static_cast<uint64_t>(new_conns), std::memory_order_relaxed);
  }
  if (rc != CURLE_OK) {
    pool_->errors.fetch_add(1, std::memory_order_relaxed);
    if (rc == CURLE_WRITE_ERROR && !t.sink_status.ok()) {
      return t.sink_status.WithContext(what);
    }
    std::string detail = errbuf[0] != 0 ? std::string(errbuf) : curl_easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return Status::IOError(what + ": timed out (" + detail + ")");
    }
    return Status::IOError(what + ": " + detail);
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  char* effective = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective) {
    response.effective_url = effective;
  }
  return response;
}

}  // namespace nydus::http
