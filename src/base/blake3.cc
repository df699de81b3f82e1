// BLAKE3 hasher: chunk state, chaining-value stack and backend dispatch.
//
// Invariant between calls: the current chunk holds at least one byte whenever the stack
// is non-empty, and the stack holds one chaining value per set bit of chunk_.counter
// (largest subtree first). So Finalize() only has to fold the current chunk's output
// into the stack from the top, and the last fold is the root.
#include "base/blake3.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "base/blake3_impl.h"

#if defined(__x86_64__) || defined(__i386__)
#define NYDUS_BLAKE3_X86 1
#else
#define NYDUS_BLAKE3_X86 0
#endif

namespace nydus {

namespace b3 = blake3_internal;

namespace {

struct CpuFeatures {
  bool sse41 = false;
  bool avx2 = false;
};

const CpuFeatures& DetectCpu() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
#if NYDUS_BLAKE3_X86
    __builtin_cpu_init();
    f.sse41 = __builtin_cpu_supports("sse4.1");
    f.avx2 = f.sse41 && __builtin_cpu_supports("avx2");
#endif
    return f;
  }();
  return features;
}

void HashMany(Blake3Backend backend, const uint8_t* const* inputs, size_t num_inputs, size_t blocks,
              uint64_t counter, bool increment_counter, uint8_t flags, uint8_t flags_start,
              uint8_t flags_end, uint8_t* out) {
  switch (backend) {
#if NYDUS_BLAKE3_X86
    case Blake3Backend::kAvx2:
      b3::HashManyAvx2(inputs, num_inputs, blocks, b3::kIv, counter, increment_counter, flags,
                       flags_start, flags_end, out);
      return;
    case Blake3Backend::kSse41:
      b3::HashManySse41(inputs, num_inputs, blocks, b3::kIv, counter, increment_counter, flags,
                        flags_start, flags_end, out);
      return;
#endif
    default:
      b3::HashManyPortable(inputs, num_inputs, blocks, b3::kIv, counter, increment_counter, flags,
                           flags_start, flags_end, out);
      return;
  }
}

// A node whose compression is still pending: either it becomes a chaining value for its
// parent, or (with the ROOT flag) the digest.
struct Output {
  uint32_t cv[8];
  uint8_t block[64];
  uint8_t block_len;
  uint64_t counter;
  uint8_t flags;

  void ChainingValue(uint8_t out[32]) const {
    uint32_t words[8];
    std::memcpy(words, cv, sizeof(words));
    b3::CompressInPlace(words, block, block_len, counter, flags);
    b3::StoreCv(words, out);
  }
  // The first 32 bytes of root output (output block 0, so the counter is 0).
  void RootBytes(uint8_t out[32]) const {
    uint32_t words[8];
    std::memcpy(words, cv, sizeof(words));
    b3::CompressInPlace(words, block, block_len, 0, flags | b3::kRoot);
    b3::StoreCv(words, out);
  }
};

Output ParentOutput(const uint8_t left_cv[32], const uint8_t right_cv[32]) {
  Output o;
  std::memcpy(o.cv, b3::kIv, sizeof(o.cv));
  std::memcpy(o.block, left_cv, 32);
  std::memcpy(o.block + 32, right_cv, 32);
  o.block_len = 64;
  o.counter = 0;
  o.flags = b3::kParent;
  return o;
}

Output ChunkOutput(const uint32_t cv[8], const uint8_t buf[64], uint8_t buf_len, uint64_t counter,
                   bool first_block) {
  Output o;
  std::memcpy(o.cv, cv, sizeof(o.cv));
  std::memcpy(o.block, buf, sizeof(o.block));
  o.block_len = buf_len;
  o.counter = counter;
  o.flags = static_cast<uint8_t>((first_block ? b3::kChunkStart : 0) | b3::kChunkEnd);
  return o;
}

// Chaining value (not root) of a last chunk of 1..1024 bytes at chunk index `counter`.
void TailChunkCv(const uint8_t* p, size_t len, uint64_t counter, uint8_t out[32]) {
  uint32_t cv[8];
  std::memcpy(cv, b3::kIv, sizeof(cv));
  const size_t blocks = (len + 63) / 64;
  for (size_t b = 0; b + 1 < blocks; ++b) {
    b3::CompressInPlace(cv, p + 64 * b, 64, counter, b == 0 ? b3::kChunkStart : 0);
  }
  uint8_t last[64] = {};
  const size_t n = len - 64 * (blocks - 1);
  std::memcpy(last, p + 64 * (blocks - 1), n);
  ChunkOutput(cv, last, static_cast<uint8_t>(n), counter, blocks == 1).ChainingValue(out);
}

}  // namespace

bool Blake3BackendSupported(Blake3Backend backend) {
  switch (backend) {
    case Blake3Backend::kPortable:
      return true;
    case Blake3Backend::kSse41:
      return DetectCpu().sse41;
    case Blake3Backend::kAvx2:
      return DetectCpu().avx2;
  }
  return false;
}

Blake3Backend Blake3BestBackend() {
  if (Blake3BackendSupported(Blake3Backend::kAvx2)) return Blake3Backend::kAvx2;
  if (Blake3BackendSupported(Blake3Backend::kSse41)) return Blake3Backend::kSse41;
  return Blake3Backend::kPortable;
}

const char* Blake3BackendName(Blake3Backend backend) {
  switch (backend) {
    case Blake3Backend::kPortable:
      return "portable";
    case Blake3Backend::kSse41:
      return "sse4.1";
    case Blake3Backend::kAvx2:
      return "avx2";
  }
  return "unknown";
}

Blake3Hasher::Blake3Hasher(Blake3Backend backend)
    : backend_(Blake3BackendSupported(backend) ? backend : Blake3Backend::kPortable) {
  ResetChunk(0);
}

void Blake3Hasher::ResetChunk(uint64_t counter) {
  std::memcpy(chunk_.cv, b3::kIv, sizeof(chunk_.cv));
  chunk_.counter = counter;
  std::memset(chunk_.buf, 0, sizeof(chunk_.buf));
  chunk_.buf_len = 0;
  chunk_.blocks_compressed = 0;
}

void Blake3Hasher::ChunkUpdate(const uint8_t* data, size_t len) {
  while (len > 0) {
    if (chunk_.buf_len == kBlockLen) {  // more input follows: the block is not the last
      const uint8_t flags = chunk_.blocks_compressed == 0 ? b3::kChunkStart : 0;
      b3::CompressInPlace(chunk_.cv, chunk_.buf, kBlockLen, chunk_.counter, flags);
      ++chunk_.blocks_compressed;
      std::memset(chunk_.buf, 0, sizeof(chunk_.buf));
      chunk_.buf_len = 0;
    }
    const size_t take = std::min(kBlockLen - chunk_.buf_len, len);
    std::memcpy(chunk_.buf + chunk_.buf_len, data, take);
    chunk_.buf_len = static_cast<uint8_t>(chunk_.buf_len + take);
    data += take;
    len -= take;
  }
}

void Blake3Hasher::FinishChunk() {
  uint8_t cv[32];
  ChunkOutput(chunk_.cv, chunk_.buf, chunk_.buf_len, chunk_.counter, chunk_.blocks_compressed == 0)
      .ChainingValue(cv);
  const uint64_t next = chunk_.counter + 1;
  PushCv(cv, next);
  ResetChunk(next);
}

void Blake3Hasher::PushCv(const uint8_t cv[32], uint64_t total_chunks) {
  std::memcpy(cv_stack_ + 32 * cv_stack_len_, cv, 32);
  ++cv_stack_len_;
  const size_t want = static_cast<size_t>(std::popcount(total_chunks));
  while (cv_stack_len_ > want) {
    // The two top entries are adjacent in memory: together they are the parent's block.
    uint8_t* left = cv_stack_ + 32 * (cv_stack_len_ - 2);
    uint32_t words[8];
    std::memcpy(words, b3::kIv, sizeof(words));
    b3::CompressInPlace(words, left, 64, 0, b3::kParent);
    b3::StoreCv(words, left);
    --cv_stack_len_;
  }
}

void Blake3Hasher::HashSubtree(const uint8_t* input, size_t num_chunks, uint64_t counter,
                               uint8_t out_cv[32]) const {
  const uint8_t* inputs[kMaxSubtreeChunks] = {};
  uint8_t cvs[2][kMaxSubtreeChunks * 32];
  for (size_t i = 0; i < num_chunks; ++i) inputs[i] = input + i * kChunkLen;
  HashMany(backend_, inputs, num_chunks, kChunkLen / kBlockLen, counter, true, 0, b3::kChunkStart,
           b3::kChunkEnd, cvs[0]);
  int cur = 0;
  for (size_t n = num_chunks / 2; n >= 1; n /= 2) {
    for (size_t i = 0; i < n; ++i) inputs[i] = cvs[cur] + 64 * i;
    HashMany(backend_, inputs, n, 1, 0, false, b3::kParent, 0, 0, cvs[1 - cur]);
    cur = 1 - cur;
  }
  std::memcpy(out_cv, cvs[cur], 32);
}

void Blake3Hasher::Update(const void* data, size_t len) {
  const auto* in = static_cast<const uint8_t*>(data);
  if (chunk_.len() > 0) {
    const size_t take = std::min(kChunkLen - chunk_.len(), len);
    ChunkUpdate(in, take);
    in += take;
    len -= take;
    if (len == 0) return;
    FinishChunk();  // full, and more input follows
  }
  // The current chunk is empty here. Hash whole chunks in aligned power-of-two subtrees,
  // always keeping at least one byte back for the current chunk: it may be the root.
  while (len > kChunkLen) {
    size_t n = std::bit_floor(std::min((len - 1) / kChunkLen, kMaxSubtreeChunks));
    while (chunk_.counter % n != 0) n /= 2;
    uint8_t cv[32];
    HashSubtree(in, n, chunk_.counter, cv);
    chunk_.counter += n;
    PushCv(cv, chunk_.counter);
    in += n * kChunkLen;
    len -= n * kChunkLen;
  }
  ChunkUpdate(in, len);
}

void Blake3Hasher::Finalize(uint8_t out[kOutLen]) const {
  Output o = ChunkOutput(chunk_.cv, chunk_.buf, chunk_.buf_len, chunk_.counter,
                         chunk_.blocks_compressed == 0);
  for (size_t i = cv_stack_len_; i > 0; --i) {
    uint8_t right[32];
    o.ChainingValue(right);
    o = ParentOutput(cv_stack_ + 32 * (i - 1), right);
  }
  o.RootBytes(out);
}

void Blake3Hash(ByteSpan data, uint8_t out[32], Blake3Backend backend) {
  constexpr size_t kChunkLen = Blake3Hasher::kChunkLen;
  constexpr size_t kMaxChunks = 64;
  if (!Blake3BackendSupported(backend)) backend = Blake3Backend::kPortable;
  if (data.size() <= kChunkLen || data.size() > kMaxChunks * kChunkLen) {
    Blake3Hasher h(backend);
    h.Update(data);
    h.Finalize(out);
    return;
  }
  // 2..64 chunks. The root is a parent, so every chunk (the last too) can be hashed in
  // parallel lanes; then the tree is reduced level by level, pairing neighbours and
  // carrying an odd last node up unchanged, which yields BLAKE3's left-full tree.
  const uint8_t* inputs[kMaxChunks] = {};
  uint8_t cvs[2][kMaxChunks * 32];
  const size_t full = data.size() / kChunkLen;
  const size_t tail = data.size() % kChunkLen;
  for (size_t i = 0; i < full; ++i) inputs[i] = data.data() + i * kChunkLen;
  HashMany(backend, inputs, full, kChunkLen / 64, 0, true, 0, b3::kChunkStart, b3::kChunkEnd,
           cvs[0]);
  size_t num = full;
  if (tail > 0) {
    TailChunkCv(data.data() + full * kChunkLen, tail, full, cvs[0] + 32 * num);
    ++num;
  }
  int cur = 0;
  while (num > 2) {
    const size_t pairs = num / 2;
    for (size_t i = 0; i < pairs; ++i) inputs[i] = cvs[cur] + 64 * i;
    HashMany(backend, inputs, pairs, 1, 0, false, b3::kParent, 0, 0, cvs[1 - cur]);
    if (num % 2 == 1) std::memcpy(cvs[1 - cur] + 32 * pairs, cvs[cur] + 32 * (num - 1), 32);
    num = pairs + num % 2;
    cur = 1 - cur;
  }
  ParentOutput(cvs[cur], cvs[cur] + 32).RootBytes(out);
}

}  // namespace nydus
