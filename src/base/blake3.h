// BLAKE3 hash mode with 32-byte output, written for nydus-cpp (no Debian C library).
//
// The input is split into 1 KiB chunks; each chunk is hashed into a chaining value and the
// values are merged pairwise in a binary tree whose last node gets the ROOT flag. Whole
// chunks are hashed several at a time by a "backend": the portable scalar code, or an
// SSE4.1 (4 lanes) / AVX2 (8 lanes) kernel chosen at run time from the CPU's features.
// Every backend produces the same bytes; only the speed differs.
//
//   Blake3Hasher h;
//   h.Update(a); h.Update(b);
//   uint8_t out[32];
//   h.Finalize(out);
//
// Thread-safety: a Blake3Hasher is not shared between threads; distinct objects may be
// used concurrently.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/bytes.h"

namespace nydus {

enum class Blake3Backend { kPortable, kSse41, kAvx2 };

// True when this build and this CPU can run `backend` (kPortable always can).
bool Blake3BackendSupported(Blake3Backend backend);
// The fastest supported backend; the default of Blake3Hasher.
Blake3Backend Blake3BestBackend();
const char* Blake3BackendName(Blake3Backend backend);  // "portable" | "sse4.1" | "avx2"

// One-shot BLAKE3 of `data` into `out`. Same digest as Blake3Hasher, but faster for
// inputs of a few KiB: knowing where the input ends, it hashes the last chunk in parallel
// with the others. Unsupported backends fall back to kPortable.
void Blake3Hash(ByteSpan data, uint8_t out[32], Blake3Backend backend = Blake3BestBackend());

class Blake3Hasher {
 public:
  static constexpr size_t kOutLen = 32;
  static constexpr size_t kChunkLen = 1024;
  static constexpr size_t kBlockLen = 64;

  // An unsupported `backend` falls back to kPortable.
  explicit Blake3Hasher(Blake3Backend backend = Blake3BestBackend());

  // Appends `len` bytes. Any split of the input gives the same digest.
  void Update(const void* data, size_t len);
  void Update(ByteSpan data) { Update(data.data(), data.size()); }

  // Writes the 32-byte digest of everything added so far. Does not change the state, so
  // more Update() calls may follow.
  void Finalize(uint8_t out[kOutLen]) const;

 private:
  // The chunk being filled: `buf_` holds its last, not yet compressed block.
  struct ChunkState {
    uint32_t cv[8];
    uint64_t counter = 0;  // index of this chunk in the input
    uint8_t buf[kBlockLen];
    uint8_t buf_len = 0;
    uint8_t blocks_compressed = 0;
    size_t len() const { return size_t{blocks_compressed} * kBlockLen + buf_len; }
  };

  // Adds bytes to the current chunk. REQUIRES: the result fits in one chunk.
  void ChunkUpdate(const uint8_t* data, size_t len);
  // Compresses the full current chunk into a chaining value, pushes it, starts a new chunk.
  void FinishChunk();
  // Reduces `num_chunks` whole chunks (a power of two, at most kMaxSubtreeChunks) starting
  // at chunk index `counter` to one chaining value.
  void HashSubtree(const uint8_t* input, size_t num_chunks, uint64_t counter,
                   uint8_t out_cv[32]) const;
  // Pushes the chaining value of a subtree that ends before chunk index `total_chunks`,
  // then merges equal-sized neighbours so the stack again holds one entry per set bit of
  // `total_chunks`. REQUIRES: more input follows (a merged parent is never the root).
  void PushCv(const uint8_t cv[32], uint64_t total_chunks);
  void ResetChunk(uint64_t counter);

  // 54 levels cover 2^54 chunks = 2^64 bytes.
  static constexpr size_t kMaxDepth = 54;
  static constexpr size_t kMaxSubtreeChunks = 64;

  Blake3Backend backend_;
  ChunkState chunk_;
  uint8_t cv_stack_[(kMaxDepth + 1) * 32];
  size_t cv_stack_len_ = 0;
};

}  // namespace nydus
