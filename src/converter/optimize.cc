// `nydusify optimize` (see the header).
#include "converter/optimize.h"

#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <string_view>

#include "base/digest.h"
#include "base/file_util.h"
#include "base/logging.h"
#include "builder/optimize.h"
#include "converter/blob_push.h"
#include "converter/mount.h"
#include "converter/remote_image.h"
#include "registry/registry_backend.h"
#include "registry/registry_config.h"

extern char** environ;

namespace nydus::converter {

namespace {

using internal::Clock;
using internal::Elapsed;
using internal::FileSize;
using internal::PushFile;

constexpr uint64_t kMaxListBytes = 256ull << 20;  // as `nydus-image optimize`

bool IsBlobId(std::string_view id) {
  return id.size() == 64 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// The registry backend settings for the source repository, as nydusify mount gives nydusd
// (credentials not included: they go in separately).
Json SourceBackendConfig(const ImageRef& ref, bool insecure) {
  return Json{{"scheme", insecure ? "http" : "https"},
              {"host", ref.ApiHost()},
              {"repo", ref.repo},
              {"skip_verify", insecure},
              {"timeout", 30},
              {"connect_timeout", 10},
              {"retry_limit", 2}};
}

struct BuiltBlob {
  std::string id;
  std::string detail;  // for the log line
};

Result<BuiltBlob> BuildInProcess(const std::string& boot, const std::string& list_text,
                                 const Json& backend_json, const std::string& auth,
                                 const std::string& blob_dir, const std::string& out_boot) {
  ASSIGN_OR_RETURN(std::vector<builder::PrefetchFileEntry> files,
                   builder::ParsePrefetchFiles(list_text));
  ASSIGN_OR_RETURN(registry::RegistryConfig rc,
                   registry::ParseRegistryConfig(backend_json, "source backend"));
  rc.auth = auth;
  ASSIGN_OR_RETURN(std::unique_ptr<registry::RegistryBackend> backend,
                   registry::RegistryBackend::Create(std::move(rc)));
  builder::OptimizeOptions bo;
  bo.output_bootstrap = out_boot;
  bo.output_blob_dir = blob_dir;
  ASSIGN_OR_RETURN(builder::OptimizeResult r,
                   builder::OptimizePrefetch(boot, backend.get(), files, bo));
  const registry::RegistryStats st = backend->metrics();
  BuiltBlob out;
  out.id = r.prefetch_blob.blob_id;
  out.detail = "files=" + std::to_string(r.files) + " skipped=" + std::to_string(r.skipped) +
               " chunks=" + std::to_string(r.chunks) + " fetched=" + std::to_string(st.bytes) +
               " in " + std::to_string(st.reads) + " range reads";
  return out;
}

// `nydus_image optimize …` with IMAGE_PULL_AUTH = `auth` (or none) in its environment.
Result<BuiltBlob> BuildExternal(const std::string& nydus_image, const std::string& boot,
                                const std::string& list_path, const Json& backend_json,
                                const std::string& auth, const std::string& blob_dir,
                                const std::string& out_boot, const std::string& json_out) {
  std::vector<std::string> args = {nydus_image,          "optimize",
                                   "--bootstrap",        boot,
                                   "--prefetch-files",   list_path,
                                   "--backend-type",     "registry",
                                   "--backend-config",   backend_json.dump(),
                                   "--output-bootstrap", out_boot,
                                   "--output-blob-dir",  blob_dir,
                                   "--output-json",      json_out};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!std::string_view(*e).starts_with("IMAGE_PULL_AUTH=")) env_store.emplace_back(*e);
  }
  if (!auth.empty()) env_store.push_back("IMAGE_PULL_AUTH=" + auth);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  ::unlink(json_out.c_str());  // a stale one must not be read as this run's
  pid_t pid;
  const int rc =
      posix_spawnp(&pid, nydus_image.c_str(), nullptr, nullptr, argv.data(), envp.data());
  if (rc != 0) return Status::FromErrno(rc, "run " + nydus_image);
  int ws = 0;
  while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
    return Status::Internal(nydus_image + " optimize failed (exit status " +
                            std::to_string(WIFEXITED(ws) ? WEXITSTATUS(ws) : -1) +
                            "); its log is above");
  }
  // The reference reads the last blob of the output JSON as the new one.
  ASSIGN_OR_RETURN(Bytes jb, ReadWholeFile(json_out, 64 << 20));
  const Json j = Json::parse(jb.begin(), jb.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("blobs") || !j["blobs"].is_array() || j["blobs"].empty() ||
      !j["blobs"].back().is_string()) {
    return Status::Corruption(json_out + ": no blobs list");
  }
  BuiltBlob out;
  out.id = j["blobs"].back().get<std::string>();
  out.detail = "by " + nydus_image;
  return out;
}

}  // namespace

Result<std::vector<Descriptor>> OptimizableBlobLayers(const ImageManifest& source) {
  const auto& layers = source.layers;
  if (layers.empty() || layers.back().Annotation(kAnnoNydusBootstrap) != "true") {
    return Status::InvalidArgument("not a nydus image: the last layer is not a bootstrap layer");
  }
  if (const std::string id = layers.back().Annotation(kAnnoNydusPrefetchBlob); !id.empty()) {
    return Status::InvalidArgument("the image is already optimized (prefetch blob " + id +
                                   "); optimize the original image instead");
  }
  std::vector<Descriptor> blobs(layers.begin(), layers.end() - 1);
  for (size_t i = 0; i < blobs.size(); ++i) {
    if (blobs[i].media_type != kNydusBlobLayer) {
      return Status::InvalidArgument("layer " + std::to_string(i) + " (" + blobs[i].digest + ", " +
                                     blobs[i].media_type +
                                     ") is neither a nydus blob nor the bootstrap layer");
    }
  }
  return blobs;
}

Result<OptimizedImage> AssembleOptimizedImage(const ImageManifest& source, const Json& config,
                                              const std::string& prefetch_blob_id,
                                              uint64_t prefetch_blob_size,
                                              const LayerFile& bootstrap_layer) {
  ASSIGN_OR_RETURN(std::vector<Descriptor> blobs, OptimizableBlobLayers(source));
  if (!IsBlobId(prefetch_blob_id)) {
    return Status::InvalidArgument("invalid prefetch blob id '" + prefetch_blob_id + "'");
  }
  if (!config.is_object()) return Status::InvalidArgument("the image config is not an object");
  OptimizedImage out;
  out.manifest.media_type = source.media_type;
  Json diff_ids = Json::array();
  for (const Descriptor& d : blobs) {
    diff_ids.push_back(d.digest);  // a nydus blob is not compressed as a whole: diff id = digest
    out.manifest.layers.push_back(d);
  }
  Descriptor pd;
  pd.media_type = kNydusBlobLayer;
  pd.digest = "sha256:" + prefetch_blob_id;
  pd.size = prefetch_blob_size;
  pd.annotations[kAnnoNydusBlob] = "true";
  for (const Descriptor& d : blobs) {
    if (d.digest == pd.digest) {
      return Status::InvalidArgument("the prefetch blob " + pd.digest + " is a layer already");
    }
  }
  diff_ids.push_back(pd.digest);
  out.manifest.layers.push_back(pd);

  const Descriptor& old_boot = source.layers.back();
  Descriptor bd;
  bd.media_type = old_boot.media_type;
  bd.digest = bootstrap_layer.digest;
  bd.size = bootstrap_layer.size;
  bd.annotations = old_boot.annotations;
  bd.annotations[kAnnoNydusPrefetchBlob] = prefetch_blob_id;
  diff_ids.push_back(bootstrap_layer.diff_id);
  out.manifest.layers.push_back(bd);

  Json c = config;
  c["rootfs"] = Json{{"type", "layers"}, {"diff_ids", diff_ids}};
  Json entry{{"created_by", "Nydus Optimizer"}, {"comment", "Nydus Prefetch Blob Layer"}};
  if (c.contains("history") && c["history"].is_array() && !c["history"].empty()) {
    // Before the bootstrap layer's entry (the last), in layer order.
    c["history"].insert(c["history"].end() - 1, entry);
  } else {
    c["history"] = Json::array({entry});
  }
  out.config_body = c.dump();
  out.manifest.config = source.config;
  out.manifest.config.digest = "sha256:" + DigestHex(Sha256(AsBytes(out.config_body)));
  out.manifest.config.size = out.config_body.size();
  return out;
}

Result<OptimizeImageResult> OptimizeImage(const OptimizeImageOptions& o) {
  const auto t_all = Clock::now();
  if (o.policy != kOptimizePolicySeparated) {
    return Status::InvalidArgument("unsupported --policy '" + o.policy + "': the only policy is " +
                                   kOptimizePolicySeparated);
  }
  if (o.prefetch_files.empty()) {
    return Status::InvalidArgument("--prefetch-files is required for policy " + o.policy);
  }
  ASSIGN_OR_RETURN(ImageRef src_ref, ParseImageRef(o.source));
  ASSIGN_OR_RETURN(ImageRef dst_ref, ParseImageRef(o.target));
  if (!dst_ref.digest.empty()) {
    return Status::InvalidArgument("--target must be a tag, not a digest: " + o.target);
  }
  ASSIGN_OR_RETURN(Platform platform, ParsePlatform(o.platform));
  ASSIGN_OR_RETURN(Bytes list, ReadWholeFile(o.prefetch_files, kMaxListBytes));
  const std::string list_text(list.begin(), list.end());

  const std::string work = (o.work_dir.empty() ? "./tmp" : o.work_dir) + "/optimize";
  const std::string blob_dir = work + "/blobs", src_dir = work + "/source";
  RETURN_IF_ERROR(MakeDirs(blob_dir));
  ASSIGN_OR_RETURN(Credentials src_creds, LoadDockerAuth(DockerConfigPath(), src_ref.host));
  ASSIGN_OR_RETURN(auto src, OpenRepo(src_ref, o.source_insecure, src_creds));
  ASSIGN_OR_RETURN(auto dst, OpenRepo(dst_ref, o.target_insecure));

  // 1. The source image and its bootstrap.
  LOG_INFO("Pulling image {}", src_ref.ToString());
  auto t0 = Clock::now();
  ASSIGN_OR_RETURN(ResolvedImage image, FetchNydusBootstrap(*src, src_ref, platform, src_dir));
  auto blob_layers = OptimizableBlobLayers(image.manifest);
  if (!blob_layers.ok()) return blob_layers.status().WithContext("image " + src_ref.ToString());
  LOG_INFO("[BOOT] Pull bootstrap digest={} size={} elapsed={}",
           image.manifest.layers.back().digest, image.manifest.layers.back().size, Elapsed(t0));

  // 2. The prefetch blob and the new bootstrap, reading the source repository by range.
  t0 = Clock::now();
  const std::string boot = work + "/optimized_bootstrap";
  const Json backend = SourceBackendConfig(src_ref, o.source_insecure);
  const std::string auth =
      src_creds.empty() ? ""
                        : registry::Base64Encode(src_creds.username + ":" + src_creds.password);
  Result<BuiltBlob> built =
      o.nydus_image.empty()
          ? BuildInProcess(src_dir + "/image.boot", list_text, backend, auth, blob_dir, boot)
          : BuildExternal(o.nydus_image, src_dir + "/image.boot", o.prefetch_files, backend, auth,
                          blob_dir, boot, work + "/output.json");
  if (!built.ok()) return built.status().WithContext("build the prefetch blob");
  if (!IsBlobId(built->id)) {
    return Status::Corruption("build the prefetch blob: invalid blob id '" + built->id + "'");
  }
  const std::string blob_path = blob_dir + "/" + built->id;
  const uint64_t blob_size = FileSize(blob_path);
  if (blob_size == 0) return Status::NotFound("prefetch blob " + blob_path + " is missing");
  LOG_INFO("[OPTI] Build prefetch blob={} size={} {} elapsed={}", built->id, blob_size,
           built->detail, Elapsed(t0));

  // 3. The blob layers: the source's must be in the target repository, then the new one.
  const bool same_repo = src_ref.ApiHost() == dst_ref.ApiHost() && src_ref.repo == dst_ref.repo;
  if (!same_repo) {
    for (const Descriptor& d : *blob_layers) {
      ASSIGN_OR_RETURN(uint64_t n,
                       internal::EnsureBlob(*dst, src.get(), src_ref, d.digest, work, "source"));
      if (n != d.size) {
        return Status::Corruption("blob " + d.digest + ": " + std::to_string(n) +
                                  " bytes in the target, the manifest says " +
                                  std::to_string(d.size));
      }
    }
  }
  RETURN_IF_ERROR(
      PushFile(*dst, nullptr, blob_path, "sha256:" + built->id, "[BLOB]", "Push prefetch blob"));

  // 4. The bootstrap layer, with the list beside the bootstrap.
  ASSIGN_OR_RETURN(LayerFile boot_layer, WriteBootstrapLayer(boot, work + "/bootstrap-layer.tar.gz",
                                                             {{kPrefetchFilesInLayer, list_text}}));
  RETURN_IF_ERROR(
      PushFile(*dst, nullptr, boot_layer.path, boot_layer.digest, "[BOOT]", "Push bootstrap"));

  // 5. Config and manifest.
  ASSIGN_OR_RETURN(OptimizedImage out, AssembleOptimizedImage(image.manifest, image.config,
                                                              built->id, blob_size, boot_layer));
  if (!dst->HeadBlob(out.manifest.config.digest).ok()) {
    RETURN_IF_ERROR(
        dst->PushBlobBytes(out.config_body, out.manifest.config.digest).WithContext("push config"));
  }
  t0 = Clock::now();
  const std::string manifest_body = out.manifest.ToJson().dump();
  RETURN_IF_ERROR(dst->PutManifest(dst_ref.tag, out.manifest.media_type, manifest_body).status());
  OptimizeImageResult res;
  res.manifest_digest = "sha256:" + DigestHex(Sha256(AsBytes(manifest_body)));
  res.manifest_size = manifest_body.size();
  res.prefetch_blob_id = built->id;
  res.bootstrap_path = boot;
  LOG_INFO("[MANI] Push manifest digest={} size={} elapsed={}", res.manifest_digest,
           res.manifest_size, Elapsed(t0));
  LOG_INFO("Optimized {} to {} in {}", src_ref.ToString(), dst_ref.ToString(), Elapsed(t_all));
  return res;
}

}  // namespace nydus::converter
