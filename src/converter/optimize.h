// `nydusify optimize` (reference HEAD, contrib/nydusify/pkg/optimizer): a Nydus image in a
// registry → the same image with a separated prefetch blob (builder/optimize.h), pushed under
// a new reference. The only policy is the reference's "separated-blob-with-prefetch-files":
//  1. resolve the source manifest (index → --platform, nydus manifest preferred) and config;
//     its bootstrap layer (the last layer) is downloaded and image/image.boot extracted to
//     <work>/optimize/source/image.boot;                       "[BOOT] Pull bootstrap"
//  2. builder::OptimizePrefetch over a registry backend of the SOURCE repository: only the
//     chunks of the listed files are fetched, by range; the new blob goes to
//     <work>/optimize/blobs/<id>, the new bootstrap to <work>/optimize/optimized_bootstrap
//     (in-process, or `<--nydus-image> optimize --backend-type registry …`, which gets the
//     credentials through IMAGE_PULL_AUTH in its environment, never on its command line);
//                                                                "[OPTI] Build prefetch blob"
//  3. the source's blob layers are made present in the target repository (nothing to do in
//     the same repository; else HEAD, cross-repo mount on the same registry, or a copy) and
//     the prefetch blob is pushed as a nydus blob layer;                              "[BLOB]"
//  4. a new bootstrap layer (image/image.boot + image/prefetch.files, the list as given) is
//     pushed with the old bootstrap layer's annotations plus
//     containerd.io/snapshot/nydus-separated-blob-with-prefetch-files = <prefetch blob id>;
//                                                                   "[BOOT] Push bootstrap"
//  5. the config (rootfs.diff_ids: the blob layers' digests, the prefetch blob's, the new
//     bootstrap layer's diff id) and the manifest (blob layers in source order, the prefetch
//     blob layer, the bootstrap layer last) are pushed.                               "[MANI]"
// Differences from the reference, on purpose: the source repository (not the target's) is the
// build's backend, so the target may be another repository; the source's blob layers are
// mounted or copied there; a source layer that is neither a nydus blob nor the bootstrap, or a
// source that is already optimized, is refused instead of silently dropped / optimized twice;
// the bootstrap layer keeps the source's media type (OCI or Docker, as its manifest); one
// history entry is added for the prefetch blob layer, before the bootstrap layer's.
// Thread-safety: OptimizeImage may run concurrently with other work dirs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "converter/layer_tar.h"
#include "converter/oci.h"

namespace nydus::converter {

inline constexpr char kAnnoNydusPrefetchBlob[] =
    "containerd.io/snapshot/nydus-separated-blob-with-prefetch-files";
inline constexpr char kOptimizePolicySeparated[] = "separated-blob-with-prefetch-files";
inline constexpr char kPrefetchFilesInLayer[] = "prefetch.files";  // under image/

struct OptimizeImageOptions {
  std::string source;  // a Nydus image (as `nydusify convert` makes)
  std::string target;  // a tag
  bool source_insecure = false;
  bool target_insecure = false;
  std::string work_dir = "./tmp";
  std::string prefetch_files;  // path of the list (builder/optimize.h formats); required
  std::string policy = kOptimizePolicySeparated;
  std::string nydus_image;  // external builder binary; "" = in-process
  std::string platform = "linux/amd64";
};

struct OptimizeImageResult {
  std::string manifest_digest;
  uint64_t manifest_size = 0;
  std::string prefetch_blob_id;
  std::string bootstrap_path;  // the optimized bootstrap in the work dir
};

Result<OptimizeImageResult> OptimizeImage(const OptimizeImageOptions& options);

// The pure parts, for tests.

// The blob layers of a nydus manifest, in order: every layer but the last must be a nydus
// blob layer, the last the bootstrap layer (nydus-bootstrap=true) without a prefetch blob
// annotation; InvalidArgument naming the layer otherwise.
Result<std::vector<Descriptor>> OptimizableBlobLayers(const ImageManifest& source);

struct OptimizedImage {
  ImageManifest manifest;
  std::string config_body;  // what manifest.config describes
};

// Steps 4-5 on paper: the new manifest and config from the source's, the pushed prefetch blob
// (its id) and the new bootstrap layer.
Result<OptimizedImage> AssembleOptimizedImage(const ImageManifest& source, const Json& config,
                                              const std::string& prefetch_blob_id,
                                              uint64_t prefetch_blob_size,
                                              const LayerFile& bootstrap_layer);

}  // namespace nydus::converter
