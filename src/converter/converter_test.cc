// Unit tests of nydusify's pure parts: references, docker config auth, manifest / index
// decoding and platform selection, the bootstrap layer round trip, tree comparison.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "base/file_util.h"
#include "converter/image_ref.h"
#include "converter/layer_tar.h"
#include "converter/oci.h"
#include "converter/tree_diff.h"

namespace nydus::converter {
namespace {

TEST(ImageRefTest, HostPortRepoTag) {
  auto r = ParseImageRef("localhost:5000/python:bookworm");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->host, "localhost:5000");
  EXPECT_EQ(r->repo, "python");
  EXPECT_EQ(r->tag, "bookworm");
  EXPECT_EQ(r->Reference(), "bookworm");
  EXPECT_EQ(r->ApiHost(), "localhost:5000");
}

TEST(ImageRefTest, DockerHubDefaults) {
  auto r = ParseImageRef("python");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->host, "docker.io");
  EXPECT_EQ(r->ApiHost(), "registry-1.docker.io");
  EXPECT_EQ(r->repo, "library/python");
  EXPECT_EQ(r->tag, "latest");
  auto u = ParseImageRef("docker.io/user/app:1.0");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->repo, "user/app");
  auto i = ParseImageRef("index.docker.io/library/busybox");
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(i->host, "docker.io");
  EXPECT_EQ(i->repo, "library/busybox");
}

TEST(ImageRefTest, Digest) {
  std::string d = "sha256:" + std::string(64, 'a');
  auto r = ParseImageRef("127.0.0.1:5000/a/b@" + d);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->repo, "a/b");
  EXPECT_EQ(r->tag, "");
  EXPECT_EQ(r->Reference(), d);
  auto both = ParseImageRef("reg.io/a:t@" + d);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->tag, "t");
  EXPECT_EQ(both->Reference(), d);
}

TEST(ImageRefTest, Invalid) {
  EXPECT_FALSE(ParseImageRef("").ok());
  EXPECT_FALSE(ParseImageRef("reg.io/Upper").ok());
  EXPECT_FALSE(ParseImageRef("reg.io/a@sha256:xyz").ok());
  EXPECT_FALSE(ParseImageRef("reg.io/a:").ok());
  EXPECT_FALSE(ParseImageRef("reg.io//a").ok());
}

TEST(DockerAuthTest, Lookup) {
  Json cfg = Json::parse(R"({"auths": {
      "127.0.0.1:5000": {"auth": "dXNlcjpwYXNz"},
      "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
      "bad.io": {"auth": "!!!"}}})");
  auto c = LookupDockerAuth(cfg, "127.0.0.1:5000");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->username, "user");
  EXPECT_EQ(c->password, "pass");
  auto hub = LookupDockerAuth(cfg, "docker.io");
  ASSERT_TRUE(hub.ok());
  EXPECT_EQ(hub->username, "hub");
  EXPECT_EQ(hub->password, "secret");
  auto none = LookupDockerAuth(cfg, "other.io");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(LookupDockerAuth(cfg, "bad.io").ok());
  auto missing = LoadDockerAuth("/nonexistent/config.json", "x");
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->empty());
}

const std::string kDigestA = "sha256:" + std::string(64, 'a');
const std::string kDigestB = "sha256:" + std::string(64, 'b');

TEST(OciTest, ManifestRoundTrip) {
  std::string body = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                     kDigestA +
                     R"(","size":10},
    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
                     kDigestB + R"(","size":20,"annotations":{"k":"v"}}]})";
  auto m = ParseManifest(body, "");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->media_type, kOciManifest);
  EXPECT_EQ(m->config.size, 10u);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].Annotation("k"), "v");
  auto again = ParseManifest(m->ToJson().dump(), "");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->layers[0].digest, kDigestB);
}

TEST(OciTest, DockerManifestFromContentType) {
  std::string body =
      R"({"schemaVersion":2,"config":{"digest":")" + kDigestA + R"(","size":1},"layers":[]})";
  auto m = ParseManifest(body, kDockerManifest);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->media_type, kDockerManifest);
  EXPECT_FALSE(ParseManifest("{}", "").ok());
  EXPECT_FALSE(ParseManifest("not json", "").ok());
  EXPECT_FALSE(ParseManifest(R"({"schemaVersion":2,"manifests":[]})", kOciIndex).ok());
}

TEST(OciTest, IndexPlatformSelection) {
  std::string body = R"({"schemaVersion":2,"manifests":[
    {"digest":")" + kDigestA +
                     R"(","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
    {"digest":")" + kDigestB +
                     R"(","size":2,"platform":{"os":"linux","architecture":"amd64"}}]})";
  auto list = ParseIndex(body);
  ASSERT_TRUE(list.ok());
  auto amd = SelectPlatform(*list, *ParsePlatform("linux/amd64"));
  ASSERT_TRUE(amd.ok());
  EXPECT_EQ(amd->digest, kDigestB);
  auto arm = SelectPlatform(*list, *ParsePlatform("linux/arm64/v8"));
  ASSERT_TRUE(arm.ok());
  EXPECT_EQ(arm->digest, kDigestA);
  auto none = SelectPlatform(*list, *ParsePlatform("linux/s390x"));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("linux/amd64"), std::string::npos);
  EXPECT_FALSE(ParsePlatform("linux").ok());
}

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/converter_test.XXXXXX";
    path_ = ::mkdtemp(t);
  }
  ~TempDir() { (void)std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(LayerTarTest, BootstrapLayerRoundTripIsDeterministic) {
  TempDir d;
  std::string boot = d.path() + "/boot", out = d.path() + "/boot2";
  ASSERT_TRUE(WriteWholeFile(boot, AsBytes("bootstrap bytes")).ok());
  auto a = WriteBootstrapLayer(boot, d.path() + "/a.tgz");
  auto b = WriteBootstrapLayer(boot, d.path() + "/b.tgz");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->digest, b->digest);
  EXPECT_NE(a->digest, a->diff_id);
  ASSERT_TRUE(ExtractBootstrap(a->path, out).ok());
  auto got = ReadWholeFile(out);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(std::string(got->begin(), got->end()), "bootstrap bytes");
}

TEST(TreeDiffTest, FindsDifferences) {
  TempDir d;
  std::string a = d.path() + "/a", b = d.path() + "/b";
  ::mkdir(a.c_str(), 0755);
  ::mkdir(b.c_str(), 0755);
  ASSERT_TRUE(WriteWholeFile(a + "/same", AsBytes("x")).ok());
  ASSERT_TRUE(WriteWholeFile(b + "/same", AsBytes("x")).ok());
  auto same = DiffTrees(a, b);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->differences.empty());
  ASSERT_TRUE(WriteWholeFile(a + "/f", AsBytes("abc")).ok());
  ASSERT_TRUE(WriteWholeFile(b + "/f", AsBytes("abd")).ok());
  ASSERT_TRUE(WriteWholeFile(a + "/only", AsBytes("")).ok());
  ::symlink("t1", (a + "/l").c_str());
  ::symlink("t2", (b + "/l").c_str());
  auto diff = DiffTrees(a, b);
  ASSERT_TRUE(diff.ok());
  ASSERT_EQ(diff->differences.size(), 3u);
  EXPECT_EQ(diff->differences[0].rfind("/f: content", 0), 0u) << diff->differences[0];
  EXPECT_EQ(diff->differences[1].rfind("/l: symlink", 0), 0u) << diff->differences[1];
  EXPECT_EQ(diff->differences[2], "/only: missing in the nydus image");
}

}  // namespace
}  // namespace nydus::converter
