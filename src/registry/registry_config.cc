// Parsing of the registry backend settings; keys and defaults of nydus-api 2.2.5.
#include "registry/registry_config.h"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>

#include "base/redact.h"

namespace nydus::registry {

namespace {

std::string Join(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

const char* TypeName(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_unsigned:
      return "an unsigned integer";
    case Json::value_t::number_integer:
      return v.get<int64_t>() < 0 ? "a negative integer" : "an unsigned integer";
    case Json::value_t::number_float:
      return "a floating-point number";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::null:
      return "null";
    default:
      return "an unsupported value";
  }
}

Status TypeError(const std::string& path, const char* expected, const Json& found) {
  return Status::InvalidArgument("key '" + path + "': expected " + expected + ", found " +
                                 TypeName(found));
}

// Typed access to one JSON object, with unknown keys rejected up front.
class Fields {
 public:
  static Result<Fields> Open(const Json& v, const std::string& path,
                             std::initializer_list<std::string_view> known) {
    if (!v.is_object()) return TypeError(path, "an object", v);
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
        return Status::InvalidArgument("unknown key '" + Join(path, it.key()) + "'");
      }
    }
    return Fields(&v, path);
  }

  const Json* Find(std::string_view key) const {
    auto it = obj_->find(std::string(key));
    return it == obj_->end() ? nullptr : &*it;
  }
  std::string PathOf(std::string_view key) const { return Join(path_, key); }

  // `nullable`: serde Option<String>, where null means absent.
  Status String(std::string_view key, std::string* out, bool nullable = false) const {
    const Json* v = Find(key);
    if (v == nullptr || (nullable && v->is_null())) return Status::OK();
    if (!v->is_string()) return TypeError(PathOf(key), "a string", *v);
    *out = v->get<std::string>();
    return Status::OK();
  }
  Status Bool(std::string_view key, bool* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Status::OK();
    if (!v->is_boolean()) return TypeError(PathOf(key), "a boolean", *v);
    *out = v->get<bool>();
    return Status::OK();
  }
  template <typename T>
  Status Uint(std::string_view key, T* out) const {
    const Json* v = Find(key);
    if (v == nullptr) return Status::OK();
    bool non_negative =
        v->is_number_unsigned() || (v->is_number_integer() && v->get<int64_t>() >= 0);
    if (!non_negative) return TypeError(PathOf(key), "an unsigned integer", *v);
    uint64_t n = v->get<uint64_t>();
    uint64_t max = std::numeric_limits<T>::max();
    if (n > max) {
      return Status::InvalidArgument("key '" + PathOf(key) + "': " + std::to_string(n) +
                                     " is out of range (at most " + std::to_string(max) + ")");
    }
    *out = static_cast<T>(n);
    return Status::OK();
  }

 private:
  Fields(const Json* obj, std::string path) : obj_(obj), path_(std::move(path)) {}
  const Json* obj_;
  std::string path_;
};

Result<ProxyConfig> ParseProxy(const Json& v, const std::string& path) {
  ASSIGN_OR_RETURN(
      Fields f,
      Fields::Open(v, path, {"url", "ping_url", "fallback", "check_interval", "use_http"}));
  ProxyConfig p;
  RETURN_IF_ERROR(f.String("url", &p.url));
  RETURN_IF_ERROR(f.String("ping_url", &p.ping_url));
  RETURN_IF_ERROR(f.Bool("fallback", &p.fallback));
  RETURN_IF_ERROR(f.Uint("check_interval", &p.check_interval));
  RETURN_IF_ERROR(f.Bool("use_http", &p.use_http));
  return p;
}

Result<MirrorConfig> ParseMirror(const Json& v, const std::string& path) {
  ASSIGN_OR_RETURN(Fields f, Fields::Open(v, path,
                                          {"host", "ping_url", "headers", "health_check_interval",
                                           "failure_limit"}));
  MirrorConfig m;
  if (f.Find("host") == nullptr) {
    return Status::InvalidArgument("missing key '" + f.PathOf("host") + "'");
  }
  RETURN_IF_ERROR(f.String("host", &m.host));
  if (m.host.empty()) {
    return Status::InvalidArgument("key '" + f.PathOf("host") + "': must not be empty");
  }
  RETURN_IF_ERROR(f.String("ping_url", &m.ping_url));
  if (const Json* h = f.Find("headers")) {
    if (!h->is_object()) return TypeError(f.PathOf("headers"), "an object", *h);
    for (auto it = h->begin(); it != h->end(); ++it) {
      if (!it->is_string()) {
        return TypeError(Join(f.PathOf("headers"), it.key()), "a string", *it);
      }
      m.headers[it.key()] = it->get<std::string>();
    }
  }
  RETURN_IF_ERROR(f.Uint("health_check_interval", &m.health_check_interval));
  RETURN_IF_ERROR(f.Uint("failure_limit", &m.failure_limit));
  return m;
}

Status CheckAuth(const std::string& auth, const std::string& what) {
  Result<std::pair<std::string, std::string>> r = DecodeAuth(auth);
  if (!r.ok()) return r.status().WithContext(what);
  return Status::OK();
}

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::string Base64Encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t n = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == data.size()) {
    uint32_t n = uint8_t(data[i]) << 16;
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == data.size()) {
    uint32_t n = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8);
    out += kAlphabet[n >> 18];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return Status::InvalidArgument("invalid base64 length");
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const char* p = c == 0 ? nullptr : std::char_traits<char>::find(kAlphabet, 64, c);
    if (p == nullptr) return Status::InvalidArgument("invalid base64 character");
    acc = (acc << 6) | static_cast<uint32_t>(p - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

Result<std::pair<std::string, std::string>> DecodeAuth(const std::string& auth) {
  if (auth.empty()) return std::pair<std::string, std::string>();
  Result<std::string> plain = Base64Decode(auth);
  if (!plain.ok()) {
    return Status::InvalidArgument("registry auth is not valid base64 of \"user:password\"");
  }
  size_t colon = plain->find(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument(
        "registry auth must be base64 of \"user:password\" (no ':' found after decoding)");
  }
  return std::make_pair(plain->substr(0, colon), plain->substr(colon + 1));
}

std::string RegistryConfig::Describe() const {
  std::string out = (scheme == "http" ? "http://" : "https://") + host + "/v2/" + repo;
  out += auth.empty() ? " auth=none" : " auth=<redacted>";
  if (!registry_token.empty()) out += " registry_token=<redacted>";
  if (skip_verify) out += " skip_verify";
  out += " timeout=" + std::to_string(timeout) +
         "s connect_timeout=" + std::to_string(connect_timeout) +
         "s retry_limit=" + std::to_string(retry_limit);
  if (!blob_url_scheme.empty()) out += " blob_url_scheme=" + blob_url_scheme;
  if (!blob_redirected_host.empty()) out += " blob_redirected_host=" + blob_redirected_host;
  if (!proxy.url.empty()) out += " proxy=" + RedactUrl(proxy.url);
  for (const MirrorConfig& m : mirrors) out += " mirror=" + RedactUrl(m.host);
  return out;
}

Result<RegistryConfig> ParseRegistryConfig(const Json& value, const std::string& path) {
  ASSIGN_OR_RETURN(
      Fields f, Fields::Open(value, path,
                             {"scheme", "host", "repo", "auth", "skip_verify", "timeout",
                              "connect_timeout", "retry_limit", "registry_token", "blob_url_scheme",
                              "blob_redirected_host", "proxy", "mirrors"}));
  RegistryConfig c;
  RETURN_IF_ERROR(f.String("scheme", &c.scheme));
  for (const char* key : {"host", "repo"}) {
    if (f.Find(key) == nullptr) {
      return Status::InvalidArgument("missing key '" + f.PathOf(key) + "'");
    }
  }
  RETURN_IF_ERROR(f.String("host", &c.host));
  RETURN_IF_ERROR(f.String("repo", &c.repo));
  RETURN_IF_ERROR(f.String("auth", &c.auth, /*nullable=*/true));
  RETURN_IF_ERROR(f.Bool("skip_verify", &c.skip_verify));
  RETURN_IF_ERROR(f.Uint("timeout", &c.timeout));
  RETURN_IF_ERROR(f.Uint("connect_timeout", &c.connect_timeout));
  RETURN_IF_ERROR(f.Uint("retry_limit", &c.retry_limit));
  RETURN_IF_ERROR(f.String("registry_token", &c.registry_token, /*nullable=*/true));
  RETURN_IF_ERROR(f.String("blob_url_scheme", &c.blob_url_scheme));
  RETURN_IF_ERROR(f.String("blob_redirected_host", &c.blob_redirected_host));
  if (const Json* p = f.Find("proxy")) {
    ASSIGN_OR_RETURN(c.proxy, ParseProxy(*p, f.PathOf("proxy")));
  }
  if (const Json* m = f.Find("mirrors")) {
    if (!m->is_array()) return TypeError(f.PathOf("mirrors"), "an array", *m);
    for (size_t i = 0; i < m->size(); ++i) {
      ASSIGN_OR_RETURN(MirrorConfig mc,
                       ParseMirror((*m)[i], f.PathOf("mirrors") + "[" + std::to_string(i) + "]"));
      c.mirrors.push_back(std::move(mc));
    }
  }
  // The reference trims both secrets and treats empty as absent.
  auto trim = [](std::string* s) {
    size_t b = s->find_first_not_of(" \t\r\n");
    size_t e = s->find_last_not_of(" \t\r\n");
    *s = b == std::string::npos ? "" : s->substr(b, e - b + 1);
  };
  trim(&c.auth);
  trim(&c.registry_token);

  if (c.host.empty())
    return Status::InvalidArgument("key '" + f.PathOf("host") + "': must not be empty");
  if (c.repo.empty())
    return Status::InvalidArgument("key '" + f.PathOf("repo") + "': must not be empty");
  if (c.host.find('/') != std::string::npos || c.host.find("://") != std::string::npos) {
    return Status::InvalidArgument("key '" + f.PathOf("host") +
                                   "': must be a host[:port] without scheme or path, found '" +
                                   c.host + "'");
  }
  RETURN_IF_ERROR(CheckAuth(c.auth, "key '" + f.PathOf("auth") + "'"));
  if (!c.proxy.url.empty() && !c.mirrors.empty()) {
    return Status::InvalidArgument("'" + path +
                                   "': 'proxy' and 'mirrors' cannot be configured together");
  }
  return c;
}

Status ApplyImagePullAuth(const char* env_value, RegistryConfig* config) {
  if (env_value == nullptr) return Status::OK();
  std::string auth(env_value);
  RETURN_IF_ERROR(CheckAuth(auth, "environment variable IMAGE_PULL_AUTH"));
  config->auth = std::move(auth);
  return Status::OK();
}

Status ApplyImagePullAuthFromEnv(RegistryConfig* config) {
  return ApplyImagePullAuth(std::getenv("IMAGE_PULL_AUTH"), config);
}

}  // namespace nydus::registry
