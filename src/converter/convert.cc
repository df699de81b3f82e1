// The nydusify conversion pipeline (see the header).
#include "converter/convert.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "base/digest.h"
#include "base/file_util.h"
#include "base/json.h"
#include "base/logging.h"
#include "base/progress.h"
#include "base/thread_pool.h"
#include "converter/blob_push.h"
#include "converter/layer_build.h"
#include "converter/layer_tar.h"
#include "converter/mount.h"
#include "converter/remote_image.h"
#include "registry/blob_stream.h"

namespace nydus::converter {

using internal::Clock;
using internal::Elapsed;
using internal::EnsureDictBlob;
using internal::FileSize;
using internal::PushFile;

Result<ConvertResult> Convert(const ConvertOptions& options) {
  const auto t_all = Clock::now();
  ConvertOptions o = options;  // chunk_dict may be filled from chunk_dict_ref
  ASSIGN_OR_RETURN(ImageRef src_ref, ParseImageRef(o.source));
  ASSIGN_OR_RETURN(ImageRef dst_ref, ParseImageRef(o.target));
  if (!dst_ref.digest.empty()) {
    return Status::InvalidArgument("--target must be a tag, not a digest: " + o.target);
  }
  ASSIGN_OR_RETURN(Platform platform, ParsePlatform(o.platform));
  if (o.fs_version != 5 && o.fs_version != 6) {
    return Status::InvalidArgument("--fs-version must be 5 or 6");
  }
  ASSIGN_OR_RETURN(auto src, OpenRepo(src_ref, o.source_insecure));
  ASSIGN_OR_RETURN(auto dst, OpenRepo(dst_ref, o.target_insecure));
  const bool same_registry = src_ref.ApiHost() == dst_ref.ApiHost() && src_ref.repo != dst_ref.repo;

  // New blobs are uploaded while they are built when the target repository holds nothing but
  // the source image (a new repository, or the tutorial's conversion next to the source tag):
  // none of them can be there already, so no byte is sent twice. Otherwise (a re-conversion,
  // other images in the repository that may share blobs) each finished blob is looked up
  // first (HEAD, cross-repository mount) and uploaded only when missing.
  bool stream_blobs = false;
  if (o.nydus_image.empty()) {
    auto tags = dst->ListTags();
    const bool same_repo = src_ref.ApiHost() == dst_ref.ApiHost() && src_ref.repo == dst_ref.repo;
    stream_blobs = tags.ok() && std::all_of(tags->begin(), tags->end(), [&](const std::string& t) {
                     return same_repo && t == src_ref.tag;
                   });
    LOG_DEBUG("target repository tags: {}; blobs {}",
              tags.ok() ? std::to_string(tags->size()) : tags.status().ToString(),
              stream_blobs ? "streamed while built" : "pushed once built");
  }

  LOG_INFO("Pulling image {}", src_ref.ToString());
  ASSIGN_OR_RETURN(ResolvedImage image, ResolveImage(*src, src_ref, platform));
  const auto& layers = image.manifest.layers;
  if (layers.empty()) return Status::InvalidArgument("image " + o.source + " has no layers");
  for (const auto& l : layers) {
    if (l.media_type == kNydusBlobLayer || !l.Annotation(kAnnoNydusBootstrap).empty()) {
      return Status::InvalidArgument("image " + o.source + " is already a nydus image");
    }
    if (l.media_type.find("zstd") != std::string::npos) {
      return Status::NotSupported("layer " + l.digest + ": zstd-compressed layers (" +
                                  l.media_type + ") are not supported");
    }
  }

  const std::string work = o.work_dir.empty() ? "./tmp" : o.work_dir;
  const std::string layer_dir = work + "/layers", blob_dir = work + "/blobs",
                    boot_dir = work + "/bootstraps";
  RETURN_IF_ERROR(MakeDirs(layer_dir));
  RETURN_IF_ERROR(MakeDirs(blob_dir));
  RETURN_IF_ERROR(MakeDirs(boot_dir));

  // A chunk dict from a registry: the nydus image's bootstrap, fetched once.
  std::unique_ptr<registry::RepoClient> dict_repo;
  ImageRef dict_ref;
  if (!o.chunk_dict_ref.empty()) {
    if (!o.chunk_dict.empty()) {
      return Status::InvalidArgument("give one chunk dict, local or registry, not both");
    }
    auto t0 = Clock::now();
    ASSIGN_OR_RETURN(dict_ref, ParseImageRef(o.chunk_dict_ref));
    ASSIGN_OR_RETURN(dict_repo, OpenRepo(dict_ref, o.chunk_dict_insecure));
    auto dict = FetchNydusBootstrap(*dict_repo, dict_ref, platform, work + "/chunk-dict");
    if (!dict.ok()) return dict.status().WithContext("--chunk-dict " + o.chunk_dict_ref);
    o.chunk_dict = work + "/chunk-dict/image.boot";
    LOG_INFO("[DICT] Pull chunk dict bootstrap image={} elapsed={}", dict_ref.ToString(),
             Elapsed(t0));
  }

  const std::string pack_dir = work + "/packs";
  RETURN_IF_ERROR(MakeDirs(pack_dir));

  // Everything the pool tasks below share is declared before the pools: on any return the
  // pools are destroyed (their destructors run every queued task and join) before it is.
  std::atomic<size_t> n_packed{0}, n_pushed{0};
  std::mutex mu;
  Status failure;                                  // the first error of any step, guarded by mu
  std::map<std::string, std::string> built_blobs;  // blob id → path, guarded by mu
  // Set with the first error: downloads, packs and pushes not begun are skipped.
  std::atomic<bool> cancel{false};
  auto fail = [&](const Status& st) {
    std::lock_guard<std::mutex> lock(mu);
    if (failure.ok()) failure = st;
    cancel = true;
  };
  // 2. Downloads, concurrently; the builder consumes them in order as they complete. A digest
  //    the manifest lists twice is downloaded once (two writers of one file would race).
  std::vector<std::promise<Status>> downloaded(layers.size());
  std::vector<std::shared_future<Status>> ready(layers.size());
  std::map<std::string, size_t> first_of;  // layer digest → the index that downloads it
  std::vector<size_t> to_download;
  for (size_t i = 0; i < layers.size(); ++i) {
    auto [it, fresh] = first_of.emplace(layers[i].digest, i);
    if (fresh) {
      ready[i] = downloaded[i].get_future().share();
      to_download.push_back(i);
    } else {
      ready[i] = ready[it->second];
    }
  }
  std::vector<std::promise<Result<LayerBuild>>> packed(layers.size());
  std::vector<std::future<Result<LayerBuild>>> pack_results;
  for (auto& p : packed) pack_results.push_back(p.get_future());

  // A status line on a terminal: bytes pulled (the layer files as they grow: a stat per layer
  // every 100 ms), packs built, blobs pushed.
  uint64_t total_bytes = 0;
  for (size_t i : to_download) total_bytes += layers[i].size;
  StatusTicker ticker([&] {
    uint64_t pulled = 0;
    for (size_t i : to_download) {
      const Descriptor& l = layers[i];
      pulled += std::min<uint64_t>(l.size, FileSize(layer_dir + "/" + l.digest.substr(7)));
    }
    // The bar: pulling, packing and pushing count a third each.
    const double n = static_cast<double>(layers.size());
    const double f = ((total_bytes ? static_cast<double>(pulled) / total_bytes : 1.0) +
                      n_packed.load() / n + std::min(1.0, n_pushed.load() / n)) /
                     3;
    return "pulled " + HumanBytes(pulled) + "/" + HumanBytes(total_bytes) + " " + RenderBar(f, 24) +
           " packed " + std::to_string(n_packed.load()) + "/" + std::to_string(layers.size()) +
           " pushed " + std::to_string(n_pushed.load());
  });

  ThreadPool pool(std::max<size_t>(1, std::min(o.download_threads, to_download.size())));
  for (size_t i : to_download) {
    pool.Submit([&, i] {
      if (cancel.load()) {
        downloaded[i].set_value(Status::Unavailable("not downloaded: another step failed"));
        return;
      }
      auto t0 = Clock::now();
      const Descriptor& l = layers[i];
      std::string path = layer_dir + "/" + l.digest.substr(7);
      auto n = src->DownloadBlob(l.digest, path);
      Status st = n.ok() ? Status::OK() : n.status().WithContext("layer " + std::to_string(i + 1));
      if (st.ok() && *n != l.size) {
        st = Status::Corruption("layer " + l.digest + ": size " + std::to_string(*n) +
                                " != manifest size " + std::to_string(l.size));
      }
      if (st.ok()) {
        LOG_INFO("[SOUR] Mount layer digest={} size={} elapsed={}", l.digest, *n, Elapsed(t0));
      } else {
        fail(st);
      }
      downloaded[i].set_value(st);
    });
  }

  // 3. Pack every layer on its own as soon as it is downloaded (packs are independent, so
  //    they run concurrently); 4. push each new blob as soon as its pack is done; chain the
  //    packs, lowest first, into the per-layer image bootstraps.
  ThreadPool push_pool(2);
  // Pushes a pack's new blob (once per id) as soon as the pack is done: commits the upload
  // that streamed it while it was built, or (no stream, or the stream failed) uploads the file.
  auto push_blob = [&](const std::string& id, std::shared_ptr<registry::BlobStreamUpload> stream) {
    std::string path = blob_dir + "/" + id;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!built_blobs.emplace(id, path).second) return;  // the stream is cancelled
    }
    push_pool.Submit([&, id, path, stream] {
      if (cancel.load()) return;  // the conversion failed: the manifest will not be pushed
      if (stream) {
        auto t0 = Clock::now();
        const uint64_t size = FileSize(path);
        Status st = stream->bytes_appended() == size
                        ? stream->Commit("sha256:" + id)
                        : Status::Internal("streamed " + std::to_string(stream->bytes_appended()) +
                                           " bytes of " + std::to_string(size));
        if (st.ok()) {
          LOG_INFO("[BLOB] Push blob digest=sha256:{} size={} elapsed={} (streamed while built)",
                   id, size, Elapsed(t0));
          ++n_pushed;
          return;
        }
        LOG_WARN("[BLOB] Push blob digest=sha256:{}: streaming failed ({}); pushing the file", id,
                 st.ToString());
      }
      Status ps = PushFile(*dst, same_registry ? src.get() : nullptr, path, "sha256:" + id,
                           "[BLOB]", "Push blob");
      if (ps.ok()) {
        ++n_pushed;
      } else {
        fail(ps);
      }
    });
  };
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  ThreadPool build_pool(std::max<size_t>(1, std::min(cores, layers.size())));
  for (size_t i = 0; i < layers.size(); ++i) {
    build_pool.Submit([&, i] {
      Status st = ready[i].get();
      if (st.ok() && cancel.load()) st = Status::Unavailable("not built: another step failed");
      if (!st.ok()) {
        packed[i].set_value(st);
        return;
      }
      auto t0 = Clock::now();
      const std::string hex = layers[i].digest.substr(7);
      const std::string boot = pack_dir + "/" + std::to_string(i + 1) + "-sha256:" + hex;
      std::shared_ptr<registry::BlobStreamUpload> stream;
      std::function<void(ByteSpan)> tee;
      if (stream_blobs) {
        auto up = registry::BlobStreamUpload::Start(dst.get(), "blob of layer " + layers[i].digest);
        if (up.ok()) {
          stream = std::move(up).value();
          tee = [s = stream.get()](ByteSpan data) { s->Append(data); };
        } else {
          LOG_WARN("[BLOB] layer {}: cannot stream its blob ({}); pushing it once built",
                   layers[i].digest, up.status().ToString());
        }
      }
      auto built = PackLayer(o, layer_dir + "/" + hex, boot, blob_dir, boot + "-output.json",
                             std::move(tee));
      if (built.ok()) {
        LOG_INFO("[DUMP] Build layer digest={} blob={} size={} elapsed={}", layers[i].digest,
                 built->new_blob_id.empty() ? "<none>" : built->new_blob_id,
                 built->new_blob_id.empty() ? 0 : FileSize(blob_dir + "/" + built->new_blob_id),
                 Elapsed(t0));
        ++n_packed;
        if (!built->new_blob_id.empty()) push_blob(built->new_blob_id, std::move(stream));
      } else {
        built = built.status().WithContext("build layer " + layers[i].digest);
        fail(built.status());
      }
      packed[i].set_value(std::move(built));
    });
  }

  std::string parent;
  LayerBuild last;
  // Every future is waited for, so no task outlives the loop with work left; a failed step
  // (recorded by fail()) is what Convert returns, not the "skipped" of the steps after it.
  for (size_t i = 0; i < layers.size(); ++i) {
    Result<LayerBuild> pack = pack_results[i].get();
    if (!pack.ok() || cancel.load()) continue;
    const std::string hex = layers[i].digest.substr(7);
    const std::string boot = boot_dir + "/" + std::to_string(i + 1) + "-sha256:" + hex;
    auto merged = MergeOnto(o, parent, *pack, boot, blob_dir, boot + "-output.json");
    if (!merged.ok()) {
      fail(merged.status().WithContext("merge layer " + layers[i].digest));
      continue;
    }
    parent = merged->bootstrap;
    last = std::move(*merged);
  }
  build_pool.Wait();
  pool.Wait();
  push_pool.Wait();
  if (!failure.ok()) return failure;

  // Blobs the final bootstrap references but we did not build (chunk dict) must be there.
  ConvertResult res;
  res.bootstrap_path = last.bootstrap;
  res.blob_ids = last.blob_ids;
  ImageManifest out;
  out.media_type = image.manifest.media_type;
  const bool oci = out.media_type == kOciManifest;
  Json diff_ids = Json::array();
  for (const auto& id : last.blob_ids) {
    Descriptor d;
    d.media_type = kNydusBlobLayer;
    d.digest = "sha256:" + id;
    if (auto it = built_blobs.find(id); it != built_blobs.end()) {
      d.size = FileSize(it->second);
    } else {
      ASSIGN_OR_RETURN(
          d.size, EnsureDictBlob(*dst, dict_repo.get(), dict_ref, d.digest, work + "/chunk-dict"));
    }
    d.annotations[kAnnoNydusBlob] = "true";
    diff_ids.push_back(d.digest);
    out.layers.push_back(std::move(d));
  }

  // 5. The bootstrap layer.
  ASSIGN_OR_RETURN(LayerFile boot_layer,
                   WriteBootstrapLayer(last.bootstrap, work + "/bootstrap-layer.tar.gz"));
  RETURN_IF_ERROR(
      PushFile(*dst, nullptr, boot_layer.path, boot_layer.digest, "[BOOT]", "Push bootstrap"));
  Descriptor bd;
  bd.media_type = oci ? kOciLayerTarGzip : kDockerLayerTarGzip;
  bd.digest = boot_layer.digest;
  bd.size = boot_layer.size;
  bd.annotations[kAnnoNydusBootstrap] = "true";
  bd.annotations[kAnnoNydusFsVersion] = std::to_string(o.fs_version);
  out.layers.push_back(bd);
  diff_ids.push_back(boot_layer.diff_id);

  // 6. Config and manifest.
  Json config = image.config;
  config["rootfs"] = Json{{"type", "layers"}, {"diff_ids", diff_ids}};
  if (!config.contains("history") || !config["history"].is_array()) {
    config["history"] = Json::array();
  }
  config["history"].push_back(
      Json{{"created_by", "Nydus Converter"}, {"comment", "Nydus Bootstrap Layer"}});
  std::string config_body = config.dump();
  out.config.media_type = oci ? kOciConfig : kDockerConfig;
  out.config.digest = "sha256:" + DigestHex(Sha256(AsBytes(config_body)));
  out.config.size = config_body.size();
  if (!dst->HeadBlob(out.config.digest).ok()) {
    RETURN_IF_ERROR(dst->PushBlobBytes(config_body, out.config.digest).WithContext("push config"));
  }
  auto t0 = Clock::now();
  std::string manifest_body = out.ToJson().dump();
  auto pushed = dst->PutManifest(dst_ref.tag, out.media_type, manifest_body);
  if (!pushed.ok()) return pushed.status();
  res.manifest_digest = "sha256:" + DigestHex(Sha256(AsBytes(manifest_body)));
  res.manifest_size = manifest_body.size();
  LOG_INFO("[MANI] Push manifest digest={} size={} elapsed={}", res.manifest_digest,
           res.manifest_size, Elapsed(t0));
  LOG_INFO("Converted {} to {} in {}", src_ref.ToString(), dst_ref.ToString(), Elapsed(t_all));
  return res;
}

}  // namespace nydus::converter
