// RegistryConfig: the settings of the `registry` storage backend (reference spec §4.2
// "Backend configs", nydus-api 2.2.5 `RegistryConfig`, `ProxyConfig`, `MirrorConfig`), parsed
// from the JSON object the daemon keeps verbatim (v2 `backend.registry`, v1
// `device.backend.config`). Unknown keys and values of the wrong type are InvalidArgument
// naming the dotted key, like the daemon's own config parser.
//
// Secrets: `auth` and `registry_token` are credentials; never log a RegistryConfig directly,
// use Describe(), which redacts them.
// Thread-safety: plain values and pure functions (ApplyImagePullAuth reads the environment).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace nydus::registry {

struct ProxyConfig {
  std::string url;              // an HTTP proxy (e.g. dfdaemon) for blob requests; "" = none
  std::string ping_url;         // health check endpoint (parsed; not probed yet)
  bool fallback = true;         // on a transport error or status >= 500, go to the origin
  uint64_t check_interval = 5;  // seconds
  bool use_http = false;        // downgrade https URLs to http when sent through the proxy
};

struct MirrorConfig {
  std::string host;                            // e.g. "http://127.0.0.1:65001"
  std::string ping_url;                        // default "<host>/v2"
  std::map<std::string, std::string> headers;  // added to requests sent to this mirror
  uint64_t health_check_interval = 5;          // seconds
  uint8_t failure_limit = 5;                   // failures before the mirror is skipped
};

struct RegistryConfig {
  std::string scheme = "https";  // "http" = plain HTTP; anything else https (+ http fallback)
  std::string host;              // required, "registry.example.com[:port]"
  std::string repo;              // required, "library/ubuntu"
  std::string auth;              // base64("user:pass"); "" = anonymous
  std::string registry_token;    // a pre-issued bearer token
  bool skip_verify = false;
  uint32_t timeout = 5;              // seconds, whole request
  uint32_t connect_timeout = 5;      // seconds
  uint8_t retry_limit = 0;           // extra attempts after a transport error or 5xx
  std::string blob_url_scheme;       // replaces the scheme of a blob redirect
  std::string blob_redirected_host;  // replaces the host of a blob redirect
  ProxyConfig proxy;
  std::vector<MirrorConfig> mirrors;

  // "https://host/v2/repo" plus which optional settings are set; never the secrets.
  std::string Describe() const;
};

// `path` is the dotted key of `value` used in messages (e.g. "backend.registry").
// Checks what the reference checks: host and repo present and non-empty, `auth` (if set) is
// base64 of "user:pass", proxy and mirrors not both set, mirror hosts non-empty.
Result<RegistryConfig> ParseRegistryConfig(const Json& value, const std::string& path);

// nydusd's IMAGE_PULL_AUTH: when the variable is set (even to ""), its value replaces
// `auth` (reference `ConfigV2::update_registry_auth_info`, which overwrites unconditionally).
// InvalidArgument if the value is not base64 of "user:pass". `env_value` null = unset.
Status ApplyImagePullAuth(const char* env_value, RegistryConfig* config);
// Reads IMAGE_PULL_AUTH from the environment and applies it.
Status ApplyImagePullAuthFromEnv(RegistryConfig* config);

// base64("user:pass") → {user, pass}; "" → {"", ""}. InvalidArgument (without the secret) for
// bad base64 or a missing ':'.
Result<std::pair<std::string, std::string>> DecodeAuth(const std::string& auth);

std::string Base64Encode(std::string_view data);
// Standard alphabet, padding optional; whitespace is not allowed. nullopt if invalid.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace nydus::registry
