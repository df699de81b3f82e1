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

void AddCompactCommand(CLI::App& app, CompactArgs* a) {
  CLI::App* cmd = app.add_subcommand(
      "compact",
      "(experimental)Compact specific nydus image, remove unused chunks in blobs, merge small "
      "blobs");
  cmd->add_option("-B,--bootstrap", a->bootstrap, "bootstrap to compact")->required();
  cmd->add_option("-C,--config", a->config, "compact config file (JSON)");
  cmd->add_option("--min-used-ratio", a->min_used_ratio,
                  "Lower bound of used ratio for blobs to be kept, possible values: 0-99, 0 "
                  "means disable");
  cmd->add_option("--compact-blob-size", a->compact_blob_size,
                  "Upper bound of blob size for blobs to be compacted, in bytes");
  cmd->add_option("--max-compact-size", a->max_compact_size,
                  "Upper bound of compacted blob size, in bytes");
  cmd->add_option("--layers-to-compact", a->layers_to_compact,
                  "If number of blobs >= layers_to_compact, do compact. 0 means always compact");
  cmd->add_option("-D,--blob-dir", a->blob_dir,
                  "Local blobs dir for blobs not in backend, also for output blobs");
  cmd->add_option("-O,--output-bootstrap", a->output_bootstrap,
                  "bootstrap to output, default is source bootstrap add suffix .compact");
  cmd->add_option("-J,--output-json", a->output_json, "JSON file output path for build result");
}

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
