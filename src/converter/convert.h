// `nydusify convert`: an OCI / Docker image in a registry → a Nydus image in a registry
// (reference spec §5.2, in the layout of the nydusify tutorial):
//  1. resolve the source manifest (index → --platform) and config;
//  2. download the layers concurrently into <work>/layers/<hex> (sha256 verified while
//     streaming);               log "[SOUR] Mount layer"
//  3. pack each layer on its own as soon as it is downloaded, several at once (targz-rafs,
//     in-process builder or an external --nydus-image; layer_build.h PackLayer):
//     <work>/packs/<N>-sha256:<layer hex>, blob <work>/blobs/<blob id>;  "[DUMP] Build layer"
//     then chain the packs lowest first (MergeOnto) into the per-layer image bootstraps
//     <work>/bootstraps/<N>-sha256:<layer hex> and …-output.json (layers 1..N each);
//  4. push each new blob as soon as its pack is done (HEAD first: existing blobs are skipped;
//     a cross-repo mount is tried when source and target share the registry);  "[BLOB]"
//  5. pack the last bootstrap as the bootstrap layer (image/image.boot in a tar.gz) and push
//     it;                                                            "[BOOT] Push bootstrap"
//  6. push the config (rootfs.diff_ids = blob digests + bootstrap diff id, history entry) and
//     the manifest (nydus blob layers, bootstrap layer last; §5.3 annotations);  "[MANI]"
// The manifest is pushed only when every blob, the bootstrap layer and the config were.
// Thread-safety: Convert may run concurrently with other work dirs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace nydus::converter {

struct ConvertOptions {
  std::string source;
  std::string target;
  bool source_insecure = false;
  bool target_insecure = false;
  std::string work_dir = "./tmp";
  std::string nydus_image;  // external builder binary; "" = the in-process builder
  uint32_t fs_version = 6;
  std::string compressor = "zstd";
  uint32_t chunk_size = 0;  // 0 = builder default (0x100000)
  std::string platform = "linux/amd64";
  std::vector<std::string> prefetch_patterns;  // empty = "/"
  std::string chunk_dict;                      // bootstrap path ("bootstrap:local:" stripped)
  // "bootstrap:registry:<ref>" (prefix stripped): the chunk dict is that nydus image's
  // bootstrap; its blobs that the result references are mounted (same registry) or copied
  // into the target repository. Exclusive with chunk_dict.
  std::string chunk_dict_ref;
  bool chunk_dict_insecure = false;
  size_t download_threads = 4;
};

struct ConvertResult {
  std::string manifest_digest;
  uint64_t manifest_size = 0;
  std::vector<std::string> blob_ids;
  std::string bootstrap_path;  // the last per-layer bootstrap
};

Result<ConvertResult> Convert(const ConvertOptions& options);

}  // namespace nydus::converter
