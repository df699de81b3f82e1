// Format dispatch (JSON v2 → TOML v2 → JSON v1, the reference's order), file loading, the
// --localfs-dir config and the list of accepted-but-unimplemented settings.
#include "daemon/config.h"

#include <sys/stat.h>

#include <cerrno>

#include "base/file_util.h"
#include "daemon/config_internal.h"

namespace nydus::daemon {
namespace {

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// nlohmann messages start with "[json.exception.parse_error.101] "; keep what follows.
std::string JsonErrorText(const char* what) {
  std::string s(what);
  if (s.starts_with("[json.exception.")) {
    size_t end = s.find("] ");
    if (end != std::string::npos) s.erase(0, end + 2);
  }
  return s;
}

Result<DaemonConfig> ParseText(std::string_view text) {
  if (IsBlank(text)) return Status::InvalidArgument("the configuration is empty");
  Json json;
  std::string json_error;
  try {
    json = Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    json_error = JsonErrorText(e.what());
  }
  if (json_error.empty()) {
    // Valid JSON is never valid TOML, so only the two JSON formats remain. The reference
    // tries v2 first: a document with "version" is v2, one with "device" is v1.
    if (json.is_object() && json.contains("version")) {
      return internal::ParseJsonV2(json, ConfigFormat::kJsonV2);
    }
    if (json.is_object() && json.contains("device")) return internal::ParseJsonV1(json);
    if (!json.is_object()) {
      return Status::InvalidArgument(std::string("expected an object at the top level, found ") +
                                     internal::DescribeJsonType(json));
    }
    return Status::InvalidArgument(
        "not a nydusd configuration: expected 'version' (format v2) or 'device' (legacy "
        "format v1) at the top level");
  }
  Result<Json> toml = internal::TomlToJson(text);
  if (toml.ok()) return internal::ParseJsonV2(*toml, ConfigFormat::kTomlV2);
  // Neither parses: report the syntax error of the format the text looks like (a TOML file
  // may start with '[', a JSON configuration always starts with '{').
  if (text[text.find_first_not_of(" \t\r\n")] == '{') {
    return Status::InvalidArgument("invalid JSON: " + json_error);
  }
  return toml.status();
}

}  // namespace

const char* ConfigFormatName(ConfigFormat f) {
  switch (f) {
    case ConfigFormat::kJsonV2:
      return "JSON v2";
    case ConfigFormat::kTomlV2:
      return "TOML v2";
    case ConfigFormat::kJsonV1:
      return "JSON v1 (legacy)";
    case ConfigFormat::kLocalfsDir:
      return "generated (--localfs-dir)";
  }
  return "unknown";
}

bool DaemonConfig::ChunkValidationEnabled() const {
  return (cache && cache->validate) || (rafs && rafs->validate);
}

Result<DaemonConfig> ParseConfig(std::string_view text, std::string_view source) {
  Result<DaemonConfig> r = ParseText(text);
  if (!r.ok()) return r.status().WithContext(source);
  return r;
}

Result<DaemonConfig> LoadConfigFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "config file " + path);
  if (static_cast<uint64_t>(st.st_size) > kMaxConfigFileSize) {
    return Status::InvalidArgument(path + ": configuration file too large (" +
                                   std::to_string(st.st_size) + " bytes, at most 1 MiB)");
  }
  ASSIGN_OR_RETURN(Bytes data, ReadWholeFile(path, kMaxConfigFileSize));
  return ParseConfig(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()),
                     path);
}

Result<DaemonConfig> LocalfsDirConfig(const std::string& dir) {
  // The reference formats this v1 document (plus a "compressed" key inside the cache config,
  // which FileCacheConfig ignores) and parses it like a file.
  Json config = {
      {"device",
       {{"backend", {{"type", "localfs"}, {"config", {{"dir", dir}, {"readahead", true}}}}},
        {"cache", {{"type", "blobcache"}, {"config", {{"work_dir", dir}}}}}}},
      {"mode", "direct"},
      {"digest_validate", false},
      {"iostats_files", false}};
  Result<DaemonConfig> r = internal::ParseJsonV1(config);
  if (!r.ok()) return r.status().WithContext("--localfs-dir");
  r->format = ConfigFormat::kLocalfsDir;
  return r;
}

std::vector<std::string> UnimplementedSettings(const DaemonConfig& config) {
  std::vector<std::string> out;
  if (config.backend && config.backend->type == "localfs" && config.backend->localfs.readahead) {
    out.push_back("backend.localfs.readahead: has no effect (nor in nydus 2.2)");
  }
  if (config.cache && config.cache->disable_indexed_map) {
    out.push_back(
        "cache.filecache.disable_indexed_map: ignored; chunk readiness is always tracked by "
        "chunk index");
  }
  if (config.rafs) {
    const RafsConfig& r = *config.rafs;
    if (r.iostats_files || r.latest_read_files) {
      out.push_back(
          "rafs.iostats_files/latest_read_files: per-file metrics are not collected; "
          "/api/v1/metrics/files answers empty");
    }
  }
  return out;
}

}  // namespace nydus::daemon
