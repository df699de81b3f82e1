#include "tools/nydusctl_format.h"

#include <gtest/gtest.h>

namespace nydus::nydusctl {
namespace {

bool Has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(NydusctlFormatTest, Info) {
  Json info = Json::parse(R"({"version":{"package_ver":"2.2.5","git_commit":"abc","build_time":"t",
    "profile":"release","rustc":"g++"},"id":null,"supervisor":null,"state":"RUNNING",
    "backend_collection":{"/":{"backend_type":"Rafs","mountpoint":"/",
    "mounted_time":"2024-01-01 00:00:00.5 +00:00:00","config":{"version":2,
    "rafs":{"mode":"direct"},"cache":{"prefetch":{"enable":true,"batch_size":1048576}}}}}})");
  std::string s = FormatInfo(info);
  EXPECT_TRUE(Has(s, "Version:                2.2.5\n")) << s;
  EXPECT_TRUE(Has(s, "Status:                 RUNNING\n")) << s;
  EXPECT_TRUE(Has(s, "Instances:\n    Instance Mountpoint:      /\n")) << s;
  EXPECT_TRUE(Has(s, "Mode:                     direct\n")) << s;
  EXPECT_TRUE(Has(s, "Prefetch:                 true\n")) << s;
  EXPECT_TRUE(Has(s, "Prefetch Merging Size:    1048576\n")) << s;
}

TEST(NydusctlFormatTest, BackendAndDelta) {
  Json m = Json::parse(R"({"backend_type":"localfs","read_count":4,"read_errors":1,
    "read_amount_total":2097152,"read_cumulative_latency_millis_total":40,
    "read_cumulative_latency_millis_dist":[0,0,0,0,0,0,0,40],
    "read_count_block_size_dist":[0,0,0,0,0,0,0,4],"read_latency_sizes_dist":[]})");
  std::string s = FormatBackend(m);
  EXPECT_TRUE(Has(s, "Backend Type:       localfs\n")) << s;
  EXPECT_TRUE(Has(s, "Read Amount:        2097152 Bytes (2.00 MB)\n")) << s;
  EXPECT_TRUE(Has(s,
                  "Average Latency(millis): 0       0       0       0       0       0       0"
                  "       10      \n"))
      << s;
  Json later = m;
  later["read_count"] = 8;
  later["read_amount_total"] = 2097152 + 4 * 1024 * 1024;
  std::string d = FormatBackendDelta(m, later, 2);
  EXPECT_TRUE(Has(d, "Backend Read Bandwidth:     2048 KB/S\n")) << d;
  EXPECT_TRUE(Has(d, "Backend Average IO Size:    1048576 Bytes\n")) << d;
}

TEST(NydusctlFormatTest, CacheFsStatsInflight) {
  Json c = Json::parse(R"({"underlying_files":["/c/a","/c/b"],"store_path":"/c","whole_hits":3,
    "prefetch_data_amount":2048,"prefetch_requests_count":2,"prefetch_begin_time_secs":10,
    "prefetch_begin_time_millis":0,"prefetch_end_time_secs":12,"prefetch_end_time_millis":0})");
  std::string s = FormatCache(c);
  EXPECT_TRUE(Has(s, "Files:                      [/c/a, /c/b]\n")) << s;
  EXPECT_TRUE(Has(s, "Prefetch Average Size:      1024 Bytes\n")) << s;
  EXPECT_TRUE(Has(s, "Prefetch Duration:          2.000 Seconds\n")) << s;
  Json fs = Json::parse(R"({"data_read":3145728,"fop_hits":[0,0,0,0,9],"fop_errors":[0,0,0,0,2],
    "read_latency_dist":[5,4,0,0,0,0,0,0]})");
  std::string f = FormatFsStats(fs);
  EXPECT_TRUE(Has(f, "Reads Count:    5       4       0")) << f;
  EXPECT_TRUE(Has(f, "Read Data:   3145728 Bytes (3 MB)\n")) << f;
  EXPECT_TRUE(Has(f, "Read          9            errors 2\n")) << f;
  EXPECT_EQ(FormatInflight(Json(nullptr)), "No inflight requests.\n");
  EXPECT_TRUE(Has(FormatInflight(Json::parse(R"([{"inode":1,"opcode":15,"unique":7,
    "timestamp_secs":99}])")),
                  "1                     15      7           99\n"));
}

TEST(NydusctlFormatTest, AccessPatternIsAPrefetchList) {
  size_t skipped = 99;
  Json recs = Json::parse(R"([{"ino":5,"nr_read":3,"path":"/usr/bin/python3.11"},
    {"ino":9,"nr_read":1,"path":"/usr/lib/x.so"}, {"ino":11,"nr_read":1,"path":""},
    {"ino":12,"nr_read":1}, {"ino":13,"path":"rel/path"}, {"ino":14,"path":"/a\nb"},
    {"ino":15,"path":7}, 3])");
  size_t sparse = 99;
  EXPECT_EQ(FormatAccessPattern(recs, 0, &skipped, &sparse),
            "/usr/bin/python3.11\n/usr/lib/x.so\n");
  EXPECT_EQ(skipped, 6u);
  EXPECT_EQ(sparse, 0u);
  EXPECT_EQ(FormatAccessPattern(Json::array(), 0, &skipped, &sparse), "");
  EXPECT_EQ(skipped, 0u);
  EXPECT_EQ(FormatAccessPattern(Json(nullptr), 0, &skipped, &sparse), "");
}

TEST(NydusctlFormatTest, AccessPatternLeavesOutSparselyReadLargeFiles) {
  Json recs = Json::parse(R"([
    {"path":"/big-sparse","size":31000000,"bytes_touched":655360},
    {"path":"/big-dense","size":8000000,"bytes_touched":6000000},
    {"path":"/small","size":900000,"bytes_touched":65536},
    {"path":"/no-size"}])");
  size_t skipped = 0, sparse = 0;
  // 0: every file
  EXPECT_EQ(FormatAccessPattern(recs, 0, &skipped, &sparse),
            "/big-sparse\n/big-dense\n/small\n/no-size\n");
  // 50%: the 31 MB file of which 640 KiB were read goes; small files stay whatever was read
  EXPECT_EQ(FormatAccessPattern(recs, 50, &skipped, &sparse), "/big-dense\n/small\n/no-size\n");
  EXPECT_EQ(sparse, 1u);
  EXPECT_EQ(skipped, 0u);
  // 80%: the 75%-read file goes too
  EXPECT_EQ(FormatAccessPattern(recs, 80, &skipped, &sparse), "/small\n/no-size\n");
  EXPECT_EQ(sparse, 2u);
}

TEST(NydusctlFormatTest, AccessPatternJsonIsPrefetchFilesV1) {
  Json recs = Json::parse(R"([
    {"path":"/usr/bin/ls","size":100000,"bytes_touched":100000,"ranges":[[0,100000]]},
    {"path":"/usr/lib/libc.so","size":2097152,"bytes_touched":131072,
     "ranges":[[0,65536],[131072,65536]]},
    {"path":"/old-daemon","size":5},
    {"path":"","ranges":[]}, {"path":"rel","ranges":[]}, {"ranges":[[0,1]]},
    {"path":"/unsorted","size":1048576,"ranges":[[655360,65536],[0,65536],[65536,65536]]},
    {"path":"/past-eof","size":100000,"ranges":[[65536,65536],[196608,65536]]},
    {"path":"/mistyped","size":100000,"ranges":[[0,"x"]]},
    {"path":"/empty","size":0,"ranges":[]},
    {"path":"/no-size","ranges":[[0,65536]]},
    {"path":"/a\nb","size":10,"ranges":[[0,10]]}])");
  size_t skipped = 99, sparse = 99;
  const std::string out = FormatAccessPatternJson(recs, 0, &skipped, &sparse);
  EXPECT_EQ(out, R"({"version":"v1","files":[
{"path":"/usr/bin/ls","ranges":null},
{"path":"/usr/lib/libc.so","ranges":[[0,65536],[131072,65536]]},
{"path":"/old-daemon","ranges":null},
{"path":"/unsorted","ranges":[[0,131072],[655360,65536]]},
{"path":"/past-eof","ranges":[[65536,34464]]},
{"path":"/mistyped","ranges":null},
{"path":"/empty","ranges":null},
{"path":"/no-size","ranges":[[0,65536]]},
{"path":"/a\nb","ranges":null}
]}
)");
  EXPECT_EQ(skipped, 3u);
  EXPECT_EQ(sparse, 0u);
  // It is one JSON document, in first-access order.
  Json doc = Json::parse(out);
  EXPECT_EQ(doc["version"], "v1");
  ASSERT_EQ(doc["files"].size(), 9u);
  EXPECT_EQ(doc["files"][8]["path"], "/a\nb");
  // The plain list keeps its format (and leaves out the path with a newline).
  EXPECT_EQ(FormatAccessPattern(recs, 0, &skipped, &sparse),
            "/usr/bin/ls\n/usr/lib/libc.so\n/old-daemon\n/unsorted\n/past-eof\n/mistyped\n"
            "/empty\n/no-size\n");
  EXPECT_EQ(skipped, 4u);
  // --min-coverage 50 leaves out the sparsely read libc.so (2 MiB, 128 KiB read).
  Json doc50 = Json::parse(FormatAccessPatternJson(recs, 50, &skipped, &sparse));
  EXPECT_EQ(sparse, 1u);
  ASSERT_EQ(doc50["files"].size(), 8u);
  EXPECT_EQ(doc50["files"][1]["path"], "/old-daemon");
  // Nothing read: an empty list, still a valid document.
  EXPECT_EQ(FormatAccessPatternJson(Json::array(), 0, &skipped, &sparse),
            "{\"version\":\"v1\",\"files\":[]}\n");
  EXPECT_EQ(FormatAccessPatternJson(Json(nullptr), 0, &skipped, &sparse),
            "{\"version\":\"v1\",\"files\":[]}\n");
}

TEST(NydusctlFormatTest, HostileInputNeverCrashes) {
  for (const char* text : {"null", "[]", "3", R"({"version":7,"backend_collection":[1]})",
                           R"({"read_count":-5,"fop_hits":"x","read_latency_dist":{}})",
                           R"([{"path":"/a","size":1e300,"bytes_touched":-1e300}])",
                           R"({"read_count":1e300,"data_read":-2.5})"}) {
    Json j = Json::parse(text);
    (void)FormatInfo(j);
    (void)FormatBackend(j);
    (void)FormatBackendDelta(j, j, 0);
    (void)FormatCache(j);
    (void)FormatFsStats(j);
    (void)FormatInflight(j);
    size_t skipped = 0, sparse = 0;
    (void)FormatAccessPattern(j, 50, &skipped, &sparse);
    (void)FormatAccessPatternJson(j, 50, &skipped, &sparse);
  }
  // Ranges past 2^64, negative or fractional: never crash, always one JSON document.
  Json hostile = Json::parse(R"([{"path":"/h","size":1e300,"ranges":[[1.8e19,1.8e19],[-5,-5],
    [0.5,2.5],[18446744073709551615,18446744073709551615]]},
    {"path":"/i","ranges":[[18446744073709551615,18446744073709551615],[0]]},
    {"path":"/j","ranges":{"a":1}}])");
  size_t skipped = 0, sparse = 0;
  Json doc = Json::parse(FormatAccessPatternJson(hostile, 0, &skipped, &sparse));
  EXPECT_EQ(doc["files"].size(), 3u);
  EXPECT_TRUE(doc["files"][1]["ranges"].is_null());  // [0] is not a pair
  EXPECT_TRUE(doc["files"][2]["ranges"].is_null());
  EXPECT_EQ(QueryEscape("/mnt/a b&c"), "/mnt/a%20b%26c");
}

}  // namespace
}  // namespace nydus::nydusctl
