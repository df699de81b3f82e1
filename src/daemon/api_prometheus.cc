// RenderPrometheus: GET /metrics in the Prometheus text exposition format 0.0.4.
//
// The reference nydusd has no Prometheus endpoint; names are ours (nydusd_*), modelled on its
// JSON counters. Every family is written once (# HELP, # TYPE, then all its samples, one per
// filesystem/backend/cache instance, labelled by id). Counters end in _total. The fs read
// latency is a real histogram (cumulative le buckets from the reference's micros buckets).
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/api_router.h"

namespace nydus::daemon {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Label values must be UTF-8: invalid bytes become '?'. Then \ " and newline are escaped.
std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (size_t i = 0; i < v.size();) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    bool valid = len > 0 && i + len <= v.size();
    for (size_t k = 1; valid && k < len; ++k) {
      valid = (static_cast<unsigned char>(v[i + k]) >> 6) == 0x2;
    }
    if (!valid) {
      out.push_back('?');
      ++i;
      continue;
    }
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.append(v, i, len);
    }
    i += len;
  }
  return out;
}

class Writer {
 public:
  void Family(const std::string& name, const char* type, const char* help) {
    out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void Sample(const std::string& name, const Labels& labels, double value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i) out_ += ',';
        out_ += labels[i].first + "=\"" + EscapeLabel(labels[i].second) + "\"";
      }
      out_ += '}';
    }
    char buf[64];
    std::snprintf(buf, sizeof(buf), " %.17g\n", value);
    out_ += buf;
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

constexpr const char* kSizeLabels[kBlockReadSizesMax] = {
    "0-1K", "1K-4K", "4K-16K", "16K-64K", "64K-128K", "128K-512K", "512K-1M", "1M+"};
// Upper bounds (seconds) of the reference's fs read latency buckets, last is +Inf.
constexpr double kFsLatencyBounds[kReadLatencyRangeMax - 1] = {0.0002, 0.001, 0.02, 0.05,
                                                               0.5,    1,     2};

template <typename T>
using Field = std::function<double(const T&)>;

template <typename T>
void Simple(Writer& w, const std::vector<T>& items, const std::function<Labels(const T&)>& labels,
            const std::string& name, const char* type, const char* help, const Field<T>& value) {
  if (items.empty()) return;
  w.Family(name, type, help);
  for (const T& it : items) w.Sample(name, labels(it), value(it));
}

void RenderFs(Writer& w, const std::vector<FsMetrics>& fs) {
  if (fs.empty()) return;
  std::function<Labels(const FsMetrics&)> id = [](const FsMetrics& m) {
    return Labels{{"id", m.id}};
  };
  Simple<FsMetrics>(w, fs, id, "nydusd_fs_open_files", "gauge", "Files currently open.",
                    [](const FsMetrics& m) { return double(m.nr_opens); });
  Simple<FsMetrics>(w, fs, id, "nydusd_fs_read_bytes_total", "counter",
                    "Bytes read from the filesystem.",
                    [](const FsMetrics& m) { return double(m.data_read); });
  struct PerFop {
    const char* name;
    const char* help;
    U64Fops FsMetrics::*field;
  } per_fop[] = {
      {"nydusd_fs_fop_hits_total", "Successful file operations by op.", &FsMetrics::fop_hits},
      {"nydusd_fs_fop_errors_total", "Failed file operations by op.", &FsMetrics::fop_errors},
      {"nydusd_fs_fop_latency_microseconds_total",
       "Cumulative latency of file operations by op (when latency is measured).",
       &FsMetrics::fop_cumulative_latency_total},
  };
  for (const auto& f : per_fop) {
    w.Family(f.name, "counter", f.help);
    for (const FsMetrics& m : fs) {
      for (size_t op = 0; op < kStatsFopMax; ++op) {
        w.Sample(f.name, {{"id", m.id}, {"op", StatsFopName(static_cast<StatsFop>(op))}},
                 double((m.*f.field)[op]));
      }
    }
  }
  w.Family("nydusd_fs_read_requests_by_size_total", "counter", "Reads by request size.");
  for (const FsMetrics& m : fs) {
    for (size_t i = 0; i < kBlockReadSizesMax; ++i) {
      w.Sample("nydusd_fs_read_requests_by_size_total", {{"id", m.id}, {"size", kSizeLabels[i]}},
               double(m.block_count_read[i]));
    }
  }
  w.Family("nydusd_fs_read_latency_seconds", "histogram", "Latency of reads.");
  for (const FsMetrics& m : fs) {
    uint64_t cum = 0;
    for (size_t i = 0; i < kReadLatencyRangeMax; ++i) {
      cum += m.read_latency_dist[i];
      char le[32];
      if (i + 1 < kReadLatencyRangeMax) {
        std::snprintf(le, sizeof(le), "%g", kFsLatencyBounds[i]);
      } else {
        std::snprintf(le, sizeof(le), "+Inf");
      }
      w.Sample("nydusd_fs_read_latency_seconds_bucket", {{"id", m.id}, {"le", le}}, double(cum));
    }
    double sum = double(m.fop_cumulative_latency_total[static_cast<int>(StatsFop::kRead)]) / 1e6;
    w.Sample("nydusd_fs_read_latency_seconds_sum", {{"id", m.id}}, sum);
    w.Sample("nydusd_fs_read_latency_seconds_count", {{"id", m.id}}, double(cum));
  }
}

void RenderBackends(Writer& w, const std::vector<BackendMetrics>& b) {
  std::function<Labels(const BackendMetrics&)> l = [](const BackendMetrics& m) {
    return Labels{{"id", m.id}, {"backend_type", m.backend_type}};
  };
  using B = BackendMetrics;
  Simple<B>(w, b, l, "nydusd_backend_read_requests_total", "counter", "Reads from the backend.",
            [](const B& m) { return double(m.read_count); });
  Simple<B>(w, b, l, "nydusd_backend_read_errors_total", "counter", "Failed backend reads.",
            [](const B& m) { return double(m.read_errors); });
  Simple<B>(w, b, l, "nydusd_backend_read_bytes_total", "counter", "Bytes read from the backend.",
            [](const B& m) { return double(m.read_amount_total); });
  Simple<B>(w, b, l, "nydusd_backend_read_latency_milliseconds_total", "counter",
            "Cumulative latency of backend reads.",
            [](const B& m) { return double(m.read_cumulative_latency_millis_total); });
}

void RenderBlobcaches(Writer& w, const std::vector<BlobcacheMetrics>& c) {
  std::function<Labels(const BlobcacheMetrics&)> l = [](const BlobcacheMetrics& m) {
    return Labels{{"id", m.id}};
  };
  using C = BlobcacheMetrics;
  struct Row {
    const char* name;
    const char* type;
    const char* help;
    double (*get)(const C&);
  } rows[] = {
      {"nydusd_blobcache_partial_hits_total", "counter", "Reads partly served from the cache.",
       [](const C& m) { return double(m.partial_hits); }},
      {"nydusd_blobcache_whole_hits_total", "counter", "Reads wholly served from the cache.",
       [](const C& m) { return double(m.whole_hits); }},
      {"nydusd_blobcache_reads_total", "counter", "Reads handled by the cache.",
       [](const C& m) { return double(m.total); }},
      {"nydusd_blobcache_entries", "gauge", "Chunks ready in the cache.",
       [](const C& m) { return double(m.entries_count); }},
      {"nydusd_blobcache_prefetch_bytes_total", "counter", "Bytes prefetched.",
       [](const C& m) { return double(m.prefetch_data_amount); }},
      {"nydusd_blobcache_prefetch_requests_total", "counter", "Prefetch requests issued.",
       [](const C& m) { return double(m.prefetch_requests_count); }},
      {"nydusd_blobcache_prefetch_workers", "gauge", "Prefetch worker threads.",
       [](const C& m) { return double(m.prefetch_workers); }},
      {"nydusd_blobcache_prefetch_unmerged_chunks_total", "counter", "Prefetched unmerged chunks.",
       [](const C& m) { return double(m.prefetch_unmerged_chunks); }},
      {"nydusd_blobcache_buffered_backend_bytes", "gauge", "Backend data buffered, not yet stored.",
       [](const C& m) { return double(m.buffered_backend_size); }},
      {"nydusd_blobcache_data_all_ready", "gauge", "1 when every chunk is cached.",
       [](const C& m) { return m.data_all_ready ? 1.0 : 0.0; }},
  };
  for (const Row& r : rows) Simple<C>(w, c, l, r.name, r.type, r.help, r.get);
}

}  // namespace

std::string RenderPrometheus(const MetricsSnapshot& snap) {
  Writer w;
  if (snap.info) {
    w.Family("nydusd_info", "gauge", "Version and state of this nydusd; always 1.");
    w.Sample("nydusd_info",
             {{"version", snap.info->version.package_ver},
              {"git_commit", snap.info->version.git_commit},
              {"state", DaemonStateName(snap.info->state)}},
             1);
  }
  RenderFs(w, snap.fs);
  RenderBackends(w, snap.backends);
  RenderBlobcaches(w, snap.blobcaches);
  if (snap.inflight) {
    w.Family("nydusd_inflight_requests", "gauge", "FUSE requests being served.");
    w.Sample("nydusd_inflight_requests", {}, double(*snap.inflight));
  }
  return w.Take();
}

}  // namespace nydus::daemon
