// `nydus-image unpack`: a RAFS image → an OCI-style tar (builder/unpack.h).
// Flags follow the reference HEAD: BOOTSTRAP or -B, one of -D/--blob-dir, -b/--blob,
// --output (required). --backend-type/--backend-config(-file) are accepted for the localfs
// backend only ({"dir": ...} or {"blob_file": ...}); remote backends are not wired here yet.
#include <cstdio>

#include "base/file_util.h"
#include "base/json.h"
#include "builder/unpack.h"
#include "tools/nydus_image_cmds.h"

namespace nydus::tools {

Status RunUnpack(const UnpackArgs& args) {
  builder::UnpackOptions o;
  if (!args.bootstrap_pos.empty() && !args.bootstrap.empty()) {
    return Status::InvalidArgument("give the bootstrap either as BOOTSTRAP or with -B, not both");
  }
  o.bootstrap_path = args.bootstrap_pos.empty() ? args.bootstrap : args.bootstrap_pos;
  if (o.bootstrap_path.empty()) return Status::InvalidArgument("missing bootstrap");
  o.blob_dir = args.blob_dir;
  o.blob_path = args.blob;
  o.output_path = args.output;
  if (!args.backend_type.empty()) {
    if (args.backend_type != "localfs") {
      return Status::NotSupported("unpack: backend type " + args.backend_type +
                                  " is not supported yet (use -D or -b)");
    }
    std::string text = args.backend_config;
    if (!args.backend_config_file.empty()) {
      ASSIGN_OR_RETURN(Bytes b, ReadWholeFile(args.backend_config_file, 1 << 20));
      text.assign(b.begin(), b.end());
    }
    const Json cfg = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (cfg.is_discarded() || !cfg.is_object()) {
      return Status::InvalidArgument("unpack: backend config is not a JSON object");
    }
    if (cfg.contains("dir") && cfg["dir"].is_string()) o.blob_dir = cfg["dir"].get<std::string>();
    if (cfg.contains("blob_file") && cfg["blob_file"].is_string()) {
      o.blob_path = cfg["blob_file"].get<std::string>();
    }
  }
  ASSIGN_OR_RETURN(builder::UnpackStats st, builder::Unpack(o));
  std::fprintf(stderr, "unpacked %llu entries, %llu data bytes (%llu sockets skipped) to %s\n",
               static_cast<unsigned long long>(st.entries),
               static_cast<unsigned long long>(st.data_bytes),
               static_cast<unsigned long long>(st.skipped), o.output_path.c_str());
  return Status::OK();
}

}  // namespace nydus::tools
