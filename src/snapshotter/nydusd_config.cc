// nydusd configuration for one image (see the header).
#include "snapshotter/nydusd_config.h"

namespace nydus::snapshotter {

Json DefaultNydusdConfig() {
  return Json{{"device",
               {{"backend",
                 {{"type", "registry"},
                  {"config", {{"timeout", 30}, {"connect_timeout", 10}, {"retry_limit", 2}}}}},
                {"cache", {{"type", "blobcache"}}}}},
              {"mode", "direct"},
              {"digest_validate", false},
              {"iostats_files", false},
              {"enable_xattr", true},
              {"fs_prefetch", {{"enable", false}}}};
}

Result<Json> ParseNydusdTemplate(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("nydusd config template is not a JSON object");
  }
  auto dev = j.find("device");
  if (dev == j.end() || !dev->is_object()) {
    return Status::InvalidArgument("nydusd config template has no \"device\" object (v1 format)");
  }
  auto be = dev->find("backend");
  if (be != dev->end() &&
      (!be->is_object() || (be->contains("type") && !(*be)["type"].is_string()))) {
    return Status::InvalidArgument("nydusd config template: bad \"device.backend\"");
  }
  return j;
}

Result<Json> BuildNydusdConfig(const Json& tmpl, const converter::ImageRef& ref,
                               const std::string& cache_dir) {
  Json cfg = tmpl;
  Json& dev = cfg["device"];
  if (!dev.is_object())
    return Status::InvalidArgument("nydusd config: \"device\" is not an object");
  Json& backend = dev["backend"];
  if (backend.is_null()) backend = Json::object();
  if (!backend.contains("type")) backend["type"] = "registry";
  if (backend["type"] == "registry") {
    Json& c = backend["config"];
    if (c.is_null()) c = Json::object();
    if (!c.is_object())
      return Status::InvalidArgument("nydusd config: backend config not an object");
    c["host"] = ref.ApiHost();
    c["repo"] = ref.repo;
  }
  Json& cache = dev["cache"];
  if (cache.is_null()) cache = Json{{"type", "blobcache"}};
  if (!cache.is_object()) return Status::InvalidArgument("nydusd config: cache not an object");
  if (!cache.contains("type")) cache["type"] = "blobcache";
  Json& cc = cache["config"];
  if (cc.is_null()) cc = Json::object();
  cc["work_dir"] = cache_dir;
  return cfg;
}

}  // namespace nydus::snapshotter
