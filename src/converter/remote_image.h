// Opening a repository for an image reference (credentials from the docker config unless
// given) and resolving a reference to one image: manifest (through an index / manifest list
// for the wanted platform) and config. Shared by convert, check and mount.
// Thread-safety: free functions; the returned client is thread-safe.
#pragma once

#include <memory>
#include <string>

#include "base/json.h"
#include "base/result.h"
#include "converter/image_ref.h"
#include "converter/oci.h"
#include "registry/registry_push.h"

namespace nydus::converter {

// `creds` empty: looked up in DockerConfigPath() for the reference's host.
Result<std::unique_ptr<registry::RepoClient>> OpenRepo(const ImageRef& ref, bool insecure,
                                                       Credentials creds = {});

struct ResolvedImage {
  ImageManifest manifest;
  std::string manifest_body;
  std::string manifest_digest;  // sha256 of manifest_body
  bool from_index = false;
  Json config;  // the config blob, parsed
  std::string config_body;
};

// `prefer_nydus`: from an index, pick the manifest with the nydus.remoteimage.v1 feature.
Result<ResolvedImage> ResolveImage(registry::RepoClient& repo, const ImageRef& ref,
                                   const Platform& platform, bool prefer_nydus = false);

}  // namespace nydus::converter
