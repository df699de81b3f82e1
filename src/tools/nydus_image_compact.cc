// `nydus-image compact` (experimental): builder/compact.h. Flags follow the reference HEAD:
// -B/--bootstrap, -D/--blob-dir (required: blobs are read from and written to it),
// --min-used-ratio, --compact-blob-size, --max-compact-size, --layers-to-compact,
// -O/--output-bootstrap, -J/--output-json; plus 2.2's -C/--config compact.json (its keys,
// overridden by the flags). Remote backends (--backend-type ...) and --chunk-dict are not
// supported yet.
#include <charconv>
#include <cstdio>

#include "base/file_util.h"
#include "base/json.h"
#include "builder/compact.h"
#include "tools/nydus_image_cmds.h"

namespace nydus::tools {
namespace {

Status ParseU64(const std::string& flag, const std::string& text, uint64_t* out) {
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, *out);
  if (ec != std::errc() || p != end)
    return Status::InvalidArgument("invalid " + flag + ": " + text);
  return Status::OK();
}

}  // namespace

Status RunCompact(const CompactArgs& a) {
  builder::CompactOptions o;
  o.bootstrap_path = a.bootstrap;
  o.output_bootstrap = a.output_bootstrap;
  if (!a.config.empty()) {
    ASSIGN_OR_RETURN(Bytes b, ReadWholeFile(a.config, 1 << 20));
    RETURN_IF_ERROR(builder::ParseCompactConfig(std::string(b.begin(), b.end()), &o));
  }
  if (!a.min_used_ratio.empty()) {
    uint64_t v = 0;
    RETURN_IF_ERROR(ParseU64("--min-used-ratio", a.min_used_ratio, &v));
    if (v > 99) return Status::InvalidArgument("--min-used-ratio must be 0-99");
    o.min_used_ratio = static_cast<uint32_t>(v);
  }
  if (!a.compact_blob_size.empty()) {
    RETURN_IF_ERROR(ParseU64("--compact-blob-size", a.compact_blob_size, &o.compact_blob_size));
  }
  if (!a.max_compact_size.empty()) {
    RETURN_IF_ERROR(ParseU64("--max-compact-size", a.max_compact_size, &o.max_compact_size));
  }
  if (!a.layers_to_compact.empty()) {
    RETURN_IF_ERROR(ParseU64("--layers-to-compact", a.layers_to_compact, &o.layers_to_compact));
  }
  if (!a.blob_dir.empty()) o.blobs_dir = a.blob_dir;
  if (o.blobs_dir.empty()) {
    return Status::InvalidArgument("--blob-dir (or blobs_dir in the config) must be specified");
  }
  ASSIGN_OR_RETURN(builder::CompactResult r, builder::Compact(o));
  if (!r.compacted) {
    std::fprintf(stderr, "compact: no chance to compact data blobs\n");
    return Status::OK();
  }
  std::fprintf(stderr, "compacted %s: %zu blob(s), %llu -> %llu blob bytes\n",
               r.bootstrap_path.c_str(), r.blob_ids.size(),
               static_cast<unsigned long long>(r.blob_bytes_before),
               static_cast<unsigned long long>(r.blob_bytes_after));
  if (!a.output_json.empty()) {
    Json j;
    j["bootstrap"] = r.bootstrap_path;
    j["blobs"] = r.blob_ids;
    j["new_blobs"] = r.new_blobs;
    j["dropped_blobs"] = r.dropped_blobs;
    j["blob_bytes_before"] = r.blob_bytes_before;
    j["blob_bytes_after"] = r.blob_bytes_after;
    const std::string text = j.dump(2) + "\n";
    RETURN_IF_ERROR(WriteWholeFile(a.output_json, AsBytes(text)));
  }
  return Status::OK();
}

}  // namespace nydus::tools
