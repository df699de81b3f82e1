// RepoClient against an in-process fake registry: manifest GET with Accept, blob upload
// (monolithic and chunked), HEAD, download with digest check, bearer token negotiation.
#include "registry/registry_push.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <mutex>

#include "base/digest.h"
#include "base/file_util.h"
#include "registry/registry_test_util.h"
#include "testing/test_util.h"

namespace nydus::registry {
namespace {

using testing::Client;
using testing::FakeRegistry;
using testing::Sha;

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

  ASSERT_OK_AND_ASSIGN(std::vector<std::string> none, c->ListTags());
  EXPECT_TRUE(none.empty());  // no such repository yet: 404
  auto d = c->PutManifest("t", "application/vnd.oci.image.manifest.v1+json", "{}");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, Sha("{}"));
  auto m = c->GetManifest("t");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->body, "{}");
  EXPECT_EQ(m->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(c->GetManifest("missing").status().code(), StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> tags, c->ListTags());
  EXPECT_EQ(tags, std::vector<std::string>{"t"});
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
