// libFuzzer target: nydusd configuration parsing (daemon/config.h: JSON v2, TOML v2, JSON v1)
// and the registry backend settings (registry/registry_config.h) on arbitrary text.
//
// Properties checked: parsing never crashes or hangs; errors are InvalidArgument; an accepted
// config passes the post-parse helpers; the registry settings of the parsed config (or of the
// input as a bare JSON object) parse to InvalidArgument or to a value that honours the
// documented checks (host, repo non-empty; auth decodable; never proxy and mirrors together),
// and Describe() never leaks the secrets.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "daemon/config.h"
#include "registry/registry_config.h"

namespace {

using namespace nydus;

void CheckRegistry(const Json& value) {
  auto rc = registry::ParseRegistryConfig(value, "backend.registry");
  if (!rc.ok()) {
    if (rc.status().code() != StatusCode::kInvalidArgument) std::abort();
    return;
  }
  if (rc->host.empty() || rc->repo.empty()) std::abort();
  if (!rc->proxy.url.empty() && !rc->mirrors.empty()) std::abort();
  for (const auto& m : rc->mirrors) {
    if (m.host.empty()) std::abort();
  }
  if (!registry::DecodeAuth(rc->auth).ok()) std::abort();
  std::string d = rc->Describe();
  if (rc->auth.size() >= 8 && d.find(rc->auth) != std::string::npos) std::abort();
  if (rc->registry_token.size() >= 8 && d.find(rc->registry_token) != std::string::npos) {
    std::abort();
  }
  registry::RegistryConfig copy = *rc;
  (void)registry::ApplyImagePullAuth(rc->auth.c_str(), &copy);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cfg = daemon::ParseConfig(text, "fuzz");
  if (!cfg.ok()) {
    if (cfg.status().code() != StatusCode::kInvalidArgument) std::abort();
  } else {
    (void)cfg->ChunkValidationEnabled();
    (void)daemon::UnimplementedSettings(*cfg);
    (void)daemon::ConfigFormatName(cfg->format);
    if (cfg->backend && cfg->backend->type == "registry") CheckRegistry(cfg->backend->raw);
  }
  // The input itself as the registry settings object (the daemon hands over any JSON value).
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) CheckRegistry(j);
  // base64 helpers on raw text.
  auto dec = registry::Base64Decode(text);
  if (dec.ok() && registry::Base64Decode(registry::Base64Encode(*dec)).value_or("") != *dec) {
    std::abort();
  }
  return 0;
}
