// AVX2 BLAKE3 hash-many: eight inputs at once, one input per 32-bit lane.
//
// Every state word v[i] is a vector holding word i of all eight inputs, so one G call
// advances eight independent compressions. Message blocks are loaded row-wise (one input
// per register) and transposed into that column layout. Compiled with a per-function
// target attribute, so the rest of the build needs no -mavx2; callers check the CPU first.
#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include "base/blake3_impl.h"

#define NYDUS_AVX2 __attribute__((target("avx2"), always_inline)) inline

namespace nydus::blake3_internal {
namespace {

constexpr size_t kLanes = 8;

NYDUS_AVX2 __m256i Add(__m256i a, __m256i b) { return _mm256_add_epi32(a, b); }
NYDUS_AVX2 __m256i Xor(__m256i a, __m256i b) { return _mm256_xor_si256(a, b); }
NYDUS_AVX2 __m256i Set1(uint32_t x) { return _mm256_set1_epi32(static_cast<int>(x)); }

// Rotations right by 16 and 8 are byte shuffles; by 12 and 7 are shift pairs.
NYDUS_AVX2 __m256i Rot16(__m256i x) {
  const __m256i k = _mm256_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2, 13, 12,
                                    15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2);
  return _mm256_shuffle_epi8(x, k);
}
NYDUS_AVX2 __m256i Rot8(__m256i x) {
  const __m256i k = _mm256_set_epi8(12, 15, 14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1, 12, 15,
                                    14, 13, 8, 11, 10, 9, 4, 7, 6, 5, 0, 3, 2, 1);
  return _mm256_shuffle_epi8(x, k);
}
NYDUS_AVX2 __m256i Rot12(__m256i x) {
  return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20));
}
NYDUS_AVX2 __m256i Rot7(__m256i x) {
  return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25));
}

NYDUS_AVX2 void G(__m256i* v, int a, int b, int c, int d, __m256i x, __m256i y) {
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
NYDUS_AVX2 void Round(__m256i* v, const __m256i* m) {
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

// In-place transpose of an 8x8 matrix of 32-bit words (row i = register i).
NYDUS_AVX2 void Transpose8x8(__m256i* r) {
  const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]);
  const __m256i t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]);
  const __m256i t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  const __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]);
  const __m256i t5 = _mm256_unpackhi_epi32(r[4], r[5]);
  const __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]);
  const __m256i t7 = _mm256_unpackhi_epi32(r[6], r[7]);
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2);  // words 0 | 4 of rows 0-3
  const __m256i u1 = _mm256_unpackhi_epi64(t0, t2);  // words 1 | 5
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3);  // words 2 | 6
  const __m256i u3 = _mm256_unpackhi_epi64(t1, t3);  // words 3 | 7
  const __m256i u4 = _mm256_unpacklo_epi64(t4, t6);  // same for rows 4-7
  const __m256i u5 = _mm256_unpackhi_epi64(t4, t6);
  const __m256i u6 = _mm256_unpacklo_epi64(t5, t7);
  const __m256i u7 = _mm256_unpackhi_epi64(t5, t7);
  r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

// m[j] = message word j of block `offset` of all eight inputs.
NYDUS_AVX2 void LoadMessage(const uint8_t* const* inputs, size_t offset, __m256i* m) {
  for (size_t i = 0; i < kLanes; ++i) {
    const auto* p = reinterpret_cast<const __m256i*>(inputs[i] + offset);
    m[i] = _mm256_loadu_si256(p);
    m[i + 8] = _mm256_loadu_si256(p + 1);
  }
  Transpose8x8(m);
  Transpose8x8(m + 8);
}

__attribute__((target("avx2"))) void Hash8(const uint8_t* const* inputs, size_t blocks,
                                           const uint32_t key[8], uint64_t counter,
                                           bool increment_counter, uint8_t flags,
                                           uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  __m256i h[8];
  for (int i = 0; i < 8; ++i) h[i] = Set1(key[i]);
  alignas(32) uint32_t lo[kLanes];
  alignas(32) uint32_t hi[kLanes];
  for (size_t i = 0; i < kLanes; ++i) {
    const uint64_t c = counter + (increment_counter ? i : 0);
    lo[i] = static_cast<uint32_t>(c);
    hi[i] = static_cast<uint32_t>(c >> 32);
  }
  const __m256i ctr_lo = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo));
  const __m256i ctr_hi = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi));
  for (size_t b = 0; b < blocks; ++b) {
    uint8_t block_flags = flags;
    if (b == 0) block_flags |= flags_start;
    if (b + 1 == blocks) block_flags |= flags_end;
    __m256i m[16];
    LoadMessage(inputs, b * 64, m);
    __m256i v[16] = {h[0],         h[1],         h[2],         h[3],
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
  Transpose8x8(h);  // now h[i] = the chaining value of input i
  for (size_t i = 0; i < kLanes; ++i) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * i), h[i]);
  }
}

}  // namespace

void HashManyAvx2(const uint8_t* const* inputs, size_t num_inputs, size_t blocks,
                  const uint32_t key[8], uint64_t counter, bool increment_counter, uint8_t flags,
                  uint8_t flags_start, uint8_t flags_end, uint8_t* out) {
  while (num_inputs >= kLanes) {
    Hash8(inputs, blocks, key, counter, increment_counter, flags, flags_start, flags_end, out);
    inputs += kLanes;
    num_inputs -= kLanes;
    if (increment_counter) counter += kLanes;
    out += 32 * kLanes;
  }
  // AVX2 CPUs have SSE4.1 (Blake3BackendSupported checks both).
  HashManySse41(inputs, num_inputs, blocks, key, counter, increment_counter, flags, flags_start,
                flags_end, out);
}

}  // namespace nydus::blake3_internal

#endif  // x86
