// Legacy configuration format v1 (reference api/src/config.rs `RafsConfig`, converted to the
// v2 shape by `TryFrom<RafsConfig> for ConfigV2`):
//   {"device": {"id", "backend": {"type", "config"}, "cache": {"type", "compressed", "config"}},
//    "mode" (required), "digest_validate", "iostats_files", "enable_xattr", "access_pattern",
//    "latest_read_files", "amplify_io", "fs_prefetch": {"enable", "threads_count",
//    "merging_size", "bandwidth_rate", "prefetch_all"}}
#include <limits>

#include "daemon/config_internal.h"

namespace nydus::daemon::internal {
namespace {

constexpr uint64_t kUsizeMax = std::numeric_limits<uint64_t>::max();

// FsPrefetchControl: when the object is present every key has a serde default (threads 8,
// merging 128 KiB, prefetch_all true); an absent object is the derived Default (all zero).
Result<PrefetchConfig> ParseFsPrefetch(const Json& value) {
  ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Open(value, "fs_prefetch",
                                                      {"enable", "threads_count", "merging_size",
                                                       "bandwidth_rate", "prefetch_all"}));
  PrefetchConfig p;
  p.threads = 8;
  p.batch_size = 128 * 1024;
  p.prefetch_all = true;
  RETURN_IF_ERROR(r.GetBool("enable", &p.enable));
  RETURN_IF_ERROR(r.GetUint("threads_count", kUsizeMax, &p.threads));
  RETURN_IF_ERROR(r.GetUint("merging_size", kUsizeMax, &p.batch_size));
  RETURN_IF_ERROR(r.GetUint32("bandwidth_rate", &p.bandwidth_limit));
  RETURN_IF_ERROR(r.GetBool("prefetch_all", &p.prefetch_all));
  RETURN_IF_ERROR(CheckPrefetch(p, r.PathOf("threads_count"), r.PathOf("merging_size")));
  return p;
}

// v1 backend types: localdisk | localfs | oss | s3 | registry (no http-proxy).
Result<BackendConfig> ParseBackendV1(const Json& value) {
  ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Open(value, "device.backend", {"type", "config"}));
  BackendConfig b;
  RETURN_IF_ERROR(r.Require("type"));
  RETURN_IF_ERROR(r.GetString("type", &b.type));
  RETURN_IF_ERROR(r.Require("config"));
  const Json& settings = *r.Find("config");
  if (b.type == "localfs") {
    ASSIGN_OR_RETURN(b.localfs, ParseLocalfs(settings, r.PathOf("config")));
    return b;
  }
  if (b.type == "registry" || b.type == "oss" || b.type == "s3" || b.type == "localdisk") {
    RETURN_IF_ERROR(CheckRawBackend(b.type, settings, r.PathOf("config")));
    b.raw = settings;
    return b;
  }
  return Status::InvalidArgument("key 'device.backend.type': unsupported backend type '" + b.type +
                                 "' (localfs, registry, oss, s3 or localdisk)");
}

// v1 cache types: blobcache | filecache | fscache | "" (dummycache is v2 only).
Result<CacheConfig> ParseCacheV1(const Json& value) {
  ASSIGN_OR_RETURN(ObjectReader r,
                   ObjectReader::Open(value, "device.cache", {"type", "compressed", "config"}));
  CacheConfig c;
  RETURN_IF_ERROR(r.GetString("type", &c.type));
  RETURN_IF_ERROR(r.GetBool("compressed", &c.compressed));
  const bool file = c.type == "blobcache" || c.type == "filecache";
  if (file || c.type == "fscache") {
    // `config` defaults to null, which does not deserialize into FileCacheConfig.
    if (r.IsAbsentOrNull("config")) {
      return Status::InvalidArgument("missing key 'device.cache.config' (device.cache.type is '" +
                                     c.type + "')");
    }
    RETURN_IF_ERROR(ParseCacheDir(*r.Find("config"), r.PathOf("config"), file, &c));
  } else if (!c.type.empty()) {
    return Status::InvalidArgument("key 'device.cache.type': unsupported cache type '" + c.type +
                                   "' (blobcache, filecache, fscache or \"\")");
  }
  // BlobPrefetchConfig is never deserialized in v1; its default converts to this.
  c.prefetch = PrefetchConfig{};
  c.prefetch.prefetch_all = true;
  return c;
}

Result<RafsConfig> ParseRafsV1(const ObjectReader& r) {
  RafsConfig c;
  RETURN_IF_ERROR(r.Require("mode"));
  RETURN_IF_ERROR(r.GetString("mode", &c.mode));
  RETURN_IF_ERROR(r.GetBool("digest_validate", &c.validate));
  RETURN_IF_ERROR(r.GetBool("iostats_files", &c.iostats_files));
  RETURN_IF_ERROR(r.GetBool("enable_xattr", &c.enable_xattr));
  RETURN_IF_ERROR(r.GetBool("access_pattern", &c.access_pattern));
  RETURN_IF_ERROR(r.GetBool("latest_read_files", &c.latest_read_files));
  RETURN_IF_ERROR(r.GetUint("amplify_io", kUsizeMax, &c.batch_size));
  if (r.Find("fs_prefetch") != nullptr) {
    ASSIGN_OR_RETURN(c.prefetch, ParseFsPrefetch(*r.Find("fs_prefetch")));
  }
  RETURN_IF_ERROR(CheckRafsMode(c.mode, "mode"));
  RETURN_IF_ERROR(CheckBatchSize(c.batch_size, "amplify_io"));
  return c;
}

}  // namespace

Result<DaemonConfig> ParseJsonV1(const Json& root) {
  ASSIGN_OR_RETURN(
      ObjectReader r,
      ObjectReader::Open(root, "",
                         {"device", "mode", "digest_validate", "iostats_files", "fs_prefetch",
                          "enable_xattr", "access_pattern", "latest_read_files", "amplify_io"}));
  RETURN_IF_ERROR(r.Require("device"));
  ASSIGN_OR_RETURN(ObjectReader device,
                   ObjectReader::Open(*r.Find("device"), "device", {"id", "backend", "cache"}));
  DaemonConfig config;
  config.format = ConfigFormat::kJsonV1;
  RETURN_IF_ERROR(device.GetString("id", &config.id));
  RETURN_IF_ERROR(device.Require("backend"));
  ASSIGN_OR_RETURN(config.backend, ParseBackendV1(*device.Find("backend")));
  if (device.Find("cache") != nullptr) {
    ASSIGN_OR_RETURN(config.cache, ParseCacheV1(*device.Find("cache")));
  } else {
    CacheConfig c;  // CacheConfig::default(): type "", no prefetch
    c.prefetch.prefetch_all = true;
    config.cache = c;
  }
  ASSIGN_OR_RETURN(config.rafs, ParseRafsV1(r));
  // The cache inherits the filesystem prefetch settings when its own prefetch is off.
  if (!config.cache->prefetch.enable && config.rafs->prefetch.enable) {
    config.cache->prefetch = config.rafs->prefetch;
  }
  return config;
}

}  // namespace nydus::daemon::internal
