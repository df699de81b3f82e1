// SSE4.1 BLAKE3 hash-many: four inputs at once, one input per 32-bit lane. Same layout as
// blake3_avx2.cc with 128-bit registers; also the tail kernel of the AVX2 path.
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "base/blake3_impl.h"

#define NYDUS_SSE41 __attribute__((target("sse4.1"), always_inline)) inline

namespace nydus::blake3_internal {
namespace {

constexpr size_t kLanes = 4;

NYDUS_SSE41 __m128i Add(__m128i a, __m128i b) { return _mm_add_epi32(a, b); }
NYDUS_SSE41 __m128i Xor(__m128i a, __m128i b) { return _mm_xor_si128(a, b); }
NYDUS_SSE41 __m128i Set1(uint32_t x) { return _mm_set1_epi32(static_cast<int>(x)); }

NYDUS_SSE41 __m128i Rot16(__m128i x) {
  return _mm_shuffle_epi8(x, _mm_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2));
}
NYDUS_SSE41 __m128i Rot8(__m128i x) {
  return _mm_shuffle_epi8(x, _mm_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1));
}
NYDUS_SSE41 __m128i Rot12(__m128i x) {
  return _mm_or_si128(_mm_srli_epi32(x, 12), _mm_slli_epi32(x, 20));
}
NYDUS_SSE41 __m128i Rot7(__m128i x) {
  return _mm_or_si128(_mm_srli_epi32(x, 7), _mm_slli_epi32(x, 25));
}

NYDUS_SSE41 void G(__m128i* v, int a, int b, int c, int d, __m128i x, __m128i y) {
  v[a] = Add(Add(v[a], v[b]), x);
  v[d] = Rot16(Xor(v[d], v[a]));
  v[c] = Add(v[c], v[d]);
  v[b] = Rot12(Xor(v[b], v[c]));
  v[a] = Add(Add(v[a], v[b]), y);
  v[d] = Rot8(Xor(v[d], v[a]));
  v[c] = Add(v[c], v[d]);
  v[b] = Rot7(Xor(v[b], v[c]));
}

template <int R>
NYDUS_SSE41 void Round(__m128i* v, const __m128i* m) {
  constexpr const uint8_t* s = kSchedule.s[R];
  G(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
  G(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
  G(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
  G(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
  G(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
  G(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
  G(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
  G(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
}

// In-place transpose of the 4x4 matrix of 32-bit words r[0..3] (row i = register i).
NYDUS_SSE41 void Transpose4x4(__m128i* r) {
  const __m128i t0 = _mm_unpacklo_epi32(r[0], r[1]);
  const __m128i t1 = _mm_unpackhi_epi32(r[0], r[1]);
  const __m128i t2 = _mm_unpacklo_epi32(r[2], r[3]);
  const __m128i t3 = _mm_unpackhi_epi32(r[2], r[3]);
  r[0] = _mm_unpacklo_epi64(t0, t2);
  r[1] = _mm_unpackhi_epi64(t0, t2);
  r[2] = _mm_unpacklo_epi64(t1, t3);
  r[3] = _mm_unpackhi_epi64(t1, t3);
}

// m[j] = message word j of block `offset` of all four inputs.
NYDUS_SSE41 void LoadMessage(const uint8_t* const* inputs, size_t offset, __m128i* m) {
  // Loaded with m[4q + i] = words 4q..4q+3 of input i; each quarter q is then transposed.
  for (size_t i = 0; i < kLanes; ++i) {
    const auto* p = reinterpret_cast<const __m128i*>(inputs[i] + offset);
    for (size_t q = 0; q < 4; ++q) m[4 * q + i] = _mm_loadu_si128(p + q);
  }
  for (size_t q = 0; q < 4; ++q) Transpose4x4(m + 4 * q);
}

__attribute__((target("sse4.1"))) void Hash4(const uint8_t* const* inputs, size_t blocks,
                                             const uint32_t key[8], uint64_t counter,
                                             bool increment_counter, uint8_t flags,
                                             uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  __m128i h[8];
  for (int i = 0; i < 8; ++i) h[i] = Set1(key[i]);
  alignas(16) uint32_t lo[kLanes];
  alignas(16) uint32_t hi[kLanes];
  for (size_t i = 0; i < kLanes; ++i) {
    const uint64_t c = counter + (increment_counter ? i : 0);
    lo[i] = static_cast<uint32_t>(c);
    hi[i] = static_cast<uint32_t>(c >> 32);
  }
  const __m128i ctr_lo = _mm_load_si128(reinterpret_cast<const __m128i*>(lo));
  const __m128i ctr_hi = _mm_load_si128(reinterpret_cast<const __m128i*>(hi));
  for (size_t b = 0; b < blocks; ++b) {
    uint8_t block_flags = flags;
    if (b == 0) block_flags |= flags_start;
    if (b + 1 == blocks) block_flags |= flags_end;
    __m128i m[16];
    LoadMessage(inputs, b * 64, m);
    __m128i v[16] = {h[0],         h[1],         h[2],         h[3],
                     h[4],         h[5],         h[6],         h[7],
                     Set1(kIv[0]), Set1(kIv[1]), Set1(kIv[2]), Set1(kIv[3]),
                     ctr_lo,       ctr_hi,       Set1(64),     Set1(block_flags)};
    Round<0>(v, m);
    Round<1>(v, m);
    Round<2>(v, m);
    Round<3>(v, m);
    Round<4>(v, m);
    Round<5>(v, m);
    Round<6>(v, m);
    for (int i = 0; i < 8; ++i) h[i] = Xor(v[i], v[i + 8]);
  }
  // h[0..3] -> words 0-3 of inputs 0-3, h[4..7] -> words 4-7.
  Transpose4x4(h);
  Transpose4x4(h + 4);
  for (size_t i = 0; i < kLanes; ++i) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 32 * i), h[i]);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 32 * i + 16), h[i + 4]);
  }
}

}  // namespace

void HashManySse41(const uint8_t* const* inputs, size_t num_inputs, size_t blocks,
                   const uint32_t key[8], uint64_t counter, bool increment_counter, uint8_t flags,
                   uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  while (num_inputs >= kLanes) {
    Hash4(inputs, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
    inputs += kLanes;
    num_inputs -= kLanes;
    if (increment_counter) counter += kLanes;
    out += 32 * kLanes;
  }
  HashManyPortable(inputs, num_inputs, blocks, key, counter, increment_counter, flags, flags_start,
                   flags_end, out);
}

}  // namespace nydus::blake3_internal

#endif  // x86
