// `nydus-image export --block`: a RAFS v6 image → one raw EROFS disk image
// (builder/export_block.h). Flags follow the reference HEAD: --block (required), -B/--bootstrap
// with -D/--localfs-dir, -O/--output (default <localfs-dir>/<bootstrap name>.disk),
// --threads (accepted; the export is single-threaded), --verity (not implemented yet),
// -C/--config (a BlobCacheEntry; not supported yet: use -B and -D).
#include <cstdio>

#include "builder/export_block.h"
#include "tools/nydus_image_cmds.h"

namespace nydus::tools {

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
