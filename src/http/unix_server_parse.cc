// The pure half of UnixServer: request parsing, response serialisation, small helpers.
// Nothing here does I/O, so the fuzz target and the unit tests drive it directly.
#include <cstdio>
#include <string>
#include <string_view>

#include "base/json.h"
#include "http/unix_server.h"

namespace nydus::http {
namespace {

constexpr size_t kMaxHeaderCount = 100;
constexpr size_t kMaxMethodLen = 32;

bool IsTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTchar(c)) return false;
  }
  return true;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn(token) for each comma-separated, trimmed, non-empty element of a header value.
template <typename Fn>
void ForEachListItem(std::string_view v, Fn fn) {
  while (!v.empty()) {
    size_t comma = v.find(',');
    std::string_view item = Trim(v.substr(0, comma));
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = Lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding, as the reference's url::form_urlencoded: '+' is a
// space, %XX a byte, a malformed escape stays as it is.
std::string FormDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexVal(s[i + 1]) >= 0 && HexVal(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexVal(s[i + 1]) * 16 + HexVal(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

ParseOutcome Fail(int status, std::string msg) {
  ParseOutcome o;
  o.kind = ParseOutcome::kError;
  o.error_status = status;
  o.error = std::move(msg);
  return o;
}

struct RequestLine {
  std::string_view method, target;
  int minor = 1;
};

// Validates "METHOD SP TARGET SP HTTP/1.x". Returns an error outcome or kIncomplete for OK.
ParseOutcome ParseRequestLine(std::string_view line, RequestLine* rl) {
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return Fail(400, "malformed request line");
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return Fail(400, "malformed request line");
  rl->method = line.substr(0, sp1);
  rl->target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(rl->method) || rl->method.size() > kMaxMethodLen) {
    return Fail(400, "malformed request method");
  }
  if (rl->target.empty()) return Fail(400, "empty request target");
  for (char c : rl->target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return Fail(400, "malformed request target");
    }
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    return Fail(400, "malformed HTTP version");
  }
  if (version[5] != '1') return Fail(505, "HTTP version not supported");
  rl->minor = version[7] - '0';
  return ParseOutcome{};
}

// Reduces an absolute-form target ("http://host/p?q") to origin form ("/p?q").
bool ToOriginForm(std::string_view target, std::string* out) {
  if (target.front() == '/') {
    *out = std::string(target);
    return true;
  }
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && IEquals(target.substr(0, scheme.size()), scheme)) {
      std::string_view rest = target.substr(scheme.size());
      size_t slash = rest.find_first_of("/?");
      if (slash == std::string_view::npos) {
        *out = "/";
      } else if (rest[slash] == '?') {
        *out = "/" + std::string(rest.substr(slash));
      } else {
        *out = std::string(rest.substr(slash));
      }
      return true;
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> HttpRequest::Query(std::string_view key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::optional<std::string> HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return std::nullopt;
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

ParseOutcome ParseHttpRequest(std::string_view buf, const ServerLimits& limits, HttpRequest* req) {
  size_t head_end = buf.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    // Fail fast on a complete but bad request line instead of waiting for more garbage.
    size_t eol = buf.find("\r\n");
    if (eol != std::string_view::npos) {
      RequestLine rl;
      ParseOutcome bad = ParseRequestLine(buf.substr(0, eol), &rl);
      if (bad.kind == ParseOutcome::kError) return bad;
    } else if (buf.find('\n') != std::string_view::npos) {
      return Fail(400, "bare LF line ending");
    }
    if (buf.size() > limits.max_header_bytes) return Fail(431, "request header too large");
    return ParseOutcome{};
  }
  const size_t head_len = head_end + 4;
  if (head_len > limits.max_header_bytes) return Fail(431, "request header too large");
  std::string_view head = buf.substr(0, head_end);

  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  RequestLine rl;
  ParseOutcome bad = ParseRequestLine(line, &rl);
  if (bad.kind == ParseOutcome::kError) return bad;
  std::string origin;
  if (!ToOriginForm(rl.target, &origin)) return Fail(400, "unsupported request target form");

  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<uint64_t> content_length;
  bool close = rl.minor == 0, keep_alive_token = false, expect_continue = false;
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  while (eol != std::string_view::npos) {
    eol = rest.find("\r\n");
    std::string_view h = rest.substr(0, eol);
    if (eol != std::string_view::npos) rest.remove_prefix(eol + 2);
    if (h.empty()) return Fail(400, "empty header line");
    if (h.front() == ' ' || h.front() == '\t') return Fail(400, "obsolete header line folding");
    if (headers.size() >= kMaxHeaderCount) return Fail(431, "too many request headers");
    size_t colon = h.find(':');
    if (colon == std::string_view::npos) return Fail(400, "malformed header line");
    std::string_view name = h.substr(0, colon);
    std::string_view value = Trim(h.substr(colon + 1));
    if (!IsToken(name)) return Fail(400, "malformed header name");
    for (char c : value) {
      unsigned char u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return Fail(400, "malformed header value");
    }
    if (IEquals(name, "content-length")) {
      if (value.empty() || value.size() > 18) return Fail(400, "malformed Content-Length");
      uint64_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return Fail(400, "malformed Content-Length");
        n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      if (content_length && *content_length != n) return Fail(400, "conflicting Content-Length");
      content_length = n;
    } else if (IEquals(name, "transfer-encoding")) {
      return Fail(501, "Transfer-Encoding is not supported; send Content-Length");
    } else if (IEquals(name, "connection")) {
      ForEachListItem(value, [&](std::string_view t) {
        if (IEquals(t, "close")) close = true;
        if (IEquals(t, "keep-alive")) keep_alive_token = true;
      });
    } else if (IEquals(name, "expect")) {
      if (IEquals(value, "100-continue")) expect_continue = true;
    }
    headers.emplace_back(std::string(name), std::string(value));
  }
  uint64_t body_len = content_length.value_or(0);
  if (body_len > limits.max_body_bytes) return Fail(413, "request body too large");
  if (buf.size() - head_len < body_len) {
    ParseOutcome o;
    o.headers_done = true;
    o.expect_continue = expect_continue && rl.minor >= 1;
    return o;
  }

  req->method = std::string(rl.method);
  req->target = origin;
  size_t qpos = origin.find('?');
  req->path = origin.substr(0, qpos);
  req->query.clear();
  if (qpos != std::string::npos) {
    std::string_view q = std::string_view(origin).substr(qpos + 1);
    size_t frag = q.find('#');
    q = q.substr(0, frag);
    while (!q.empty()) {
      size_t amp = q.find('&');
      std::string_view kv = q.substr(0, amp);
      if (!kv.empty()) {
        size_t eq = kv.find('=');
        std::string_view k = kv.substr(0, eq);
        std::string_view v = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
        req->query.emplace_back(FormDecode(k), FormDecode(v));
      }
      if (amp == std::string_view::npos) break;
      q.remove_prefix(amp + 1);
    }
  }
  req->headers = std::move(headers);
  req->body = std::string(buf.substr(head_len, body_len));
  req->version_minor = rl.minor;

  ParseOutcome o;
  o.kind = ParseOutcome::kComplete;
  o.consumed = head_len + body_len;
  o.keep_alive = !close && (rl.minor >= 1 || keep_alive_token);
  return o;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string SerializeResponse(const HttpResponse& resp, bool keep_alive, bool head_only) {
  const bool no_body = resp.status == 204 || resp.status == 304 || resp.status < 200;
  std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " + ReasonPhrase(resp.status) +
                    "\r\nServer: Nydus API\r\n";
  if (!no_body) {
    if (!resp.content_type.empty()) out += "Content-Type: " + resp.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n";
  }
  for (const auto& [k, v] : resp.headers) {
    // Never let a header break the framing (response splitting).
    if (!IsToken(k) || v.find_first_of("\r\n") != std::string::npos) continue;
    out += k + ": " + v + "\r\n";
  }
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (!no_body && !head_only) out += resp.body;
  return out;
}

std::string ErrorBody(std::string_view message) {
  Json j;
  j["code"] = "UNDEFINED";
  j["message"] = std::string(message);
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace nydus::http
