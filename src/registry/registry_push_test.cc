// RepoClient against an in-process fake registry: manifest GET with Accept, blob upload
// (monolithic and chunked), HEAD, download with digest check, bearer token negotiation.
#include "registry/registry_push.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <mutex>

#include "base/digest.h"
#include "base/file_util.h"
#include "http/http_test_server.h"

namespace nydus::registry {
namespace {

using http::testing::TestHttpServer;
using http::testing::TestRequest;
using http::testing::TestResponse;

std::string Sha(const std::string& s) { return "sha256:" + DigestHex(Sha256(AsBytes(s))); }

// A minimal distribution server for repo "r": uploads, blobs, manifests; optional bearer auth.
class FakeRegistry {
 public:
  explicit FakeRegistry(bool bearer = false)
      : bearer_(bearer), server_([this](const TestRequest& r) { return Handle(r); }) {}
  std::string host() const { return server_.host(); }
  std::map<std::string, std::string> blobs;
  std::map<std::string, std::string> manifests;
  int patches = 0;

 private:
  TestResponse Handle(const TestRequest& r) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string path = r.Path();
    if (path == "/token") return {200, {}, R"({"token":"tok"})"};
    if (bearer_ && r.Header("authorization") != "Bearer tok") {
      return {401,
              {{"WWW-Authenticate", "Bearer realm=\"http://" + host() +
                                        "/token\",service=\"fake\",scope=\"repository:r:pull\""}},
              ""};
    }
    const std::string base = "/v2/r";
    if (r.method == "POST" && path == base + "/blobs/uploads/") {
      uploads_[++next_] = "";
      return {202, {{"Location", base + "/blobs/uploads/" + std::to_string(next_)}}, ""};
    }
    if (path.starts_with(base + "/blobs/uploads/")) {
      int id = std::stoi(path.substr(base.size() + 15));
      if (r.method == "PATCH") {
        ++patches;
        uploads_[id] += r.body;
        return {202, {{"Location", base + "/blobs/uploads/" + std::to_string(id)}}, ""};
      }
      if (r.method == "PUT") {
        std::string data = uploads_[id] + r.body;
        std::string digest = r.target.substr(r.target.find("digest=") + 7);
        digest.replace(digest.find("%3A"), 3, ":");
        if (Sha(data) != digest) return {400, {}, R"({"errors":[{"code":"DIGEST_INVALID"}]})"};
        blobs[digest] = data;
        return {201, {}, ""};
      }
    }
    if (path.starts_with(base + "/blobs/")) {
      auto it = blobs.find(path.substr(base.size() + 7));
      if (it == blobs.end()) return {404, {}, ""};
      TestResponse resp{200, {}, it->second};
      return resp;
    }
    if (path.starts_with(base + "/manifests/")) {
      std::string ref = path.substr(base.size() + 11);
      if (r.method == "PUT") {
        manifests[ref] = r.body;
        return {201, {{"Docker-Content-Digest", Sha(r.body)}}, ""};
      }
      auto it = manifests.find(ref);
      if (it == manifests.end()) return {404, {}, ""};
      if (r.Header("accept").find("application/vnd.oci.image.manifest.v1+json") ==
          std::string::npos) {
        return {406, {}, ""};
      }
      return {200, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}}, it->second};
    }
    return {404, {}, ""};
  }

  bool bearer_;
  std::mutex mu_;
  std::map<int, std::string> uploads_;
  int next_ = 0;
  TestHttpServer server_;
};

std::unique_ptr<RepoClient> Client(const FakeRegistry& reg) {
  RepoClientOptions o;
  o.host = reg.host();
  o.repo = "r";
  o.insecure = true;
  auto c = RepoClient::Create(o);
  EXPECT_TRUE(c.ok());
  return std::move(*c);
}

TEST(RepoClientTest, PushHeadDownloadManifest) {
  FakeRegistry reg;
  auto c = Client(reg);
  std::string data = "hello blob";
  ASSERT_TRUE(c->PushBlobBytes(data, Sha(data)).ok());
  auto size = c->HeadBlob(Sha(data));
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(*size, data.size());
  EXPECT_EQ(c->HeadBlob(Sha("other")).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(c->PushBlobBytes(data, Sha("wrong")).ok());

  char tmpl[] = "/tmp/repo_client_test.XXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  auto n = c->DownloadBlob(Sha(data), tmpl);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, data.size());
  reg.blobs[Sha("x")] = "tampered";
  auto bad = c->DownloadBlob(Sha("x"), tmpl);
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
  ::unlink(tmpl);

  auto d = c->PutManifest("t", "application/vnd.oci.image.manifest.v1+json", "{}");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, Sha("{}"));
  auto m = c->GetManifest("t");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->body, "{}");
  EXPECT_EQ(m->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(c->GetManifest("missing").status().code(), StatusCode::kNotFound);
}

TEST(RepoClientTest, ChunkedUploadOfBigFile) {
  FakeRegistry reg;
  auto c = Client(reg);
  std::string data(RepoClient::kMonolithicLimit + 12345, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  char tmpl[] = "/tmp/repo_client_big.XXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  ASSERT_TRUE(WriteWholeFile(tmpl, AsBytes(data)).ok());
  Status st = c->PushBlobFile(tmpl, Sha(data));
  ::unlink(tmpl);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(reg.patches, 3);  // 64 MiB + 12345 in 32 MiB chunks
  EXPECT_EQ(reg.blobs[Sha(data)], data);
}

TEST(RepoClientTest, BearerToken) {
  FakeRegistry reg(/*bearer=*/true);
  auto c = Client(reg);
  std::string data = "secret blob";
  ASSERT_TRUE(c->PushBlobBytes(data, Sha(data)).ok());
  auto got = c->GetBlob(Sha(data));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, data);
}

}  // namespace
}  // namespace nydus::registry
