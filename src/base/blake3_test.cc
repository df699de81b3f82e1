#include "base/blake3.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/blake3_impl.h"
#include "base/bytes.h"
#include "testing/test_util.h"

namespace nydus {
namespace {

namespace b3 = blake3_internal;

// Official BLAKE3 test vectors (BLAKE3-team/BLAKE3 test_vectors/test_vectors.json): input
// byte i is i % 251; expected = the first 32 bytes of the "hash" field.
struct Vector {
  size_t len;
  const char* hex;
};
constexpr Vector kVectors[] = {
    {0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
    {1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
    {1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"},
    {1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"},
    {1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"},
    {2048, "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a"},
    {2049, "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030"},
    {3072, "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2"},
    {3073, "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3"},
    {4096, "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969"},
    {4097, "9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995"},
    {5120, "9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833"},
    {5121, "628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff"},
    {6144, "3e2e5b74e048f3add6d21faab3f83aa44d3b2278afb83b80b3c35164ebeca205"},
    {6145, "f1323a8631446cc50536a9f705ee5cb619424d46887f3c376c695b70e0f0507f"},
    {7168, "61da957ec2499a95d6b8023e2b0e604ec7f6b50e80a9678b89d2628e99ada77a"},
    {7169, "a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e7817"},
    {8192, "aae792484c8efe4f19e2ca7d371d8c467ffb10748d8a5a1ae579948f718a2a63"},
    {8193, "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b"},
    {16384, "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4"},
    {31744, "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47"},
    {102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"},
};

Bytes PatternInput(size_t len) {
  Bytes b(len);
  for (size_t i = 0; i < len; ++i) b[i] = static_cast<uint8_t>(i % 251);
  return b;
}

using ::nydus::testing::RandomBytes;

std::string Hash(ByteSpan data, Blake3Backend backend = Blake3Backend::kPortable) {
  Blake3Hasher h(backend);
  h.Update(data);
  uint8_t out[32];
  h.Finalize(out);
  return ToHex(ByteSpan(out, 32));
}

// The tree definition from the BLAKE3 paper, written recursively and independently of
// the hasher's stack: the left subtree takes the largest power-of-two number of chunks
// that leaves at least one byte for the right one.
void ChunkCv(const uint8_t* p, size_t len, uint64_t counter, uint8_t extra, uint32_t cv[8]) {
  std::memcpy(cv, b3::kIv, 32);
  const size_t blocks = len == 0 ? 1 : (len + 63) / 64;
  for (size_t b = 0; b < blocks; ++b) {
    uint8_t block[64] = {};
    const size_t n = std::min<size_t>(64, len - b * 64);
    if (n > 0) std::memcpy(block, p + b * 64, n);
    uint8_t flags = b == 0 ? b3::kChunkStart : 0;
    if (b + 1 == blocks) flags |= b3::kChunkEnd | extra;
    b3::CompressInPlace(cv, block, static_cast<uint8_t>(n), counter, flags);
  }
}
void TreeCv(const uint8_t* p, size_t len, uint64_t counter, uint8_t extra, uint32_t cv[8]) {
  if (len <= 1024) return ChunkCv(p, len, counter, extra, cv);
  size_t left_chunks = 1;
  while (left_chunks * 2 * 1024 < len) left_chunks *= 2;
  const size_t left_len = left_chunks * 1024;
  uint32_t l[8], r[8];
  TreeCv(p, left_len, counter, 0, l);
  TreeCv(p + left_len, len - left_len, counter + left_chunks, 0, r);
  uint8_t block[64];
  b3::StoreCv(l, block);
  b3::StoreCv(r, block + 32);
  std::memcpy(cv, b3::kIv, 32);
  b3::CompressInPlace(cv, block, 64, 0, b3::kParent | extra);
}
std::string ReferenceHash(ByteSpan data) {
  uint32_t cv[8];
  TreeCv(data.data(), data.size(), 0, b3::kRoot, cv);
  uint8_t out[32];
  b3::StoreCv(cv, out);
  return ToHex(ByteSpan(out, 32));
}

std::vector<Blake3Backend> SupportedBackends() {
  std::vector<Blake3Backend> v;
  for (auto b : {Blake3Backend::kPortable, Blake3Backend::kSse41, Blake3Backend::kAvx2}) {
    if (Blake3BackendSupported(b)) v.push_back(b);
  }
  return v;
}

TEST(Blake3Test, ScheduleIsPermutationPowers) {
  // Round 1 uses the permutation itself; every round is a permutation of 0..15.
  for (int i = 0; i < 16; ++i) EXPECT_EQ(b3::kSchedule.s[1][i], b3::kPermutation[i]);
  for (int r = 0; r < 7; ++r) {
    uint32_t seen = 0;
    for (int i = 0; i < 16; ++i) seen |= 1u << b3::kSchedule.s[r][i];
    EXPECT_EQ(seen, 0xFFFFu) << "round " << r;
  }
}

TEST(Blake3Test, OfficialVectorsEveryBackend) {
  for (Blake3Backend backend : SupportedBackends()) {
    for (const Vector& v : kVectors) {
      EXPECT_EQ(Hash(PatternInput(v.len), backend), v.hex)
          << "len " << v.len << " backend " << Blake3BackendName(backend);
    }
  }
}

TEST(Blake3Test, RecursiveReferenceMatchesVectors) {
  for (const Vector& v : kVectors) EXPECT_EQ(ReferenceHash(PatternInput(v.len)), v.hex);
}

TEST(Blake3Test, HasherMatchesReferenceAroundTreeBoundaries) {
  const size_t kChunk = 1024;
  std::vector<size_t> sizes;
  for (size_t chunks : {63, 64, 65, 127, 128, 129, 255, 256, 1024, 1025, 2048}) {
    for (long delta : {-1L, 0L, 1L}) sizes.push_back(chunks * kChunk + delta);
  }
  const Bytes data = RandomBytes(2048 * kChunk + 1, 7);
  for (size_t n : sizes) {
    const ByteSpan s(data.data(), n);
    EXPECT_EQ(Hash(s, Blake3BestBackend()), ReferenceHash(s)) << "size " << n;
  }
}

TEST(Blake3Test, IncrementalSplitsEqualOneShot) {
  const Bytes data = RandomBytes(70 * 1024 + 37, 11);
  for (size_t len : {size_t{0}, size_t{1}, size_t{64}, size_t{1024}, size_t{2048}, size_t{4097},
                     size_t{65 * 1024}, data.size()}) {
    const ByteSpan whole(data.data(), len);
    const std::string expected = Hash(whole);
    for (size_t step : {1, 3, 63, 64, 65, 1000, 1023, 1024, 1025, 3000, 65536}) {
      Blake3Hasher h;
      for (size_t off = 0; off < len; off += step) {
        h.Update(whole.subspan(off, std::min(step, len - off)));
      }
      uint8_t out[32];
      h.Finalize(out);
      EXPECT_EQ(ToHex(ByteSpan(out, 32)), expected) << "len " << len << " step " << step;
    }
  }
}

TEST(Blake3Test, RandomSplitsEqualOneShot) {
  std::mt19937 rng(5);
  const Bytes data = RandomBytes(300 * 1024 + 5, 12);
  const std::string expected = Hash(data);
  for (int trial = 0; trial < 20; ++trial) {
    Blake3Hasher h;
    size_t off = 0;
    while (off < data.size()) {
      const size_t n = std::min<size_t>(rng() % 5000, data.size() - off);
      h.Update(ByteSpan(data).subspan(off, n));  // includes empty updates
      off += n;
    }
    uint8_t out[32];
    h.Finalize(out);
    EXPECT_EQ(ToHex(ByteSpan(out, 32)), expected) << "trial " << trial;
  }
}

TEST(Blake3Test, FinalizeDoesNotConsumeState) {
  const Bytes data = PatternInput(5121);
  Blake3Hasher h;
  h.Update(ByteSpan(data).first(2048));
  uint8_t mid[32];
  h.Finalize(mid);
  EXPECT_EQ(ToHex(ByteSpan(mid, 32)), kVectors[5].hex);  // 2048
  h.Update(ByteSpan(data).subspan(2048));
  uint8_t out[32];
  h.Finalize(out);
  EXPECT_EQ(ToHex(ByteSpan(out, 32)), kVectors[12].hex);  // 5121
}

TEST(Blake3Test, SimdEqualsPortableOnRandomSizes) {
  const auto backends = SupportedBackends();
  if (backends.size() == 1) GTEST_SKIP() << "no SIMD backend on this CPU";
  std::mt19937 rng(99);
  const Bytes data = RandomBytes(64 * 1024 + 64, 13);
  for (int trial = 0; trial < 300; ++trial) {
    const size_t len = rng() % (64 * 1024 + 1);
    const size_t off = rng() % 64;  // unaligned starts
    const ByteSpan s(data.data() + off, len);
    const std::string want = Hash(s, Blake3Backend::kPortable);
    for (Blake3Backend b : backends) {
      EXPECT_EQ(Hash(s, b), want) << "len " << len << " " << Blake3BackendName(b);
    }
  }
}

TEST(Blake3Test, SimdEqualsPortableOnOneMiB) {
  const Bytes data = RandomBytes(1 << 20, 17);
  const std::string want = Hash(data, Blake3Backend::kPortable);
  EXPECT_EQ(ReferenceHash(data), want);
  for (Blake3Backend b : SupportedBackends()) {
    EXPECT_EQ(Hash(data, b), want) << Blake3BackendName(b);
  }
}

struct HashManyCase {
  size_t blocks;
  uint64_t counter;
  bool increment;
  uint8_t flags, flags_start, flags_end;
};

std::string OneShot(ByteSpan data, Blake3Backend backend) {
  uint8_t out[32];
  Blake3Hash(data, out, backend);
  return ToHex(ByteSpan(out, 32));
}

TEST(Blake3Test, OneShotMatchesVectorsAndReference) {
  for (Blake3Backend backend : SupportedBackends()) {
    for (const Vector& v : kVectors) {
      EXPECT_EQ(OneShot(PatternInput(v.len), backend), v.hex)
          << "len " << v.len << " backend " << Blake3BackendName(backend);
    }
  }
  // Every chunk count the level-by-level path handles (2..64), with full and partial tails.
  const Bytes data = RandomBytes(66 * 1024, 23);
  for (size_t chunks = 1; chunks <= 65; ++chunks) {
    for (size_t len : {chunks * 1024 - 1023, chunks * 1024 - 1, chunks * 1024}) {
      const ByteSpan s(data.data(), len);
      const std::string want = ReferenceHash(s);
      for (Blake3Backend backend : SupportedBackends()) {
        EXPECT_EQ(OneShot(s, backend), want) << "len " << len << " " << Blake3BackendName(backend);
      }
    }
  }
}

TEST(Blake3Test, HashManyKernelsAgreeOnOddLaneCounts) {
  const Bytes data = RandomBytes(13 * 1024, 21);
  const uint8_t* inputs[13];
  for (size_t i = 0; i < 13; ++i) inputs[i] = data.data() + i * 1024;
  // Chunks, including counters that cross the 32-bit boundary inside one batch, and
  // parents (one block, fixed counter).
  const HashManyCase cases[] = {
      {16, 0, true, 0, b3::kChunkStart, b3::kChunkEnd},
      {16, 0xFFFFFFFCull, true, 0, b3::kChunkStart, b3::kChunkEnd},
      {1, 0, false, b3::kParent, 0, 0},
  };
  for (const HashManyCase& c : cases) {
    for (size_t n = 0; n <= 13; ++n) {
      uint8_t want[13 * 32], got[13 * 32];
      b3::HashManyPortable(inputs, n, c.blocks, b3::kIv, c.counter, c.increment, c.flags,
                           c.flags_start, c.flags_end, want);
#if defined(__x86_64__) || defined(__i386__)
      if (Blake3BackendSupported(Blake3Backend::kSse41)) {
        b3::HashManySse41(inputs, n, c.blocks, b3::kIv, c.counter, c.increment, c.flags,
                          c.flags_start, c.flags_end, got);
        EXPECT_EQ(0, std::memcmp(want, got, n * 32)) << "sse4.1 n=" << n;
      }
      if (Blake3BackendSupported(Blake3Backend::kAvx2)) {
        b3::HashManyAvx2(inputs, n, c.blocks, b3::kIv, c.counter, c.increment, c.flags,
                         c.flags_start, c.flags_end, got);
        EXPECT_EQ(0, std::memcmp(want, got, n * 32)) << "avx2 n=" << n;
      }
#endif
    }
  }
}

TEST(Blake3Test, BackendNames) {
  EXPECT_STREQ(Blake3BackendName(Blake3Backend::kPortable), "portable");
  EXPECT_STREQ(Blake3BackendName(Blake3Backend::kSse41), "sse4.1");
  EXPECT_STREQ(Blake3BackendName(Blake3Backend::kAvx2), "avx2");
  EXPECT_TRUE(Blake3BackendSupported(Blake3Backend::kPortable));
  EXPECT_TRUE(Blake3BackendSupported(Blake3BestBackend()));
}

}  // namespace
}  // namespace nydus
