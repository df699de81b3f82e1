// Unit tests of `nydusify optimize`'s pure parts: which source layers are blob layers, the
// new manifest and config, and the bootstrap layer with the prefetch list beside the bootstrap.
#include "converter/optimize.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "base/digest.h"
#include "base/file_util.h"
#include "converter/mount.h"
#include "testing/test_util.h"

namespace nydus::converter {
namespace {

const std::string kBlobA = "sha256:" + std::string(64, 'a');
const std::string kBlobB = "sha256:" + std::string(64, 'b');
const std::string kPrefetch(64, 'c');

Descriptor BlobLayer(const std::string& digest, uint64_t size) {
  Descriptor d;
  d.media_type = kNydusBlobLayer;
  d.digest = digest;
  d.size = size;
  d.annotations[kAnnoNydusBlob] = "true";
  return d;
}

// A manifest as `nydusify convert` pushes it: two blob layers, the bootstrap layer last.
ImageManifest Converted(const std::string& media_type = kOciManifest) {
  ImageManifest m;
  m.media_type = media_type;
  m.config.media_type = kOciConfig;
  m.config.digest = "sha256:" + std::string(64, 'f');
  m.config.size = 100;
  m.layers = {BlobLayer(kBlobA, 1000), BlobLayer(kBlobB, 2000)};
  Descriptor boot;
  boot.media_type = kOciLayerTarGzip;
  boot.digest = "sha256:" + std::string(64, 'e');
  boot.size = 300;
  boot.annotations[kAnnoNydusBootstrap] = "true";
  boot.annotations[kAnnoNydusFsVersion] = "6";
  m.layers.push_back(boot);
  return m;
}

Json Config() {
  return Json::parse(R"({"architecture": "amd64", "os": "linux",
    "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
    "rootfs": {"type": "layers", "diff_ids": ["x", "y", "z"]},
    "history": [{"created_by": "layer 1"}, {"created_by": "layer 2"},
                {"created_by": "Nydus Converter", "comment": "Nydus Bootstrap Layer"}]})");
}

LayerFile BootLayer() {
  LayerFile f;
  f.digest = "sha256:" + std::string(64, '1');
  f.diff_id = "sha256:" + std::string(64, '2');
  f.size = 400;
  return f;
}

TEST(OptimizeTest, BlobLayersOfAConvertedImage) {
  auto blobs = OptimizableBlobLayers(Converted());
  ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
  ASSERT_EQ(blobs->size(), 2u);
  EXPECT_EQ((*blobs)[0].digest, kBlobA);
  EXPECT_EQ((*blobs)[1].digest, kBlobB);
}

TEST(OptimizeTest, RefusesWhatIsNotAnOptimizableNydusImage) {
  ImageManifest no_boot = Converted();
  no_boot.layers.back().annotations.erase(kAnnoNydusBootstrap);
  EXPECT_NE(OptimizableBlobLayers(no_boot).status().message().find("not a nydus image"),
            std::string::npos);
  ImageManifest empty = Converted();
  empty.layers.clear();
  EXPECT_FALSE(OptimizableBlobLayers(empty).ok());
  ImageManifest oci_layer = Converted();
  oci_layer.layers[1].media_type = kOciLayerTarGzip;
  auto st = OptimizableBlobLayers(oci_layer).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("layer 1 (" + kBlobB), std::string::npos) << st.message();
  ImageManifest optimized = Converted();
  optimized.layers.back().annotations[kAnnoNydusPrefetchBlob] = kPrefetch;
  st = OptimizableBlobLayers(optimized).status();
  EXPECT_NE(st.message().find("already optimized"), std::string::npos) << st.message();
}

TEST(OptimizeTest, AssemblesManifestAndConfigInLayerOrder) {
  const ImageManifest src = Converted();
  auto r = AssembleOptimizedImage(src, Config(), kPrefetch, 555, BootLayer());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ImageManifest& m = r->manifest;
  EXPECT_EQ(m.media_type, kOciManifest);
  ASSERT_EQ(m.layers.size(), 4u);
  EXPECT_EQ(m.layers[0].digest, kBlobA);
  EXPECT_EQ(m.layers[1].digest, kBlobB);
  // The prefetch blob layer, like convert's blob layers.
  EXPECT_EQ(m.layers[2].media_type, kNydusBlobLayer);
  EXPECT_EQ(m.layers[2].digest, "sha256:" + kPrefetch);
  EXPECT_EQ(m.layers[2].size, 555u);
  EXPECT_EQ(m.layers[2].annotations,
            (std::map<std::string, std::string>{{kAnnoNydusBlob, "true"}}));
  // The bootstrap layer: the old annotations plus the prefetch blob id.
  const Descriptor& b = m.layers[3];
  EXPECT_EQ(b.media_type, kOciLayerTarGzip);
  EXPECT_EQ(b.digest, BootLayer().digest);
  EXPECT_EQ(b.size, 400u);
  EXPECT_EQ(b.annotations,
            (std::map<std::string, std::string>{{kAnnoNydusBootstrap, "true"},
                                                {kAnnoNydusFsVersion, "6"},
                                                {kAnnoNydusPrefetchBlob, kPrefetch}}));

  // The config: diff ids in layer order, the rest kept, one history entry before the last.
  EXPECT_EQ(m.config.media_type, kOciConfig);
  EXPECT_EQ(m.config.size, r->config_body.size());
  EXPECT_EQ(m.config.digest, "sha256:" + DigestHex(Sha256(AsBytes(r->config_body))));
  const Json c = Json::parse(r->config_body);
  EXPECT_EQ(c["rootfs"]["diff_ids"],
            Json::array({kBlobA, kBlobB, "sha256:" + kPrefetch, BootLayer().diff_id}));
  EXPECT_EQ(c["rootfs"]["type"], "layers");
  EXPECT_EQ(c["config"], Config()["config"]);
  EXPECT_EQ(c["architecture"], "amd64");
  ASSERT_EQ(c["history"].size(), 4u);
  EXPECT_EQ(c["history"][2]["comment"], "Nydus Prefetch Blob Layer");
  EXPECT_EQ(c["history"][3]["comment"], "Nydus Bootstrap Layer");

  // The source is not changed, and a Docker manifest stays one.
  EXPECT_EQ(src.layers.back().annotations.count(kAnnoNydusPrefetchBlob), 0u);
  ImageManifest docker = Converted(kDockerManifest);
  docker.layers.back().media_type = kDockerLayerTarGzip;
  auto d = AssembleOptimizedImage(docker, Config(), kPrefetch, 555, BootLayer());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->manifest.media_type, kDockerManifest);
  EXPECT_EQ(d->manifest.layers.back().media_type, kDockerLayerTarGzip);
}

TEST(OptimizeTest, AssembleWithoutHistoryAndBadInput) {
  Json config = Config();
  config.erase("history");
  auto r = AssembleOptimizedImage(Converted(), config, kPrefetch, 1, BootLayer());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Json::parse(r->config_body)["history"].size(), 1u);
  EXPECT_FALSE(
      AssembleOptimizedImage(Converted(), config, "sha256:" + kPrefetch, 1, BootLayer()).ok());
  EXPECT_FALSE(
      AssembleOptimizedImage(Converted(), config, std::string(64, 'G'), 1, BootLayer()).ok());
  EXPECT_FALSE(AssembleOptimizedImage(Converted(), Json::array(), kPrefetch, 1, BootLayer()).ok());
  // The prefetch blob cannot be one of the layers already there.
  EXPECT_FALSE(
      AssembleOptimizedImage(Converted(), config, std::string(64, 'a'), 1, BootLayer()).ok());
}

TEST(OptimizeTest, BootstrapLayerCarriesThePrefetchList) {
  testing::TempDir d;
  const std::string boot = d.path() + "/boot", list = R"({"version": "v1", "files": []})";
  ASSERT_TRUE(WriteWholeFile(boot, AsBytes(std::string("bootstrap bytes"))).ok());
  auto layer = WriteBootstrapLayer(boot, d.path() + "/layer.tgz", {{kPrefetchFilesInLayer, list}});
  ASSERT_TRUE(layer.ok()) << layer.status().ToString();
  auto plain = WriteBootstrapLayer(boot, d.path() + "/plain.tgz");
  ASSERT_TRUE(plain.ok());
  EXPECT_NE(layer->digest, plain->digest);
  EXPECT_NE(layer->diff_id, plain->diff_id);
  // The bootstrap is still found, and the list is image/prefetch.files.
  ASSERT_TRUE(ExtractBootstrap(layer->path, d.path() + "/out.boot").ok());
  auto out = ReadWholeFile(d.path() + "/out.boot");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(std::string(out->begin(), out->end()), "bootstrap bytes");
  const std::string root = d.path() + "/root";
  ASSERT_TRUE(MakeDirs(root).ok());
  ASSERT_TRUE(UnpackLayer(layer->path, root).ok());
  auto got = ReadWholeFile(root + "/image/prefetch.files");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(std::string(got->begin(), got->end()), list);
  // Names stay inside image/ and do not replace the bootstrap.
  for (const char* bad : {"", "a/b", "image.boot"}) {
    EXPECT_FALSE(WriteBootstrapLayer(boot, d.path() + "/bad.tgz", {{bad, "x"}}).ok()) << bad;
  }
}

}  // namespace
}  // namespace nydus::converter
