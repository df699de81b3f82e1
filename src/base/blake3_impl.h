// Internal to the BLAKE3 implementation (blake3*.cc): constants, the compression function
// and the per-backend "hash many" kernels. Not part of the public API; include blake3.h.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nydus::blake3_internal {

// Domain flags (the BLAKE3 specification, table 3).
enum Flags : uint8_t {
  kChunkStart = 1 << 0,
  kChunkEnd = 1 << 1,
  kParent = 1 << 2,
  kRoot = 1 << 3,
};

// The initial chaining value (= the SHA-256 IV); the key in hash mode.
inline constexpr uint32_t kIv[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                                    0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

// The message word permutation applied between rounds.
inline constexpr uint8_t kPermutation[16] = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};

// kSchedule[r][i]: which message word of the original block is used at position i of
// round r, i.e. the permutation applied r times. Computed at compile time.
struct Schedule {
  uint8_t s[7][16];
};
constexpr Schedule MakeSchedule() {
  Schedule out{};
  for (int i = 0; i < 16; ++i) out.s[0][i] = static_cast<uint8_t>(i);
  for (int r = 1; r < 7; ++r) {
    for (int i = 0; i < 16; ++i) out.s[r][i] = out.s[r - 1][kPermutation[i]];
  }
  return out;
}
inline constexpr Schedule kSchedule = MakeSchedule();

// Compresses one 64-byte block into `cv` (8 words, updated in place). `block_len` is the
// number of meaningful bytes (the rest must be zero), `counter` the chunk index.
void CompressInPlace(uint32_t cv[8], const uint8_t block[64], uint8_t block_len, uint64_t counter,
                     uint8_t flags);

// Hashes `num_inputs` independent inputs of `blocks` whole blocks each and writes one
// 32-byte chaining value per input to `out` (input i at out + 32 * i). Block 0 gets
// `flags | flags_start`, the last block `flags | flags_end`. Input i uses the counter
// `counter + i` when `increment_counter`, else `counter`. Whole chunks: blocks = 16,
// flags_start = kChunkStart, flags_end = kChunkEnd; parents: blocks = 1, flags = kParent.
using HashManyFn = void(const uint8_t* const* inputs, size_t num_inputs, size_t blocks,
                        const uint32_t key[8], uint64_t counter, bool increment_counter,
                        uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t* out);
HashManyFn HashManyPortable;
// REQUIRES: the CPU supports SSE4.1 (resp. AVX2). Defined on x86 only.
HashManyFn HashManySse41;
HashManyFn HashManyAvx2;

inline void StoreCv(const uint32_t cv[8], uint8_t out[32]) {
  for (int i = 0; i < 8; ++i) {
    out[4 * i] = static_cast<uint8_t>(cv[i]);
    out[4 * i + 1] = static_cast<uint8_t>(cv[i] >> 8);
    out[4 * i + 2] = static_cast<uint8_t>(cv[i] >> 16);
    out[4 * i + 3] = static_cast<uint8_t>(cv[i] >> 24);
  }
}

inline void LoadCv(const uint8_t in[32], uint32_t cv[8]) {
  for (int i = 0; i < 8; ++i) {
    cv[i] = static_cast<uint32_t>(in[4 * i]) | static_cast<uint32_t>(in[4 * i + 1]) << 8 |
            static_cast<uint32_t>(in[4 * i + 2]) << 16 | static_cast<uint32_t>(in[4 * i + 3]) << 24;
  }
}

}  // namespace nydus::blake3_internal
