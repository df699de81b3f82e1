#include "daemon/rafs_instance.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <utility>

#include "base/logging.h"
#include "base/redact.h"
#include "registry/registry_backend.h"

namespace nydus::daemon {
namespace {

bool IsFileCache(const std::string& type) { return type == "blobcache" || type == "filecache"; }

Result<std::unique_ptr<storage::BlobBackend>> NewBackend(const DaemonConfig& config) {
  const BackendConfig& b = *config.backend;
  if (b.type == "localfs") {
    const LocalfsBackendConfig& l = b.localfs;
    return storage::NewLocalfsBackend(storage::LocalfsConfig{l.dir, l.blob_file, l.alt_dirs});
  }
  // registry
  const std::string where =
      config.format == ConfigFormat::kJsonV1 ? "device.backend.config" : "backend.registry";
  return registry::NewRegistryBackend(b.raw, where);
}

// The prefetch settings in effect: rafs.prefetch (v1 fs_prefetch), else cache.prefetch.
const PrefetchConfig* ActivePrefetch(const DaemonConfig& config) {
  if (config.rafs->prefetch.enable) return &config.rafs->prefetch;
  if (config.cache->prefetch.enable) return &config.cache->prefetch;
  return nullptr;
}

// A key whose value is a credential (case-insensitive): auth, registry_token, password,
// access_key_id / access_key_secret, and anything naming a token, secret or authorization.
bool IsSecretKey(std::string key) {
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return key == "auth" || key == "access_key_id" || key.find("token") != std::string::npos ||
         key.find("password") != std::string::npos || key.find("secret") != std::string::npos ||
         key.find("authorization") != std::string::npos;
}

// The backend config as the API shows it: credentials replaced by "<redacted>", every value
// of a `headers` object too (mirror headers carry Authorization and tokens), and the
// userinfo of URLs (a proxy "http://user:pass@host") cut out.
Json Redacted(Json j, bool secret = false) {
  if (j.is_object()) {
    for (auto& [key, value] : j.items()) {
      value = Redacted(value, secret || key == "headers" || IsSecretKey(key));
    }
  } else if (j.is_array()) {
    for (auto& v : j) v = Redacted(v, secret);
  } else if (secret) {
    j = "<redacted>";
  } else if (j.is_string()) {
    const std::string& s = j.get_ref<const std::string&>();
    if (s.find("://") != std::string::npos && s.find('@') != std::string::npos) {
      j = RedactUrl(s);
    }
  }
  return j;
}

}  // namespace

Status CheckConfigForImage(const DaemonConfig& config, const meta::Image& image) {
  if (!config.backend) return Status::InvalidArgument("no configuration information for backend");
  if (!config.cache) return Status::InvalidArgument("no configuration information for cache");
  if (!config.rafs) return Status::InvalidArgument("no configuration information for rafs");
  if (config.backend->type != "localfs" && config.backend->type != "registry") {
    return Status::NotSupported("backend type '" + config.backend->type +
                                "' is not supported (localfs and registry are)");
  }
  if (config.cache->type == "fscache") {
    return Status::NotSupported("cache type 'fscache' is not supported by the FUSE daemon");
  }
  if (image.IsV6() && config.rafs->mode == "cached") {
    // rafs/src/metadata/md_v6.rs: RafsMode::Cached => enosys!("Rafs v6 does not support ...")
    return Status::NotSupported("Rafs v6 does not support cached mode");
  }
  return Status::OK();
}

Result<std::vector<std::string>> ReadPrefetchList(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read the prefetch file list " + path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    if (line[0] != '/') {
      return Status::InvalidArgument(path + ": prefetch path '" + line + "' is not absolute");
    }
    out.push_back(line);
  }
  return out;
}

Result<std::shared_ptr<RafsInstance>> RafsInstance::Create(
    const DaemonConfig& config, const std::string& bootstrap,
    std::vector<std::string> prefetch_files) {
  std::shared_ptr<RafsInstance> inst(new RafsInstance());
  inst->config_ = config;
  inst->bootstrap_ = bootstrap;
  // v6 in mode "direct" (the default) is served on demand from the mmapped bootstrap
  // (meta::V6DirectView: only the superblocks and tables are checked here); everything else
  // is decoded and checked in full first. Bootstrap messages name the file; `nydus-image
  // check` prints the same ones for the superblocks and tables.
  const bool direct = !config.rafs || config.rafs->mode != "cached";
  Result<std::shared_ptr<const meta::ImageView>> view = meta::OpenImageView(bootstrap, direct);
  if (!view.ok()) return view.status().WithContext("cannot load bootstrap");
  inst->view_ = std::move(*view);
  const meta::Image& header = inst->view_->header();
  RETURN_IF_ERROR(CheckConfigForImage(config, header));
  for (const std::string& line : UnimplementedSettings(config)) LOG_WARN("config: {}", line);

  ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobBackend> backend, NewBackend(config));
  // Wrong credentials or an unreachable registry fail the mount, not the first read, unless
  // the blob cache already holds every chunk (a warm start needs no registry).
  auto* registry_backend = dynamic_cast<registry::RegistryBackend*>(backend.get());
  inst->backend_ = std::make_unique<MeteredBackend>(std::move(backend));

  storage::ChunkReaderOptions ropts;
  ropts.validate_digest = config.ChunkValidationEnabled();
  ropts.merge_size = config.rafs->batch_size;
  if (IsFileCache(config.cache->type)) {
    inst->work_dir_ = config.cache->work_dir.empty() ? "." : config.cache->work_dir;
    std::error_code ec;
    std::filesystem::create_directories(inst->work_dir_, ec);
    if (ec) {
      return Status::IOError("cannot create the blob cache work_dir " + inst->work_dir_ + ": " +
                             ec.message());
    }
    ropts.work_dir = inst->work_dir_;
    ropts.cache_compressed = config.cache->compressed;
  }
  inst->reader_ = std::make_unique<storage::ChunkReader>(header, inst->backend_.get(), ropts);
  if (registry_backend != nullptr && !header.blobs.empty()) {
    if (!inst->work_dir_.empty() && inst->ReadyCacheFiles().ok()) {
      LOG_INFO("registry access not checked: the blob cache holds every chunk of the image");
    } else {
      RETURN_IF_ERROR(registry_backend->CheckAccess(header.blobs.front().blob_id));
    }
  }
  fs::RafsFsOptions fs_opts;
  fs_opts.enable_xattr = config.rafs->enable_xattr;
  fs_opts.access_pattern = config.rafs->access_pattern;
  ASSIGN_OR_RETURN(inst->fs_, fs::RafsFs::Create(inst->view_, inst->reader_.get(), fs_opts));

  LOG_INFO(
      "bootstrap {}: RAFS v{}, {} blob(s), {} inodes; mode {} ({}); backend {}; cache {}; "
      "chunk digests {}",
      bootstrap, header.IsV6() ? 6 : 5, header.blobs.size(), inst->view_->inode_count(),
      config.rafs->mode,
      header.root == nullptr ? "metadata decoded on demand" : "metadata decoded in full",
      config.backend->type,
      inst->work_dir_.empty() ? std::string("memory only") : "blobcache in " + inst->work_dir_,
      config.ChunkValidationEnabled() ? "validated" : "not validated");

  const PrefetchConfig* pf = ActivePrefetch(config);
  if (pf != nullptr || !prefetch_files.empty()) {
    if (inst->work_dir_.empty()) {
      LOG_WARN("prefetch: disabled, it needs a blob cache (cache.type blobcache) to fill");
    } else {
      fs::PrefetchOptions popts;
      if (pf != nullptr) {
        popts.threads = static_cast<uint32_t>(pf->threads);
        popts.batch_size = pf->batch_size;
        popts.bandwidth_limit = pf->bandwidth_limit;
        popts.prefetch_all = pf->prefetch_all;
      }
      if (popts.threads == 0) popts.threads = 8;
      if (popts.batch_size == 0) popts.batch_size = 1 << 20;
      inst->prefetch_threads_ = popts.threads;
      inst->prefetcher_ = fs::Prefetcher::Start(inst->view_.get(), inst->reader_.get(), popts,
                                                std::move(prefetch_files));
    }
  }
  inst->mounted_time_ = std::chrono::system_clock::now();
  return inst;
}

RafsInstance::~RafsInstance() = default;

std::shared_ptr<const fs::RafsFs> RafsInstance::Fs() {
  return std::shared_ptr<const fs::RafsFs>(shared_from_this(), fs_.get());
}

void RafsInstance::FillBackendMetrics(BackendMetrics* out) const {
  out->backend_type = backend_->type();
  backend_->counters().Fill(out);
}

void RafsInstance::FillBlobcacheMetrics(BlobcacheMetrics* out) const {
  const storage::ChunkReader::Stats s = reader_->stats();
  out->store_path = work_dir_;
  for (const meta::BlobInfo& b : view_->header().blobs) {
    out->underlying_files.push_back(b.blob_id);
  }
  out->entries_count = view_->header().blobs.size();
  // A range hit (part of a ready chunk copied straight from the cache file) is a hit too.
  out->whole_hits = s.blobcache_disk_hits + s.blobcache_range_hits;
  out->total = out->whole_hits + s.cache_misses;
  out->prefetch_data_amount = s.blobcache_prefetch_bytes;
  out->prefetch_requests_count = s.blobcache_prefetch_reads;
  out->prefetch_unmerged_chunks = s.blobcache_prefetch_chunks;
  out->prefetch_workers = prefetch_threads_;
  out->data_all_ready =
      s.blobcache_total_chunks > 0 && s.blobcache_ready_chunks == s.blobcache_total_chunks;
  if (prefetcher_ != nullptr) {
    const fs::Prefetcher::Stats p = prefetcher_->stats();
    out->prefetch_begin_time_secs = p.begin_ms / 1000;
    out->prefetch_begin_time_millis = p.begin_ms % 1000;
    out->prefetch_end_time_secs = p.end_ms / 1000;
    out->prefetch_end_time_millis = p.end_ms % 1000;
    if (p.end_ms > p.begin_ms) out->prefetch_cumulative_time_millis = p.end_ms - p.begin_ms;
  }
}

Result<std::vector<std::string>> RafsInstance::KernelDevices() {
  const meta::Image& header = view_->header();
  if (!header.IsV6()) return Status::NotSupported("RAFS v5 has no kernel driver");
  if (config_.ChunkValidationEnabled()) {
    return Status::NotSupported("chunk digests are validated, which the kernel would not do");
  }
  return ReadyCacheFiles();
}

Result<std::vector<std::string>> RafsInstance::ReadyCacheFiles() {
  Result<std::vector<std::string>> complete = reader_->CompleteCacheFiles();
  if (complete.ok() || complete.status().code() != StatusCode::kNotFound) return complete;
  bool all_ready = true;
  RETURN_IF_ERROR(meta::VisitChunks(*view_, [&](const meta::ChunkInfo& c) {
    all_ready = reader_->IsReady(c);
    return all_ready;
  }));
  if (!all_ready) return complete.status();
  return reader_->CacheDataFiles();
}

Json RafsInstance::ConfigJson() const {
  Json j;
  const BackendConfig& b = *config_.backend;
  j["backend"]["type"] = b.type;
  if (b.type == "localfs") {
    j["backend"]["localfs"] = {{"dir", b.localfs.dir},
                               {"blob_file", b.localfs.blob_file},
                               {"alt_dirs", b.localfs.alt_dirs}};
  } else {
    j["backend"][b.type] = Redacted(b.raw);
  }
  const CacheConfig& c = *config_.cache;
  j["cache"] = {{"type", c.type},
                {"compressed", c.compressed},
                {"validate", c.validate},
                {"work_dir", c.work_dir}};
  const RafsConfig& r = *config_.rafs;
  j["rafs"] = {
      {"mode", r.mode},
      {"batch_size", r.batch_size},
      {"validate", r.validate},
      {"enable_xattr", r.enable_xattr},
      {"prefetch", {{"enable", r.prefetch.enable}, {"prefetch_all", r.prefetch.prefetch_all}}}};
  j["bootstrap"] = bootstrap_;
  return j;
}

}  // namespace nydus::daemon
