// Image reference parsing and docker config.json credential lookup (see the header).
#include "converter/image_ref.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>

#include "base/file_util.h"
#include "registry/registry_config.h"

namespace nydus::converter {

namespace {

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool ValidRepoChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
         c == '/';
}

// "https://index.docker.io/v1/" → "index.docker.io"
std::string NormalizeKey(std::string key) {
  if (auto p = key.find("://"); p != std::string::npos) key = key.substr(p + 3);
  if (auto p = key.find('/'); p != std::string::npos) key.resize(p);
  return key;
}

bool IsDockerHub(const std::string& h) {
  return h == "docker.io" || h == "index.docker.io" || h == "registry-1.docker.io";
}

}  // namespace

std::string ImageRef::ToString() const {
  std::string s = host + "/" + repo;
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

Result<ImageRef> ParseImageRef(std::string_view ref) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid image reference '" + std::string(ref) + "': " + why);
  };
  ImageRef out;
  std::string s(ref);
  if (s.empty()) return bad("empty");
  if (auto at = s.find('@'); at != std::string::npos) {
    out.digest = s.substr(at + 1);
    s.resize(at);
    if (!out.digest.starts_with("sha256:") || !IsHex64(out.digest.substr(7))) {
      return bad("digest must be sha256:<64 lower-case hex>");
    }
  }
  std::string rest = s;
  auto slash = s.find('/');
  if (slash != std::string::npos) {
    std::string first = s.substr(0, slash);
    if (first.find('.') != std::string::npos || first.find(':') != std::string::npos ||
        first == "localhost") {
      out.host = first;
      rest = s.substr(slash + 1);
    }
  }
  if (out.host.empty()) out.host = "docker.io";
  if (IsDockerHub(out.host)) out.host = "docker.io";
  auto last_slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string::npos && (last_slash == std::string::npos || colon > last_slash)) {
    out.tag = rest.substr(colon + 1);
    rest.resize(colon);
    if (out.tag.empty() || out.tag.size() > 128) return bad("bad tag");
    for (char c : out.tag) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) {
        return bad("bad tag");
      }
    }
  }
  if (rest.empty() || rest.front() == '/' || rest.back() == '/' ||
      rest.find("//") != std::string::npos) {
    return bad("bad repository path");
  }
  for (char c : rest) {
    if (!ValidRepoChar(c)) return bad("repository must be lower-case [a-z0-9._-/]");
  }
  if (out.host == "docker.io" && rest.find('/') == std::string::npos) rest = "library/" + rest;
  out.repo = rest;
  if (out.tag.empty() && out.digest.empty()) out.tag = "latest";
  return out;
}

std::string DockerConfigPath() {
  if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d) return std::string(d) + "/config.json";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.docker/config.json";
}

Result<Credentials> LookupDockerAuth(const Json& config, const std::string& host) {
  Credentials none;
  if (!config.is_object() || !config.contains("auths") || !config["auths"].is_object()) {
    return none;
  }
  for (const auto& [key, entry] : config["auths"].items()) {
    std::string k = NormalizeKey(key);
    bool match = k == host || (IsDockerHub(host) && IsDockerHub(k));
    if (!match || !entry.is_object()) continue;
    if (entry.contains("auth") && entry["auth"].is_string()) {
      auto up = registry::DecodeAuth(entry["auth"].get<std::string>());
      if (!up.ok()) {
        return Status::InvalidArgument("docker config: bad 'auth' for " + key + ": " +
                                       up.status().message());
      }
      return Credentials{up->first, up->second};
    }
    if (entry.contains("username") && entry["username"].is_string()) {
      Credentials c;
      c.username = entry["username"].get<std::string>();
      if (entry.contains("password") && entry["password"].is_string()) {
        c.password = entry["password"].get<std::string>();
      }
      return c;
    }
  }
  return none;
}

Result<Credentials> LoadDockerAuth(const std::string& config_path, const std::string& host) {
  if (::access(config_path.c_str(), F_OK) != 0) return Credentials{};
  ASSIGN_OR_RETURN(Bytes data, ReadWholeFile(config_path, 16 << 20));
  Json j = Json::parse(data.begin(), data.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(config_path + ": not valid JSON");
  return LookupDockerAuth(j, host);
}

}  // namespace nydus::converter
