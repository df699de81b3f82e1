// Configuration format v2 (JSON or TOML, reference api/src/config.rs `ConfigV2`):
//   version (required, must be 2), id,
//   backend {type, localfs|registry|oss|s3|localdisk|http-proxy},
//   cache {type, compressed, validate, prefetch, filecache {work_dir, disable_indexed_map},
//          fscache {work_dir}},
//   rafs {mode, batch_size, validate, enable_xattr, iostats_files, access_pattern,
//         latest_read_files, prefetch}.
#include <limits>

#include "daemon/config_internal.h"

namespace nydus::daemon::internal {
namespace {

constexpr uint64_t kUsizeMax = std::numeric_limits<uint64_t>::max();
const char* const kRawBackendTypes[] = {"registry", "oss", "s3", "localdisk", "http-proxy"};

// PrefetchConfigV2: `enable` has no serde default, so it is required once the table exists.
Result<PrefetchConfig> ParsePrefetch(const Json& value, const std::string& path) {
  ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Open(value, path,
                                                      {"enable", "threads", "batch_size",
                                                       "bandwidth_limit", "prefetch_all"}));
  PrefetchConfig p;
  p.threads = 8;
  p.batch_size = 1ull << 20;
  RETURN_IF_ERROR(r.Require("enable"));
  RETURN_IF_ERROR(r.GetBool("enable", &p.enable));
  RETURN_IF_ERROR(r.GetUint("threads", kUsizeMax, &p.threads));
  RETURN_IF_ERROR(r.GetUint("batch_size", kUsizeMax, &p.batch_size));
  RETURN_IF_ERROR(r.GetUint32("bandwidth_limit", &p.bandwidth_limit));
  RETURN_IF_ERROR(r.GetBool("prefetch_all", &p.prefetch_all));
  RETURN_IF_ERROR(CheckPrefetch(p, r.PathOf("threads"), r.PathOf("batch_size")));
  return p;
}

Result<BackendConfig> ParseBackend(const Json& value) {
  ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Open(value, "backend",
                                                      {"type", "localdisk", "localfs", "oss", "s3",
                                                       "registry", "http-proxy"}));
  BackendConfig b;
  RETURN_IF_ERROR(r.Require("type"));
  RETURN_IF_ERROR(r.GetString("type", &b.type));
  // Every present section is decoded (the reference deserializes them all), even when
  // `type` selects another one.
  if (!r.IsAbsentOrNull("localfs")) {
    ASSIGN_OR_RETURN(b.localfs, ParseLocalfs(*r.Find("localfs"), r.PathOf("localfs")));
  }
  for (const char* t : kRawBackendTypes) {
    if (!r.IsAbsentOrNull(t)) {
      const Json& section = *r.Find(t);
      if (!section.is_object()) {
        return Status::InvalidArgument("key '" + r.PathOf(t) + "': expected an object, found " +
                                       DescribeJsonType(section));
      }
      if (b.type == t) b.raw = section;
    }
  }
  bool known = b.type == "localfs";
  for (const char* t : kRawBackendTypes) known = known || b.type == t;
  if (!known) {
    return Status::InvalidArgument("key 'backend.type': unknown backend type '" + b.type +
                                   "' (localfs, registry, oss, s3, localdisk or http-proxy)");
  }
  if (r.IsAbsentOrNull(b.type)) {
    return Status::InvalidArgument("missing key '" + r.PathOf(b.type) + "' (backend.type is '" +
                                   b.type + "')");
  }
  if (b.type != "localfs") RETURN_IF_ERROR(CheckRawBackend(b.type, b.raw, r.PathOf(b.type)));
  return b;
}

Result<CacheConfig> ParseCache(const Json& value) {
  ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Open(value, "cache",
                                                      {"type", "compressed", "validate", "prefetch",
                                                       "filecache", "fscache"}));
  CacheConfig c;
  RETURN_IF_ERROR(r.GetString("type", &c.type));
  RETURN_IF_ERROR(r.GetBool("compressed", &c.compressed));
  RETURN_IF_ERROR(r.GetBool("validate", &c.validate));
  if (r.Find("prefetch") != nullptr) {
    ASSIGN_OR_RETURN(c.prefetch, ParsePrefetch(*r.Find("prefetch"), r.PathOf("prefetch")));
  }
  const bool file = c.type == "blobcache" || c.type == "filecache";
  const bool fs = c.type == "fscache";
  if (!file && !fs && !c.type.empty() && c.type != "dummycache") {
    return Status::InvalidArgument("key 'cache.type': unknown cache type '" + c.type +
                                   "' (blobcache, filecache, fscache, dummycache or \"\")");
  }
  for (const char* section : {"filecache", "fscache"}) {
    const bool selected = std::string_view(section) == "filecache" ? file : fs;
    if (r.IsAbsentOrNull(section)) {
      if (selected) {
        return Status::InvalidArgument("missing key '" + r.PathOf(section) + "' (cache.type is '" +
                                       c.type + "')");
      }
      continue;
    }
    CacheConfig scratch;
    CacheConfig* out = selected ? &c : &scratch;
    RETURN_IF_ERROR(ParseCacheDir(*r.Find(section), r.PathOf(section),
                                  std::string_view(section) == "filecache", out));
  }
  return c;
}

Result<RafsConfig> ParseRafs(const Json& value) {
  ASSIGN_OR_RETURN(
      ObjectReader r,
      ObjectReader::Open(value, "rafs",
                         {"mode", "batch_size", "validate", "enable_xattr", "iostats_files",
                          "access_pattern", "latest_read_files", "prefetch"}));
  RafsConfig c;
  RETURN_IF_ERROR(r.GetString("mode", &c.mode));
  RETURN_IF_ERROR(r.GetUint("batch_size", kUsizeMax, &c.batch_size));
  RETURN_IF_ERROR(r.GetBool("validate", &c.validate));
  RETURN_IF_ERROR(r.GetBool("enable_xattr", &c.enable_xattr));
  RETURN_IF_ERROR(r.GetBool("iostats_files", &c.iostats_files));
  RETURN_IF_ERROR(r.GetBool("access_pattern", &c.access_pattern));
  RETURN_IF_ERROR(r.GetBool("latest_read_files", &c.latest_read_files));
  if (r.Find("prefetch") != nullptr) {
    ASSIGN_OR_RETURN(c.prefetch, ParsePrefetch(*r.Find("prefetch"), r.PathOf("prefetch")));
  }
  RETURN_IF_ERROR(CheckRafsMode(c.mode, r.PathOf("mode")));
  RETURN_IF_ERROR(CheckBatchSize(c.batch_size, r.PathOf("batch_size")));
  return c;
}

}  // namespace

Result<DaemonConfig> ParseJsonV2(const Json& root, ConfigFormat format) {
  ASSIGN_OR_RETURN(ObjectReader r,
                   ObjectReader::Open(root, "", {"version", "id", "backend", "cache", "rafs"}));
  DaemonConfig config;
  config.format = format;
  RETURN_IF_ERROR(r.Require("version"));
  uint32_t version = 0;
  RETURN_IF_ERROR(r.GetUint32("version", &version));
  if (version != 2) {
    return Status::InvalidArgument("key 'version': must be 2, found " + std::to_string(version));
  }
  RETURN_IF_ERROR(r.GetString("id", &config.id));
  // backend, cache and rafs are Option<T>: absent or null means "not configured".
  if (!r.IsAbsentOrNull("backend")) {
    ASSIGN_OR_RETURN(config.backend, ParseBackend(*r.Find("backend")));
  }
  if (!r.IsAbsentOrNull("cache")) {
    ASSIGN_OR_RETURN(config.cache, ParseCache(*r.Find("cache")));
  }
  if (!r.IsAbsentOrNull("rafs")) {
    ASSIGN_OR_RETURN(config.rafs, ParseRafs(*r.Find("rafs")));
  }
  return config;
}

}  // namespace nydus::daemon::internal
