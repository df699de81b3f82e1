// JSON of the API value types (see api_types.h).
#include "daemon/api_types.h"

#include <bit>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <utility>

#include "fs/fs_stats.h"

namespace nydus::daemon {

const char* StatsFopName(StatsFop fop) {
  static constexpr const char* kNames[kStatsFopMax] = {
      "getattr", "readlink",    "open",      "release", "read",
      "statfs",  "getxattr",    "listxattr", "opendir", "lookup",
      "readdir", "readdirplus", "access",    "forget",  "batch_forget"};
  int i = static_cast<int>(fop);
  return (i >= 0 && static_cast<size_t>(i) < kStatsFopMax) ? kNames[i] : "unknown";
}

// One implementation of the reference's buckets: the fs counters (fs/fs_stats.h) use them too.
size_t RequestSizeIndex(uint64_t size) { return fs::ReadSizeBucket(size); }

size_t LatencyMicrosIndex(uint64_t us) { return fs::ReadLatencyBucket(us); }

size_t LatencyMillisIndex(uint64_t ms) {
  static constexpr uint64_t kBounds[] = {1, 20, 50, 100, 500, 1'000, 2'000};
  for (size_t i = 0; i < 7; ++i) {
    if (ms <= kBounds[i]) return i;
  }
  return 7;
}

const char* DaemonStateName(DaemonState s) {
  switch (s) {
    case DaemonState::kInit:
      return "INIT";
    case DaemonState::kRunning:
      return "RUNNING";
    case DaemonState::kReady:
      return "READY";
    case DaemonState::kStopped:
      return "STOPPED";
    default:
      return "UNKNOWN";
  }
}

std::string FormatMountedTime(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ns = duration_cast<nanoseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  long sub = static_cast<long>(ns % 1'000'000'000);
  if (sub < 0) {
    sub += 1'000'000'000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char frac[16];
  std::snprintf(frac, sizeof(frac), "%09ld", sub);
  std::string f(frac);
  while (f.size() > 1 && f.back() == '0') f.pop_back();  // one or more digits, as `time` prints
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d.%s +00:00:00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, f.c_str());
  return buf;
}

Json ToJson(const FsMetrics& m) {
  Json j;
  j["files_account_enabled"] = m.files_account_enabled;
  j["access_pattern_enabled"] = m.access_pattern_enabled;
  j["record_latest_read_files_enabled"] = m.record_latest_read_files_enabled;
  j["measure_latency"] = m.measure_latency;
  j["id"] = m.id;
  j["nr_opens"] = m.nr_opens;
  j["data_read"] = m.data_read;
  j["block_count_read"] = m.block_count_read;
  j["fop_hits"] = m.fop_hits;
  j["fop_errors"] = m.fop_errors;
  j["fop_cumulative_latency_total"] = m.fop_cumulative_latency_total;
  j["read_latency_dist"] = m.read_latency_dist;
  return j;
}

Json ToJson(const InodeMetrics& m) {
  Json j;
  j["total_fops"] = m.total_fops;
  j["data_read"] = m.data_read;
  j["block_count_read"] = m.block_count_read;
  j["fop_hits"] = m.fop_hits;
  j["fop_errors"] = m.fop_errors;
  return j;
}

Json ToJson(const AccessPattern& p) {
  Json j;
  j["ino"] = p.ino;
  j["nr_read"] = p.nr_read;
  j["first_access_time_secs"] = p.first_access_time_secs;
  j["first_access_time_nanos"] = p.first_access_time_nanos;
  j["path"] = p.path;
  j["size"] = p.size;
  j["bytes_touched"] = p.bytes_touched;
  Json ranges = Json::array();
  for (const auto& [offset, length] : p.ranges) ranges.push_back(Json::array({offset, length}));
  j["ranges"] = std::move(ranges);
  return j;
}

Json ToJson(const BackendMetrics& m) {
  Json j;
  j["backend_type"] = m.backend_type;
  j["read_count"] = m.read_count;
  j["read_errors"] = m.read_errors;
  j["read_amount_total"] = m.read_amount_total;
  j["read_cumulative_latency_millis_total"] = m.read_cumulative_latency_millis_total;
  j["read_cumulative_latency_millis_dist"] = m.read_cumulative_latency_millis_dist;
  j["read_count_block_size_dist"] = m.read_count_block_size_dist;
  j["read_latency_sizes_dist"] = m.read_latency_sizes_dist;
  return j;
}

Json ToJson(const BlobcacheMetrics& m) {
  Json j;
  j["underlying_files"] = m.underlying_files;
  j["store_path"] = m.store_path;
  j["partial_hits"] = m.partial_hits;
  j["whole_hits"] = m.whole_hits;
  j["total"] = m.total;
  j["entries_count"] = m.entries_count;
  j["prefetch_data_amount"] = m.prefetch_data_amount;
  j["prefetch_requests_count"] = m.prefetch_requests_count;
  j["prefetch_workers"] = m.prefetch_workers;
  j["prefetch_unmerged_chunks"] = m.prefetch_unmerged_chunks;
  j["prefetch_cumulative_time_millis"] = m.prefetch_cumulative_time_millis;
  j["prefetch_begin_time_secs"] = m.prefetch_begin_time_secs;
  j["prefetch_begin_time_millis"] = m.prefetch_begin_time_millis;
  j["prefetch_end_time_secs"] = m.prefetch_end_time_secs;
  j["prefetch_end_time_millis"] = m.prefetch_end_time_millis;
  j["buffered_backend_size"] = m.buffered_backend_size;
  j["data_all_ready"] = m.data_all_ready;
  return j;
}

Json ToJson(const InflightOp& op) {
  return Json{{"inode", op.inode},
              {"opcode", op.opcode},
              {"unique", op.unique},
              {"timestamp_secs", op.timestamp_secs}};
}

Json ToJson(const ErrorEvents& e) {
  Json j;
  j["max_errors"] = e.max_errors;
  j["total_errors"] = e.total_errors;
  j["max_size"] = e.max_size;
  j["total_size"] = e.total_size;
  j["errors"] = e.errors;
  return j;
}

Json ToJson(const FsBackendDescriptor& d) {
  Json j;
  j["backend_type"] = d.backend_type;
  j["mountpoint"] = d.mountpoint;
  j["mounted_time"] = d.mounted_time;
  j["config"] = d.config;
  return j;
}

Json ToJson(const DaemonInfo& info) {
  Json j;
  j["version"] = Json{{"package_ver", info.version.package_ver},
                      {"git_commit", info.version.git_commit},
                      {"build_time", info.version.build_time},
                      {"profile", info.version.profile},
                      {"rustc", info.version.rustc}};
  j["id"] = info.id ? Json(*info.id) : Json(nullptr);
  j["supervisor"] = info.supervisor ? Json(*info.supervisor) : Json(nullptr);
  j["state"] = DaemonStateName(info.state);
  if (info.backend_collection) {
    Json c = Json::object();
    for (const auto& [mp, d] : *info.backend_collection) c[mp] = ToJson(d);
    j["backend_collection"] = std::move(c);
  } else {
    j["backend_collection"] = nullptr;
  }
  return j;
}

Json ToJson(const MountCmd& cmd) {
  Json j;
  j["source"] = cmd.source;
  j["fs_type"] = cmd.fs_type;
  j["config"] = cmd.config;
  if (cmd.prefetch_files) j["prefetch_files"] = *cmd.prefetch_files;
  return j;
}

namespace {

Result<Json> ParseObject(std::string_view body) {
  Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("body is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("body is not a JSON object");
  return j;
}

Result<std::string> RequiredString(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return Status::InvalidArgument(std::string("missing field `") + key + "`");
  if (!it->is_string()) {
    return Status::InvalidArgument(std::string("field `") + key + "` must be a string");
  }
  return it->get<std::string>();
}

}  // namespace

Result<MountCmd> ParseMountCmd(std::string_view body) {
  ASSIGN_OR_RETURN(Json j, ParseObject(body));
  MountCmd cmd;
  ASSIGN_OR_RETURN(cmd.source, RequiredString(j, "source"));
  ASSIGN_OR_RETURN(cmd.config, RequiredString(j, "config"));
  if (auto it = j.find("fs_type"); it != j.end()) {
    if (!it->is_string()) return Status::InvalidArgument("field `fs_type` must be a string");
    cmd.fs_type = it->get<std::string>();
  }
  if (auto it = j.find("prefetch_files"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) {
      return Status::InvalidArgument("field `prefetch_files` must be an array of strings");
    }
    std::vector<std::string> files;
    for (const Json& f : *it) {
      if (!f.is_string()) {
        return Status::InvalidArgument("field `prefetch_files` must be an array of strings");
      }
      files.push_back(f.get<std::string>());
    }
    cmd.prefetch_files = std::move(files);
  }
  return cmd;
}

Result<std::string> ParseDaemonConf(std::string_view body) {
  ASSIGN_OR_RETURN(Json j, ParseObject(body));
  ASSIGN_OR_RETURN(std::string level, RequiredString(j, "log_level"));
  for (char& c : level) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* ok : {"off", "error", "warn", "info", "debug", "trace"}) {
    if (level == ok) return level;
  }
  return Status::InvalidArgument("invalid log level '" + level +
                                 "' (off, error, warn, info, debug, trace)");
}

std::string DumpJson(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace nydus::daemon
