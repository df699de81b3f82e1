// Robustness sweeps: truncate and bit-flip every region of the reference fixtures and check
// that ReadBootstrap always returns cleanly (an Image or a Corruption), never crashes, and
// that whatever it accepts is internally consistent. Run under ASan/UBSan to catch
// out-of-bounds reads (-DNYDUS_SANITIZE=address,undefined).

#include <gtest/gtest.h>

#include <random>

#include "base/file_util.h"
#include "format/v5.h"
#include "meta/bootstrap_reader.h"
#include "meta/image_stat.h"
#include "meta/inspect.h"
#include "meta/meta_test_util.h"
#include "testing/test_util.h"

namespace nydus::meta {
namespace {

using namespace nydus::meta::testing;

struct Tally {
  uint64_t accepted = 0;
  uint64_t rejected = 0;
};

// Decodes `data`; the result must be OK or Corruption. Accepted images are walked and
// checked for dangling references; every 32nd one also goes through the inspect reports.
void DecodeOne(ByteSpan data, Tally* tally, const std::string& what) {
  auto r = ReadBootstrap(data);
  if (!r.ok()) {
    ASSERT_EQ(r.status().code(), StatusCode::kCorruption) << what << ": " << r.status().ToString();
    ASSERT_FALSE(r.status().message().empty()) << what;
    ++tally->rejected;
    return;
  }
  ++tally->accepted;
  const Image& image = *r;
  ASSERT_NE(image.root, nullptr) << what;
  ASSERT_TRUE(image.root->inode->IsDir()) << what;
  WalkTree(*image.root, [&](const Node& n, const std::string&) {
    for (const auto& c : n.inode->chunks) EXPECT_LT(c.blob_index, image.blobs.size()) << what;
    return true;
  });
  if (tally->accepted % 32 != 1) return;
  // Consumers must cope with whatever the reader accepts.
  (void)TreeListing(image);
  {
    ImageStat stat(/*dedup_enabled=*/true);
    stat.AddBase(image);
    stat.SetTarget(image);
    stat.Finalize();
    (void)stat.Report();
  }
  (void)InspectPrefetch(image);
}

Bytes LoadOrSkip(const char* rel) {
  std::string path = nydus::testing::FixturePath(rel);
  if (path.empty()) return {};
  auto r = ReadWholeFile(path);
  return r.ok() ? std::move(r).value() : Bytes{};
}

class SmallFixtureSweep : public ::testing::TestWithParam<const char*> {};

TEST_P(SmallFixtureSweep, EveryTruncationIsClean) {
  Bytes data = LoadOrSkip(GetParam());
  if (data.empty()) GTEST_SKIP() << "fixture " << GetParam() << " not found";
  Tally t;
  for (size_t len = 0; len < data.size(); ++len) {
    DecodeOne(ByteSpan(data.data(), len), &t, "truncated to " + std::to_string(len));
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(t.rejected, data.size() * 9 / 10) << "truncations should almost always be caught";
}

TEST_P(SmallFixtureSweep, BitFlipsInEveryByteAreClean) {
  Bytes data = LoadOrSkip(GetParam());
  if (data.empty()) GTEST_SKIP() << "fixture " << GetParam() << " not found";
  Tally t;
  for (size_t off = 0; off < data.size(); ++off) {
    for (int bit : {0, 7}) {
      data[off] ^= static_cast<uint8_t>(1u << bit);
      DecodeOne(data, &t, "bit " + std::to_string(bit) + " of byte " + std::to_string(off));
      data[off] ^= static_cast<uint8_t>(1u << bit);
      if (HasFatalFailure()) return;
    }
  }
  EXPECT_GT(t.rejected, 200u) << "accepted " << t.accepted;
  EXPECT_GT(t.accepted, 0u);  // flips in unused padding are harmless
}

TEST_P(SmallFixtureSweep, ExtremeValuesInEveryWordAreClean) {
  Bytes data = LoadOrSkip(GetParam());
  if (data.empty()) GTEST_SKIP() << "fixture " << GetParam() << " not found";
  Tally t;
  const uint32_t kValues[] = {0, 0xffffffffu, 0x80000000u, 0x7fffffffu, 1};
  for (size_t off = 0; off + 4 <= data.size(); off += 2) {
    uint32_t saved = LoadLE32(data.data() + off);
    if (saved == 0) continue;  // zero areas were covered by the bit flips
    for (uint32_t v : kValues) {
      StoreLE32(data.data() + off, v);
      DecodeOne(data, &t, "word at " + std::to_string(off));
      if (HasFatalFailure()) return;
    }
    StoreLE32(data.data() + off, saved);
  }
  EXPECT_GT(t.rejected, 0u);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SmallFixtureSweep,
                         ::testing::Values(kV6Boot, kV5Sha256, kV5Blake3));

// The 3.4 MB legacy v5 fixture: every superblock and blob-table byte, then random samples
// of the inode table and of the inode records.
TEST(LargeFixtureSweep, SampledMutationsAreClean) {
  Bytes data = LoadOrSkip(kV5Daemon);
  if (data.empty()) GTEST_SKIP() << "fixture " << kV5Daemon << " not found";
  Tally t;
  auto flip = [&](size_t off, uint8_t mask) {
    data[off] ^= mask;
    DecodeOne(data, &t, "byte " + std::to_string(off) + " ^ " + std::to_string(mask));
    data[off] ^= mask;
  };
  for (size_t off = 0; off < 80; off += 2) flip(off, 0xff);         // superblock fields
  for (size_t off = 75520; off < 75592; off += 4) flip(off, 0x5a);  // blob table
  std::mt19937_64 rng(42);
  for (int i = 0; i < 40; ++i) flip(8192 + rng() % (75520 - 8192), 1u << (rng() % 8));
  for (int i = 0; i < 80; ++i) flip(75592 + rng() % (data.size() - 75592), 1u << (rng() % 8));
  for (size_t len :
       {size_t{8192}, size_t{75520}, size_t{75600}, data.size() / 2, data.size() - 8}) {
    DecodeOne(ByteSpan(data.data(), len), &t, "truncated to " + std::to_string(len));
  }
  EXPECT_GT(t.rejected, 40u);
}

// A minimal v5 bootstrap: a root and a chain of `depth` nested directories whose names are
// `name_len` letters each.
Bytes MakeV5Chain(uint32_t depth, uint32_t name_len) {
  uint32_t entries = depth + 1;
  uint64_t table_end = 8192 + RoundUp(uint64_t{entries} * 4, 8);
  uint64_t rec_size = sizeof(format::RafsV5Inode) + RoundUp(name_len, 8);
  Bytes out(table_end + sizeof(format::RafsV5Inode) + 8 + uint64_t{depth} * rec_size, 0);
  format::RafsV5SuperBlock sb{};
  sb.s_magic = format::kRafsV5Magic;
  sb.s_fs_version = format::kRafsVersionV5;
  sb.s_sb_size = 8192;
  sb.s_block_size = 0x100000;
  sb.s_flags = format::kFlagCompressionNone | format::kFlagHashBlake3;
  sb.s_inodes_count = entries;
  sb.s_inode_table_offset = 8192;
  sb.s_inode_table_entries = entries;
  sb.s_blob_table_offset = table_end;
  sb.s_prefetch_table_offset = table_end;
  std::memcpy(out.data(), &sb, sizeof(sb));
  uint64_t off = table_end;
  for (uint32_t idx = 1; idx <= entries; ++idx) {
    StoreLE32(out.data() + 8192 + 4 * (idx - 1), static_cast<uint32_t>(off >> 3));
    format::RafsV5Inode in{};
    in.i_ino = idx;
    in.i_parent = idx - 1;
    in.i_mode = S_IFDIR | 0755;
    in.i_nlink = 2;
    in.i_child_index = idx < entries ? idx + 1 : 0;
    in.i_child_count = idx < entries ? 1 : 0;
    in.i_name_size = static_cast<uint16_t>(idx == 1 ? 1 : name_len);
    std::memcpy(out.data() + off, &in, sizeof(in));
    std::memset(out.data() + off + sizeof(in), idx == 1 ? '/' : 'a', in.i_name_size);
    off += sizeof(in) + RoundUp(in.i_name_size, 8);
  }
  out.resize(off);
  return out;
}

TEST(SyntheticV5Test, PathLengthIsBounded) {
  ASSERT_OK_AND_ASSIGN(Image ok, ReadBootstrap(MakeV5Chain(15, 255)));  // 15 * 256 bytes
  EXPECT_EQ(CountNodes(*ok.root), 16u);
  auto r = ReadBootstrap(MakeV5Chain(16, 255));  // 4096 bytes
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("path longer than 4095 bytes"), std::string::npos)
      << r.status().ToString();
  // Deep chains of short names stop at the same bound instead of exhausting the stack.
  r = ReadBootstrap(MakeV5Chain(100000, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("path longer than"), std::string::npos);
}

}  // namespace
}  // namespace nydus::meta
