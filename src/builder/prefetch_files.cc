#include "builder/prefetch_files.h"

#include "base/json.h"

namespace nydus::builder {
namespace {

constexpr size_t kMaxEntries = 1'000'000;

Status Invalid(const std::string& what) {
  return Status::InvalidArgument("prefetch files: " + what);
}

Result<std::vector<PrefetchFileEntry>> ParseJson(std::string_view text) {
  const Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Invalid("not a JSON object");
  if (!j.contains("version") || !j["version"].is_string()) return Invalid("no \"version\"");
  if (j["version"].get<std::string>() != "v1") {
    return Invalid("unsupported version " + j["version"].dump() + " (expected \"v1\")");
  }
  if (!j.contains("files") || !j["files"].is_array()) return Invalid("no \"files\" array");
  if (j["files"].size() > kMaxEntries) return Invalid("too many files");
  std::vector<PrefetchFileEntry> out;
  for (const Json& f : j["files"]) {
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string()) {
      return Invalid("a file entry without a string \"path\"");
    }
    PrefetchFileEntry e;
    e.path = f["path"].get<std::string>();
    if (f.contains("ranges") && !f["ranges"].is_null()) {
      if (!f["ranges"].is_array()) return Invalid(e.path + ": \"ranges\" is not an array");
      e.ranges.emplace();
      for (const Json& r : f["ranges"]) {
        if (!r.is_array() || r.size() != 2 || !r[0].is_number_unsigned() ||
            !r[1].is_number_unsigned()) {
          return Invalid(e.path + ": a range is not [offset, size]");
        }
        e.ranges->emplace_back(r[0].get<uint64_t>(), r[1].get<uint64_t>());
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

Result<std::vector<PrefetchFileEntry>> ParsePrefetchFiles(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return std::vector<PrefetchFileEntry>{};
  if (text[first] == '{') return ParseJson(text);
  std::vector<PrefetchFileEntry> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    if (out.size() >= kMaxEntries) return Invalid("too many files");
    out.push_back(PrefetchFileEntry{std::string(line), std::nullopt});
  }
  return out;
}

}  // namespace nydus::builder
