// `nydus-image export --block`: a RAFS v6 image → one raw EROFS disk image
// (builder/export_block.h). Flags follow the reference HEAD: --block (required), -B/--bootstrap
// with -D/--localfs-dir, -O/--output (default <localfs-dir>/<bootstrap name>.disk),
// --threads (accepted; the export is single-threaded), --verity (not implemented yet),
// -C/--config (a BlobCacheEntry; not supported yet: use -B and -D).
#include <cstdio>

#include "builder/export_block.h"
#include "tools/nydus_image_cmds.h"

namespace nydus::tools {

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

Status RunExport(const ExportArgs& args) {
  if (!args.config.empty()) {
    return Status::NotSupported(
        "export: -C/--config (BlobCacheEntry) is not supported yet; "
        "use -B BOOTSTRAP -D LOCALFS_DIR");
  }
  if (args.verity) return Status::NotSupported("export: --verity is not implemented yet");
  if (args.bootstrap.empty()) return Status::InvalidArgument("export: missing -B/--bootstrap");
  builder::ExportBlockOptions o;
  o.bootstrap_path = args.bootstrap;
  o.blob_dir = args.localfs_dir;
  o.output_path = args.output;
  ASSIGN_OR_RETURN(builder::ExportBlockResult r, builder::ExportBlock(o));
  std::fprintf(stderr, "exported %s: %llu bytes, %llu chunks\n", r.output_path.c_str(),
               static_cast<unsigned long long>(r.size), static_cast<unsigned long long>(r.chunks));
  return Status::OK();
}

}  // namespace nydus::tools
