// Subcommands of nydus-image: argument structs, CLI11 registration (nydus_image_cli.cc) and
// runners (nydus_image_<command>.cc).
#pragma once

#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace CLI {
class App;
}  // namespace CLI

namespace nydus::tools {

inline constexpr const char* kNydusImageVersion = "2.2.5-nydus-cpp";

// `["id1", "id2"]`, the blob list of the reference's log lines.
std::string BlobListString(const std::vector<std::string>& ids);
// Writes the reference's --output-json of create/merge/optimize to `path`: {"version",
// "bootstrap", "blobs", "trace"} plus the fields of `extra`.
Status WriteBuildOutputJson(const std::string& path, const std::string& bootstrap,
                            const std::vector<std::string>& blobs, Json extra = Json::object());

struct CreateArgs {
  std::string source;
  std::string type = "dir-rafs";
  std::string bootstrap, blob_dir, blob, blob_id;
  bool blob_inline_meta = false;
  std::string chunk_size;  // hex, with or without 0x
  std::string compressor = "zstd";
  std::string digester = "blake3";
  std::string fs_version = "6";
  std::vector<std::string> features;
  std::string chunk_dict;
  std::string parent_bootstrap;
  bool aligned_chunk = false;
  bool repeatable = false;
  bool disable_check = false;
  std::string whiteout_spec = "oci";
  std::string prefetch_policy = "none";
  std::string output_json;
};
void AddCreateCommand(CLI::App& app, CreateArgs* args);
Status RunCreate(const CreateArgs& args);

struct MergeArgs {
  std::vector<std::string> sources;
  std::string parent_bootstrap, bootstrap, blob_dir, chunk_dict, output_json, config;
  std::string prefetch_policy = "none";
  std::string blob_digests, original_blob_ids, blob_sizes, blob_toc_digests, blob_toc_sizes;
};
void AddMergeCommand(CLI::App& app, MergeArgs* args);
Status RunMerge(const MergeArgs& args);

struct CheckArgs {
  std::string bootstrap_pos, bootstrap, blob_dir, output_json;
  bool verbose = false;
};
void AddCheckCommand(CLI::App& app, CheckArgs* args);
Status RunCheck(const CheckArgs& args);

struct InspectArgs {
  std::string bootstrap_pos, bootstrap, request;
};
void AddInspectCommand(CLI::App& app, InspectArgs* args);
Status RunInspect(const InspectArgs& args);

// `stat`: -B one base image or -D every bootstrap of a directory (with the dedup table),
// optionally -T a target split against them; the text report, or the JSON with -J.
struct StatArgs {
  std::string bootstrap, blob_dir, target, digester = "blake3", output_json;
};
void AddStatCommand(CLI::App& app, StatArgs* args);
Status RunStat(const StatArgs& args);

struct UnpackArgs {
  std::string bootstrap_pos, bootstrap, blob, blob_dir, output;
  std::string backend_type, backend_config, backend_config_file;
};
void AddUnpackCommand(CLI::App& app, UnpackArgs* args);
Status RunUnpack(const UnpackArgs& args);

struct ExportArgs {
  bool block = false, verity = false;
  std::string bootstrap, config, localfs_dir, output;
  int threads = 4;
};
void AddExportCommand(CLI::App& app, ExportArgs* args);
Status RunExport(const ExportArgs& args);

// Numbers are kept as text so that "not given" is distinguishable from 0.
struct CompactArgs {
  std::string bootstrap, config, blob_dir, output_bootstrap, output_json;
  std::string min_used_ratio, compact_blob_size, max_compact_size, layers_to_compact;
};
void AddCompactCommand(CLI::App& app, CompactArgs* args);
Status RunCompact(const CompactArgs& args);

struct OptimizeArgs {
  std::string bootstrap, prefetch_files, blob_dir, blob, backend_type, backend_config,
      backend_config_file, output_bootstrap = "optimized_bootstrap", output_blob_dir,
      output_json;
};
void AddOptimizeCommand(CLI::App& app, OptimizeArgs* args);
Status RunOptimize(const OptimizeArgs& args);

}  // namespace nydus::tools
