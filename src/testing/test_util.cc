#include "testing/test_util.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>

namespace nydus::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/nydus-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Bytes RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& c : b) c = static_cast<uint8_t>(rng());
  return b;
}

std::string FixturePath(const std::string& rel) {
  std::string dir;
  if (const char* env = std::getenv("NYDUS_FIXTURES_DIR"); env && *env) {
    dir = env;
  } else {
#ifdef NYDUS_FIXTURES_DIR
    dir = NYDUS_FIXTURES_DIR;
#endif
  }
  std::string p = dir + "/" + rel;
  return (!dir.empty() && ::access(p.c_str(), R_OK) == 0) ? p : "";
}

}  // namespace nydus::testing
