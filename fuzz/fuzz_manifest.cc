// libFuzzer target: nydusify's registry document decoders (converter/oci.h: manifests,
// indexes / manifest lists, descriptors, platforms) and image references and docker
// credentials (converter/image_ref.h) on arbitrary text.
//
// The first input byte selects the Content-Type the manifest is "served" with; the rest is
// the document. Properties checked: no crash or hang; errors are InvalidArgument (NotFound
// for platform selection); a decoded manifest re-encodes and decodes to the same layers; a
// parsed image reference has a host and repo and round-trips through ToString().
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "converter/image_ref.h"
#include "converter/oci.h"

namespace {

using namespace nydus;
using namespace nydus::converter;

void ExpectInvalid(const Status& s) {
  if (s.code() != StatusCode::kInvalidArgument) std::abort();
}

void CheckManifest(const std::string& body, const std::string& content_type) {
  auto m = ParseManifest(body, content_type);
  if (!m.ok()) {
    ExpectInvalid(m.status());
    return;
  }
  std::string again = m->ToJson().dump();
  auto m2 = ParseManifest(again, content_type);
  if (!m2.ok() || m2->layers.size() != m->layers.size() ||
      m2->config.digest != m->config.digest) {
    std::abort();
  }
  for (const auto& l : m->layers) (void)l.Annotation(kAnnoNydusBlob);
}

void CheckIndex(const std::string& body) {
  auto idx = ParseIndex(body);
  if (!idx.ok()) {
    ExpectInvalid(idx.status());
    return;
  }
  for (const auto& d : *idx) {
    (void)d.ToJson().dump();
    if (d.has_platform) (void)ParsePlatform(d.platform.ToString());
  }
  Platform want;
  want.os = "linux";
  want.architecture = "amd64";
  for (bool nydus : {false, true}) {
    auto sel = SelectPlatform(*idx, want, nydus);
    if (!sel.ok() && sel.status().code() != StatusCode::kNotFound) std::abort();
  }
}

void CheckRef(std::string_view text) {
  auto r = ParseImageRef(text);
  if (!r.ok()) {
    ExpectInvalid(r.status());
    return;
  }
  if (r->host.empty() || r->repo.empty() || r->Reference().empty()) std::abort();
  (void)r->ApiHost();
  auto again = ParseImageRef(r->ToString());
  if (!again.ok() || again->host != r->host || again->repo != r->repo ||
      again->tag != r->tag || again->digest != r->digest) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kTypes[] = {"", kOciManifest, kDockerManifest, kOciIndex,
                                       kDockerManifestList, "text/plain"};
  const std::string content_type = kTypes[data[0] % (sizeof(kTypes) / sizeof(kTypes[0]))];
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);

  CheckManifest(body, content_type);
  CheckIndex(body);
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    auto d = ParseDescriptor(j, "fuzz");
    if (!d.ok()) ExpectInvalid(d.status());
    for (const char* host : {"docker.io", "localhost:5000"}) {
      auto c = LookupDockerAuth(j, host);
      if (!c.ok()) ExpectInvalid(c.status());
    }
  }
  // Short inputs are also image references and platforms (line by line).
  if (body.size() <= 4096) {
    size_t pos = 0;
    for (int n = 0; n < 8 && pos <= body.size(); ++n) {
      size_t end = body.find('\n', pos);
      if (end == std::string::npos) end = body.size();
      std::string_view line(body.data() + pos, end - pos);
      CheckRef(line);
      auto p = ParsePlatform(std::string(line));
      if (p.ok()) {
        auto p2 = ParsePlatform(p->ToString());
        if (!p2.ok() || p2->os != p->os || p2->architecture != p->architecture ||
            p2->variant != p->variant) {
          std::abort();
        }
      }
      pos = end + 1;
    }
  }
  return 0;
}
