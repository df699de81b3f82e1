// Per-layer pack and merge steps of nydusify convert (see the header).
#include "converter/layer_build.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file_util.h"
#include "base/json.h"
#include "builder/builder.h"
#include "builder/merge.h"
#include "compress/compressor.h"

extern char** environ;

namespace nydus::converter {

namespace {

std::vector<std::string> Patterns(const ConvertOptions& o) {
  return o.prefetch_patterns.empty() ? std::vector<std::string>{"/"} : o.prefetch_patterns;
}

std::string HexSize(uint32_t v) {
  char b[32];
  std::snprintf(b, sizeof(b), "0x%x", v);
  return b;
}

// Runs `o.nydus_image ARGS…` with the prefetch patterns on its stdin; waits for it.
Status RunNydusImage(const ConvertOptions& o, std::vector<std::string> args,
                     const std::string& scratch_prefix) {
  const std::string patterns_file = scratch_prefix + ".patterns";
  std::string pat;
  for (const auto& p : Patterns(o)) pat += p + "\n";
  RETURN_IF_ERROR(WriteWholeFile(patterns_file, AsBytes(pat)));
  args.insert(args.begin(), o.nydus_image);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, patterns_file.c_str(), O_RDONLY, 0);
  pid_t pid;
  int rc = posix_spawnp(&pid, o.nydus_image.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    ::unlink(patterns_file.c_str());
    return Status::FromErrno(rc, "run " + o.nydus_image);
  }
  int ws = 0;
  while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  ::unlink(patterns_file.c_str());
  if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
    return Status::Internal(o.nydus_image + " " + args[1] + " failed (exit status " +
                            std::to_string(WIFEXITED(ws) ? WEXITSTATUS(ws) : -1) +
                            "); its log is above");
  }
  return Status::OK();
}

Result<std::vector<std::string>> ReadBlobList(const std::string& json_out) {
  ASSIGN_OR_RETURN(Bytes jb, ReadWholeFile(json_out));
  Json j = Json::parse(jb.begin(), jb.end(), nullptr, false);
  if (!j.is_object() || !j.contains("blobs") || !j["blobs"].is_array()) {
    return Status::Corruption(json_out + ": no blobs list");
  }
  std::vector<std::string> ids;
  for (const auto& b : j["blobs"]) {
    if (!b.is_string()) return Status::Corruption(json_out + ": a blob id is not a string");
    ids.push_back(b.get<std::string>());
  }
  return ids;
}

Status WriteBlobList(const ConvertOptions& o, const std::string& boot,
                     const std::vector<std::string>& ids, const std::string& json_out) {
  Json j;
  j["version"] = "nydus-cpp";
  j["bootstrap"] = boot;
  j["blobs"] = ids;
  j["trace"] = Json::object();
  j["fs_version"] = std::to_string(o.fs_version);
  j["compressor"] = o.compressor;
  // Paths need not be UTF-8: replace what is not instead of throwing from a pool thread.
  return WriteWholeFile(json_out, AsBytes(j.dump(2, ' ', false, Json::error_handler_t::replace)));
}

}  // namespace

Result<LayerBuild> PackLayer(const ConvertOptions& o, const std::string& layer_targz,
                             const std::string& boot, const std::string& blob_dir,
                             const std::string& json_out, std::function<void(ByteSpan)> blob_tee) {
  LayerBuild out;
  out.bootstrap = boot;
  if (!o.nydus_image.empty()) {
    if (blob_tee) return Status::Internal("PackLayer: a blob tee needs the in-process builder");
    std::vector<std::string> args = {"create",
                                     "--type",
                                     "targz-rafs",
                                     "--bootstrap",
                                     boot,
                                     "--blob-dir",
                                     blob_dir,
                                     "--fs-version",
                                     std::to_string(o.fs_version),
                                     "--compressor",
                                     o.compressor,
                                     "--whiteout-spec",
                                     "oci",
                                     "--prefetch-policy",
                                     "fs",
                                     "--output-json",
                                     json_out};
    if (o.chunk_size) args.insert(args.end(), {"--chunk-size", HexSize(o.chunk_size)});
    if (!o.chunk_dict.empty()) {
      args.insert(args.end(), {"--chunk-dict", "bootstrap=" + o.chunk_dict});
    }
    args.push_back(layer_targz);
    RETURN_IF_ERROR(RunNydusImage(o, std::move(args), boot));
    ASSIGN_OR_RETURN(out.blob_ids, ReadBlobList(json_out));
    // The new blob is the one written to blob_dir (chunk-dict blobs are not there).
    for (const auto& id : out.blob_ids) {
      if (::access((blob_dir + "/" + id).c_str(), F_OK) == 0) out.new_blob_id = id;
    }
    return out;
  }
  builder::BuildOptions b;
  b.source = layer_targz;
  b.source_type = builder::SourceType::kTarGz;
  b.bootstrap_path = boot;
  b.blob_dir = blob_dir;
  b.chunk_dict = o.chunk_dict;
  b.fs_version = o.fs_version;
  ASSIGN_OR_RETURN(b.compressor, compress::ParseCompressor(o.compressor));
  if (o.chunk_size) b.chunk_size = o.chunk_size;
  b.whiteout_spec = builder::WhiteoutSpec::kOci;
  b.prefetch_policy = builder::PrefetchPolicy::kFs;
  b.prefetch_patterns = Patterns(o);
  b.aligned_chunk = o.fs_version == 6;
  b.blob_tee = std::move(blob_tee);
  RETURN_IF_ERROR(builder::ValidateOptions(b));
  ASSIGN_OR_RETURN(builder::BuildResult r, builder::Build(b));
  out.bootstrap = r.bootstrap_path;
  out.blob_ids = r.blob_ids;
  if (!r.blob_path.empty()) out.new_blob_id = r.blob_path.substr(r.blob_path.rfind('/') + 1);
  RETURN_IF_ERROR(WriteBlobList(o, out.bootstrap, out.blob_ids, json_out));
  return out;
}

Result<LayerBuild> MergeOnto(const ConvertOptions& o, const std::string& parent,
                             const LayerBuild& pack, const std::string& boot,
                             const std::string& blob_dir, const std::string& json_out) {
  LayerBuild out;
  out.bootstrap = boot;
  out.new_blob_id = pack.new_blob_id;
  if (!o.nydus_image.empty()) {
    std::vector<std::string> args = {"merge",      "--bootstrap",   boot,
                                     "--blob-dir", blob_dir,        "--prefetch-policy",
                                     "fs",         "--output-json", json_out};
    if (!parent.empty()) args.insert(args.end(), {"--parent-bootstrap", parent});
    if (!o.chunk_dict.empty()) {
      args.insert(args.end(), {"--chunk-dict", "bootstrap=" + o.chunk_dict});
    }
    // The pack's own blob keeps its id (a content digest), not one derived from the file name.
    if (!pack.new_blob_id.empty())
      args.insert(args.end(), {"--original-blob-ids", pack.new_blob_id});
    args.push_back(pack.bootstrap);
    RETURN_IF_ERROR(RunNydusImage(o, std::move(args), boot));
    ASSIGN_OR_RETURN(out.blob_ids, ReadBlobList(json_out));
    return out;
  }
  builder::MergeOptions m;
  m.sources = {pack.bootstrap};
  m.bootstrap_path = boot;
  m.blob_dir = blob_dir;
  m.parent_bootstrap = parent;
  m.chunk_dict = o.chunk_dict;
  if (!pack.new_blob_id.empty()) m.original_blob_ids = std::vector<std::string>{pack.new_blob_id};
  m.prefetch_policy = builder::PrefetchPolicy::kFs;
  m.prefetch_patterns = Patterns(o);
  ASSIGN_OR_RETURN(builder::MergeResult r, builder::Merge(m));
  out.blob_ids = r.blob_ids;
  RETURN_IF_ERROR(WriteBlobList(o, out.bootstrap, out.blob_ids, json_out));
  return out;
}

}  // namespace nydus::converter
