// Test-only helpers: status assertions, temp dirs, seeded random data, fixture lookup.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

#define ASSERT_OK(expr)                                   \
  do {                                                    \
    const ::nydus::Status _st = (expr);                   \
    ASSERT_TRUE(_st.ok()) << _st.ToString();              \
  } while (0)
#define EXPECT_OK(expr)                                   \
  do {                                                    \
    const ::nydus::Status _st = (expr);                   \
    EXPECT_TRUE(_st.ok()) << _st.ToString();              \
  } while (0)
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                    \
  auto NYDUS_CONCAT(_r_, __LINE__) = (expr);                              \
  ASSERT_TRUE(NYDUS_CONCAT(_r_, __LINE__).ok())                           \
      << NYDUS_CONCAT(_r_, __LINE__).status().ToString();                 \
  lhs = std::move(NYDUS_CONCAT(_r_, __LINE__)).value()

namespace nydus::testing {

// A fresh directory under $TMPDIR, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Join(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// `n` bytes from std::mt19937(seed): incompressible, and the same for the same seed.
Bytes RandomBytes(size_t n, uint32_t seed);

// Path to ../shared/fixtures/nydus/<rel>, or "" when the fixtures are absent.
std::string FixturePath(const std::string& rel);

// Use at the top of a test: skips with a clear message when the fixtures are absent.
#define NYDUS_REQUIRE_FIXTURE(var, rel)                                              \
  std::string var = ::nydus::testing::FixturePath(rel);                             \
  if (var.empty()) GTEST_SKIP() << "fixture " << (rel)                              \
                                << " not found (expected ../shared/fixtures/nydus)"

}  // namespace nydus::testing
