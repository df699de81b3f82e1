// Portable (scalar) BLAKE3 compression function and hash-many loop.
#include <cstring>

#include "base/blake3_impl.h"
#include "base/bytes.h"

namespace nydus::blake3_internal {
namespace {

inline uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

// The quarter-round mixing function G on state words a, b, c, d with message words x, y.
inline void G(uint32_t* v, int a, int b, int c, int d, uint32_t x, uint32_t y) {
  v[a] = v[a] + v[b] + x;
  v[d] = Rotr(v[d] ^ v[a], 16);
  v[c] = v[c] + v[d];
  v[b] = Rotr(v[b] ^ v[c], 12);
  v[a] = v[a] + v[b] + y;
  v[d] = Rotr(v[d] ^ v[a], 8);
  v[c] = v[c] + v[d];
  v[b] = Rotr(v[b] ^ v[c], 7);
}

inline void Round(uint32_t* v, const uint32_t* m, int r) {
  const uint8_t* s = kSchedule.s[r];
  // Columns.
  G(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
  G(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
  G(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
  G(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
  // Diagonals.
  G(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
  G(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
  G(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
  G(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
}

}  // namespace

void CompressInPlace(uint32_t cv[8], const uint8_t block[64], uint8_t block_len, uint64_t counter,
                     uint8_t flags) {
  uint32_t m[16];
  for (int i = 0; i < 16; ++i) m[i] = LoadLE32(block + 4 * i);
  uint32_t v[16];
  std::memcpy(v, cv, 8 * sizeof(uint32_t));
  std::memcpy(v + 8, kIv, 4 * sizeof(uint32_t));
  v[12] = static_cast<uint32_t>(counter);
  v[13] = static_cast<uint32_t>(counter >> 32);
  v[14] = block_len;
  v[15] = flags;
  for (int r = 0; r < 7; ++r) Round(v, m, r);
  for (int i = 0; i < 8; ++i) cv[i] = v[i] ^ v[i + 8];
}

void HashManyPortable(const uint8_t* const* inputs, size_t num_inputs, size_t blocks,
                      const uint32_t key[8], uint64_t counter, bool increment_counter,
                      uint8_t flags, uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  for (size_t i = 0; i < num_inputs; ++i) {
    uint32_t cv[8];
    std::memcpy(cv, key, sizeof(cv));
    const uint64_t ctr = increment_counter ? counter + i : counter;
    for (size_t b = 0; b < blocks; ++b) {
      uint8_t block_flags = flags;
      if (b == 0) block_flags |= flags_start;
      if (b + 1 == blocks) block_flags |= flags_end;
      CompressInPlace(cv, inputs[i] + b * 64, 64, ctr, block_flags);
    }
    StoreCv(cv, out + 32 * i);
  }
}

}  // namespace nydus::blake3_internal
