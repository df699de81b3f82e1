// `nydusify check` (see the header).
#include "converter/check.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <system_error>

#include "base/logging.h"
#include "converter/layer_tar.h"
#include "converter/mount.h"
#include "converter/tree_diff.h"
#include "meta/bootstrap_reader.h"

namespace nydus::converter {

namespace {

Json ConfigSection(const Json& config) {
  Json c = config.contains("config") ? config["config"] : Json();
  if (c.is_object()) c.erase("ArgsEscaped");
  return c;
}

void CheckManifest(const ImageManifest& m, std::vector<std::string>* problems) {
  const auto& layers = m.layers;
  if (layers.empty()) {
    problems->push_back("manifest: no layers");
    return;
  }
  for (size_t i = 0; i + 1 < layers.size(); ++i) {
    if (layers[i].media_type != kNydusBlobLayer || layers[i].Annotation(kAnnoNydusBlob) != "true") {
      problems->push_back("manifest: layer " + std::to_string(i) + " (" + layers[i].digest +
                          ") is not a nydus blob layer");
    }
  }
  if (layers.back().Annotation(kAnnoNydusBootstrap) != "true") {
    problems->push_back("manifest: the last layer has no " + std::string(kAnnoNydusBootstrap) +
                        "=true annotation");
  }
}

}  // namespace

Result<CheckResult> Check(const CheckOptions& o) {
  CheckResult res;
  ASSIGN_OR_RETURN(ImageRef target, ParseImageRef(o.target));
  ASSIGN_OR_RETURN(Platform platform, ParsePlatform(o.platform));
  const std::string work = (o.work_dir.empty() ? "./tmp" : o.work_dir) + "/check";
  RETURN_IF_ERROR(MakeDirs(work + "/nydus"));
  ASSIGN_OR_RETURN(MountPrep prep, PrepareNydusMount(target, o.target_insecure, platform,
                                                     work + "/nydus", /*digest_validate=*/true));
  CheckManifest(prep.image.manifest, &res.problems);
  LOG_INFO("[CHCK] manifest of {}: {} layers", target.ToString(),
           prep.image.manifest.layers.size());

  auto boot = meta::ReadBootstrapFile(prep.bootstrap);
  if (!boot.ok()) {
    res.problems.push_back("bootstrap: " + boot.status().ToString());
    return res;
  }
  std::set<std::string> layer_digests;
  for (const auto& l : prep.image.manifest.layers) layer_digests.insert(l.digest);
  for (const auto& b : boot->blobs) {
    if (b.uncompressed_size > 0 && !layer_digests.count("sha256:" + b.blob_id)) {
      res.problems.push_back("bootstrap: blob " + b.blob_id + " is not a layer of the manifest");
    }
  }
  LOG_INFO("[CHCK] bootstrap: {} blobs", boot->blobs.size());
  if (o.source.empty()) return res;

  ASSIGN_OR_RETURN(ImageRef source, ParseImageRef(o.source));
  ASSIGN_OR_RETURN(auto src, OpenRepo(source, o.source_insecure));
  ASSIGN_OR_RETURN(ResolvedImage src_image, ResolveImage(*src, source, platform));
  if (ConfigSection(src_image.config) != ConfigSection(prep.image.config)) {
    res.problems.push_back("config: the nydus image's .config differs from the source's");
  }

  // Source tree: layers downloaded and unpacked in order.
  const std::string rootfs = work + "/source-rootfs", layers_dir = work + "/source-layers";
  // Removed without a shell (the work dir may hold any byte) and without following symlinks
  // that an earlier, unpacked layer left there.
  std::error_code ec;
  std::filesystem::remove_all(rootfs, ec);
  if (ec) return Status::IOError("remove " + rootfs + ": " + ec.message());
  RETURN_IF_ERROR(MakeDirs(rootfs));
  RETURN_IF_ERROR(MakeDirs(layers_dir));
  for (const auto& l : src_image.manifest.layers) {
    // The digest names a file: only "sha256:" + 64 hex digits may (a registry could send
    // "sha256:../../…" of the right length).
    if (l.digest.size() != 71 || !l.digest.starts_with("sha256:") ||
        l.digest.find_first_not_of("0123456789abcdef", 7) != std::string::npos) {
      return Status::InvalidArgument("source layer digest '" + l.digest + "' is not sha256 hex");
    }
    std::string path = layers_dir + "/" + l.digest.substr(7);
    RETURN_IF_ERROR(src->DownloadBlob(l.digest, path).status());
    RETURN_IF_ERROR(UnpackLayer(path, rootfs).WithContext("unpack source layer " + l.digest));
  }
  LOG_INFO("[CHCK] source unpacked to {}", rootfs);

  const std::string mnt = work + "/nydus-mnt";
  RETURN_IF_ERROR(MakeDirs(mnt));
  ASSIGN_OR_RETURN(pid_t pid, StartNydusd(FindNydusd(o.nydusd), prep, mnt, work + "/nydusd.log"));
  auto t0 = std::chrono::steady_clock::now();
  auto diff = DiffTrees(rootfs, mnt);
  StopNydusd(pid, mnt);
  if (!diff.ok()) return diff.status();
  res.entries_compared = diff->entries;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  LOG_INFO("[CHCK] compared {} entries ({} bytes hashed) in {:.3f}s: {} difference(s)",
           diff->entries, diff->bytes_hashed, secs, diff->differences.size());
  for (auto& d : diff->differences) res.problems.push_back("filesystem: " + d);
  return res;
}

}  // namespace nydus::converter
