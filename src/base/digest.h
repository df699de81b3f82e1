// Content digests used by RAFS: BLAKE3 (written here; no Debian C library) and SHA-256
// (OpenSSL). Both produce 32 bytes. The enum values are the on-disk digester ids.
// Thread-safety: Hasher objects are not shared; the free functions are reentrant.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"

namespace nydus {

enum class DigestAlgo : uint32_t { kBlake3 = 0, kSha256 = 1 };

using Digest = std::array<uint8_t, 32>;

// Incremental hasher.
class Hasher {
 public:
  virtual ~Hasher() = default;
  virtual void Update(ByteSpan data) = 0;
  // Returns the digest. REQUIRES: called once.
  virtual Digest Finish() = 0;
};

std::unique_ptr<Hasher> NewHasher(DigestAlgo algo);
Digest ComputeDigest(DigestAlgo algo, ByteSpan data);
inline Digest Sha256(ByteSpan data) { return ComputeDigest(DigestAlgo::kSha256, data); }
inline Digest Blake3(ByteSpan data) { return ComputeDigest(DigestAlgo::kBlake3, data); }

inline std::string DigestHex(const Digest& d) { return ToHex(d); }
const char* DigestAlgoName(DigestAlgo algo);  // "blake3" | "sha256"
Result<DigestAlgo> ParseDigestAlgo(std::string_view name);

}  // namespace nydus
