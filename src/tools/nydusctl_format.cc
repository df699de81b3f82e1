// nydusctl output formatting (see nydusctl_format.h).
#include "tools/nydusctl_format.h"

#include <algorithm>
#include <cctype>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace nydus::nydusctl {
namespace {

const char* const kSizes[8] = {"<1K", "1K~", "4K~", "16K~", "64K~", "128K~", "512K~", "1M~"};
const char* const kPeriods[8] = {"<200us", "~1ms", "~20ms", "~50ms", "~500ms", "~1s", "~2s", "2s~"};
const char* const kFops[15] = {"Getattr", "Readlink",    "Open",      "Release", "Read",
                               "Statfs",  "Getxattr",    "Listxattr", "Opendir", "Lookup",
                               "Readdir", "Readdirplus", "Access",    "Forget",  "BatchForget"};

const Json& At(const Json& j, const char* key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

uint64_t U64(const Json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) return v.get<int64_t>() < 0 ? 0 : uint64_t(v.get<int64_t>());
  if (v.is_number_float()) {  // NaN, negatives → 0; 1e30 saturates (casting it is UB)
    const double d = v.get<double>();
    if (!(d > 0)) return 0;
    return d >= 18446744073709551615.0 ? UINT64_MAX : static_cast<uint64_t>(d);
  }
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  return 0;
}
uint64_t U64(const Json& j, const char* key) { return U64(At(j, key)); }

// Strings print bare, everything else as compact JSON.
std::string Text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}
std::string Text(const Json& j, const char* key) { return Text(At(j, key)); }

uint64_t Elem(const Json& arr, size_t i) {
  return arr.is_array() && i < arr.size() ? U64(arr[i]) : 0;
}

uint64_t Div(uint64_t a, uint64_t b) { return b == 0 ? 0 : a / b; }
uint64_t Sub(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

std::string Fmt(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Fmt(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return buf;
}

// "Label:" padded to `width`, then the value.
std::string Row(const std::string& label, const std::string& value, int width = 24) {
  int w = std::max(width, static_cast<int>(label.size()) + 2);  // at least one space
  return Fmt("%-*s%s\n", w, (label + ":").c_str(), value.c_str());
}

std::string Columns(const char* title, const char* const* heads, size_t n, int title_width) {
  std::string out = Fmt("%-*s", title_width, title);
  for (size_t i = 0; i < n; ++i) out += Fmt("%-8s", heads[i]);
  out += "\n";
  return out;
}

std::string ValuesRow(const char* title, const std::vector<uint64_t>& values, int title_width) {
  std::string out = Fmt("%-*s", title_width, title);
  for (uint64_t v : values) out += Fmt("%-8llu", static_cast<unsigned long long>(v));
  out += "\n";
  return out;
}

}  // namespace

std::string FormatInfo(const Json& info) {
  const Json& v = At(info, "version");
  std::string out = "\n";
  out += Row("Version", Text(v, "package_ver"));
  out += Row("Status", Text(info, "state"));
  out += Row("Profile", Text(v, "profile"));
  out += Row("Commit", Text(v, "git_commit"));
  const Json& coll = At(info, "backend_collection");
  if (coll.is_object() && !coll.empty()) {
    out += "Instances:\n";
    for (auto it = coll.begin(); it != coll.end(); ++it) {
      const Json& b = it.value();
      out += "    " + Row("Instance Mountpoint", it.key(), 26);
      out += "    " + Row("Type", Text(b, "backend_type"), 26);
      out += "    " + Row("Mounted Time", Text(b, "mounted_time"), 26);
      const Json& cfg = At(b, "config");
      if (cfg.is_object()) {
        // v2 config (what the reference stores); v1 keys as a fallback.
        const Json& rafs = At(cfg, "rafs");
        const Json& prefetch = At(At(cfg, "cache"), "prefetch");
        const Json& fsp = At(cfg, "fs_prefetch");
        std::string mode = Text(rafs, "mode");
        if (mode.empty()) mode = Text(cfg, "mode");
        const Json& enable = prefetch.is_object() ? At(prefetch, "enable") : At(fsp, "enable");
        uint64_t batch =
            prefetch.is_object() ? U64(prefetch, "batch_size") : U64(fsp, "merging_size");
        out += "    " + Row("Mode", mode, 26);
        out += "    " + Row("Prefetch", enable.is_boolean() ? Text(enable) : "false", 26);
        out += "    " + Row("Prefetch Merging Size", std::to_string(batch), 26);
      }
      out += "\n";
    }
  }
  return out;
}

std::string FormatBackend(const Json& m) {
  uint64_t amount = U64(m, "read_amount_total");
  std::string out = "\n";
  out += Row("Backend Type", Text(m, "backend_type"), 20);
  out += Row("Read Amount",
             Fmt("%llu Bytes (%.2f MB)", static_cast<unsigned long long>(amount),
                 double(amount) / 1024 / 1024),
             20);
  out += Row("Read Count", std::to_string(U64(m, "read_count")), 20);
  out += Row("Read Errors", std::to_string(U64(m, "read_errors")), 20);
  const Json& lat = At(m, "read_cumulative_latency_millis_dist");
  const Json& hits = At(m, "read_count_block_size_dist");
  std::vector<uint64_t> avg, count;
  for (size_t i = 0; i < 8; ++i) {
    avg.push_back(Div(Elem(lat, i), Elem(hits, i)));
    count.push_back(Elem(hits, i));
  }
  out += "\n" + Columns("Block Sizes:", kSizes, 8, 25);
  out += ValuesRow("Average Latency(millis):", avg, 25);
  out += ValuesRow("Request Count:", count, 25);
  return out;
}

std::string FormatBackendDelta(const Json& last, const Json& cur, uint64_t interval_secs) {
  uint64_t data = Sub(U64(cur, "read_amount_total"), U64(last, "read_amount_total"));
  uint64_t reqs = Sub(U64(cur, "read_count"), U64(last, "read_count"));
  uint64_t lat = Sub(U64(cur, "read_cumulative_latency_millis_total"),
                     U64(last, "read_cumulative_latency_millis_total"));
  std::vector<uint64_t> avg;
  for (size_t i = 0; i < 8; ++i) {
    uint64_t l = Sub(Elem(At(cur, "read_cumulative_latency_millis_dist"), i),
                     Elem(At(last, "read_cumulative_latency_millis_dist"), i));
    uint64_t h = Sub(Elem(At(cur, "read_count_block_size_dist"), i),
                     Elem(At(last, "read_count_block_size_dist"), i));
    avg.push_back(Div(l, h));
  }
  std::string out = "\n>>> >>> >>> >>> >>>\n";
  out +=
      Row("Backend Read Bandwidth", std::to_string(Div(data, interval_secs * 1024)) + " KB/S", 28);
  out += Row("Backend Average IO Size", std::to_string(Div(data, reqs)) + " Bytes", 28);
  out += Row("Backend Average Latency", std::to_string(Div(lat, reqs)) + " millis", 28);
  out += "\nBlock Sizes/millis:\n" + Columns("", kSizes, 8, 0) + ValuesRow("", avg, 0);
  out += "<<< <<< <<< <<< <<<\n";
  return out;
}

std::string FormatCache(const Json& m) {
  double begin = double(U64(m, "prefetch_begin_time_secs")) +
                 double(U64(m, "prefetch_begin_time_millis")) / 1000.0;
  double end = double(U64(m, "prefetch_end_time_secs")) +
               double(U64(m, "prefetch_end_time_millis")) / 1000.0;
  double duration = end > begin ? end - begin : 0;
  uint64_t amount = U64(m, "prefetch_data_amount");
  uint64_t requests = U64(m, "prefetch_requests_count");
  double bandwidth = duration > 0 ? double(amount) / 1024 / 1024 / duration : 0;
  double latency =
      requests ? double(U64(m, "prefetch_cumulative_time_millis")) / double(requests) / 1000 : 0;
  std::string files;
  const Json& f = At(m, "underlying_files");
  if (f.is_array()) {
    for (const Json& e : f) files += (files.empty() ? "" : ", ") + Text(e);
  }
  std::string out = "\n";
  out += Row("Partial Hits", std::to_string(U64(m, "partial_hits")), 28);
  out += Row("Whole Hits", std::to_string(U64(m, "whole_hits")), 28);
  out += Row("Total Read", std::to_string(U64(m, "total")), 28);
  out += Row("Directory", Text(m, "store_path"), 28);
  out += Row("Files", "[" + files + "]", 28);
  out += Row("Persister Buffer", std::to_string(U64(m, "buffered_backend_size")), 28);
  out += "\n";
  out += Row("Prefetch Workers", std::to_string(U64(m, "prefetch_workers")), 28);
  out += Row("Prefetch Amount",
             Fmt("%llu = %.2f KB", static_cast<unsigned long long>(amount), double(amount) / 1024),
             28);
  out += Row("Prefetch Requests", std::to_string(requests), 28);
  out += Row("Prefetch Average Size", std::to_string(Div(amount, requests)) + " Bytes", 28);
  out += Row("Prefetch Duration", Fmt("%.3f Seconds", duration), 28);
  out += Row("Prefetch Bandwidth", Fmt("%.2f MB/S", bandwidth), 28);
  out += Row("Prefetch Request Latency", Fmt("%.3f Seconds", latency), 28);
  out += Row("Prefetch Unmerged", std::to_string(U64(m, "prefetch_unmerged_chunks")), 28);
  return out;
}

std::string FormatFsStats(const Json& m) {
  const Json& dist = At(m, "read_latency_dist");
  const Json& hits = At(m, "fop_hits");
  const Json& errors = At(m, "fop_errors");
  std::vector<uint64_t> counts;
  for (size_t i = 0; i < 8; ++i) counts.push_back(Elem(dist, i));
  std::string out = "\n" + Columns("Read Latency:", kPeriods, 8, 16);
  out += ValuesRow("Reads Count:", counts, 16) + "\n";
  uint64_t data = U64(m, "data_read");
  out += Row("Read Errors", std::to_string(Elem(errors, 4)), 13);
  out += Row("Read Data",
             Fmt("%llu Bytes (%llu MB)", static_cast<unsigned long long>(data),
                 static_cast<unsigned long long>(data >> 20)),
             13);
  out += "\nFOP Counters:\n";
  for (size_t i = 0; i < 15; ++i) {
    out +=
        Fmt("%-14s%-12llu errors %llu\n", kFops[i], static_cast<unsigned long long>(Elem(hits, i)),
            static_cast<unsigned long long>(Elem(errors, i)));
  }
  return out;
}

std::string FormatInflight(const Json& ops) {
  if (!ops.is_array() || ops.empty()) return "No inflight requests.\n";
  std::string out = Fmt("%-22s%-8s%-12s%s\n", "Inode", "Opcode", "Unique", "Since (unix secs)");
  for (const Json& op : ops) {
    out += Fmt("%-22llu%-8llu%-12llu%llu\n", static_cast<unsigned long long>(U64(op, "inode")),
               static_cast<unsigned long long>(U64(op, "opcode")),
               static_cast<unsigned long long>(U64(op, "unique")),
               static_cast<unsigned long long>(U64(op, "timestamp_secs")));
  }
  return out;
}

namespace {

// Calls fn(record, path) for each record of an access-pattern answer that belongs in a
// prefetch list (see FormatAccessPattern), counting the others in *skipped / *sparse.
// `line_list`: the path must fit on one line.
template <typename Fn>
void ForEachPrefetchRecord(const Json& records, double min_coverage_pct, bool line_list,
                           size_t* skipped, size_t* sparse, Fn fn) {
  *skipped = 0;
  *sparse = 0;
  if (!records.is_array()) return;
  for (const Json& r : records) {
    const Json& p = At(r, "path");
    if (!p.is_string()) {
      ++*skipped;
      continue;
    }
    const std::string& path = p.get_ref<const std::string&>();
    if (path.empty() || path[0] != '/' || (line_list && path.find('\n') != std::string::npos)) {
      ++*skipped;
      continue;
    }
    const uint64_t size = U64(r, "size");
    if (min_coverage_pct > 0 && size > kWholeFileBytes &&
        static_cast<double>(U64(r, "bytes_touched")) * 100.0 <
            min_coverage_pct * static_cast<double>(size)) {
      ++*sparse;
      continue;
    }
    fn(r, path);
  }
}

// The "ranges" of a prefetch-files entry for record `r`: null (the whole file) when the
// record has no usable ranges (an older daemon, a mistyped field) or when they cover all of
// its "size" bytes; otherwise its [offset, length] pairs, sorted, merged and cut at "size".
Json PrefetchRanges(const Json& r) {
  const Json& in = At(r, "ranges");
  if (!in.is_array()) return Json(nullptr);
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [begin, end)
  for (const Json& e : in) {
    if (!e.is_array() || e.size() != 2 || !e[0].is_number() || !e[1].is_number()) {
      return Json(nullptr);
    }
    const uint64_t begin = U64(e[0]);
    const uint64_t len = U64(e[1]);
    if (len == 0) continue;
    ranges.emplace_back(begin, len > UINT64_MAX - begin ? UINT64_MAX : begin + len);
  }
  const Json& size_field = At(r, "size");
  const bool has_size = size_field.is_number();
  const uint64_t size = U64(size_field);
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (auto [begin, end] : ranges) {
    if (has_size) {
      if (begin >= size) break;
      end = std::min(end, size);
    }
    if (!merged.empty() && begin <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, end);
    } else {
      merged.emplace_back(begin, end);
    }
  }
  if (has_size &&
      (size == 0 || (merged.size() == 1 && merged[0].first == 0 && merged[0].second >= size))) {
    return Json(nullptr);
  }
  Json out = Json::array();
  for (const auto& [begin, end] : merged) out.push_back(Json::array({begin, end - begin}));
  return out;
}

}  // namespace

std::string FormatAccessPattern(const Json& records, double min_coverage_pct, size_t* skipped,
                                size_t* sparse) {
  std::string out;
  ForEachPrefetchRecord(records, min_coverage_pct, /*line_list=*/true, skipped, sparse,
                        [&out](const Json&, const std::string& path) {
                          out += path;
                          out += '\n';
                        });
  return out;
}

std::string FormatAccessPatternJson(const Json& records, double min_coverage_pct, size_t* skipped,
                                    size_t* sparse) {
  std::string out = R"({"version":"v1","files":[)";
  bool first = true;
  ForEachPrefetchRecord(records, min_coverage_pct, /*line_list=*/false, skipped, sparse,
                        [&](const Json& r, const std::string& path) {
                          Json file;
                          file["path"] = path;
                          file["ranges"] = PrefetchRanges(r);
                          out += first ? "\n" : ",\n";
                          // Strings of a parsed answer are valid UTF-8: nothing to replace.
                          out += file.dump(-1, ' ', false, Json::error_handler_t::replace);
                          first = false;
                        });
  out += first ? "]}\n" : "\n]}\n";
  return out;
}

std::string QueryEscape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out += Fmt("%%%02X", c);
    }
  }
  return out;
}

}  // namespace nydus::nydusctl
