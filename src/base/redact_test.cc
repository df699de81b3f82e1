#include "base/redact.h"

#include <gtest/gtest.h>

namespace nydus {
namespace {

TEST(RedactTest, RedactUrlHidesCredentialsAndQuery) {
  EXPECT_EQ(RedactUrl("https://user:pw@host:5000/v2/x?sig=abc&e=1"),
            "https://...@host:5000/v2/x?...");
  EXPECT_EQ(RedactUrl("http://host/path"), "http://host/path");
  EXPECT_EQ(RedactUrl("http://host/p@th"), "http://host/p@th");
}

}  // namespace
}  // namespace nydus
