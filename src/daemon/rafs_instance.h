// RafsInstance: one mounted RAFS image and everything that serves it — the metadata view,
// the backend (localfs or registry, metered), the ChunkReader with its blob cache, the RafsFs
// and the background Prefetcher — built from a DaemonConfig and a bootstrap path. nydusd holds
// one per mountpoint (the --bootstrap image, or each POST /api/v1/mount).
//
//   bootstrap ── meta::OpenImageView (v6 direct: on demand; else decoded in full)
//   config.backend ── localfs | registry ── MeteredBackend (counts for /metrics/backend)
//   config.cache (blobcache/filecache: work_dir, compressed) + rafs (validate, batch_size)
//        ── storage::ChunkReader ── fs::RafsFs
//   rafs.prefetch / cache.prefetch (+ prefetch_files) ── fs::Prefetcher (background)
//
// Create() fails, leaving nothing behind, with a message naming the cause: the bootstrap's (as
// `nydus-image check` prints it), a config the image cannot be served with (NotSupported), or
// for the registry backend rejected credentials / an unreachable registry (checked at mount
// with a read of the first blob, so the mount fails rather than the first read).
//
// Ownership: Fs() returns a shared_ptr that keeps the whole instance alive (aliasing), so a
// Vfs may hold it and operations in flight finish after an unmount.
// Thread-safety: immutable after Create(); the metric getters may be called concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "daemon/api_types.h"
#include "daemon/config.h"
#include "daemon/metered_backend.h"
#include "fs/prefetcher.h"
#include "fs/rafs_fs.h"
#include "meta/image_view.h"
#include "storage/chunk_reader.h"

namespace nydus::daemon {

// Checks that `config` can serve `image` here: backend, cache and rafs sections present (the
// reference's "no configuration information for ..."), a backend type we implement (localfs,
// registry), cache type not fscache, and rafs.mode "direct" for v6 ("Rafs v6 does not
// support cached mode").
Status CheckConfigForImage(const DaemonConfig& config, const meta::Image& image);

// Reads a --prefetch-files list: one absolute path per line; blank lines skipped.
Result<std::vector<std::string>> ReadPrefetchList(const std::string& path);

class RafsInstance : public std::enable_shared_from_this<RafsInstance> {
 public:
  static Result<std::shared_ptr<RafsInstance>> Create(const DaemonConfig& config,
                                                      const std::string& bootstrap,
                                                      std::vector<std::string> prefetch_files);
  ~RafsInstance();
  RafsInstance(const RafsInstance&) = delete;
  RafsInstance& operator=(const RafsInstance&) = delete;

  // The filesystem, keeping this instance alive.
  std::shared_ptr<const fs::RafsFs> Fs();
  const DaemonConfig& config() const { return config_; }
  const std::string& bootstrap() const { return bootstrap_; }
  std::chrono::system_clock::time_point mounted_time() const { return mounted_time_; }

  void FillBackendMetrics(BackendMetrics* out) const;
  void FillBlobcacheMetrics(BlobcacheMetrics* out) const;
  // The blob cache data files to mount this image with the kernel's EROFS as its devices
  // (daemon/kernel_mount.h), in blob table order: for RAFS v6, chunk digests not validated
  // (the kernel does not check them) and every chunk the image's files reference in the
  // cache, uncompressed (ReadyCacheFiles). Otherwise why not (NotSupported, or NotFound
  // naming a blob not complete).
  Result<std::vector<std::string>> KernelDevices();
  // The blob cache data files when the cache can serve every byte of every file without the
  // backend: each blob complete, or at least every chunk a file references ready (a layered
  // image's lower blobs keep data of files that upper layers deleted, which nothing reads).
  // NotFound naming a blob not complete otherwise; NotSupported without an uncompressed
  // blob cache.
  Result<std::vector<std::string>> ReadyCacheFiles();

  // The configuration as JSON with credentials replaced by "<redacted>".
  Json ConfigJson() const;

 private:
  RafsInstance() = default;

  DaemonConfig config_;
  std::string bootstrap_;
  std::string work_dir_;
  std::chrono::system_clock::time_point mounted_time_;
  uint32_t prefetch_threads_ = 0;
  // Destroyed in reverse: the prefetcher stops first, the view goes last.
  std::shared_ptr<const meta::ImageView> view_;
  std::unique_ptr<MeteredBackend> backend_;
  std::unique_ptr<storage::ChunkReader> reader_;
  std::unique_ptr<fs::RafsFs> fs_;
  std::unique_ptr<fs::Prefetcher> prefetcher_;
};

}  // namespace nydus::daemon
