// AccessRecorder (first-access order, counts, concurrency), ResolvePaths, and the Vfs wiring
// (RafsFsOptions::access_pattern → the mount's recorder, inner inode numbers in pseudo mode).
#include "fs/access_pattern.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <utility>
#include <vector>

#include "format/rafs.h"
#include "fs/fs_test_util.h"
#include "fs/vfs.h"
#include "testing/test_util.h"

namespace nydus::fs {
namespace {

using testing::ImageBuilder;

std::vector<uint64_t> Inos(const std::vector<AccessRecord>& recs) {
  std::vector<uint64_t> out;
  for (const auto& r : recs) out.push_back(r.ino);
  return out;
}

TEST(AccessRecorderTest, KeepsFirstAccessOrderAndCounts) {
  AccessRecorder rec;
  EXPECT_EQ(rec.size(), 0u);
  EXPECT_TRUE(rec.Snapshot().empty());
  const auto before = std::chrono::system_clock::now();
  for (uint64_t ino : {7, 3, 7, 9, 3, 7}) rec.RecordRead(ino, 0, 4096);
  std::vector<AccessRecord> s = rec.Snapshot();
  EXPECT_EQ(Inos(s), (std::vector<uint64_t>{7, 3, 9}));
  EXPECT_EQ(s[0].nr_read, 3u);
  EXPECT_EQ(s[1].nr_read, 2u);
  EXPECT_EQ(s[2].nr_read, 1u);
  EXPECT_EQ(rec.size(), 3u);
  const uint64_t t0 = std::chrono::duration_cast<std::chrono::seconds>(
                          before.time_since_epoch()).count();
  for (const auto& r : s) {
    EXPECT_GE(r.first_access_time_secs, t0);
    EXPECT_LT(r.first_access_time_nanos, 1000000000u);
  }
  // Times never go backwards along the order.
  for (size_t i = 1; i < s.size(); ++i) {
    EXPECT_GE(s[i].first_access_time_secs * 1000000000ull + s[i].first_access_time_nanos,
              s[i - 1].first_access_time_secs * 1000000000ull + s[i - 1].first_access_time_nanos);
  }
}

TEST(AccessRecorderTest, ConcurrentReadsAreAllCounted) {
  AccessRecorder rec;
  constexpr int kThreads = 8, kPerThread = 2000, kInodes = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&rec, t] {
      for (int i = 0; i < kPerThread; ++i) {
        rec.RecordRead(1 + (i * 7 + t) % kInodes, static_cast<uint64_t>(i % 64) * kAccessBlock,
                       kAccessBlock);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<AccessRecord> s = rec.Snapshot();
  ASSERT_EQ(s.size(), static_cast<size_t>(kInodes));
  uint64_t total = 0;
  std::vector<bool> seen(kInodes + 1, false);
  for (const auto& r : s) {
    total += r.nr_read;
    ASSERT_GE(r.ino, 1u);
    ASSERT_LE(r.ino, static_cast<uint64_t>(kInodes));
    EXPECT_FALSE(seen[r.ino]) << "inode " << r.ino << " recorded twice";
    seen[r.ino] = true;
  }
  EXPECT_EQ(total, static_cast<uint64_t>(kThreads) * kPerThread);
  // Each inode saw every block offset 0..63 (i % 64 cycles through all of them per inode).
  for (const auto& r : s) {
    EXPECT_EQ(r.bytes_touched, 64 * kAccessBlock) << r.ino;
    ASSERT_EQ(r.ranges.size(), 1u) << r.ino;
    EXPECT_EQ(r.ranges[0], std::make_pair(uint64_t{0}, 64 * kAccessBlock)) << r.ino;
  }
}

TEST(AccessRecorderTest, BytesTouchedCountsDistinctBlocks) {
  AccessRecorder rec;
  rec.RecordRead(5, 0, 4096);                          // block 0
  rec.RecordRead(5, 100, 10);                          // block 0 again
  rec.RecordRead(5, kAccessBlock - 1, 2);              // blocks 0 and 1
  rec.RecordRead(5, 10 * kAccessBlock, 3 * kAccessBlock);  // blocks 10, 11, 12
  rec.RecordRead(5, 20 * kAccessBlock, 0);             // nothing
  rec.RecordRead(6, 0, 0);
  std::vector<AccessRecord> s = rec.Snapshot();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].bytes_touched, 5 * kAccessBlock);
  EXPECT_EQ(s[0].nr_read, 5u);
  EXPECT_EQ(s[1].bytes_touched, 0u);
}

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

TEST(AccessRecorderTest, RangesAreMergedRunsOfTouchedBlocks) {
  constexpr uint64_t K = 1024;
  AccessRecorder rec;
  // Recorded out of order: 1 MiB + 5 (block 16), then 0..10 (block 0), 70K..80K (block 1),
  // 130K (block 2), 12*64K-1 .. 12*64K+1 (blocks 11, 12), 10*64K (block 10).
  rec.RecordRead(4, 1024 * K + 5, 100);
  rec.RecordRead(4, 0, 10);
  rec.RecordRead(4, 70 * K, 10 * K);
  rec.RecordRead(4, 130 * K, 1);
  rec.RecordRead(4, 12 * kAccessBlock - 1, 2);
  rec.RecordRead(4, 10 * kAccessBlock, 1);
  rec.RecordRead(4, 5 * kAccessBlock, 0);  // returned nothing: no block
  // Another inode: one read spanning blocks 3..5 exactly, and one read ending at block 3's
  // start (blocks 2 only), so the runs touch.
  rec.RecordRead(8, 3 * kAccessBlock, 3 * kAccessBlock);
  rec.RecordRead(8, 2 * kAccessBlock, kAccessBlock);
  rec.RecordRead(9, 0, 0);  // counted, nothing touched
  std::vector<AccessRecord> s = rec.Snapshot();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].ranges, (Ranges{{0, 192 * K}, {640 * K, 192 * K}, {1024 * K, 64 * K}}));
  EXPECT_EQ(s[0].bytes_touched, 7 * kAccessBlock);
  EXPECT_EQ(s[1].ranges, (Ranges{{2 * kAccessBlock, 4 * kAccessBlock}}));
  EXPECT_EQ(s[1].bytes_touched, 4 * kAccessBlock);
  EXPECT_TRUE(s[2].ranges.empty());
  // The sum of the runs is bytes_touched.
  for (const auto& r : s) {
    uint64_t sum = 0;
    for (const auto& [off, len] : r.ranges) sum += len;
    EXPECT_EQ(sum, r.bytes_touched) << r.ino;
  }
}

TEST(AccessRecorderTest, ClampRangesCutsAtTheFileSize) {
  constexpr uint64_t K = 1024;
  const Ranges r{{0, 192 * K}, {640 * K, 192 * K}};
  EXPECT_EQ(ClampRanges(r, 1 << 20), r);  // within the file: unchanged
  EXPECT_EQ(ClampRanges(r, 832 * K), r);  // ends exactly at EOF
  EXPECT_EQ(ClampRanges(r, 700 * K), (Ranges{{0, 192 * K}, {640 * K, 60 * K}}));
  EXPECT_EQ(ClampRanges(r, 640 * K), (Ranges{{0, 192 * K}}));  // run starting at EOF dropped
  EXPECT_EQ(ClampRanges(r, 21), (Ranges{{0, 21}}));
  EXPECT_EQ(ClampRanges(r, 0), Ranges{});
  EXPECT_EQ(ClampRanges({}, 100), Ranges{});
}

// /bin/sh (ino 3), /usr/lib/libc.so (5), /usr/lib/x/deep (7), /usr/lib/x/hard = hardlink of
// /bin/sh, /etc (8) empty directory; v5 numbers are the inode numbers the fs reports.
std::shared_ptr<const meta::Image> SampleImage() {
  ImageBuilder b(format::kRafsVersionV5, 1);
  meta::Node* bin = b.AddDir(b.root(), "bin", 2);
  meta::Node* sh = b.AddFile(bin, "sh", 3, 0);
  meta::Node* usr = b.AddDir(b.root(), "usr", 4);
  meta::Node* lib = b.AddDir(usr, "lib", 6);
  b.AddFile(lib, "libc.so", 5, 0);
  meta::Node* x = b.AddDir(lib, "x", 9);
  b.AddFile(x, "deep", 7, 0);
  b.Add(x, "hard", sh->inode);
  sh->inode->nlink = 2;
  b.AddDir(b.root(), "etc", 8);
  return b.Finish();
}

TEST(ResolvePathsTest, MapsInodesToShallowestPaths) {
  ASSERT_OK_AND_ASSIGN(auto fs, RafsFs::Create(SampleImage(), nullptr, {}));
  ASSERT_OK_AND_ASSIGN(auto paths, ResolvePaths(*fs, {3, 5, 7, 8, kRootIno, 12345}));
  EXPECT_EQ(paths.size(), 5u);  // 12345 does not exist
  EXPECT_EQ(paths[3], "/bin/sh");  // not /usr/lib/x/hard
  EXPECT_EQ(paths[5], "/usr/lib/libc.so");
  EXPECT_EQ(paths[7], "/usr/lib/x/deep");
  EXPECT_EQ(paths[8], "/etc");
  EXPECT_EQ(paths[kRootIno], "/");
  EXPECT_EQ(paths.count(12345), 0u);
  ASSERT_OK_AND_ASSIGN(auto none, ResolvePaths(*fs, {}));
  EXPECT_TRUE(none.empty());
}

std::shared_ptr<const RafsFs> SampleFs(bool access_pattern) {
  RafsFsOptions o;
  o.access_pattern = access_pattern;
  auto fs = RafsFs::Create(SampleImage(), nullptr, o);
  EXPECT_TRUE(fs.ok()) << fs.status().ToString();
  return std::shared_ptr<const RafsFs>(std::move(*fs));
}

TEST(VfsAccessPatternTest, RootModeRecordsReadsInOrder) {
  Vfs vfs(SampleFs(true), {});
  uint8_t buf[16];
  ASSERT_OK_AND_ASSIGN(Entry usr, vfs.Lookup(kRootIno, "usr"));
  ASSERT_OK_AND_ASSIGN(Entry lib, vfs.Lookup(usr.ino, "lib"));
  ASSERT_OK_AND_ASSIGN(Entry libc, vfs.Lookup(lib.ino, "libc.so"));
  ASSERT_OK_AND_ASSIGN(Entry bin, vfs.Lookup(kRootIno, "bin"));
  ASSERT_OK_AND_ASSIGN(Entry sh, vfs.Lookup(bin.ino, "sh"));
  // Lookups and getattr are not reads: nothing recorded yet.
  std::optional<AccessPatternInfo> none = vfs.AccessPatternAt("/");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->enabled);
  EXPECT_TRUE(none->records.empty());
  ASSERT_OK(vfs.Read(libc.ino, 0, buf).status());
  ASSERT_OK(vfs.Read(sh.ino, 0, buf).status());
  ASSERT_OK(vfs.Read(libc.ino, 0, buf).status());
  // A read of a directory fails before reaching the file: still one request for it.
  EXPECT_FALSE(vfs.Read(usr.ino, 0, buf).ok());
  std::optional<AccessPatternInfo> ap = vfs.AccessPatternAt("/");
  ASSERT_TRUE(ap.has_value());
  EXPECT_EQ(Inos(ap->records), (std::vector<uint64_t>{5, 3, 4}));
  EXPECT_EQ(ap->records[0].nr_read, 2u);
  EXPECT_EQ(ap->records[1].nr_read, 1u);
  EXPECT_FALSE(vfs.AccessPatternAt("/other").has_value());
}

TEST(VfsAccessPatternTest, DisabledRecordsNothing) {
  Vfs vfs(SampleFs(false), {});
  uint8_t buf[16];
  ASSERT_OK_AND_ASSIGN(Entry bin, vfs.Lookup(kRootIno, "bin"));
  ASSERT_OK_AND_ASSIGN(Entry sh, vfs.Lookup(bin.ino, "sh"));
  ASSERT_OK(vfs.Read(sh.ino, 0, buf).status());
  std::optional<AccessPatternInfo> ap = vfs.AccessPatternAt("/");
  ASSERT_TRUE(ap.has_value());
  EXPECT_FALSE(ap->enabled);
  EXPECT_TRUE(ap->records.empty());
}

TEST(VfsAccessPatternTest, PseudoModeRecordsInnerNumbersPerMount) {
  Vfs vfs(VfsOptions{});
  ASSERT_OK(vfs.Mount("/a", SampleFs(true)));
  ASSERT_OK(vfs.Mount("/b", SampleFs(false)));
  uint8_t buf[16];
  ASSERT_OK_AND_ASSIGN(Entry a, vfs.Lookup(kRootIno, "a"));
  ASSERT_OK_AND_ASSIGN(Entry abin, vfs.Lookup(a.ino, "bin"));
  ASSERT_OK_AND_ASSIGN(Entry sh, vfs.Lookup(abin.ino, "sh"));
  ASSERT_NE(sh.ino, 3u);  // slot-prefixed outside
  ASSERT_OK(vfs.Read(sh.ino, 0, buf).status());
  ASSERT_OK_AND_ASSIGN(Entry b, vfs.Lookup(kRootIno, "b"));
  ASSERT_OK_AND_ASSIGN(Entry bbin, vfs.Lookup(b.ino, "bin"));
  ASSERT_OK_AND_ASSIGN(Entry bsh, vfs.Lookup(bbin.ino, "sh"));
  ASSERT_OK(vfs.Read(bsh.ino, 0, buf).status());
  std::optional<AccessPatternInfo> pa = vfs.AccessPatternAt("/a");
  ASSERT_TRUE(pa.has_value());
  EXPECT_TRUE(pa->enabled);
  EXPECT_EQ(Inos(pa->records), (std::vector<uint64_t>{3}));
  std::optional<AccessPatternInfo> pb = vfs.AccessPatternAt("/b");
  ASSERT_TRUE(pb.has_value());
  EXPECT_FALSE(pb->enabled);
  EXPECT_TRUE(pb->records.empty());
  // A remount starts a fresh record (the new image has its own inodes).
  ASSERT_OK(vfs.Remount("/a", SampleFs(true)));
  EXPECT_TRUE(vfs.AccessPatternAt("/a")->records.empty());
}

}  // namespace
}  // namespace nydus::fs
