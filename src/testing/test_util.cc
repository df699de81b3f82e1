#include "testing/test_util.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

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
