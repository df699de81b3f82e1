// Compression throughput on 1 MiB chunks of text-like (compressible) data, per codec.
// Reported as uncompressed bytes/second; the "ratio" counter is compressed/uncompressed.
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "compress/compressor.h"

namespace nydus::compress {
namespace {

// Words drawn at random from a small vocabulary: compresses roughly like source code.
Bytes TextLike(size_t len) {
  static const char* const kWords[] = {"inode ", "chunk ", "blob ", "digest ", "offset ",
                                       "size ",  "rafs ",  "v6 ",   "mount ",  "\n"};
  std::mt19937 rng(7);
  Bytes b;
  b.reserve(len + 16);
  while (b.size() < len) {
    const std::string w = kWords[rng() % std::size(kWords)];
    b.insert(b.end(), w.begin(), w.end());
  }
  b.resize(len);
  return b;
}

constexpr size_t kChunk = 1 << 20;

void BM_Compress(benchmark::State& state, format::Compressor algo) {
  const Bytes in = TextLike(kChunk);
  size_t packed = 0;
  for (auto _ : state) {
    auto r = Compress(algo, in);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    packed = r->size();
    benchmark::DoNotOptimize(r->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
  state.counters["ratio"] = static_cast<double>(packed) / kChunk;
}

void BM_Decompress(benchmark::State& state, format::Compressor algo) {
  const Bytes in = TextLike(kChunk);
  auto packed = Compress(algo, in);
  if (!packed.ok()) {
    state.SkipWithError(packed.status().ToString().c_str());
    return;
  }
  Bytes out(kChunk);
  for (auto _ : state) {
    Status st = Decompress(algo, *packed, out);
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}

BENCHMARK_CAPTURE(BM_Compress, lz4_block, format::Compressor::kLz4Block);
BENCHMARK_CAPTURE(BM_Compress, zstd, format::Compressor::kZstd);
BENCHMARK_CAPTURE(BM_Compress, gzip, format::Compressor::kGzip);
BENCHMARK_CAPTURE(BM_Decompress, lz4_block, format::Compressor::kLz4Block);
BENCHMARK_CAPTURE(BM_Decompress, zstd, format::Compressor::kZstd);
BENCHMARK_CAPTURE(BM_Decompress, gzip, format::Compressor::kGzip);

}  // namespace
}  // namespace nydus::compress
