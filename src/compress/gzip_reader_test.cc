#include "compress/gzip_reader.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "testing/test_util.h"

namespace nydus::compress {
namespace {

using ::nydus::testing::RandomBytes;

// Half text, half noise: compresses into a mix of block types.
Bytes Mixed(size_t len, uint32_t seed) {
  const std::string text = "usr/lib/python3.11/site-packages/ nydus layer ";
  Bytes b = RandomBytes(len, seed);
  for (size_t i = 0; i < len; ++i) {
    if ((i / 4096) % 2 == 0) b[i] = static_cast<uint8_t>(text[i % text.size()]);
  }
  return b;
}

struct HeaderFields {
  bool fields = false;  // FEXTRA, FNAME, FCOMMENT, FHCRC
  int level = Z_DEFAULT_COMPRESSION;
};

// One gzip member made by zlib (the reference implementation of the format).
Bytes GzipMember(ByteSpan data, HeaderFields h = {}) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, h.level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  gz_header hdr{};
  std::string extra("XY\x04\0abcd", 8);  // one subfield "XY" of 4 bytes
  std::string name = "layer.tar";
  std::string comment = "a comment";
  if (h.fields) {
    hdr.extra = reinterpret_cast<Bytef*>(extra.data());
    hdr.extra_len = static_cast<uInt>(extra.size());
    hdr.name = reinterpret_cast<Bytef*>(name.data());
    hdr.comment = reinterpret_cast<Bytef*>(comment.data());
    hdr.hcrc = 1;
    hdr.time = 1700000000;
    EXPECT_EQ(deflateSetHeader(&z, &hdr), Z_OK);
  }
  Bytes out(deflateBound(&z, data.size()) + 256);
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A source over `in` that hands out at most `step` bytes per call.
GzipReader::Source MemSource(const Bytes& in, size_t step) {
  auto data = std::make_shared<const Bytes>(in);
  auto pos = std::make_shared<size_t>(0);
  return [data, step, pos](uint8_t* buf, size_t cap) -> Result<size_t> {
    const size_t n = std::min({cap, step, data->size() - *pos});
    if (n) std::memcpy(buf, data->data() + *pos, n);
    *pos += n;
    return n;
  };
}

// Reads everything with reads of `out_step` bytes.
Result<Bytes> Inflate(const Bytes& gz, size_t in_step = SIZE_MAX, size_t out_step = 64 << 10,
                      size_t in_buffer = 64 << 10) {
  GzipReader r(MemSource(gz, in_step), in_buffer);
  Bytes out;
  for (;;) {
    const size_t old = out.size();
    out.resize(old + out_step);
    ASSIGN_OR_RETURN(size_t n, r.Read(out.data() + old, out_step));
    out.resize(old + n);
    if (n < out_step) break;
  }
  // The end is sticky: another read returns 0.
  uint8_t extra[16];
  ASSIGN_OR_RETURN(size_t n, r.Read(extra, sizeof(extra)));
  if (n != 0 || !r.finished()) return Status::Internal("read past the end");
  return out;
}

Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(GzipReaderTest, Magic) {
  EXPECT_TRUE(HasGzipMagic(Bytes{0x1f, 0x8b, 0x08}));
  EXPECT_FALSE(HasGzipMagic(Bytes{0x1f}));
  EXPECT_FALSE(HasGzipMagic(Bytes{0x1f, 0x8c}));
  EXPECT_FALSE(HasGzipMagic(Bytes{}));
}

TEST(GzipReaderTest, RoundTripAgainstZlib) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{1000}, size_t{100000}, size_t{3} << 20}) {
    for (bool fields : {false, true}) {
      for (int level : {0, 1, 9}) {
        SCOPED_TRACE(std::to_string(size) + (fields ? " fields" : "") + " level " +
                     std::to_string(level));
        const Bytes data = Mixed(size, static_cast<uint32_t>(size));
        const Bytes gz = GzipMember(data, {fields, level});
        ASSERT_OK_AND_ASSIGN(Bytes out, Inflate(gz));
        EXPECT_EQ(out, data);
        // Odd input and output granularities exercise every resumption point.
        ASSERT_OK_AND_ASSIGN(out, Inflate(gz, 4093, 7919, 16));
        EXPECT_EQ(out, data);
      }
    }
  }
}

TEST(GzipReaderTest, OneByteAtATime) {
  const Bytes data = Mixed(20000, 5);
  const Bytes gz = Concat({GzipMember(data, {true}), GzipMember(data, {false, 1})});
  ASSERT_OK_AND_ASSIGN(Bytes out, Inflate(gz, 1, 1, 16));
  EXPECT_EQ(out, Concat({data, data}));
  ASSERT_OK_AND_ASSIGN(out, Inflate(gz, 1, 1000, 1));
  EXPECT_EQ(out, Concat({data, data}));
}

TEST(GzipReaderTest, MultiMemberIncludingEmptyOnes) {
  const Bytes a = Mixed(300000, 1), b = RandomBytes(70000, 2), empty;
  const Bytes gz =
      Concat({GzipMember(a), GzipMember(empty), GzipMember(b, {true}), GzipMember(empty, {true})});
  for (size_t step : {size_t{1} << 20, size_t{13}}) {
    GzipReader r(MemSource(gz, step), 4096);
    Bytes out(a.size() + b.size() + 10);
    size_t got = 0;
    for (;;) {
      ASSERT_OK_AND_ASSIGN(size_t n,
                           r.Read(out.data() + got, std::min<size_t>(9999, out.size() - got)));
      if (n == 0) break;
      got += n;
    }
    out.resize(got);
    EXPECT_EQ(out, Concat({a, b}));
    EXPECT_EQ(r.members(), 4u);
    EXPECT_EQ(r.total_in(), gz.size());
    EXPECT_EQ(r.total_out(), a.size() + b.size());
    EXPECT_FALSE(r.trailing_garbage());
  }
  // Only an empty member: a valid stream with no data.
  ASSERT_OK_AND_ASSIGN(Bytes out, Inflate(GzipMember(empty)));
  EXPECT_TRUE(out.empty());
}

TEST(GzipReaderTest, EmptyInputIsAnError) {
  auto r = Inflate(Bytes{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().ToString().find("empty"), std::string::npos) << r.status().ToString();
}

TEST(GzipReaderTest, TruncatedAtEveryOffsetFails) {
  const Bytes data = Mixed(3000, 7);
  for (bool fields : {false, true}) {
    const Bytes gz = GzipMember(data, {fields});
    for (size_t cut = 0; cut < gz.size(); ++cut) {
      const Bytes part(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(cut));
      for (size_t step : {size_t{1}, SIZE_MAX}) {
        auto r = Inflate(part, step);
        ASSERT_FALSE(r.ok()) << "cut at " << cut << " of " << gz.size();
        EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
      }
    }
  }
  // Cut inside a second member (including right after its first magic byte) fails too;
  // cut exactly at the member boundary is a complete stream.
  const Bytes one = GzipMember(data);
  const Bytes two = Concat({one, one});
  for (size_t cut = one.size() + 1; cut < two.size(); ++cut) {
    auto r = Inflate(Bytes(two.begin(), two.begin() + static_cast<std::ptrdiff_t>(cut)));
    ASSERT_FALSE(r.ok()) << "cut at " << cut;
  }
  ASSERT_OK_AND_ASSIGN(Bytes out, Inflate(one));
  EXPECT_EQ(out, data);
}

TEST(GzipReaderTest, CorruptTrailerOrHeaderFails) {
  const Bytes data = Mixed(50000, 9);
  const Bytes gz = GzipMember(data, {true});
  auto expect_fail = [](const Bytes& bad, const std::string& what) {
    for (size_t step : {size_t{1}, SIZE_MAX}) {
      auto r = Inflate(bad, step);
      ASSERT_FALSE(r.ok()) << what;
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << what;
      EXPECT_NE(r.status().ToString().find(what), std::string::npos) << r.status().ToString();
    }
  };
  // Each byte of CRC-32 and of ISIZE.
  for (size_t i = 1; i <= 8; ++i) {
    Bytes bad = gz;
    bad[bad.size() - i] ^= 0x01;
    expect_fail(bad, "does not match");
  }
  Bytes bad = gz;
  bad[2] = 7;  // method
  expect_fail(bad, "method");
  bad = gz;
  bad[1] = 0x8c;
  expect_fail(bad, "magic");
  bad = gz;
  bad[14] ^= 0x20;  // inside FEXTRA's payload: caught by FHCRC
  expect_fail(bad, "header CRC");
  // A corrupt second member fails even though the first was fine.
  bad = Concat({GzipMember(data), gz});
  bad[bad.size() - 3] ^= 0xff;
  expect_fail(bad, "member 2");
}

TEST(GzipReaderTest, TrailingGarbageIsIgnoredLikeGzip) {
  const Bytes data = Mixed(10000, 3);
  const Bytes gz = GzipMember(data);
  for (const Bytes& tail :
       {Bytes(1000, 0), Bytes{'j', 'u', 'n', 'k'}, Bytes{0x1f, 0x00}, Bytes{0x8b, 0x1f}}) {
    for (size_t step : {size_t{1}, SIZE_MAX}) {
      GzipReader r(MemSource(Concat({gz, tail}), step), 64);
      Bytes out(data.size() + 1);
      size_t got = 0;
      for (;;) {
        ASSERT_OK_AND_ASSIGN(size_t n, r.Read(out.data() + got, out.size() - got));
        if (n == 0) break;
        got += n;
      }
      EXPECT_EQ(got, data.size());
      out.resize(got);
      EXPECT_EQ(out, data);
      EXPECT_TRUE(r.trailing_garbage());
      EXPECT_EQ(r.members(), 1u);
    }
  }
  // A lone 0x1f could be the start of a member: a truncation, as gzip(1) says.
  auto r = Inflate(Concat({gz, Bytes{0x1f}}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("truncated"), std::string::npos);
  // The magic of another member commits to it.
  r = Inflate(Concat({gz, Bytes{0x1f, 0x8b, 0x01, 0x02, 0x03}}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
}

TEST(GzipReaderTest, SourceErrorsAndStickyFailure) {
  const Bytes gz = GzipMember(Mixed(500000, 4));
  size_t calls = 0;
  GzipReader r(
      [&](uint8_t* buf, size_t cap) -> Result<size_t> {
        if (++calls == 3) return Status::IOError("disk on fire");
        const size_t n = std::min<size_t>(cap, 1000);
        std::memcpy(buf, gz.data() + (calls - 1) * 1000, n);
        return n;
      },
      1000);
  Bytes out(1 << 20);
  auto n = r.Read(out.data(), out.size());
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kIOError);
  EXPECT_NE(n.status().ToString().find("disk on fire"), std::string::npos);
  n = r.Read(out.data(), out.size());
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(calls, 3u);  // the source is not asked again
}

// Random damage anywhere: every read ends (no hang), with data or a Corruption.
TEST(GzipReaderTest, RandomDamageNeverHangs) {
  const Bytes data = Mixed(40000, 11);
  const Bytes gz = Concat({GzipMember(data, {true}), GzipMember(data, {false, 1})});
  std::mt19937 rng(42);
  for (int iter = 0; iter < 2000; ++iter) {
    Bytes bad = gz;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f)
      bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    if (rng() % 3 == 0) bad.resize(rng() % bad.size());
    auto r = Inflate(bad, 1 + rng() % 5000, 1 + rng() % 70000);
    if (!r.ok()) {
      EXPECT_TRUE(r.status().code() == StatusCode::kCorruption) << r.status().ToString();
    }
  }
}

}  // namespace
}  // namespace nydus::compress
