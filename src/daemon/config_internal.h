// Internal to the config parser (config*.cc): a strict reader for one JSON object, the
// per-format parsers, and the checks the reference runs in `validate()`.
// Error messages name dotted key paths ("device.backend.config.dir"); the source name is
// prepended by ParseConfig.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "daemon/config.h"

namespace nydus::daemon::internal {

// "parent.key", or "key" when parent is empty.
std::string JoinPath(std::string_view parent, std::string_view key);
// "a string", "a boolean", "an unsigned integer", "a negative integer", "a floating-point
// number", "an array", "an object", "null": for "expected X, found Y" messages.
const char* DescribeJsonType(const Json& v);

// Reads the members of one JSON object against a fixed key set. Absent keys leave outputs
// unchanged (the caller pre-sets the serde default); a present key of the wrong type, or
// null where serde wants a value, is InvalidArgument naming its path.
// REQUIRES: the Json outlives the reader.
class ObjectReader {
 public:
  // InvalidArgument when `value` is not an object, or holds a key outside `known` (the first
  // one in document order).
  static Result<ObjectReader> Open(const Json& value, std::string path,
                                   std::initializer_list<std::string_view> known);

  const std::string& path() const { return path_; }
  std::string PathOf(std::string_view key) const { return JoinPath(path_, key); }
  // nullptr when absent.
  const Json* Find(std::string_view key) const;
  // Absent, or null (an Option<T> field treats null as None).
  bool IsAbsentOrNull(std::string_view key) const;

  // "missing key '<path>'" when absent.
  Status Require(std::string_view key) const;
  Status GetString(std::string_view key, std::string* out) const;
  Status GetBool(std::string_view key, bool* out) const;
  // Non-negative integers up to `max` (the Rust field's type range).
  Status GetUint(std::string_view key, uint64_t max, uint64_t* out) const;
  Status GetUint32(std::string_view key, uint32_t* out) const;
  Status GetStringArray(std::string_view key, std::vector<std::string>* out) const;

 private:
  ObjectReader(const Json* obj, std::string path) : obj_(obj), path_(std::move(path)) {}
  const Json* obj_;
  std::string path_;
};

// --- the formats; each returns a config that passed the reference's validate() checks.
Result<DaemonConfig> ParseJsonV2(const Json& root, ConfigFormat format);
Result<DaemonConfig> ParseJsonV1(const Json& root);
// TOML text → the equivalent JSON value (tables → objects, integers ≥ 0 → unsigned).
// InvalidArgument with line and column on a syntax error; dates and times are rejected.
Result<Json> TomlToJson(std::string_view text);

// --- shared parts of v1 and v2.
// localfs settings object at `path` (v2 backend.localfs, v1 device.backend.config).
Result<LocalfsBackendConfig> ParseLocalfs(const Json& value, const std::string& path);
// Presence of the fields the reference's BackendConfigV2::validate() requires for the
// not-yet-implemented backend types (registry host/repo, oss endpoint/bucket_name, ...).
Status CheckRawBackend(const std::string& type, const Json& raw, const std::string& path);
// filecache / fscache settings: work_dir (default ".") and disable_indexed_map (filecache).
Status ParseCacheDir(const Json& value, const std::string& path, bool filecache, CacheConfig* out);
Status CheckRafsMode(const std::string& mode, const std::string& path);
Status CheckBatchSize(uint64_t size, const std::string& path);
// threads in 1..1024 when enabled (paths name the keys as the source spells them).
Status CheckPrefetch(const PrefetchConfig& p, const std::string& threads_path,
                     const std::string& batch_path);

}  // namespace nydus::daemon::internal
