// `nydus-image merge`: flags (reference v2.2.5 names) → MergeOptions → builder::Merge →
// summary and output JSON.
#include <iostream>
#include <sstream>

#include "base/file_util.h"
#include "base/json.h"
#include "base/logging.h"
#include "builder/merge.h"
#include "tools/nydus_image_cmds.h"

namespace nydus::tools {

void AddMergeCommand(CLI::App& app, MergeArgs* a) {
  CLI::App* c = app.add_subcommand("merge", "Merge multiple bootstraps into a overlaid bootstrap");
  c->add_option("--parent-bootstrap", a->parent_bootstrap,
                "File path of the parent/referenced RAFS metadata blob (optional)");
  c->add_option("-B,--bootstrap", a->bootstrap, "Output path of nydus overlaid bootstrap");
  c->add_option("-D,--blob-dir", a->blob_dir,
                "Directory path to save generated RAFS metadata and data blobs");
  c->add_option("--chunk-dict", a->chunk_dict,
                "File path of chunk dictionary for data deduplication");
  c->add_option("--prefetch-policy", a->prefetch_policy,
                "Set data prefetch policy (patterns are read from stdin):")
      ->default_str("none")
      ->check(CLI::IsMember({"fs", "blob", "none"}));
  c->add_option("-J,--output-json", a->output_json,
                "File path to save operation result in JSON format");
  c->add_option("--blob-digests", a->blob_digests, "RAFS blob digest list separated by comma");
  c->add_option("--original-blob-ids", a->original_blob_ids,
                "original blob id list separated by comma, it may usually be a sha256 hex string");
  c->add_option("--blob-sizes", a->blob_sizes, "RAFS blob size list separated by comma");
  c->add_option("--blob-toc-digests", a->blob_toc_digests,
                "RAFS blob toc digest list separated by comma");
  c->add_option("--blob-toc-sizes", a->blob_toc_sizes,
                "RAFS blob toc size list separated by comma");
  c->add_option("-C,--config", a->config,
                "Configuration file for storage backend, cache and RAFS FUSE filesystem.");
  c->add_option("SOURCE", a->sources, "bootstrap paths (allow one or more)")->required();
}

static std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, ',')) {
    size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    out.push_back(b == std::string::npos ? "" : item.substr(b, e - b + 1));
  }
  return out;
}

static Result<std::optional<std::vector<uint64_t>>> ParseSizes(const std::string& s,
                                                               const char* flag) {
  if (s.empty()) return std::optional<std::vector<uint64_t>>();
  std::vector<uint64_t> out;
  for (const std::string& item : SplitList(s)) {
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos ||
        item.size() > 19) {
      return Status::InvalidArgument(std::string("invalid number '") + item + "' in " + flag);
    }
    out.push_back(std::stoull(item));
  }
  return std::optional<std::vector<uint64_t>>(std::move(out));
}

static std::optional<std::vector<std::string>> ParseList(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return SplitList(s);
}

Status RunMerge(const MergeArgs& a) {
  builder::MergeOptions o;
  o.sources = a.sources;
  o.parent_bootstrap = a.parent_bootstrap;
  o.bootstrap_path = a.bootstrap;
  o.blob_dir = a.blob_dir;
  o.chunk_dict = a.chunk_dict;
  if (o.chunk_dict.rfind("bootstrap=", 0) == 0) o.chunk_dict = o.chunk_dict.substr(10);
  o.blob_digests = ParseList(a.blob_digests);
  o.original_blob_ids = ParseList(a.original_blob_ids);
  o.blob_toc_digests = ParseList(a.blob_toc_digests);
  ASSIGN_OR_RETURN(o.blob_sizes, ParseSizes(a.blob_sizes, "--blob-sizes"));
  ASSIGN_OR_RETURN(o.blob_toc_sizes, ParseSizes(a.blob_toc_sizes, "--blob-toc-sizes"));
  // As the reference: a config makes blobs "accessible", so their recorded ids are kept. The
  // file itself is not read (merge never reads blob data).
  o.blob_accessible = !a.config.empty();
  o.prefetch_policy = a.prefetch_policy == "fs"     ? builder::PrefetchPolicy::kFs
                      : a.prefetch_policy == "blob" ? builder::PrefetchPolicy::kBlob
                                                    : builder::PrefetchPolicy::kNone;
  if (o.prefetch_policy != builder::PrefetchPolicy::kNone) {
    std::string line;
    while (std::getline(std::cin, line)) o.prefetch_patterns.push_back(line);
  }
  ASSIGN_OR_RETURN(builder::MergeResult res, builder::Merge(o));
  std::string ids = "[";
  for (size_t i = 0; i < res.blob_ids.size(); ++i)
    ids += (i ? ", \"" : "\"") + res.blob_ids[i] + "\"";
  ids += "]";
  LOG_INFO("successfully merged {} bootstraps: meta blob path: {}, data blobs: {}",
           a.sources.size(), res.bootstrap_path, ids);
  if (!a.output_json.empty()) {
    Json j;
    j["version"] = kNydusImageVersion;
    j["bootstrap"] = res.bootstrap_path;
    j["blobs"] = res.blob_ids;
    j["trace"] = Json::object();
    std::string text = j.dump(2);
    RETURN_IF_ERROR(WriteWholeFile(a.output_json, AsBytes(text)));
  }
  return Status::OK();
}

}  // namespace nydus::tools
