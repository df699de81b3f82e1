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
  LOG_INFO("successfully merged {} bootstraps: meta blob path: {}, data blobs: {}",
           a.sources.size(), res.bootstrap_path, BlobListString(res.blob_ids));
  if (!a.output_json.empty()) {
    RETURN_IF_ERROR(WriteBuildOutputJson(a.output_json, res.bootstrap_path, res.blob_ids));
  }
  return Status::OK();
}

}  // namespace nydus::tools
