// Digest dispatch: BLAKE3 (base/blake3.h) and SHA-256 (OpenSSL EVP).
#include "base/digest.h"

#include <openssl/evp.h>

#include <string>

#include "base/blake3.h"
#include "base/check.h"

namespace nydus {
namespace {

class Blake3DigestHasher final : public Hasher {
 public:
  void Update(ByteSpan data) override { hasher_.Update(data); }
  Digest Finish() override {
    Digest d;
    hasher_.Finalize(d.data());
    return d;
  }

 private:
  Blake3Hasher hasher_;
};

// EVP failures here mean allocation failure or a broken OpenSSL install, not bad input;
// they are invariant violations.
class Sha256Hasher final : public Hasher {
 public:
  Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
    NYDUS_CHECK(ctx_ != nullptr);
    NYDUS_CHECK(EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1);
  }
  ~Sha256Hasher() override { EVP_MD_CTX_free(ctx_); }
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(ByteSpan data) override {
    NYDUS_CHECK(EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1);
  }
  Digest Finish() override {
    Digest d;
    unsigned int len = 0;
    NYDUS_CHECK(EVP_DigestFinal_ex(ctx_, d.data(), &len) == 1 && len == d.size());
    return d;
  }

 private:
  EVP_MD_CTX* ctx_;
};

Digest Sha256OneShot(ByteSpan data) {
  Digest d;
  unsigned int len = 0;
  NYDUS_CHECK(EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr) == 1 &&
              len == d.size());
  return d;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<Hasher> NewHasher(DigestAlgo algo) {
  if (algo == DigestAlgo::kSha256) return std::make_unique<Sha256Hasher>();
  return std::make_unique<Blake3DigestHasher>();
}

Digest ComputeDigest(DigestAlgo algo, ByteSpan data) {
  if (algo == DigestAlgo::kSha256) return Sha256OneShot(data);
  Digest d;
  Blake3Hash(data, d.data());
  return d;
}

const char* DigestAlgoName(DigestAlgo algo) {
  switch (algo) {
    case DigestAlgo::kBlake3:
      return "blake3";
    case DigestAlgo::kSha256:
      return "sha256";
  }
  return "unknown";
}

Result<DigestAlgo> ParseDigestAlgo(std::string_view name) {
  if (EqualsIgnoreCase(name, "blake3")) return DigestAlgo::kBlake3;
  if (EqualsIgnoreCase(name, "sha256")) return DigestAlgo::kSha256;
  return Status::InvalidArgument("unknown digester '" + std::string(name) +
                                 "' (expected blake3|sha256)");
}

}  // namespace nydus
