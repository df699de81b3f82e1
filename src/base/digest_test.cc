#include "base/digest.h"

#include <gtest/gtest.h>

#include <string>

#include "testing/test_util.h"

namespace nydus {
namespace {

std::string Hex(const Digest& d) { return DigestHex(d); }

// FIPS 180-2 / NIST example vectors for SHA-256.
TEST(DigestTest, Sha256NistVectors) {
  EXPECT_EQ(Hex(Sha256(AsBytes(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256(AsBytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  EXPECT_EQ(Hex(Sha256(AsBytes(million))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(DigestTest, Sha256IncrementalEqualsOneShot) {
  const std::string million(1000000, 'a');
  auto h = NewHasher(DigestAlgo::kSha256);
  for (size_t off = 0; off < million.size(); off += 999) {
    h->Update(AsBytes(std::string_view(million).substr(off, 999)));
  }
  EXPECT_EQ(Hex(h->Finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(DigestTest, Blake3ThroughGenericApi) {
  // BLAKE3("") and BLAKE3 of the 1025-byte official test input.
  EXPECT_EQ(Hex(Blake3(AsBytes(""))),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
  Bytes input(1025);
  for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<uint8_t>(i % 251);
  const std::string want = "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444";
  EXPECT_EQ(Hex(ComputeDigest(DigestAlgo::kBlake3, input)), want);
  auto h = NewHasher(DigestAlgo::kBlake3);
  h->Update(ByteSpan(input).first(1000));
  h->Update(ByteSpan(input).subspan(1000));
  EXPECT_EQ(Hex(h->Finish()), want);
}

TEST(DigestTest, AlgorithmsDiffer) { EXPECT_NE(Sha256(AsBytes("x")), Blake3(AsBytes("x"))); }

TEST(DigestTest, NamesAndParsing) {
  EXPECT_STREQ(DigestAlgoName(DigestAlgo::kBlake3), "blake3");
  EXPECT_STREQ(DigestAlgoName(DigestAlgo::kSha256), "sha256");
  ASSERT_OK_AND_ASSIGN(DigestAlgo a, ParseDigestAlgo("blake3"));
  EXPECT_EQ(a, DigestAlgo::kBlake3);
  ASSERT_OK_AND_ASSIGN(DigestAlgo b, ParseDigestAlgo("SHA256"));
  EXPECT_EQ(b, DigestAlgo::kSha256);
  auto bad = ParseDigestAlgo("md5");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseDigestAlgo("").ok());
  EXPECT_FALSE(ParseDigestAlgo("blake").ok());
}

}  // namespace
}  // namespace nydus
