// Helpers of the registry client that need no network: the WWW-Authenticate challenge parser,
// the token-server reply parser, URL splitting / resolving / escaping, and the summary of a
// registry error document. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace nydus::registry {

// One challenge of a WWW-Authenticate header: `Bearer realm="…",service="…",scope="…"`.
struct AuthChallenge {
  std::string scheme;                         // lower-cased: "basic", "bearer", ...
  std::map<std::string, std::string> params;  // keys lower-cased, values unquoted

  std::string Param(const std::string& key) const {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  }
};

// The first challenge of the header (quoted values may hold commas), or nullopt if malformed.
std::optional<AuthChallenge> ParseWwwAuthenticate(std::string_view header);

struct TokenReply {
  std::string token;
  uint64_t expires_in = 60;  // seconds; the distribution token spec's default
};
// {"token": "...", "access_token": "...", "expires_in": N}; either token key will do.
Result<TokenReply> ParseTokenReply(std::string_view body);

// Percent-encodes everything but unreserved characters (RFC 3986).
std::string UrlEscape(std::string_view s);

struct UrlParts {
  std::string scheme;     // "https"
  std::string authority;  // "host:port" (no userinfo accepted)
  std::string host;       // without the port
  std::string port;       // "" if none
  std::string rest;       // "/path?query" ("/" at least)
  std::string ToString() const;
};
// Absolute http(s) URLs only; InvalidArgument otherwise.
Result<UrlParts> SplitUrl(std::string_view url);
// A Location header resolved against the URL of the request (absolute, "//host/p", "/p").
Result<std::string> ResolveLocation(const std::string& base_url, const std::string& location);

// "CODE: message" from a registry error document {"errors":[{"code","message"}]}, or the first
// 200 printable characters of the body; "" for an empty body.
std::string SummarizeErrorBody(std::string_view body);

}  // namespace nydus::registry
