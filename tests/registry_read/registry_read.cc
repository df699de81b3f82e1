// nydus-registry-read: a test-only tool for tests/e2e/registry_backend.sh. It builds the
// registry backend exactly as nydusd will (the backend settings JSON, then IMAGE_PULL_AUTH)
// and reads a byte range of one blob to stdout, or checks access to it.
//
//   nydus-registry-read CONFIG_JSON BLOB_ID [OFFSET LENGTH]   range → stdout
//   nydus-registry-read CONFIG_JSON BLOB_ID --size            prints the blob size
//   nydus-registry-read CONFIG_JSON BLOB_ID --check           CheckAccess (mount-time check)
// CONFIG_JSON holds the settings object (what goes under v2 `backend.registry`).
// Exit 0 on success; 1 with the Status on stderr otherwise.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "base/json.h"
#include "registry/registry_backend.h"

namespace {

int Fail(const nydus::Status& st) {
  std::cerr << "nydus-registry-read: " << st.ToString() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace nydus;
  if (argc != 3 && argc != 4 && argc != 5) {
    std::cerr << "usage: " << argv[0]
              << " CONFIG_JSON BLOB_ID [OFFSET LENGTH | --size | --check]\n";
    return 2;
  }
  std::FILE* f = std::fopen(argv[1], "rb");
  if (f == nullptr) return Fail(Status::FromErrno(errno, argv[1]));
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  std::fclose(f);
  Json raw = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (raw.is_discarded()) return Fail(Status::InvalidArgument("config is not JSON"));

  auto parsed = registry::ParseRegistryConfig(raw, "backend.registry");
  if (!parsed.ok()) return Fail(parsed.status());
  registry::RegistryConfig config = std::move(parsed).value();
  Status env = registry::ApplyImagePullAuthFromEnv(&config);
  if (!env.ok()) return Fail(env);
  auto backend = registry::RegistryBackend::Create(config);
  if (!backend.ok()) return Fail(backend.status());
  const std::string blob_id = argv[2];
  std::string mode = argc == 4 ? argv[3] : "";

  if (mode == "--check") {
    Status st = (*backend)->CheckAccess(blob_id);
    if (!st.ok()) return Fail(st);
    std::cout << "ok\n";
    return 0;
  }
  auto reader = (*backend)->Open(blob_id);
  if (!reader.ok()) return Fail(reader.status());
  if (mode == "--size") {
    std::cout << *(*reader)->Size() << "\n";
    return 0;
  }
  if (argc != 5) return Fail(Status::InvalidArgument("need OFFSET LENGTH, --size or --check"));
  uint64_t offset = std::strtoull(argv[3], nullptr, 10);
  std::vector<uint8_t> data(std::strtoull(argv[4], nullptr, 10));
  Status st = (*reader)->ReadAt(offset, data);
  if (!st.ok()) return Fail(st);
  std::fwrite(data.data(), 1, data.size(), stdout);
  auto m = (*backend)->metrics();
  std::fprintf(stderr, "requests=%lu bytes=%lu errors=%lu latency_us=%lu\n",
               static_cast<unsigned long>(m.requests), static_cast<unsigned long>(m.bytes),
               static_cast<unsigned long>(m.errors), static_cast<unsigned long>(m.latency_us));
  return 0;
}
