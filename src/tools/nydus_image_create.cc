// `nydus-image create`: flags → BuildOptions → builder::Build → summary and output JSON.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "base/file_util.h"
#include "base/json.h"
#include "base/logging.h"
#include "builder/builder.h"
#include "compress/compressor.h"
#include "tools/nydus_image_cmds.h"

namespace nydus::tools {

// The reference parses --chunk-size as hex, with or without a 0x prefix.
static Result<uint32_t> ParseChunkSize(const std::string& s) {
  std::string hex = s;
  if (hex.rfind("0x", 0) == 0 || hex.rfind("0X", 0) == 0) hex = hex.substr(2);
  if (hex.empty() || hex.size() > 8 ||
      hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    return Status::InvalidArgument("invalid --chunk-size '" + s + "': expected hex like 0x100000");
  }
  return static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
}

static Result<std::vector<std::string>> ReadPatternsFromStdin() {
  std::vector<std::string> out;
  std::string line;
  while (std::getline(std::cin, line)) out.push_back(line);
  return out;
}

static Result<builder::BuildOptions> ToBuildOptions(const CreateArgs& a) {
  builder::BuildOptions o;
  o.source = a.source;
  o.source_type = a.type == "tar-rafs"     ? builder::SourceType::kTar
                  : a.type == "targz-rafs" ? builder::SourceType::kTarGz
                                           : builder::SourceType::kDirectory;
  o.bootstrap_path = a.bootstrap;
  o.blob_dir = a.blob_dir;
  o.blob_path = a.blob;
  o.blob_id = a.blob_id;
  o.parent_bootstrap = a.parent_bootstrap;
  o.chunk_dict = a.chunk_dict;
  if (o.chunk_dict.rfind("bootstrap=", 0) == 0) o.chunk_dict = o.chunk_dict.substr(10);
  o.fs_version = a.fs_version == "5" ? 5 : 6;
  ASSIGN_OR_RETURN(o.compressor, compress::ParseCompressor(a.compressor));
  o.digester = a.digester == "sha256" ? format::Digester::kSha256 : format::Digester::kBlake3;
  if (!a.chunk_size.empty()) {
    ASSIGN_OR_RETURN(o.chunk_size, ParseChunkSize(a.chunk_size));
  }
  o.whiteout_spec = a.whiteout_spec == "overlayfs" ? builder::WhiteoutSpec::kOverlayfs
                    : a.whiteout_spec == "none"    ? builder::WhiteoutSpec::kNone
                                                   : builder::WhiteoutSpec::kOci;
  o.prefetch_policy = a.prefetch_policy == "fs"     ? builder::PrefetchPolicy::kFs
                      : a.prefetch_policy == "blob" ? builder::PrefetchPolicy::kBlob
                                                    : builder::PrefetchPolicy::kNone;
  if (o.prefetch_policy != builder::PrefetchPolicy::kNone) {
    ASSIGN_OR_RETURN(o.prefetch_patterns, ReadPatternsFromStdin());
  }
  o.repeatable = a.repeatable;
  o.aligned_chunk = a.aligned_chunk || o.fs_version == 6;
  o.blob_inline_meta = a.blob_inline_meta;
  for (const auto& f : a.features) o.blob_toc |= (f == "blob-toc");
  o.verify_after_build = !a.disable_check;
  if (const char* t = std::getenv("NYDUS_BUILD_THREADS"); t && *t) {
    o.threads = static_cast<size_t>(std::strtoul(t, nullptr, 10));
  }
  RETURN_IF_ERROR(builder::ValidateOptions(o));
  return o;
}

std::string BlobListString(const std::vector<std::string>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? ", \"" : "\"") + ids[i] + "\"";
  return s + "]";
}

Status WriteBuildOutputJson(const std::string& path, const std::string& bootstrap,
                            const std::vector<std::string>& blobs, Json extra) {
  Json j;
  j["version"] = kNydusImageVersion;
  j["bootstrap"] = bootstrap;
  j["blobs"] = blobs;
  j["trace"] = Json::object();
  for (auto& [key, value] : extra.items()) j[key] = std::move(value);
  return WriteWholeFile(path, AsBytes(j.dump(2)));
}

Status RunCreate(const CreateArgs& a) {
  ASSIGN_OR_RETURN(builder::BuildOptions opts, ToBuildOptions(a));
  ASSIGN_OR_RETURN(builder::BuildResult res, builder::Build(opts));
  std::ostringstream summary;
  summary << "meta blob path: "
          << (res.bootstrap_path.empty() ? "<none>" : res.bootstrap_path) << "\n"
          << "data blob size: 0x" << std::hex << res.blob_size << std::dec << "\n"
          << "data blobs: " << BlobListString(res.blob_ids);
  LOG_INFO("successfully built RAFS filesystem: \n{}", summary.str());
  if (!a.output_json.empty()) {
    RETURN_IF_ERROR(WriteBuildOutputJson(a.output_json, res.bootstrap_path, res.blob_ids,
                                         {{"fs_version", a.fs_version},
                                          {"compressor", a.compressor}}));
  }
  return Status::OK();
}

}  // namespace nydus::tools
