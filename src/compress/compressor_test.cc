#include "compress/compressor.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "testing/test_util.h"

namespace nydus::compress {
namespace {

using format::Compressor;

constexpr Compressor kAll[] = {Compressor::kNone, Compressor::kLz4Block, Compressor::kGzip,
                               Compressor::kZstd};
constexpr Compressor kReal[] = {Compressor::kLz4Block, Compressor::kGzip, Compressor::kZstd};

std::string Name(Compressor c) { return std::to_string(static_cast<uint32_t>(c)); }

using ::nydus::testing::RandomBytes;

Bytes Compressible(size_t len) {
  const std::string text = "nydus chunk data, highly repetitive; ";
  Bytes b(len);
  for (size_t i = 0; i < len; ++i) b[i] = static_cast<uint8_t>(text[i % text.size()]);
  return b;
}

// Decompresses `in` into `size` bytes; the status must be OK or Corruption (never another
// code, never a crash: the sanitizer build checks the "never a crash" part harder).
Status TryDecompress(Compressor algo, ByteSpan in, size_t size) {
  Bytes out(size);
  Status st = Decompress(algo, in, out);
  EXPECT_TRUE(st.ok() || st.code() == StatusCode::kCorruption) << st.ToString();
  return st;
}

TEST(CompressorTest, RoundTrips) {
  const std::vector<Bytes> inputs = {Bytes{}, Bytes{0x42}, Compressible(4096),
                                     RandomBytes(1 << 20, 1)};
  for (Compressor algo : kAll) {
    for (const Bytes& in : inputs) {
      SCOPED_TRACE("algo " + Name(algo) + " size " + std::to_string(in.size()));
      ASSERT_OK_AND_ASSIGN(Bytes packed, Compress(algo, in));
      EXPECT_LE(packed.size(), CompressBound(algo, in.size()));
      Bytes out(in.size(), 0xEE);
      ASSERT_OK(Decompress(algo, packed, out));
      EXPECT_EQ(out, in);
    }
  }
}

TEST(CompressorTest, NoneIsACopy) {
  const Bytes in = RandomBytes(100, 2);
  ASSERT_OK_AND_ASSIGN(Bytes packed, Compress(Compressor::kNone, in));
  EXPECT_EQ(packed, in);
}

TEST(CompressorTest, CompressibleDataShrinks) {
  const Bytes in = Compressible(4096);
  for (Compressor algo : kReal) {
    ASSERT_OK_AND_ASSIGN(Bytes packed, Compress(algo, in));
    EXPECT_LT(packed.size(), in.size() / 4) << Name(algo);
  }
}

TEST(CompressorTest, GzipHasGzipMagicAndZstdHasFrameMagic) {
  const Bytes in = Compressible(1000);
  ASSERT_OK_AND_ASSIGN(Bytes gz, Compress(Compressor::kGzip, in));
  ASSERT_GE(gz.size(), 18u);
  EXPECT_EQ(gz[0], 0x1f);
  EXPECT_EQ(gz[1], 0x8b);
  EXPECT_EQ(gz[2], 0x08);
  ASSERT_OK_AND_ASSIGN(Bytes zs, Compress(Compressor::kZstd, in));
  ASSERT_GE(zs.size(), 4u);
  EXPECT_EQ(LoadLE32(zs.data()), 0xFD2FB528u);
}

TEST(CompressorTest, OutputSizeMismatchIsCorruption) {
  for (const Bytes& in : {Compressible(4096), RandomBytes(4096, 3)}) {
    for (Compressor algo : kAll) {
      ASSERT_OK_AND_ASSIGN(Bytes packed, Compress(algo, in));
      for (size_t size : {in.size() - 1, in.size() + 1, size_t{0}, in.size() * 2}) {
        Bytes out(size);
        Status st = Decompress(algo, packed, out);
        EXPECT_EQ(st.code(), StatusCode::kCorruption)
            << "algo " << Name(algo) << " size " << size << ": " << st.ToString();
      }
    }
  }
}

TEST(CompressorTest, RandomGarbageIsCorruption) {
  std::mt19937 rng(4);
  for (Compressor algo : kReal) {
    for (int trial = 0; trial < 200; ++trial) {
      const Bytes junk = RandomBytes(rng() % 300, static_cast<uint32_t>(trial));
      Status st = TryDecompress(algo, junk, 4096);
      EXPECT_FALSE(st.ok()) << "algo " << Name(algo) << " trial " << trial;
    }
  }
}

TEST(CompressorTest, TruncatedInputIsCorruption) {
  const Bytes in = RandomBytes(4096, 5);  // incompressible: every byte of output matters
  for (Compressor algo : kAll) {
    ASSERT_OK_AND_ASSIGN(Bytes packed, Compress(algo, in));
    for (size_t cut = 0; cut < packed.size(); cut += 1 + packed.size() / 97) {
      Status st = TryDecompress(algo, ByteSpan(packed).first(cut), in.size());
      EXPECT_FALSE(st.ok()) << "algo " << Name(algo) << " cut " << cut;
    }
  }
}

TEST(CompressorTest, BitFlipsNeverCrash) {
  const Bytes in = Compressible(8192);
  for (Compressor algo : kReal) {
    ASSERT_OK_AND_ASSIGN(Bytes packed, Compress(algo, in));
    int detected = 0;
    for (size_t bit = 0; bit < packed.size() * 8; bit += 3) {
      Bytes bad = packed;
      bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      if (!TryDecompress(algo, bad, in.size()).ok()) ++detected;
    }
    EXPECT_GT(detected, 0) << Name(algo);
  }
}

TEST(CompressorTest, TrailingGarbageIsCorruption) {
  const Bytes in = Compressible(4096);
  for (Compressor algo : {Compressor::kGzip, Compressor::kZstd, Compressor::kNone}) {
    ASSERT_OK_AND_ASSIGN(Bytes packed, Compress(algo, in));
    packed.push_back(0x00);
    packed.push_back(0x17);
    Bytes out(in.size());
    EXPECT_EQ(Decompress(algo, packed, out).code(), StatusCode::kCorruption) << Name(algo);
  }
}

TEST(CompressorTest, GzipRejectsZlibWrapper) {
  // A zlib-wrapped stream (78 9c ...) is not gzip.
  const Bytes zlib_stream = {0x78, 0x9c, 0x4b, 0x04, 0x00, 0x00, 0x62, 0x00, 0x62};
  Bytes out(1);
  EXPECT_EQ(Decompress(Compressor::kGzip, zlib_stream, out).code(), StatusCode::kCorruption);
}

TEST(CompressorTest, UnknownIdIsNotSupported) {
  const auto bogus = static_cast<Compressor>(9);
  EXPECT_EQ(Compress(bogus, Bytes{1}).status().code(), StatusCode::kNotSupported);
  Bytes out(1);
  EXPECT_EQ(Decompress(bogus, Bytes{1}, out).code(), StatusCode::kNotSupported);
  EXPECT_EQ(CompressBound(bogus, 10), 0u);
}

TEST(CompressorTest, ParseCompressor) {
  const std::pair<const char*, Compressor> good[] = {
      {"none", Compressor::kNone},    {"lz4_block", Compressor::kLz4Block},
      {"lz4", Compressor::kLz4Block}, {"LZ4_Block", Compressor::kLz4Block},
      {"gzip", Compressor::kGzip},    {"GZIP", Compressor::kGzip},
      {"zstd", Compressor::kZstd},    {"Zstd", Compressor::kZstd},
  };
  for (const auto& [name, want] : good) {
    ASSERT_OK_AND_ASSIGN(Compressor got, ParseCompressor(name));
    EXPECT_EQ(got, want) << name;
  }
  for (const char* name : {"", "lz4-block", "zlib", "zstd ", "snappy"}) {
    auto r = ParseCompressor(name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace nydus::compress
