// mix_accumulate_s16 at each ISA level the CPU has, one 20 ms 48 kHz frame.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "simd/cpu.h"
#include "simd/mix.h"

namespace sipmix {
namespace {

void BM_MixAccumulateS16(benchmark::State& state, uint32_t flags) {
  if ((simd::detected_cpu_flags() & flags) != flags) {
    state.SkipWithError("ISA not available on this CPU");
    return;
  }
  simd::MixDsp dsp;
  simd::mix_dsp_init(&dsp, flags);
  constexpr size_t kSamples = 960;
  std::vector<int16_t> src(kSamples);
  std::vector<int32_t> acc(kSamples);
  std::mt19937 rng(1);
  for (auto& s : src) s = static_cast<int16_t>(rng());
  for (auto _ : state) {
    dsp.mix_accumulate_s16(acc.data(), src.data(), kSamples);
    benchmark::DoNotOptimize(acc.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kSamples);
}
BENCHMARK_CAPTURE(BM_MixAccumulateS16, c, 0u);
BENCHMARK_CAPTURE(BM_MixAccumulateS16, sse41, simd::kCpuSse2 | simd::kCpuSsse3 | simd::kCpuSse41);
BENCHMARK_CAPTURE(BM_MixAccumulateS16, avx2, simd::kCpuSse2 | simd::kCpuSsse3 | simd::kCpuSse41 | simd::kCpuAvx2);

}  // namespace
}  // namespace sipmix
