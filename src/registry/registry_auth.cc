// Network-free helpers of the registry client.
#include "registry/registry_auth.h"

#include <cctype>

#include "base/json.h"

namespace nydus::registry {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// At most 200 characters of `s`, each non-printable one (a newline that would forge a log
// line, an escape sequence) as a space.
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) {
    out += std::isprint(static_cast<unsigned char>(c)) ? c : ' ';
  }
  return out;
}

}  // namespace

std::optional<AuthChallenge> ParseWwwAuthenticate(std::string_view h) {
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t')) ++i;
  };
  skip_ws();
  size_t start = i;
  while (i < h.size() && IsTokenChar(h[i])) ++i;
  if (i == start) return std::nullopt;
  AuthChallenge c;
  c.scheme = Lower(h.substr(start, i - start));
  for (;;) {
    skip_ws();
    while (i < h.size() && h[i] == ',') {
      ++i;
      skip_ws();
    }
    if (i >= h.size()) break;
    size_t key_start = i;
    while (i < h.size() && IsTokenChar(h[i])) ++i;
    std::string key = Lower(h.substr(key_start, i - key_start));
    skip_ws();
    if (key.empty() || i >= h.size() || h[i] != '=') {
      // Another challenge starts ("…, Basic realm=x") or garbage: keep what we have.
      if (!key.empty() && !c.params.empty()) break;
      if (key.empty()) return std::nullopt;
      break;  // a token68 credential form ("Basic abc"): no params
    }
    ++i;
    skip_ws();
    std::string value;
    if (i < h.size() && h[i] == '"') {
      ++i;
      bool closed = false;
      while (i < h.size()) {
        char ch = h[i++];
        if (ch == '\\' && i < h.size()) {
          value += h[i++];
        } else if (ch == '"') {
          closed = true;
          break;
        } else {
          value += ch;
        }
      }
      if (!closed) return std::nullopt;
    } else {
      size_t vs = i;
      while (i < h.size() && h[i] != ',' && h[i] != ' ') ++i;
      value = std::string(h.substr(vs, i - vs));
    }
    c.params[key] = std::move(value);
  }
  return c;
}

Result<TokenReply> ParseTokenReply(std::string_view body) {
  Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::Corruption("token server reply is not a JSON object");
  TokenReply r;
  for (const char* key : {"token", "access_token"}) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
      r.token = it->get<std::string>();
      break;
    }
  }
  if (r.token.empty()) return Status::Corruption("token server reply has no 'token'");
  auto it = j.find("expires_in");
  if (it != j.end() && it->is_number_integer() && it->get<int64_t>() > 0) {
    r.expires_in = it->get<uint64_t>();
  }
  return r;
}

std::string UrlEscape(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string UrlParts::ToString() const { return scheme + "://" + authority + rest; }

Result<UrlParts> SplitUrl(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return Status::InvalidArgument("not an absolute URL");
  UrlParts p;
  p.scheme = Lower(url.substr(0, sep));
  if (p.scheme != "http" && p.scheme != "https") {
    return Status::InvalidArgument("unsupported URL scheme '" + p.scheme + "'");
  }
  size_t auth_start = sep + 3;
  size_t auth_end = url.find_first_of("/?#", auth_start);
  if (auth_end == std::string_view::npos) auth_end = url.size();
  p.authority = std::string(url.substr(auth_start, auth_end - auth_start));
  if (p.authority.empty() || p.authority.find('@') != std::string::npos) {
    return Status::InvalidArgument("URL has no host or carries user info");
  }
  p.rest = std::string(url.substr(auth_end));
  if (p.rest.empty() || p.rest[0] != '/') p.rest = "/" + p.rest;
  size_t colon = p.authority.rfind(':');
  size_t bracket = p.authority.rfind(']');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    p.host = p.authority.substr(0, colon);
    p.port = p.authority.substr(colon + 1);
  } else {
    p.host = p.authority;
  }
  return p;
}

Result<std::string> ResolveLocation(const std::string& base_url, const std::string& location) {
  std::string url;
  if (location.find("://") != std::string::npos) {
    url = location;
  } else {
    ASSIGN_OR_RETURN(UrlParts base, SplitUrl(base_url));
    if (location.starts_with("//")) {
      url = base.scheme + ":" + location;
    } else if (location.starts_with("/")) {
      url = base.scheme + "://" + base.authority + location;
    } else {  // relative to the directory of the base path
      std::string path = base.rest.substr(0, base.rest.find('?'));
      url = base.scheme + "://" + base.authority + path.substr(0, path.rfind('/') + 1) + location;
    }
  }
  // Whatever the form, the result must be a URL we would fetch ("//" alone has no host,
  // "//user@host" carries user info).
  ASSIGN_OR_RETURN(UrlParts p, SplitUrl(url));
  return p.ToString();
}

std::string SummarizeErrorBody(std::string_view body) {
  if (body.empty()) return "";
  Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto errs = j.find("errors");
    if (errs != j.end() && errs->is_array() && !errs->empty() && (*errs)[0].is_object()) {
      const Json& e = (*errs)[0];
      std::string code =
          e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
      std::string msg =
          e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
      return Printable(code.empty() ? msg : msg.empty() ? code : code + ": " + msg);
    }
  }
  return Printable(body);
}

}  // namespace nydus::registry
