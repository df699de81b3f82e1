// DaemonConfig: the typed nydusd configuration, parsed from any of the formats the reference
// nydusd 2.2 accepts (api/src/config.rs `ConfigV2::from_str`), tried in its order:
//   1. JSON v2   {"version": 2, "id": ..., "backend": {...}, "cache": {...}, "rafs": {...}}
//   2. TOML v2   the same keys as TOML (docs/samples/configuration_v2.toml)
//   3. JSON v1   the legacy {"device": {"backend": {"type", "config"}, "cache": {...}},
//                "mode", "digest_validate", "fs_prefetch", ...} that the snapshotter emits,
//                converted to the v2 shape exactly as the reference's TryFrom<RafsConfig>.
// Keys, defaults, required fields and the semantic checks (`validate()`) follow the 2.2.5
// serde structs. Unlike the reference (which drops unknown keys silently), an unknown key or a
// value of the wrong type is an error naming the dotted key path and the source, e.g.
// "localfs.json: unknown key 'device.backend.config.dri'". The localfs keys `readahead` and
// `readahead_sec` (shown by the reference's docs/nydusd.md, unused since 2.x) are accepted.
//
// Backends other than localfs (registry, oss, s3, localdisk, http-proxy) are recognised and
// their settings object is kept verbatim in BackendConfig::raw, unvalidated, for the issue that
// implements them; the daemon refuses them with NotSupported.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace nydus::daemon {

// Largest configuration file the reference accepts (ConfigV2::from_file).
inline constexpr uint64_t kMaxConfigFileSize = 1ull << 20;
// Upper bound of every batch size (rafs.batch_size, *.prefetch.batch_size).
inline constexpr uint64_t kMaxBatchSize = 0x10000000;

enum class ConfigFormat { kJsonV2, kTomlV2, kJsonV1, kLocalfsDir };
// "JSON v2", "TOML v2", "JSON v1 (legacy)", "generated (--localfs-dir)".
const char* ConfigFormatName(ConfigFormat f);

// [rafs.prefetch] / [cache.prefetch] (v1: fs_prefetch). The member defaults are those of a
// section that is absent (serde's derived Default: all zero). A present section takes the
// per-key defaults in the comments; `enable` is then required in v2.
struct PrefetchConfig {
  bool enable = false;
  uint64_t threads = 0;          // 8; 1..1024 when enabled (v1: threads_count, 8)
  uint64_t batch_size = 0;       // 1 MiB; <= kMaxBatchSize (v1: merging_size, 128 KiB)
  uint32_t bandwidth_limit = 0;  // bytes/s, 0 = unlimited (v1: bandwidth_rate)
  bool prefetch_all = false;     // false (v1: true)
  bool operator==(const PrefetchConfig&) const = default;
};

// [backend.localfs] (v1: device.backend.config with type "localfs").
struct LocalfsBackendConfig {
  std::string dir;                    // blob = dir/<blob_id>
  std::string blob_file;              // one file for every blob (overrides dir)
  std::vector<std::string> alt_dirs;  // searched when dir/<blob_id> is missing
  bool readahead = false;             // accepted for compatibility; no effect (as in 2.2)
  uint64_t readahead_sec = 0;         // idem
  bool operator==(const LocalfsBackendConfig&) const = default;
};

struct BackendConfig {
  // localfs | registry | oss | s3 | localdisk | http-proxy (v1: no http-proxy).
  std::string type;
  LocalfsBackendConfig localfs;  // meaningful when type == "localfs"
  // The settings object of any other type (v2 `backend.<type>`, v1 `device.backend.config`),
  // kept verbatim; null for localfs.
  Json raw;
};

struct CacheConfig {
  std::string type;         // blobcache | filecache | fscache | dummycache | ""
  bool compressed = false;  // cache.compressed
  bool validate = false;    // cache.validate (v1: always false)
  std::string work_dir;     // filecache/fscache work_dir (default "."); "" otherwise
  bool disable_indexed_map = false;
  PrefetchConfig prefetch;  // v1: fs_prefetch when enabled, else disabled
};

struct RafsConfig {
  std::string mode = "direct";       // direct | cached
  uint64_t batch_size = 128 * 1024;  // user-IO amplification, <= kMaxBatchSize (v1: amplify_io)
  bool validate = false;             // v1: digest_validate
  bool enable_xattr = false;
  bool iostats_files = false;
  bool access_pattern = false;
  bool latest_read_files = false;
  PrefetchConfig prefetch;
};

struct DaemonConfig {
  ConfigFormat format = ConfigFormat::kJsonV2;
  std::string id;
  // A v2 file may leave out any section (the reference then fails at mount time with "no
  // configuration information for ..."); v1 always yields all three.
  std::optional<BackendConfig> backend;
  std::optional<CacheConfig> cache;
  std::optional<RafsConfig> rafs;

  // Chunk digests are checked when cache.validate or rafs.validate is set
  // (ConfigV2::is_chunk_validation_enabled).
  bool ChunkValidationEnabled() const;
};

// Parses configuration text. `source` names it in errors ("<source>: <problem>"); the problem
// names the dotted key path. Errors are InvalidArgument.
Result<DaemonConfig> ParseConfig(std::string_view text, std::string_view source);

// Reads and parses a file (at most kMaxConfigFileSize bytes); errors name `path`.
Result<DaemonConfig> LoadConfigFile(const std::string& path);

// The configuration nydusd generates for `-D/--localfs-dir DIR` (reference main.rs): a v1
// config with backend localfs {dir: DIR, readahead: true}, cache blobcache {work_dir: DIR},
// mode direct, digest_validate false, iostats_files false; converted like any v1 file.
// InvalidArgument when `dir` is empty.
Result<DaemonConfig> LocalfsDirConfig(const std::string& dir);

// Settings this implementation accepts but does not act on yet, one human-readable line each
// (the daemon logs them as warnings at start), e.g. "rafs.prefetch.enable: ...".
std::vector<std::string> UnimplementedSettings(const DaemonConfig& config);

}  // namespace nydus::daemon
