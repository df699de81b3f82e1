// nydusctl's human-readable output: the nydusd API's JSON answers rendered as aligned text,
// following the reference nydusctl (src/bin/nydusctl/commands.rs) in content and order.
// Every function is total: a missing or mistyped field prints as 0 / "" (an older or newer
// daemon must never crash the client). `-r/--raw` bypasses all of this and prints the JSON.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "base/json.h"

namespace nydus::nydusctl {

// `info`: GET /api/v1/daemon.
std::string FormatInfo(const Json& info);
// `metrics backend`: GET /api/v1/metrics/backend.
std::string FormatBackend(const Json& m);
// `metrics backend -I N`: what happened between two samples taken `interval_secs` apart.
std::string FormatBackendDelta(const Json& last, const Json& current, uint64_t interval_secs);
// `metrics cache`: GET /api/v1/metrics/blobcache.
std::string FormatCache(const Json& m);
// `metrics fsstats`: GET /api/v1/metrics.
std::string FormatFsStats(const Json& m);
// `metrics inflight`: GET /api/v1/metrics/inflight (an array; null/empty when nothing is hung).
std::string FormatInflight(const Json& ops);
// `access-pattern`: GET /api/v1/metrics/pattern as a prefetch list (nydusify convert
// --prefetch-patterns, nydusd --prefetch-files): the path of each record, one per line, in the
// daemon's first-access order. Records without a usable path (missing, not absolute, or with a
// newline in it) are left out and counted in *skipped. With `min_coverage_pct` > 0, a file
// larger than kWholeFileBytes of which reads touched less than that share (bytes_touched /
// size) is left out too and counted in *sparse: a prefetch list names whole files, and such a
// file is cheaper to load on demand.
inline constexpr uint64_t kWholeFileBytes = 1 << 20;  // one default chunk
std::string FormatAccessPattern(const Json& records, double min_coverage_pct, size_t* skipped,
                                size_t* sparse);
// `access-pattern --format json`: the same files (the same filters and counts; a path with a
// newline is kept) as the reference HEAD's prefetch-files JSON, the input of `nydus-image
// optimize --prefetch-files`: {"version":"v1","files":[{"path":"/a","ranges":[[0,65536]]},
// ...]}, one file per line. "ranges" are the records' [offset, length] pairs (sorted, merged,
// cut at the file size); null — the whole file — when the file was read completely or the
// record carries no ranges (an older daemon).
std::string FormatAccessPatternJson(const Json& records, double min_coverage_pct, size_t* skipped,
                                    size_t* sparse);

// "/a b" → "%2Fa%20b"-style escaping of a query value (unreserved and '/' kept).
std::string QueryEscape(const std::string& s);

}  // namespace nydus::nydusctl
