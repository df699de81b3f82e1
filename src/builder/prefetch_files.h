// The prefetch-files list of `nydus-image optimize --prefetch-files` / `nydusify optimize`
// (format in builder/optimize.h): the reference HEAD's JSON {"version": "v1", "files": [...]}
// with optional [offset, size] ranges per file, or plain text with one path per line.
// Untrusted input: bounded, every malformed document is InvalidArgument.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"

namespace nydus::builder {

struct PrefetchFileEntry {
  std::string path;
  // [offset, size] byte ranges of the file; nullopt = the whole file.
  std::optional<std::vector<std::pair<uint64_t, uint64_t>>> ranges;
};

// Parses a prefetch-files list (formats above). Bounded: at most 1,000,000 entries.
Result<std::vector<PrefetchFileEntry>> ParsePrefetchFiles(std::string_view text);

}  // namespace nydus::builder
