// `nydus-image optimize` (reference HEAD): builder/optimize.h. Flags follow the reference:
// -B/--bootstrap, -p/--prefetch-files, -D/--blob-dir or -b/--blob (localfs) or
// --backend-type registry with --backend-config / --backend-config-file (the registry
// backend's settings object, as in nydusd's config), -O/--output-bootstrap (default
// "optimized_bootstrap"), --output-blob-dir, -J/--output-json. The reference's -C/--config
// (a whole nydusd config) is not supported: give the backend with the flags above.
#include <cstdio>

#include "base/file_util.h"
#include "base/json.h"
#include "builder/optimize.h"
#include "registry/registry_backend.h"
#include "tools/nydus_image_cmds.h"

namespace nydus::tools {
namespace {

Result<std::unique_ptr<storage::BlobBackend>> Backend(const OptimizeArgs& a) {
  if (!a.backend_type.empty()) {
    std::string text = a.backend_config;
    if (!a.backend_config_file.empty()) {
      ASSIGN_OR_RETURN(Bytes b, ReadWholeFile(a.backend_config_file, 1 << 20));
      text.assign(b.begin(), b.end());
    }
    if (text.empty()) {
      return Status::InvalidArgument(
          "--backend-type needs --backend-config or --backend-config-file");
    }
    const Json raw = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (raw.is_discarded() || !raw.is_object()) {
      return Status::InvalidArgument("backend config is not a JSON object");
    }
    return registry::NewRegistryBackend(raw, "--backend-config");
  }
  if (a.blob_dir.empty() && a.blob.empty()) {
    return Status::InvalidArgument("--blob-dir, --blob or --backend-type must be specified");
  }
  storage::LocalfsConfig lc;
  lc.dir = a.blob_dir;
  lc.blob_file = a.blob;
  return storage::NewLocalfsBackend(lc);
}

}  // namespace

Status RunOptimize(const OptimizeArgs& a) {
  ASSIGN_OR_RETURN(Bytes list_text, ReadWholeFile(a.prefetch_files, 256ull << 20));
  ASSIGN_OR_RETURN(std::vector<builder::PrefetchFileEntry> files,
                   builder::ParsePrefetchFiles(std::string_view(
                       reinterpret_cast<const char*>(list_text.data()), list_text.size())));
  ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobBackend> backend, Backend(a));
  builder::OptimizeOptions o;
  o.output_bootstrap = a.output_bootstrap;
  o.output_blob_dir = a.output_blob_dir;
  ASSIGN_OR_RETURN(builder::OptimizeResult r,
                   builder::OptimizePrefetch(a.bootstrap, backend.get(), files, o));
  std::fprintf(stderr,
               "optimized %s: prefetch blob %s, %llu files, %llu chunks, %llu bytes "
               "(%llu stored), %llu entries skipped\n",
               r.bootstrap_path.c_str(), r.prefetch_blob.blob_id.c_str(),
               static_cast<unsigned long long>(r.files), static_cast<unsigned long long>(r.chunks),
               static_cast<unsigned long long>(r.bytes_uncompressed),
               static_cast<unsigned long long>(r.prefetch_blob.compressed_size),
               static_cast<unsigned long long>(r.skipped));
  if (!a.output_json.empty()) {
    // ours: which of `blobs` is new, and its size
    RETURN_IF_ERROR(WriteBuildOutputJson(
        a.output_json, r.bootstrap_path, r.blob_ids,
        {{"prefetch_blob", r.prefetch_blob.blob_id},
         {"prefetch_blob_size", r.prefetch_blob.compressed_size}}));
  }
  return Status::OK();
}

}  // namespace nydus::tools
