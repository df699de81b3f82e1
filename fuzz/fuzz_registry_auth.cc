// libFuzzer target: the registry client's network-free parsers (registry/registry_auth.h): the
// WWW-Authenticate challenge, the token server's reply, URL splitting and Location resolving,
// percent-escaping, and the summary of a registry error document.
//
// The first input byte selects the parser; the rest is the text a registry (or a proxy in
// front of it) controls. Properties checked: no crash or hang; a parsed challenge has a
// lower-case token scheme and lower-case token keys; a token reply has a non-empty token and
// a positive lifetime; a split URL is http(s) with a host-only authority and re-splits to
// itself; a resolved Location is a URL that splits; an escaped string is unreserved
// characters and %XX only and unescapes to the input; an error summary is at most 200
// printable characters (it goes into logs and error lines).
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "registry/registry_auth.h"

namespace {

using namespace nydus;
using namespace nydus::registry;

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsLowerToken(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c) || std::isupper(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

void CheckChallenge(std::string_view text) {
  auto c = ParseWwwAuthenticate(text);
  if (!c) return;
  if (!IsLowerToken(c->scheme)) std::abort();
  for (const auto& [key, value] : c->params) {
    if (!IsLowerToken(key)) std::abort();
    if (c->Param(key) != value) std::abort();
  }
}

void CheckTokenReply(std::string_view text) {
  auto r = ParseTokenReply(text);
  if (!r.ok()) {
    if (r.status().code() != StatusCode::kCorruption) std::abort();
    return;
  }
  if (r->token.empty() || r->expires_in == 0) std::abort();
}

void CheckUrl(std::string_view text) {
  auto p = SplitUrl(text);
  if (!p.ok()) {
    if (p.status().code() != StatusCode::kInvalidArgument) std::abort();
    return;
  }
  if (p->scheme != "http" && p->scheme != "https") std::abort();
  if (p->authority.empty() || p->authority.find_first_of("@/?#") != std::string::npos) {
    std::abort();
  }
  if (p->rest.empty() || p->rest[0] != '/') std::abort();
  auto again = SplitUrl(p->ToString());
  if (!again.ok() || again->ToString() != p->ToString() || again->host != p->host ||
      again->port != p->port) {
    std::abort();
  }
}

void CheckLocation(std::string_view text) {
  // "base\nlocation": the URL of the request and the Location header of its response.
  size_t nl = text.find('\n');
  std::string base(nl == std::string_view::npos ? "http://registry:5000/v2/r/blobs/x"
                                                : text.substr(0, nl));
  std::string location(nl == std::string_view::npos ? text : text.substr(nl + 1));
  auto r = ResolveLocation(base, location);
  if (!r.ok()) {
    if (r.status().code() != StatusCode::kInvalidArgument) std::abort();
    return;
  }
  auto p = SplitUrl(*r);
  if (!p.ok() || p->ToString() != *r) std::abort();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void CheckEscape(std::string_view text) {
  std::string e = UrlEscape(text);
  std::string back;
  for (size_t i = 0; i < e.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(e[i]);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      back += static_cast<char>(c);
      continue;
    }
    if (c != '%' || i + 2 >= e.size() || HexValue(e[i + 1]) < 0 || HexValue(e[i + 2]) < 0) {
      std::abort();
    }
    back += static_cast<char>(HexValue(e[i + 1]) * 16 + HexValue(e[i + 2]));
    i += 2;
  }
  if (back != text) std::abort();
}

void CheckErrorSummary(std::string_view text) {
  std::string s = SummarizeErrorBody(text);
  if (s.size() > 200) std::abort();
  for (char c : s) {
    if (!std::isprint(static_cast<unsigned char>(c))) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      CheckChallenge(text);
      break;
    case 1:
      CheckTokenReply(text);
      break;
    case 2:
      CheckUrl(text);
      break;
    case 3:
      CheckLocation(text);
      break;
    case 4:
      CheckEscape(text);
      break;
    default:
      CheckErrorSummary(text);
      break;
  }
  return 0;
}
