// The nydus-image subcommands' CLI11 registration: flags, defaults and checks as the
// reference's nydus-image 2.2 has them. The only nydus-image file that includes CLI11 next to
// the main (a header-only library that costs about 10 s of compile time per file); the
// runners live in nydus_image_<command>.cc.
#include <CLI/CLI.hpp>

#include "tools/nydus_image_cmds.h"

namespace nydus::tools {

namespace {

// Options several subcommands share, with the reference's wording.
void AddOutputJson(CLI::App* c, std::string* out) {
  c->add_option("-J,--output-json", *out, "File path to save operation result in JSON format");
}

void AddPrefetchPolicy(CLI::App* c, std::string* policy) {
  c->add_option("--prefetch-policy", *policy,
                "Set data prefetch policy (patterns are read from stdin):")
      ->default_str("none")
      ->check(CLI::IsMember({"fs", "blob", "none"}));
}

// The bootstrap as a positional argument, or through the deprecated -B.
void AddBootstrapArgs(CLI::App* c, std::string* positional, std::string* deprecated) {
  c->add_option("BOOTSTRAP", *positional, "File path of RAFS metadata");
  c->add_option("-B,--bootstrap", *deprecated,
                "[Deprecated] File path of RAFS meta blob/bootstrap");
}

}  // namespace

void AddCreateCommand(CLI::App& app, CreateArgs* a) {
  CLI::App* c =
      app.add_subcommand("create", "Create RAFS filesystems from directories or tar/tar.gz layers");
  c->add_option("SOURCE", a->source, "source from which to build the RAFS filesystem")->required();
  c->add_option("-t,--type,--source-type", a->type, "Conversion type:")
      ->default_str("dir-rafs")
      ->check(CLI::IsMember({"directory", "dir-rafs", "tar-rafs", "targz-rafs"}));
  c->add_option("-B,--bootstrap", a->bootstrap,
                "File path to save the generated RAFS metadata blob");
  c->add_option("-D,--blob-dir", a->blob_dir,
                "Directory path to save generated RAFS metadata and data blobs");
  c->add_option("-b,--blob", a->blob, "File path to save the generated RAFS data blob");
  c->add_flag("--blob-inline-meta,--inline-bootstrap", a->blob_inline_meta,
              "Inline RAFS metadata and blob metadata into the data blob");
  c->add_option("--blob-id", a->blob_id, "OSS object id for the generated RAFS data blob");
  c->add_option("--chunk-size", a->chunk_size,
                "Set the size of data chunks, must be power of two and between "
                "0x1000-0x1000000: [default: 0x100000]");
  c->add_option("--compressor", a->compressor, "Algorithm to compress data chunks:")
      ->default_str("zstd")
      ->check(CLI::IsMember({"none", "lz4_block", "zstd"}));
  c->add_option("--digester", a->digester, "Algorithm to digest data chunks:")
      ->default_str("blake3")
      ->check(CLI::IsMember({"blake3", "sha256"}));
  c->add_option("-v,--fs-version", a->fs_version, "Set RAFS format version number:")
      ->default_str("6")
      ->check(CLI::IsMember({"5", "6"}));
  c->add_option("--features", a->features, "Enable/disable features")
      ->check(CLI::IsMember({"blob-toc"}))
      ->delimiter(',');
  c->add_option("--chunk-dict", a->chunk_dict,
                "File path of chunk dictionary for data deduplication");
  c->add_option("--parent-bootstrap", a->parent_bootstrap,
                "File path of the parent/referenced RAFS metadata blob (optional)");
  c->add_flag("--aligned-chunk", a->aligned_chunk,
              "Align uncompressed data chunks to 4K, only for RAFS V5");
  c->add_flag("--repeatable", a->repeatable, "Generate reproducible RAFS metadata");
  c->add_flag("--disable-check", a->disable_check, "Disable RAFS metadata validation after build")
      ->group("");
  c->add_option("--whiteout-spec", a->whiteout_spec, "Set the type of whiteout specification:")
      ->default_str("oci")
      ->check(CLI::IsMember({"oci", "overlayfs", "none"}));
  AddPrefetchPolicy(c, &a->prefetch_policy);
  AddOutputJson(c, &a->output_json);
}

void AddMergeCommand(CLI::App& app, MergeArgs* a) {
  CLI::App* c = app.add_subcommand("merge", "Merge multiple bootstraps into a overlaid bootstrap");
  c->add_option("--parent-bootstrap", a->parent_bootstrap,
                "File path of the parent/referenced RAFS metadata blob (optional)");
  c->add_option("-B,--bootstrap", a->bootstrap, "Output path of nydus overlaid bootstrap");
  c->add_option("-D,--blob-dir", a->blob_dir,
                "Directory path to save generated RAFS metadata and data blobs");
  c->add_option("--chunk-dict", a->chunk_dict,
                "File path of chunk dictionary for data deduplication");
  AddPrefetchPolicy(c, &a->prefetch_policy);
  AddOutputJson(c, &a->output_json);
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

void AddCheckCommand(CLI::App& app, CheckArgs* a) {
  CLI::App* c = app.add_subcommand("check", "Validate RAFS filesystem metadata");
  AddBootstrapArgs(c, &a->bootstrap_pos, &a->bootstrap);
  c->add_option("-D,--blob-dir", a->blob_dir,
                "Directory for localfs storage backend, hosting data blobs and cache files");
  c->add_flag("-v,--verbose", a->verbose, "Output message in verbose mode");
  AddOutputJson(c, &a->output_json);
}

void AddInspectCommand(CLI::App& app, InspectArgs* a) {
  CLI::App* c = app.add_subcommand(
      "inspect", "Inspect RAFS filesystem metadata in interactive or request mode");
  AddBootstrapArgs(c, &a->bootstrap_pos, &a->bootstrap);
  c->add_option("-R,--request", a->request, "Inspect RAFS filesystem metadata in request mode")
      ->check(CLI::IsMember({"stats", "ls", "stat", "blobs", "prefetch", "tree"}));
}

void AddStatCommand(CLI::App& app, StatArgs* a) {
  CLI::App* c = app.add_subcommand("stat", "Generate statistics information from RAFS filesystems");
  auto* boot = c->add_option("-B,--bootstrap", a->bootstrap,
                             "Generate statistics information for the RAFS filesystem");
  auto* dir =
      c->add_option("-D,--blob-dir", a->blob_dir,
                    "Generate statistics information for all RAFS filesystems in the directory");
  boot->excludes(dir);
  c->add_option("-T,--target", a->target,
                "Generate statistics information for the RAFS filesystem after applying chunk "
                "deduplication");
  c->add_option("--digester", a->digester, "Algorithm to digest data chunks:")
      ->default_str("blake3")
      ->check(CLI::IsMember({"blake3", "sha256"}));
  AddOutputJson(c, &a->output_json);
}

void AddUnpackCommand(CLI::App& app, UnpackArgs* args) {
  CLI::App* cmd = app.add_subcommand("unpack", "Unpack a RAFS filesystem to a tar file");
  AddBootstrapArgs(cmd, &args->bootstrap_pos, &args->bootstrap);
  auto* blob = cmd->add_option("-b,--blob", args->blob, "Path to RAFS data blob file");
  auto* dir = cmd->add_option("-D,--blob-dir", args->blob_dir,
                              "Directory for localfs storage backend, hosting data blobs and "
                              "cache files");
  auto* type = cmd->add_option("--backend-type", args->backend_type, "Type of backend");
  cmd->add_option("--backend-config", args->backend_config, "Config string of backend");
  cmd->add_option("--backend-config-file", args->backend_config_file, "Config file of backend");
  blob->excludes(dir)->excludes(type);
  dir->excludes(type);
  cmd->add_option("--output", args->output, "Path for output tar file")->required();
}

void AddExportCommand(CLI::App& app, ExportArgs* args) {
  CLI::App* cmd =
      app.add_subcommand("export", "Export RAFS filesystems as raw block disk images or tar files");
  cmd->add_flag("--block", args->block, "Export RAFS filesystems as raw block disk images")
      ->required();
  auto* boot = cmd->add_option("-B,--bootstrap", args->bootstrap,
                               "Bootstrap of the RAFS filesystem to be exported");
  auto* cfg = cmd->add_option("-C,--config", args->config,
                              "Configuration file containing a `BlobCacheEntry` object");
  auto* dir = cmd->add_option("-D,--localfs-dir", args->localfs_dir,
                              "Path to the `localfs` working directory, which also enables the "
                              "`localfs` storage backend");
  boot->needs(dir);
  dir->needs(boot);
  dir->excludes(cfg);
  cmd->add_option("--threads", args->threads,
                  "Number of worker threads to execute export operation, valid values: [1-32]")
      ->default_val(4)
      ->check(CLI::Range(1, 32));
  cmd->add_option("-O,--output", args->output, "File path for saving the exported content");
  cmd->add_flag("--verity", args->verity, "Generate dm-verity data for block device");
}

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

void AddOptimizeCommand(CLI::App& app, OptimizeArgs* a) {
  CLI::App* cmd = app.add_subcommand("optimize", "Optimize By Prefetch");
  cmd->add_option("-B,--bootstrap", a->bootstrap, "File path of RAFS metadata")->required();
  cmd->add_option("-p,--prefetch-files", a->prefetch_files,
                  "Path to a hint file listing files to be prefetched, with each file on a "
                  "separate line (or the JSON {\"version\": \"v1\", \"files\": [...]})")
      ->required();
  CLI::Option* type = cmd->add_option("--backend-type", a->backend_type,
                                      "Type of backend [possible values: registry]");
  type->check(CLI::IsMember({"registry"}));
  CLI::Option* config =
      cmd->add_option("--backend-config", a->backend_config, "Config string of backend");
  CLI::Option* config_file = cmd->add_option("--backend-config-file", a->backend_config_file,
                                             "Config file of backend");
  config->excludes(config_file);
  CLI::Option* dir = cmd->add_option(
      "-D,--blob-dir", a->blob_dir,
      "Directory for localfs storage backend, hosting data blobs and cache files");
  CLI::Option* blob = cmd->add_option("-b,--blob", a->blob, "Path to RAFS data blob file");
  dir->excludes(type);
  blob->excludes(type);
  cmd->add_option("-O,--output-bootstrap", a->output_bootstrap,
                  "Output path of optimized bootstrap")
      ->default_str("optimized_bootstrap");
  cmd->add_option("--output-blob-dir", a->output_blob_dir,
                  "Directroy path for storing optimized blob")
      ->required();
  AddOutputJson(cmd, &a->output_json);
}

}  // namespace nydus::tools
