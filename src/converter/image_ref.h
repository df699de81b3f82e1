// Image references and registry credentials for nydusify.
//
// ParseImageRef follows the docker reference grammar closely enough for nydusify:
//   [host[:port]/]path[:tag][@sha256:<64 hex>]
// The first component is a host if it contains '.' or ':' or is "localhost"; otherwise the
// registry is Docker Hub ("docker.io", reached at registry-1.docker.io) and a single-component
// path gets the "library/" prefix. The tag defaults to "latest" when there is no digest.
//
// LookupDockerAuth reads the `auths` map of a docker config.json ({"auths": {"host": {"auth":
// base64("user:pass")}}}); keys may carry a scheme and a path ("https://index.docker.io/v1/").
// Pure functions (DockerConfigPath reads the environment); thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/json.h"
#include "base/result.h"

namespace nydus::converter {

struct ImageRef {
  std::string host;    // "127.0.0.1:5000", "docker.io"
  std::string repo;    // "python", "library/python"
  std::string tag;     // "" if only a digest was given
  std::string digest;  // "sha256:…" or ""

  // What to put after /manifests/: the digest if any, else the tag.
  std::string Reference() const { return digest.empty() ? tag : digest; }
  // The host to send requests to ("registry-1.docker.io" for docker.io).
  std::string ApiHost() const { return host == "docker.io" ? "registry-1.docker.io" : host; }
  // "host/repo:tag[@digest]"
  std::string ToString() const;
};

Result<ImageRef> ParseImageRef(std::string_view ref);

struct Credentials {
  std::string username;
  std::string password;
  bool empty() const { return username.empty() && password.empty(); }
};

// $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json.
std::string DockerConfigPath();
// Credentials for `host` ("docker.io" also matches index.docker.io keys); empty if none.
// InvalidArgument for a malformed `auth` value.
Result<Credentials> LookupDockerAuth(const Json& config, const std::string& host);
// Reads the file (a missing file means no credentials).
Result<Credentials> LoadDockerAuth(const std::string& config_path, const std::string& host);

}  // namespace nydus::converter
