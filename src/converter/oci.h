// OCI / Docker schema2 image documents as nydusify reads and writes them: media types and the
// nydus annotations (reference spec §5.3, exact strings), descriptors, manifests, indexes
// (manifest lists) and platform selection. Decoders distrust their input (InvalidArgument
// naming the field). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"

namespace nydus::converter {

inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kOciConfig[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kOciLayerTarGzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char kOciLayerTar[] = "application/vnd.oci.image.layer.v1.tar";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerManifestList[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char kDockerConfig[] = "application/vnd.docker.container.image.v1+json";
inline constexpr char kDockerLayerTarGzip[] = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr char kNydusBlobLayer[] = "application/vnd.oci.image.layer.nydus.blob.v1";

inline constexpr char kAnnoNydusBlob[] = "containerd.io/snapshot/nydus-blob";
inline constexpr char kAnnoNydusBootstrap[] = "containerd.io/snapshot/nydus-bootstrap";
inline constexpr char kAnnoNydusFsVersion[] = "containerd.io/snapshot/nydus-fs-version";
inline constexpr char kAnnoUncompressed[] = "containerd.io/uncompressed";
inline constexpr char kNydusFeature[] = "nydus.remoteimage.v1";
inline constexpr char kBootstrapPathInLayer[] = "image/image.boot";

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::vector<std::string> os_features;
  std::string ToString() const;  // "linux/amd64[/v8]"
};
// "linux/amd64", "linux/arm64/v8"; InvalidArgument otherwise.
Result<Platform> ParsePlatform(const std::string& s);

struct Descriptor {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
  std::map<std::string, std::string> annotations;
  bool has_platform = false;
  Platform platform;

  std::string Annotation(const std::string& key) const {
    auto it = annotations.find(key);
    return it == annotations.end() ? std::string() : it->second;
  }
  Json ToJson() const;
};

struct ImageManifest {
  std::string media_type;  // from the document, else the Content-Type it came with
  Descriptor config;
  std::vector<Descriptor> layers;
  Json ToJson() const;
};

bool IsIndexType(const std::string& media_type);
bool IsManifestType(const std::string& media_type);

Result<Descriptor> ParseDescriptor(const Json& j, const std::string& where);
// `content_type`: the Content-Type it was served with (used when mediaType is absent).
Result<ImageManifest> ParseManifest(const std::string& body, const std::string& content_type);
Result<std::vector<Descriptor>> ParseIndex(const std::string& body);
// The manifest for `want` (os and architecture must match; variant only if both set). With
// `prefer_nydus`, a manifest with the nydus.remoteimage.v1 os feature wins over one without.
// NotFound listing the available platforms otherwise.
Result<Descriptor> SelectPlatform(const std::vector<Descriptor>& manifests, const Platform& want,
                                  bool prefer_nydus = false);

}  // namespace nydus::converter
