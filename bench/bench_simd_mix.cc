// Mix kernels at each ISA level the CPU has, one 20 ms 48 kHz frame.
// Labels follow STYLE.md: BM_<Kernel>/<isa>.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "simd/cpu.h"
#include "simd/mix.h"

namespace sipmix {
namespace {

constexpr size_t kSamples = 960;
constexpr uint32_t kSse41 = simd::kCpuSse2 | simd::kCpuSsse3 | simd::kCpuSse41;
constexpr uint32_t kAvx2 = kSse41 | simd::kCpuAvx2;

bool init(benchmark::State& state, uint32_t flags, simd::MixDsp* dsp) {
  if ((simd::detected_cpu_flags() & flags) != flags) {
    state.SkipWithError("ISA not available on this CPU");
    return false;
  }
  simd::mix_dsp_init(dsp, flags);
  return true;
}

struct Frames {
  std::vector<int16_t> s16 = std::vector<int16_t>(kSamples);
  std::vector<int32_t> s32 = std::vector<int32_t>(kSamples);
  std::vector<int32_t> d32 = std::vector<int32_t>(kSamples);
  std::vector<int16_t> d16 = std::vector<int16_t>(kSamples);
  std::vector<uint32_t> peaks = std::vector<uint32_t>(kSamples / simd::kMixPeakBlock);
  Frames() {
    std::mt19937 rng(1);
    for (auto& s : s16) s = static_cast<int16_t>(rng());
    for (auto& s : s32) s = static_cast<int32_t>(rng() % (1u << 22)) - (1 << 21);
  }
};

void BM_MixAccumulateS16(benchmark::State& state, uint32_t flags) {
  simd::MixDsp dsp;
  if (!init(state, flags, &dsp)) return;
  Frames f;
  for (auto _ : state) {
    dsp.mix_accumulate_s16(f.d32.data(), f.s16.data(), kSamples);
    benchmark::DoNotOptimize(f.d32.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kSamples);
}

void BM_MixSubS16(benchmark::State& state, uint32_t flags) {
  simd::MixDsp dsp;
  if (!init(state, flags, &dsp)) return;
  Frames f;
  for (auto _ : state) {
    dsp.mix_sub_s16(f.d32.data(), f.s32.data(), f.s16.data(), kSamples);
    benchmark::DoNotOptimize(f.d32.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kSamples);
}

void BM_MixBlockPeaksS32(benchmark::State& state, uint32_t flags) {
  simd::MixDsp dsp;
  if (!init(state, flags, &dsp)) return;
  Frames f;
  for (auto _ : state) {
    dsp.mix_block_peaks_s32(f.peaks.data(), f.s32.data(), kSamples / simd::kMixPeakBlock);
    benchmark::DoNotOptimize(f.peaks.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kSamples);
}

void BM_MixGainS32ToS16(benchmark::State& state, uint32_t flags) {
  simd::MixDsp dsp;
  if (!init(state, flags, &dsp)) return;
  Frames f;
  for (auto _ : state) {
    // A ramp from 0.5 towards 0.25 over the frame, as during an attack.
    dsp.mix_gain_s32_to_s16(f.d16.data(), f.s32.data(), kSamples, simd::kMixGainOne / 2, -273);
    benchmark::DoNotOptimize(f.d16.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kSamples);
}

BENCHMARK_CAPTURE(BM_MixAccumulateS16, c, 0u);
BENCHMARK_CAPTURE(BM_MixAccumulateS16, sse41, kSse41);
BENCHMARK_CAPTURE(BM_MixAccumulateS16, avx2, kAvx2);
BENCHMARK_CAPTURE(BM_MixSubS16, c, 0u);
BENCHMARK_CAPTURE(BM_MixSubS16, sse41, kSse41);
BENCHMARK_CAPTURE(BM_MixSubS16, avx2, kAvx2);
BENCHMARK_CAPTURE(BM_MixBlockPeaksS32, c, 0u);
BENCHMARK_CAPTURE(BM_MixBlockPeaksS32, sse41, kSse41);
BENCHMARK_CAPTURE(BM_MixBlockPeaksS32, avx2, kAvx2);
BENCHMARK_CAPTURE(BM_MixGainS32ToS16, c, 0u);
BENCHMARK_CAPTURE(BM_MixGainS32ToS16, sse41, kSse41);
BENCHMARK_CAPTURE(BM_MixGainS32ToS16, avx2, kAvx2);

}  // namespace
}  // namespace sipmix
