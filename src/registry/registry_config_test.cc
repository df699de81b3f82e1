#include "registry/registry_config.h"

#include <gtest/gtest.h>

#include "registry/registry_auth.h"

namespace nydus::registry {
namespace {

Result<RegistryConfig> Parse(const std::string& text) {
  return ParseRegistryConfig(Json::parse(text), "backend.registry");
}

TEST(RegistryConfigTest, DefaultsFollowTheReference) {
  Result<RegistryConfig> c = Parse(R"({"host": "reg:5000", "repo": "library/python"})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->scheme, "https");
  EXPECT_EQ(c->host, "reg:5000");
  EXPECT_EQ(c->repo, "library/python");
  EXPECT_EQ(c->auth, "");
  EXPECT_FALSE(c->skip_verify);
  EXPECT_EQ(c->timeout, 5u);
  EXPECT_EQ(c->connect_timeout, 5u);
  EXPECT_EQ(c->retry_limit, 0u);
  EXPECT_TRUE(c->proxy.url.empty());
  EXPECT_TRUE(c->proxy.fallback);
  EXPECT_EQ(c->proxy.check_interval, 5u);
  EXPECT_FALSE(c->proxy.use_http);
  EXPECT_TRUE(c->mirrors.empty());
}

TEST(RegistryConfigTest, AllKeys) {
  Result<RegistryConfig> c = Parse(R"({
    "scheme": "http", "host": "h", "repo": "r", "auth": "dXNlcjpwYXNz", "skip_verify": true,
    "timeout": 9, "connect_timeout": 3, "retry_limit": 2, "registry_token": " s3cr3tvalue ",
    "blob_url_scheme": "http", "blob_redirected_host": "cdn",
    "mirrors": [{"host": "http://m:65001", "headers": {"X-Dragonfly-Registry": "https://h"},
                 "failure_limit": 3}]})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->scheme, "http");
  EXPECT_EQ(c->auth, "dXNlcjpwYXNz");
  EXPECT_TRUE(c->skip_verify);
  EXPECT_EQ(c->timeout, 9u);
  EXPECT_EQ(c->connect_timeout, 3u);
  EXPECT_EQ(c->retry_limit, 2u);
  EXPECT_EQ(c->registry_token, "s3cr3tvalue");
  EXPECT_EQ(c->blob_redirected_host, "cdn");
  ASSERT_EQ(c->mirrors.size(), 1u);
  EXPECT_EQ(c->mirrors[0].headers.at("X-Dragonfly-Registry"), "https://h");
  EXPECT_EQ(c->mirrors[0].failure_limit, 3u);
  EXPECT_EQ(c->mirrors[0].health_check_interval, 5u);
  // Describe() never shows the secrets.
  std::string d = c->Describe();
  EXPECT_EQ(d.find("dXNlcjpwYXNz"), std::string::npos) << d;
  EXPECT_EQ(d.find("s3cr3tvalue"), std::string::npos) << d;
  EXPECT_NE(d.find("http://h/v2/r"), std::string::npos) << d;
}

// Proxy and mirror URLs may carry user:password; Describe() (logged at mount) cuts it out.
TEST(RegistryConfigTest, DescribeDropsUrlCredentials) {
  Result<RegistryConfig> p = Parse(R"({"host": "h", "repo": "r",
    "proxy": {"url": "http://pu:proxypass@proxy:3128/x?y=1"}})");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::string d = p->Describe();
  EXPECT_EQ(d.find("proxypass"), std::string::npos) << d;
  EXPECT_NE(d.find("proxy=http://...@proxy:3128/x?..."), std::string::npos) << d;
  Result<RegistryConfig> m = Parse(R"({"host": "h", "repo": "r",
    "mirrors": [{"host": "https://tok3n@m:65001"}, {"host": "http://a@b"}]})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  d = m->Describe();
  EXPECT_EQ(d.find("tok3n"), std::string::npos) << d;
  EXPECT_NE(d.find("mirror=https://...@m:65001"), std::string::npos) << d;
  EXPECT_NE(d.find("mirror=http://...@b"), std::string::npos) << d;
}

TEST(RegistryConfigTest, ErrorsNameTheDottedKey) {
  struct Case {
    const char* json;
    const char* needle;
  } cases[] = {
      {R"({"host": "h", "repo": "r", "hots": 1})", "unknown key 'backend.registry.hots'"},
      {R"({"host": "h", "repo": "r", "timeout": "5"})", "key 'backend.registry.timeout'"},
      {R"({"host": "h", "repo": "r", "retry_limit": 256})", "backend.registry.retry_limit"},
      {R"({"host": "h", "repo": "r", "skip_verify": 1})", "backend.registry.skip_verify"},
      {R"({"repo": "r"})", "missing key 'backend.registry.host'"},
      {R"({"host": "", "repo": "r"})", "backend.registry.host"},
      {R"({"host": "https://h", "repo": "r"})", "without scheme"},
      {R"({"host": "h", "repo": "r", "proxy": {"url": "x", "bogus": 1}})",
       "unknown key 'backend.registry.proxy.bogus'"},
      {R"({"host": "h", "repo": "r", "mirrors": [{"ping_url": "x"}]})",
       "missing key 'backend.registry.mirrors[0].host'"},
      {R"({"host": "h", "repo": "r", "mirrors": [{"host": "m", "headers": {"a": 1}}]})",
       "backend.registry.mirrors[0].headers.a"},
      {R"({"host": "h", "repo": "r", "proxy": {"url": "p"}, "mirrors": [{"host": "m"}]})",
       "cannot be configured together"},
      {R"({"host": "h", "repo": "r", "auth": "bm9jb2xvbg=="})", "backend.registry.auth"},
      {R"({"host": "h", "repo": "r", "auth": "!!"})", "not valid base64"},
  };
  for (const Case& c : cases) {
    Result<RegistryConfig> r = Parse(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << c.json << " -> " << r.status().ToString();
  }
}

TEST(RegistryConfigTest, NullSecretsAreAbsent) {
  Result<RegistryConfig> c =
      Parse(R"({"host": "h", "repo": "r", "auth": null, "registry_token": null})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->auth.empty());
}

TEST(RegistryConfigTest, ImagePullAuthOverridesConfig) {
  RegistryConfig c;
  c.auth = Base64Encode("config:pw");
  ASSERT_TRUE(ApplyImagePullAuth(nullptr, &c).ok());
  EXPECT_EQ(c.auth, Base64Encode("config:pw"));  // unset: untouched
  ASSERT_TRUE(ApplyImagePullAuth(Base64Encode("env:pw").c_str(), &c).ok());
  EXPECT_EQ(c.auth, Base64Encode("env:pw"));
  Status st = ApplyImagePullAuth("not base64!", &c);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("IMAGE_PULL_AUTH"), std::string::npos);
  EXPECT_EQ(c.auth, Base64Encode("env:pw"));
}

TEST(RegistryConfigTest, Base64AndAuthDecoding) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("testuser:testpassword"), "dGVzdHVzZXI6dGVzdHBhc3N3b3Jk");
  EXPECT_EQ(*Base64Decode("dGVzdHVzZXI6dGVzdHBhc3N3b3Jk"), "testuser:testpassword");
  EXPECT_EQ(*Base64Decode("Zm8"), "fo");
  EXPECT_FALSE(Base64Decode("Z").ok());
  auto up = DecodeAuth(Base64Encode("user:pa:ss"));
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->first, "user");
  EXPECT_EQ(up->second, "pa:ss");
  EXPECT_FALSE(DecodeAuth(Base64Encode("nocolon")).ok());
}

TEST(RegistryAuthTest, ParsesChallenges) {
  auto c = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.io/token",service="registry.io",scope="repository:a/b:pull,push")");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->Param("realm"), "https://auth.io/token");
  EXPECT_EQ(c->Param("service"), "registry.io");
  EXPECT_EQ(c->Param("scope"), "repository:a/b:pull,push");
  c = ParseWwwAuthenticate(R"(Basic realm="testbed-realm")");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->scheme, "basic");
  EXPECT_EQ(c->Param("realm"), "testbed-realm");
  c = ParseWwwAuthenticate("Basic");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->scheme, "basic");
  EXPECT_FALSE(ParseWwwAuthenticate("").has_value());
  EXPECT_FALSE(ParseWwwAuthenticate(R"(Bearer realm="unterminated)").has_value());
}

TEST(RegistryAuthTest, TokenReplyAndUrls) {
  auto t = ParseTokenReply(R"({"token": "abc", "expires_in": 300})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->token, "abc");
  EXPECT_EQ(t->expires_in, 300u);
  t = ParseTokenReply(R"({"access_token": "xyz"})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->token, "xyz");
  EXPECT_EQ(t->expires_in, 60u);
  EXPECT_FALSE(ParseTokenReply("not json").ok());
  EXPECT_FALSE(ParseTokenReply(R"({"expires_in": 1})").ok());

  EXPECT_EQ(UrlEscape("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull");
  EXPECT_EQ(*ResolveLocation("https://h:5000/v2/r/blobs/x", "/s/blob?sig=1"),
            "https://h:5000/s/blob?sig=1");
  EXPECT_EQ(*ResolveLocation("https://h/v2/r/blobs/x", "http://cdn:81/y"), "http://cdn:81/y");
  EXPECT_EQ(*ResolveLocation("https://h/v2/r/blobs/x", "//cdn/y"), "https://cdn/y");
  auto p = SplitUrl("http://127.0.0.1:8080/a?b");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->host, "127.0.0.1");
  EXPECT_EQ(p->port, "8080");
  EXPECT_EQ(p->rest, "/a?b");
  EXPECT_FALSE(SplitUrl("ftp://x/").ok());
  EXPECT_FALSE(SplitUrl("http://u:p@x/").ok());

  EXPECT_EQ(SummarizeErrorBody(
                R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})"),
            "UNAUTHORIZED: authentication required");
  EXPECT_EQ(SummarizeErrorBody("plain\ntext"), "plain text");
}

// Found by fuzz_registry_auth: a Location of "//" resolved to "http://" (no host), and a
// registry's error message reached logs with its newlines and at any length.
TEST(RegistryAuthTest, FuzzRegressions) {
  EXPECT_FALSE(ResolveLocation("http://h/", "//").ok());
  EXPECT_FALSE(ResolveLocation("http://h/", "//user:pw@evil/x").ok());
  EXPECT_EQ(*ResolveLocation("http://h/a/b", "c?d"), "http://h/a/c?d");
  EXPECT_EQ(SummarizeErrorBody(R"({"errors":[{"code":"DENIED","message":"a\nINFO forged line"}]})"),
            "DENIED: a INFO forged line");
  std::string long_msg(5000, 'x');
  EXPECT_EQ(SummarizeErrorBody(R"({"errors":[{"message":")" + long_msg + R"("}]})").size(), 200u);
}

}  // namespace
}  // namespace nydus::registry
