// Repository opening and image resolution (see the header).
#include "converter/remote_image.h"

#include "base/digest.h"

namespace nydus::converter {

Result<std::unique_ptr<registry::RepoClient>> OpenRepo(const ImageRef& ref, bool insecure,
                                                       Credentials creds) {
  if (creds.empty()) {
    ASSIGN_OR_RETURN(creds, LoadDockerAuth(DockerConfigPath(), ref.host));
  }
  registry::RepoClientOptions o;
  o.host = ref.ApiHost();
  o.repo = ref.repo;
  o.insecure = insecure;
  o.username = creds.username;
  o.password = creds.password;
  return registry::RepoClient::Create(std::move(o));
}

Result<ResolvedImage> ResolveImage(registry::RepoClient& repo, const ImageRef& ref,
                                   const Platform& platform, bool prefer_nydus) {
  ResolvedImage out;
  auto m = repo.GetManifest(ref.Reference());
  if (!m.ok()) return m.status().WithContext("image " + ref.ToString());
  if (IsIndexType(m->media_type) || m->body.find("\"manifests\"") != std::string::npos) {
    ASSIGN_OR_RETURN(auto list, ParseIndex(m->body));
    auto pick = SelectPlatform(list, platform, prefer_nydus);
    if (!pick.ok()) return pick.status().WithContext("image " + ref.ToString());
    auto m2 = repo.GetManifest(pick->digest);
    if (!m2.ok()) return m2.status().WithContext("image " + ref.ToString());
    m = std::move(m2);
    out.from_index = true;
  }
  auto parsed = ParseManifest(m->body, m->media_type);
  if (!parsed.ok()) return parsed.status().WithContext("image " + ref.ToString());
  out.manifest = std::move(*parsed);
  out.manifest_body = std::move(m->body);
  out.manifest_digest = "sha256:" + DigestHex(Sha256(AsBytes(out.manifest_body)));
  if (!ref.digest.empty() && !out.from_index && ref.digest != out.manifest_digest) {
    return Status::Corruption("image " + ref.ToString() + ": manifest digest mismatch (got " +
                              out.manifest_digest + ")");
  }
  auto cfg = repo.GetBlob(out.manifest.config.digest);
  if (!cfg.ok()) return cfg.status().WithContext("config of " + ref.ToString());
  out.config_body = std::move(*cfg);
  out.config = Json::parse(out.config_body, nullptr, /*allow_exceptions=*/false);
  if (!out.config.is_object()) {
    return Status::InvalidArgument("config of " + ref.ToString() + " is not a JSON object");
  }
  if (!out.from_index && out.config.contains("os") && out.config["os"].is_string() &&
      out.config.contains("architecture") && out.config["architecture"].is_string()) {
    std::string os = out.config["os"], arch = out.config["architecture"];
    if (os != platform.os || arch != platform.architecture) {
      return Status::NotFound("image " + ref.ToString() + " is " + os + "/" + arch + ", not " +
                              platform.ToString());
    }
  }
  return out;
}

}  // namespace nydus::converter
