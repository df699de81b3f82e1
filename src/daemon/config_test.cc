#include "daemon/config.h"

#include <gtest/gtest.h>

#include <string>

#include "base/file_util.h"
#include "testing/test_util.h"

namespace nydus::daemon {
namespace {

// The tutorial's localfs.json (docs/nydusd.md + the snapshotter's v1 shape).
constexpr char kTutorialV1[] = R"({
  "device": {
    "backend": {"type": "localfs", "config": {"dir": "/var/lib/nydus/blobs"}},
    "cache": {"type": "blobcache", "config": {"work_dir": "/var/lib/nydus/cache"}}
  },
  "mode": "direct",
  "digest_validate": false,
  "iostats_files": false,
  "enable_xattr": true,
  "fs_prefetch": {"enable": true, "threads_count": 4, "merging_size": 131072,
                  "bandwidth_rate": 1048576}
})";

std::string ErrorOf(std::string_view text, std::string_view source = "cfg") {
  Result<DaemonConfig> r = ParseConfig(text, source);
  EXPECT_FALSE(r.ok()) << "parsed unexpectedly: " << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  return r.status().message();
}

TEST(ConfigV1Test, TutorialLocalfs) {
  ASSERT_OK_AND_ASSIGN(DaemonConfig c, ParseConfig(kTutorialV1, "localfs.json"));
  EXPECT_EQ(c.format, ConfigFormat::kJsonV1);
  ASSERT_TRUE(c.backend && c.cache && c.rafs);
  EXPECT_EQ(c.backend->type, "localfs");
  EXPECT_EQ(c.backend->localfs.dir, "/var/lib/nydus/blobs");
  EXPECT_TRUE(c.backend->raw.is_null());
  EXPECT_EQ(c.cache->type, "blobcache");
  EXPECT_EQ(c.cache->work_dir, "/var/lib/nydus/cache");
  EXPECT_FALSE(c.cache->validate);
  EXPECT_EQ(c.rafs->mode, "direct");
  EXPECT_TRUE(c.rafs->enable_xattr);
  EXPECT_FALSE(c.rafs->validate);
  EXPECT_EQ(c.rafs->batch_size, 128u * 1024);           // amplify_io default
  PrefetchConfig want{true, 4, 131072, 1048576, true};  // prefetch_all defaults to true in v1
  EXPECT_EQ(c.rafs->prefetch, want);
  EXPECT_EQ(c.cache->prefetch, want);  // inherited: the cache's own prefetch is off in v1
  EXPECT_FALSE(c.ChunkValidationEnabled());
}

TEST(ConfigV1Test, DefaultsOfAbsentAndEmptyObjects) {
  ASSERT_OK_AND_ASSIGN(
      DaemonConfig c,
      ParseConfig(R"({"device":{"backend":{"type":"localfs","config":{"blob_file":"/b"}}},
                      "mode":"cached","digest_validate":true})",
                  "x"));
  EXPECT_EQ(c.cache->type, "");
  EXPECT_EQ(c.rafs->prefetch, PrefetchConfig{});  // absent fs_prefetch: derived Default
  EXPECT_EQ(c.cache->prefetch, (PrefetchConfig{false, 0, 0, 0, true}));
  EXPECT_EQ(c.rafs->mode, "cached");
  EXPECT_TRUE(c.ChunkValidationEnabled());
  ASSERT_OK_AND_ASSIGN(
      c, ParseConfig(R"({"device":{"id":"d1","backend":{"type":"localfs","config":{"dir":"/b"}}},
                        "mode":"direct","fs_prefetch":{},"amplify_io":0})",
                     "x"));
  EXPECT_EQ(c.id, "d1");
  EXPECT_EQ(c.rafs->prefetch, (PrefetchConfig{false, 8, 128 * 1024, 0, true}));
  EXPECT_EQ(c.rafs->batch_size, 0u);
}

TEST(ConfigV1Test, LocalfsReadaheadAndAltDirs) {
  ASSERT_OK_AND_ASSIGN(DaemonConfig c,
                       ParseConfig(R"({"device":{"backend":{"type":"localfs","config":{"dir":"/b",
                      "alt_dirs":["/c","/d"],"readahead":true,"readahead_sec":10}}},
                      "mode":"direct"})",
                                   "x"));
  EXPECT_EQ(c.backend->localfs.alt_dirs, (std::vector<std::string>{"/c", "/d"}));
  EXPECT_TRUE(c.backend->localfs.readahead);
  EXPECT_EQ(c.backend->localfs.readahead_sec, 10u);
}

TEST(ConfigV1Test, Errors) {
  EXPECT_EQ(ErrorOf(R"({"device":{"backend":{"type":"localfs","config":{"dri":"/b"}}},
                        "mode":"direct"})",
                    "localfs.json"),
            "localfs.json: unknown key 'device.backend.config.dri'");
  EXPECT_EQ(ErrorOf(R"({"device":{"backend":{"type":"localfs","config":{"dir":"/b"}}}})"),
            "cfg: missing key 'mode'");
  EXPECT_EQ(ErrorOf(R"({"device":{"backend":{"type":"localfs","config":{"dir":"/b"}}},
                        "mode":"direct","digest_validate":"yes"})"),
            "cfg: key 'digest_validate': expected a boolean, found a string");
  EXPECT_EQ(ErrorOf(R"({"device":{"backend":{"type":"localfs"}},"mode":"direct"})"),
            "cfg: missing key 'device.backend.config'");
  EXPECT_EQ(ErrorOf(R"({"device":{"backend":{"type":"localfs","config":{}}},"mode":"direct"})"),
            "cfg: 'device.backend.config': localfs needs 'dir' or 'blob_file'");
  EXPECT_EQ(ErrorOf(R"({"device":{"backend":{"type":"http-proxy","config":{"addr":"http://a"}}},
                        "mode":"direct"})"),
            "cfg: key 'device.backend.type': unsupported backend type 'http-proxy' (localfs, "
            "registry, oss, s3 or localdisk)");
  EXPECT_EQ(ErrorOf(R"({"device":{"backend":{"type":"localfs","config":{"dir":"/b"}},
                        "cache":{"type":"dummycache"}},"mode":"direct"})"),
            "cfg: key 'device.cache.type': unsupported cache type 'dummycache' (blobcache, "
            "filecache, fscache or \"\")");
  EXPECT_EQ(ErrorOf(R"({"device":{"backend":{"type":"localfs","config":{"dir":"/b"}},
                        "cache":{"type":"blobcache"}},"mode":"direct"})"),
            "cfg: missing key 'device.cache.config' (device.cache.type is 'blobcache')");
  // The reference -D template puts "compressed" inside the cache config, which serde drops;
  // here an unknown key is an error.
  EXPECT_EQ(ErrorOf(R"({"device":{"backend":{"type":"localfs","config":{"dir":"/b"}},
                        "cache":{"type":"blobcache","config":{"compressed":false}}},
                        "mode":"direct"})"),
            "cfg: unknown key 'device.cache.config.compressed'");
  EXPECT_EQ(ErrorOf(R"({"device":{"backend":{"type":"localfs","config":{"dir":"/b"}}},
                        "mode":"lazy"})"),
            "cfg: key 'mode': must be \"direct\" or \"cached\", found \"lazy\"");
  EXPECT_EQ(ErrorOf(R"({"device":{"backend":{"type":"localfs","config":{"dir":"/b"}}},
                        "mode":"direct","fs_prefetch":{"enable":true,"threads_count":0}})"),
            "cfg: key 'fs_prefetch.threads_count': 0 is out of range (1 to 1024 when prefetch "
            "is enabled)");
  EXPECT_EQ(ErrorOf(R"({"device":{"backend":{"type":"localfs","config":{"dir":"/b"}}},
                        "mode":"direct","amplify_io":268435457})"),
            "cfg: key 'amplify_io': 268435457 exceeds the maximum 0x10000000");
  EXPECT_EQ(ErrorOf(R"({"device":{"backend":{"type":"localfs","config":{"dir":"/b"}}},
                        "mode":"direct","amplify_io":-1})"),
            "cfg: key 'amplify_io': expected an unsigned integer, found a negative integer");
}

TEST(ConfigV1Test, RegistryKeptRaw) {
  ASSERT_OK_AND_ASSIGN(
      DaemonConfig c,
      ParseConfig(R"({"device":{"backend":{"type":"registry","config":{"host":"r:5000",
                      "repo":"library/ubuntu","scheme":"http","mirrors":[]}},
                      "cache":{"type":"blobcache","config":{"work_dir":"/c"}}},
                      "mode":"direct"})",
                  "x"));
  EXPECT_EQ(c.backend->type, "registry");
  EXPECT_EQ(c.backend->raw["host"], "r:5000");
  EXPECT_TRUE(c.backend->raw.contains("mirrors"));
  EXPECT_EQ(ErrorOf(R"({"device":{"backend":{"type":"registry","config":{"host":"r"}}},
                        "mode":"direct"})"),
            "cfg: 'device.backend.config': the registry backend needs a non-empty 'repo'");
}

constexpr char kV2Json[] = R"({
  "version": 2, "id": "my_id",
  "backend": {"type": "localfs", "localfs": {"dir": "/blobs", "alt_dirs": ["/alt"]}},
  "cache": {"type": "filecache", "compressed": true, "validate": true,
            "filecache": {"work_dir": "/cache", "disable_indexed_map": true},
            "prefetch": {"enable": true, "threads": 2, "batch_size": 65536,
                         "bandwidth_limit": 1000}},
  "rafs": {"mode": "cached", "batch_size": 0, "validate": false, "enable_xattr": true,
           "iostats_files": true, "access_pattern": true, "latest_read_files": true,
           "prefetch": {"enable": false}}
})";

TEST(ConfigV2Test, Json) {
  ASSERT_OK_AND_ASSIGN(DaemonConfig c, ParseConfig(kV2Json, "x"));
  EXPECT_EQ(c.format, ConfigFormat::kJsonV2);
  EXPECT_EQ(c.id, "my_id");
  EXPECT_EQ(c.backend->localfs.dir, "/blobs");
  EXPECT_EQ(c.backend->localfs.alt_dirs, std::vector<std::string>{"/alt"});
  EXPECT_EQ(c.cache->type, "filecache");
  EXPECT_TRUE(c.cache->compressed);
  EXPECT_TRUE(c.cache->validate);
  EXPECT_EQ(c.cache->work_dir, "/cache");
  EXPECT_TRUE(c.cache->disable_indexed_map);
  EXPECT_EQ(c.cache->prefetch, (PrefetchConfig{true, 2, 65536, 1000, false}));
  EXPECT_EQ(c.rafs->mode, "cached");
  EXPECT_EQ(c.rafs->batch_size, 0u);
  EXPECT_TRUE(c.rafs->enable_xattr && c.rafs->iostats_files && c.rafs->access_pattern &&
              c.rafs->latest_read_files);
  // A present prefetch table takes the per-key defaults.
  EXPECT_EQ(c.rafs->prefetch, (PrefetchConfig{false, 8, 1 << 20, 0, false}));
  EXPECT_TRUE(c.ChunkValidationEnabled());  // cache.validate alone turns it on
}

TEST(ConfigV2Test, OptionalSectionsAndDefaults) {
  ASSERT_OK_AND_ASSIGN(DaemonConfig c, ParseConfig(R"({"version":2,"cache":null})", "x"));
  EXPECT_FALSE(c.backend || c.cache || c.rafs);
  ASSERT_OK_AND_ASSIGN(c, ParseConfig(R"({"version":2,"rafs":{},"cache":{"type":"blobcache",
                                          "filecache":{}}})",
                                      "x"));
  EXPECT_EQ(c.rafs->mode, "direct");
  EXPECT_EQ(c.rafs->batch_size, 128u * 1024);
  EXPECT_FALSE(c.rafs->enable_xattr);
  EXPECT_EQ(c.rafs->prefetch, PrefetchConfig{});
  EXPECT_EQ(c.cache->work_dir, ".");
}

TEST(ConfigV2Test, Errors) {
  EXPECT_EQ(ErrorOf(R"({"version":3})"), "cfg: key 'version': must be 2, found 3");
  EXPECT_EQ(ErrorOf(R"({"version":"2"})"),
            "cfg: key 'version': expected an unsigned integer, found a string");
  EXPECT_EQ(ErrorOf(R"({"version":2.0})"),
            "cfg: key 'version': expected an unsigned integer, found a floating-point number");
  EXPECT_EQ(ErrorOf(R"({"version":2,"rafs":{"prefetch":{"threads":4}}})"),
            "cfg: missing key 'rafs.prefetch.enable'");
  EXPECT_EQ(ErrorOf(R"({"version":2,"rafs":{"prefetch":{"enable":true,"threads":1025}}})"),
            "cfg: key 'rafs.prefetch.threads': 1025 is out of range (1 to 1024 when prefetch is "
            "enabled)");
  EXPECT_TRUE(
      ParseConfig(R"({"version":2,"rafs":{"prefetch":{"enable":false,"threads":0}}})", "x").ok());
  EXPECT_EQ(ErrorOf(R"({"version":2,"rafs":{"batch_size":268435457}})"),
            "cfg: key 'rafs.batch_size': 268435457 exceeds the maximum 0x10000000");
  EXPECT_EQ(ErrorOf(R"({"version":2,"rafs":{"validate":null}})"),
            "cfg: key 'rafs.validate': expected a boolean, found null");
  EXPECT_EQ(ErrorOf(R"({"version":2,"cache":{"prefetch":{"enable":true,
                        "bandwidth_limit":4294967296}}})"),
            "cfg: key 'cache.prefetch.bandwidth_limit': 4294967296 is out of range (at most "
            "4294967295)");
  EXPECT_EQ(ErrorOf(R"({"version":2,"backend":{"type":"localfs"}})"),
            "cfg: missing key 'backend.localfs' (backend.type is 'localfs')");
  EXPECT_EQ(ErrorOf(R"({"version":2,"backend":{"type":"ftp"}})"),
            "cfg: key 'backend.type': unknown backend type 'ftp' (localfs, registry, oss, s3, "
            "localdisk or http-proxy)");
  EXPECT_EQ(ErrorOf(R"({"version":2,"backend":{"type":"localfs","localfs":{"dir":"/b",
                        "alt_dirs":["/c",7]}}})"),
            "cfg: key 'backend.localfs.alt_dirs[1]': expected a string, found an unsigned "
            "integer");
  EXPECT_EQ(ErrorOf(R"({"version":2,"cache":{"type":"filecache"}})"),
            "cfg: missing key 'cache.filecache' (cache.type is 'filecache')");
  EXPECT_EQ(ErrorOf(R"({"version":2,"cache":{"type":"blobcache","filecache":{"work_dir":""}}})"),
            "cfg: key 'cache.filecache.work_dir': must not be empty");
  EXPECT_EQ(ErrorOf(R"({"version":2,"cache":{"type":"memory"}})"),
            "cfg: key 'cache.type': unknown cache type 'memory' (blobcache, filecache, fscache, "
            "dummycache or \"\")");
  EXPECT_EQ(ErrorOf(R"({"version":2,"rafs":{"mode":"direct","enable_xattrs":true}})"),
            "cfg: unknown key 'rafs.enable_xattrs'");
  EXPECT_EQ(ErrorOf(R"({"version":2,"backend":{"type":"http-proxy","http-proxy":{
                        "addr":"/nonexistent/sock"}}})"),
            "cfg: key 'backend.http-proxy.addr': must be an http(s):// URL or an existing "
            "socket path");
}

constexpr char kV2Toml[] = R"(
# as docs/samples/configuration_v2.toml
version = 2
id = "my_id"

[backend]
type = "localfs"

[backend.localfs]
blob_file = "/tmp/nydus.blob.data"
dir = "/tmp"
alt_dirs = ["/var/nydus/cache"]

[backend.registry]
scheme = "https"
host = "my.registry.com"
repo = "nydus"

[cache]
type = "filecache"
compressed = true
validate = true

[cache.filecache]
work_dir = "."

[cache.fscache]
work_dir = "."

[cache.prefetch]
enable = true
threads = 8
batch_size = 1000000
bandwidth_limit = 10000000

[rafs]
mode = "direct"
batch_size = 1000000
validate = true
enable_xattr = true

[rafs.prefetch]
enable = true
threads = 8
batch_size = 1000000
bandwidth_limit = 10000000
prefetch_all = true
)";

TEST(ConfigTomlTest, Sample) {
  ASSERT_OK_AND_ASSIGN(DaemonConfig c, ParseConfig(kV2Toml, "cfg.toml"));
  EXPECT_EQ(c.format, ConfigFormat::kTomlV2);
  EXPECT_EQ(c.id, "my_id");
  EXPECT_EQ(c.backend->type, "localfs");
  EXPECT_EQ(c.backend->localfs.blob_file, "/tmp/nydus.blob.data");
  EXPECT_TRUE(c.backend->raw.is_null());  // the registry section is not the selected backend
  EXPECT_EQ(c.cache->work_dir, ".");
  EXPECT_EQ(c.cache->prefetch, (PrefetchConfig{true, 8, 1000000, 10000000, false}));
  EXPECT_EQ(c.rafs->batch_size, 1000000u);
  EXPECT_EQ(c.rafs->prefetch, (PrefetchConfig{true, 8, 1000000, 10000000, true}));
}

TEST(ConfigTomlTest, Errors) {
  // The reference's own sample misspells [backend.registy]; serde drops it, we do not.
  EXPECT_EQ(ErrorOf("version = 2\n[backend.registy]\nhost = \"h\"\n", "s.toml"),
            "s.toml: unknown key 'backend.registy'");
  EXPECT_EQ(ErrorOf("version = 2\n[rafs]\nbatch_size = -5\n"),
            "cfg: key 'rafs.batch_size': expected an unsigned integer, found a negative integer");
  EXPECT_EQ(ErrorOf("version = 2\n[rafs]\nmode = 1979-05-27\n"),
            "cfg: key 'rafs.mode': expected a string, number or boolean, found a TOML date/time");
  EXPECT_EQ(ErrorOf("[rafs]\nmode = \"direct\"\n"), "cfg: missing key 'version'");
  std::string syntax = ErrorOf("version = 2\n[rafs\nmode = 1\n", "bad.toml");
  EXPECT_TRUE(syntax.starts_with("bad.toml: invalid TOML at line 2, column")) << syntax;
  // A TOML file may start with '[': its syntax error is reported as TOML, not JSON.
  syntax = ErrorOf("[rafs\nmode = 1\n", "t.toml");
  EXPECT_TRUE(syntax.starts_with("t.toml: invalid TOML at line 1")) << syntax;
}

TEST(ConfigParseTest, SyntaxAndShape) {
  std::string json = ErrorOf("{\"device\": {\n  \"mode\": }", "c.json");
  EXPECT_TRUE(json.starts_with("c.json: invalid JSON: parse error at line 2")) << json;
  EXPECT_EQ(ErrorOf("  \n"), "cfg: the configuration is empty");
  EXPECT_EQ(ErrorOf("[1, 2]"), "cfg: expected an object at the top level, found an array");
  EXPECT_EQ(ErrorOf(R"({"backend":{}})"),
            "cfg: not a nydusd configuration: expected 'version' (format v2) or 'device' "
            "(legacy format v1) at the top level");
}

TEST(ConfigFileTest, LoadAndLimits) {
  testing::TempDir dir;
  std::string path = dir.Join("localfs.json");
  ASSERT_OK(WriteWholeFile(path, AsBytes(kTutorialV1)));
  ASSERT_OK_AND_ASSIGN(DaemonConfig c, LoadConfigFile(path));
  EXPECT_EQ(c.backend->localfs.dir, "/var/lib/nydus/blobs");

  std::string big(kMaxConfigFileSize + 1, ' ');
  big.replace(0, sizeof(kTutorialV1) - 1, kTutorialV1);
  ASSERT_OK(WriteWholeFile(path, AsBytes(big)));
  Result<DaemonConfig> r = LoadConfigFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("configuration file too large"), std::string::npos);
  big.resize(kMaxConfigFileSize);  // exactly 1 MiB is accepted
  ASSERT_OK(WriteWholeFile(path, AsBytes(big)));
  EXPECT_OK(LoadConfigFile(path).status());

  r = LoadConfigFile(dir.Join("missing.json"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(dir.Join("missing.json")), std::string::npos);
}

TEST(ConfigLocalfsDirTest, Generated) {
  ASSERT_OK_AND_ASSIGN(DaemonConfig c, LocalfsDirConfig("/data/blobs \"x\""));
  EXPECT_EQ(c.format, ConfigFormat::kLocalfsDir);
  EXPECT_EQ(c.backend->type, "localfs");
  EXPECT_EQ(c.backend->localfs.dir, "/data/blobs \"x\"");
  EXPECT_TRUE(c.backend->localfs.readahead);
  EXPECT_EQ(c.cache->type, "blobcache");
  EXPECT_EQ(c.cache->work_dir, "/data/blobs \"x\"");
  EXPECT_EQ(c.rafs->mode, "direct");
  EXPECT_FALSE(c.ChunkValidationEnabled());
  EXPECT_FALSE(LocalfsDirConfig("").ok());
}

TEST(ConfigUnimplementedTest, ListsWhatIsNotActedOn) {
  ASSERT_OK_AND_ASSIGN(DaemonConfig c, ParseConfig(kTutorialV1, "x"));
  std::vector<std::string> lines = UnimplementedSettings(c);
  auto has = [&](std::string_view prefix) {
    for (const auto& l : lines) {
      if (l.starts_with(prefix)) return true;
    }
    return false;
  };
  EXPECT_TRUE(lines.empty());  // blob cache, prefetch and amplify_io are all acted on
  ASSERT_OK_AND_ASSIGN(c, ParseConfig(R"({"device":{"backend":{"type":"localfs","config":
      {"dir":"/b","readahead":true}},"cache":{"type":"blobcache","config":{"work_dir":"/w"}}},
      "mode":"direct","iostats_files":true})", "x"));
  lines = UnimplementedSettings(c);
  EXPECT_TRUE(has("backend.localfs.readahead"));
  EXPECT_TRUE(has("rafs.iostats_files"));
  ASSERT_OK_AND_ASSIGN(c, ParseConfig(R"({"version":2,"backend":{"type":"localfs",
                                          "localfs":{"dir":"/b"}},"cache":{},"rafs":{}})",
                                      "x"));
  EXPECT_TRUE(UnimplementedSettings(c).empty());
}

}  // namespace
}  // namespace nydus::daemon
