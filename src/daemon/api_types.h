// Value types of nydusd's HTTP API (api_router.h) and their JSON, field for field the
// reference's (nydus 2.2: api/src/http.rs, utils/src/metrics.rs, service/src/daemon.rs).
//
// The metric structs are snapshots: the daemon keeps its own (atomic) counters and copies them
// into these when asked. Histogram buckets follow the reference exactly; use the *Index
// helpers below to pick a bucket so that our numbers mean what the reference's mean.
// Ownership: plain values. Thread-safety: none needed (values; the functions are pure).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace nydus::daemon {

// File operations counted per filesystem, in the reference's order (StatsFop).
enum class StatsFop : int {
  kGetattr = 0,
  kReadlink,
  kOpen,
  kRelease,
  kRead,
  kStatfs,
  kGetxattr,
  kListxattr,
  kOpendir,
  kLookup,
  kReaddir,
  kReaddirplus,
  kAccess,
  kForget,
  kBatchForget,
};
inline constexpr size_t kStatsFopMax = 15;
// Lower-case names ("getattr", ..., "batch_forget"), used as Prometheus labels.
const char* StatsFopName(StatsFop fop);

// Request-size buckets: <1K, 1K~, 4K~, 16K~, 64K~, 128K~, 512K~, 1M~.
inline constexpr size_t kBlockReadSizesMax = 8;
// Latency buckets (8): fs reads in micros (<=200us, <=1ms, <=20ms, <=50ms, <=500ms, <=1s, <=2s,
// >2s), backend reads in millis (<=1ms, <=20ms, <=50ms, <=100ms, <=500ms, <=1s, <=2s, >2s).
inline constexpr size_t kReadLatencyRangeMax = 8;
size_t RequestSizeIndex(uint64_t size);
size_t LatencyMicrosIndex(uint64_t micros);
size_t LatencyMillisIndex(uint64_t millis);

using U64Sizes = std::array<uint64_t, kBlockReadSizesMax>;
using U64Fops = std::array<uint64_t, kStatsFopMax>;
using U64Latency = std::array<uint64_t, kReadLatencyRangeMax>;

// GET /api/v1/metrics: the reference's FsIoStats.
struct FsMetrics {
  bool files_account_enabled = false;
  bool access_pattern_enabled = false;
  bool record_latest_read_files_enabled = false;
  bool measure_latency = false;
  std::string id;  // the mountpoint
  uint64_t nr_opens = 0;
  uint64_t data_read = 0;
  U64Sizes block_count_read{};
  U64Fops fop_hits{};
  U64Fops fop_errors{};
  U64Fops fop_cumulative_latency_total{};  // micros
  U64Latency read_latency_dist{};          // micros buckets
};

// One value of GET /api/v1/metrics/files: the reference's InodeIoStats.
struct InodeMetrics {
  uint64_t total_fops = 0;
  uint64_t data_read = 0;
  U64Sizes block_count_read{};
  U64Fops fop_hits{};
  U64Fops fop_errors{};
};

// One element of GET /api/v1/metrics/pattern, in first-access order. `path` (an absolute
// path of the inode inside the image, "" when unknown), `size` (the file size), `ranges`
// (which bytes reads touched: runs of 64 KiB blocks as [offset, length] pairs in offset order,
// the last one cut at `size`) and `bytes_touched` (their total, at most `size`) are our
// additions: the reference reports inode numbers only. nydusctl access-pattern turns them
// into a prefetch list.
struct AccessPattern {
  uint64_t ino = 0;
  uint64_t nr_read = 0;
  uint64_t first_access_time_secs = 0;
  uint32_t first_access_time_nanos = 0;
  std::string path;
  uint64_t size = 0;
  uint64_t bytes_touched = 0;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // serialised as [[offset, length], ...]
};

// GET /api/v1/metrics/backend: the reference's BackendMetrics (id is not serialised).
struct BackendMetrics {
  std::string id;
  std::string backend_type;  // "localfs", "registry", ...
  uint64_t read_count = 0;
  uint64_t read_errors = 0;
  uint64_t read_amount_total = 0;
  uint64_t read_cumulative_latency_millis_total = 0;
  U64Sizes read_cumulative_latency_millis_dist{};
  U64Sizes read_count_block_size_dist{};
  std::array<U64Latency, kBlockReadSizesMax> read_latency_sizes_dist{};  // [size][latency]
};

// GET /api/v1/metrics/blobcache: the reference's BlobcacheMetrics (id is not serialised).
struct BlobcacheMetrics {
  std::string id;
  std::vector<std::string> underlying_files;
  std::string store_path;
  uint64_t partial_hits = 0;
  uint64_t whole_hits = 0;
  uint64_t total = 0;
  uint64_t entries_count = 0;
  uint64_t prefetch_data_amount = 0;
  uint64_t prefetch_requests_count = 0;
  uint64_t prefetch_workers = 0;
  uint64_t prefetch_unmerged_chunks = 0;
  uint64_t prefetch_cumulative_time_millis = 0;
  uint64_t prefetch_begin_time_secs = 0;
  uint64_t prefetch_begin_time_millis = 0;
  uint64_t prefetch_end_time_secs = 0;
  uint64_t prefetch_end_time_millis = 0;
  uint64_t buffered_backend_size = 0;
  bool data_all_ready = false;
};

// One element of GET /api/v1/metrics/inflight: a FUSE request being served.
struct InflightOp {
  uint64_t inode = 0;
  uint32_t opcode = 0;
  uint64_t unique = 0;
  uint64_t timestamp_secs = 0;
};

// GET /api/v1/daemon/events: the reference's ErrorHolder.
struct ErrorEvents {
  uint64_t max_errors = 500;
  uint64_t total_errors = 0;
  uint64_t max_size = 50 * 1024;
  uint64_t total_size = 0;
  std::vector<std::string> errors;
};

enum class DaemonState { kInit = 1, kRunning = 2, kReady = 3, kStopped = 4, kUnknown = 5 };
const char* DaemonStateName(DaemonState s);  // "INIT", "RUNNING", ...

// The reference's BuildTimeInfo; `rustc` keeps its name (we put the compiler there).
struct BuildInfo {
  std::string package_ver, git_commit, build_time, profile, rustc;
};

// One mounted filesystem in DaemonInfo::backend_collection (FsBackendDescriptor).
struct FsBackendDescriptor {
  std::string backend_type = "Rafs";  // "Rafs" or "PassthroughFs", as the reference's enum
  std::string mountpoint;
  std::string mounted_time;  // FormatMountedTime()
  Json config;               // the fs config without secrets, or null
};

// GET /api/v1/daemon.
struct DaemonInfo {
  BuildInfo version;
  std::optional<std::string> id;
  std::optional<std::string> supervisor;
  DaemonState state = DaemonState::kRunning;
  // nullopt serialises as null (as /api/v2/daemon does); keys are mountpoints.
  std::optional<std::map<std::string, FsBackendDescriptor>> backend_collection;
};

// The body of POST/PUT /api/v1/mount (ApiMountCmd).
struct MountCmd {
  std::string source;   // bootstrap path
  std::string fs_type;  // "rafs" or "passthrough_fs"; "" when absent (serde default)
  std::string config;   // the fs config as JSON text
  std::optional<std::vector<std::string>> prefetch_files;
};

// "2023-01-05 08:15:36.5 +00:00:00": the reference's mounted_time (time crate, human-readable).
std::string FormatMountedTime(std::chrono::system_clock::time_point t);

Json ToJson(const FsMetrics& m);
Json ToJson(const InodeMetrics& m);
Json ToJson(const AccessPattern& p);
Json ToJson(const BackendMetrics& m);
Json ToJson(const BlobcacheMetrics& m);
Json ToJson(const InflightOp& op);
Json ToJson(const ErrorEvents& e);
Json ToJson(const FsBackendDescriptor& d);
Json ToJson(const DaemonInfo& info);
Json ToJson(const MountCmd& cmd);

// Strict decoders of request bodies: InvalidArgument naming the problem (not JSON, a missing
// or mistyped field). Unknown fields are ignored, as serde does.
Result<MountCmd> ParseMountCmd(std::string_view body);
// {"log_level": "..."} → the level, lower-cased and checked to be one of
// off|error|warn|info|debug|trace (the reference's log::LevelFilter, case-insensitive).
Result<std::string> ParseDaemonConf(std::string_view body);

// Json::dump that never throws: invalid UTF-8 in strings is replaced.
std::string DumpJson(const Json& j);

}  // namespace nydus::daemon
