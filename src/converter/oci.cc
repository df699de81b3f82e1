// OCI / Docker schema2 documents (see the header).
#include "converter/oci.h"

namespace nydus::converter {

namespace {

Json ParseJson(const std::string& body) {
  return Json::parse(body, nullptr, /*allow_exceptions=*/false);
}

Status Bad(const std::string& where, const std::string& why) {
  return Status::InvalidArgument(where + ": " + why);
}

}  // namespace

std::string Platform::ToString() const {
  return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

Result<Platform> ParsePlatform(const std::string& s) {
  Platform p;
  size_t a = s.find('/');
  if (a == std::string::npos || a == 0) {
    return Status::InvalidArgument("invalid platform '" + s + "': expected os/arch[/variant]");
  }
  p.os = s.substr(0, a);
  std::string rest = s.substr(a + 1);
  size_t b = rest.find('/');
  p.architecture = rest.substr(0, b);
  if (b != std::string::npos) p.variant = rest.substr(b + 1);
  if (p.architecture.empty() || p.variant.find('/') != std::string::npos) {
    return Status::InvalidArgument("invalid platform '" + s + "': expected os/arch[/variant]");
  }
  return p;
}

bool IsIndexType(const std::string& t) { return t == kOciIndex || t == kDockerManifestList; }
bool IsManifestType(const std::string& t) { return t == kOciManifest || t == kDockerManifest; }

Json Descriptor::ToJson() const {
  Json j;
  j["mediaType"] = media_type;
  j["digest"] = digest;
  j["size"] = size;
  if (!annotations.empty()) {
    Json a = Json::object();
    for (const auto& [k, v] : annotations) a[k] = v;
    j["annotations"] = a;
  }
  if (has_platform) {
    Json p;
    p["architecture"] = platform.architecture;
    p["os"] = platform.os;
    if (!platform.variant.empty()) p["variant"] = platform.variant;
    if (!platform.os_features.empty()) p["os.features"] = platform.os_features;
    j["platform"] = p;
  }
  return j;
}

Json ImageManifest::ToJson() const {
  Json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = media_type;
  j["config"] = config.ToJson();
  Json l = Json::array();
  for (const auto& d : layers) l.push_back(d.ToJson());
  j["layers"] = l;
  return j;
}

Result<Descriptor> ParseDescriptor(const Json& j, const std::string& where) {
  if (!j.is_object()) return Bad(where, "not an object");
  Descriptor d;
  if (!j.contains("digest") || !j["digest"].is_string()) return Bad(where, "missing digest");
  d.digest = j["digest"].get<std::string>();
  // 64 lowercase hex digits: the digest names files in the work dir (a registry could send
  // "sha256:../../…" of the right length).
  if (!d.digest.starts_with("sha256:") || d.digest.size() != 71 ||
      d.digest.find_first_not_of("0123456789abcdef", 7) != std::string::npos) {
    return Bad(where, "unsupported digest '" + d.digest + "'");
  }
  if (j.contains("mediaType") && j["mediaType"].is_string()) {
    d.media_type = j["mediaType"].get<std::string>();
  }
  if (!j.contains("size") || !j["size"].is_number_unsigned()) return Bad(where, "missing size");
  d.size = j["size"].get<uint64_t>();
  if (j.contains("annotations") && j["annotations"].is_object()) {
    for (const auto& [k, v] : j["annotations"].items()) {
      if (v.is_string()) d.annotations[k] = v.get<std::string>();
    }
  }
  if (j.contains("platform") && j["platform"].is_object()) {
    const Json& p = j["platform"];
    d.has_platform = true;
    if (p.contains("os") && p["os"].is_string()) d.platform.os = p["os"];
    if (p.contains("architecture") && p["architecture"].is_string()) {
      d.platform.architecture = p["architecture"];
    }
    if (p.contains("variant") && p["variant"].is_string()) d.platform.variant = p["variant"];
    if (p.contains("os.features") && p["os.features"].is_array()) {
      for (const auto& f : p["os.features"]) {
        if (f.is_string()) d.platform.os_features.push_back(f);
      }
    }
  }
  return d;
}

Result<ImageManifest> ParseManifest(const std::string& body, const std::string& content_type) {
  Json j = ParseJson(body);
  if (!j.is_object()) return Bad("manifest", "not a JSON object");
  ImageManifest m;
  m.media_type = j.contains("mediaType") && j["mediaType"].is_string()
                     ? j["mediaType"].get<std::string>()
                     : content_type;
  if (m.media_type.empty()) m.media_type = kOciManifest;
  if (IsIndexType(m.media_type) || j.contains("manifests")) {
    return Bad("manifest", "is an index, not an image manifest");
  }
  if (!IsManifestType(m.media_type)) {
    return Bad("manifest", "unsupported media type '" + m.media_type + "'");
  }
  if (!j.contains("schemaVersion") || j["schemaVersion"] != 2) {
    return Bad("manifest", "schemaVersion must be 2");
  }
  if (!j.contains("config")) return Bad("manifest", "missing config");
  ASSIGN_OR_RETURN(m.config, ParseDescriptor(j["config"], "manifest.config"));
  if (!j.contains("layers") || !j["layers"].is_array()) return Bad("manifest", "missing layers");
  for (size_t i = 0; i < j["layers"].size(); ++i) {
    ASSIGN_OR_RETURN(Descriptor d,
                     ParseDescriptor(j["layers"][i], "manifest.layers[" + std::to_string(i) + "]"));
    m.layers.push_back(std::move(d));
  }
  return m;
}

Result<std::vector<Descriptor>> ParseIndex(const std::string& body) {
  Json j = ParseJson(body);
  if (!j.is_object() || !j.contains("manifests") || !j["manifests"].is_array()) {
    return Bad("index", "missing manifests");
  }
  std::vector<Descriptor> out;
  for (size_t i = 0; i < j["manifests"].size(); ++i) {
    ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(j["manifests"][i],
                                                   "index.manifests[" + std::to_string(i) + "]"));
    out.push_back(std::move(d));
  }
  return out;
}

Result<Descriptor> SelectPlatform(const std::vector<Descriptor>& manifests, const Platform& want,
                                  bool prefer_nydus) {
  const Descriptor* best = nullptr;
  std::string available;
  for (const auto& d : manifests) {
    if (!d.has_platform) continue;
    available += (available.empty() ? "" : ", ") + d.platform.ToString();
    if (d.platform.os != want.os || d.platform.architecture != want.architecture) continue;
    if (!want.variant.empty() && !d.platform.variant.empty() &&
        want.variant != d.platform.variant) {
      continue;
    }
    bool nydus = false;
    for (const auto& f : d.platform.os_features) nydus |= (f == kNydusFeature);
    if (!best || (prefer_nydus && nydus)) best = &d;
  }
  if (!best) {
    return Status::NotFound("no manifest for platform " + want.ToString() +
                            " (available: " + (available.empty() ? "none" : available) + ")");
  }
  return *best;
}

}  // namespace nydus::converter
