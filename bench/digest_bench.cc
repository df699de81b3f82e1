// Digest throughput: BLAKE3 per backend (portable / SSE4.1 / AVX2), streaming on 4 KiB and
// 1 MiB (the RAFS chunk size) and one-shot on small files, and SHA-256 (OpenSSL).
// Reported as bytes/second.
#include <benchmark/benchmark.h>

#include <random>

#include "base/blake3.h"
#include "base/digest.h"

namespace nydus {
namespace {

Bytes RandomInput(size_t len) {
  std::mt19937 rng(42);
  Bytes b(len);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

void BM_Blake3(benchmark::State& state, Blake3Backend backend) {
  if (!Blake3BackendSupported(backend)) {
    state.SkipWithError("backend not supported on this CPU");
    return;
  }
  const Bytes data = RandomInput(static_cast<size_t>(state.range(0)));
  uint8_t out[32];
  for (auto _ : state) {
    Blake3Hasher h(backend);
    h.Update(data);
    h.Finalize(out);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK_CAPTURE(BM_Blake3, portable, Blake3Backend::kPortable)->Arg(4096)->Arg(1 << 20);
BENCHMARK_CAPTURE(BM_Blake3, sse41, Blake3Backend::kSse41)->Arg(4096)->Arg(1 << 20);
BENCHMARK_CAPTURE(BM_Blake3, avx2, Blake3Backend::kAvx2)->Arg(4096)->Arg(1 << 20);

void BM_Blake3OneShot(benchmark::State& state, Blake3Backend backend) {
  if (!Blake3BackendSupported(backend)) {
    state.SkipWithError("backend not supported on this CPU");
    return;
  }
  const Bytes data = RandomInput(static_cast<size_t>(state.range(0)));
  uint8_t out[32];
  for (auto _ : state) {
    Blake3Hash(data, out, backend);
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK_CAPTURE(BM_Blake3OneShot, portable, Blake3Backend::kPortable)->Arg(4096)->Arg(16384);
BENCHMARK_CAPTURE(BM_Blake3OneShot, sse41, Blake3Backend::kSse41)->Arg(4096)->Arg(16384);
BENCHMARK_CAPTURE(BM_Blake3OneShot, avx2, Blake3Backend::kAvx2)->Arg(4096)->Arg(16384);

void BM_Sha256(benchmark::State& state) {
  const Bytes data = RandomInput(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Sha256(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(4096)->Arg(1 << 20);

}  // namespace
}  // namespace nydus
