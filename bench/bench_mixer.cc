// N-1 mix of one 20 ms tick at 48 kHz, N sources and N legs (leg k's own
// source is source k), beside its baselines in the same binary:
//   naive  - per leg, a separate scalar sum over the other N-1 sources, then a
//            hard clip to int16 (O(N^2), what the design replaces);
//   scalar - NMinus1Mixer with the scalar kernel table (total - own, same limiter);
//   sipmix - NMinus1Mixer with the CPU's kernels (AVX2 here).
// BM_MixNMinus1Kernel/* isolates the accumulation and total - own passes.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "mix/mixer.h"
#include "base/aligned_buffer.h"
#include "simd/cpu.h"
#include "simd/mix.h"
#include "interleave.h"

namespace sipmix {
namespace {

using audio::kMixFrameSamples;
constexpr size_t kN = kMixFrameSamples;

// N distinct tones at -26 dBFS (speech-like loudness per talker) with
// random phases: the total of 9 stays below the limiter's knee, 100 is
// limited (see the peak_dbfs_leg0 counter).
std::vector<AlignedBuffer<int16_t>> make_sources(size_t n) {
  std::vector<AlignedBuffer<int16_t>> src;
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> phase(0.0, 2 * std::numbers::pi);
  std::uniform_real_distribution<double> freq(150.0, 3400.0);
  const double amp = 32767.0 * std::pow(10.0, -26.0 / 20.0);
  for (size_t k = 0; k < n; ++k) {
    src.emplace_back(kN);
    const double f = freq(rng);
    const double p = phase(rng);
    for (size_t i = 0; i < kN; ++i)
      src[k][i] = static_cast<int16_t>(std::lround(amp * std::sin(2 * std::numbers::pi * f * i / 48000.0 + p)));
  }
  return src;
}

// One tick of each mix: the engine's mixer (with the kernels `flags` allow)
// and the naive O(N^2) scalar mix with a hard clip. The separate and the
// interleaved benchmarks run the same ticks.
struct MixerSide {
  simd::MixDsp dsp;  // outlives the mixer below
  std::unique_ptr<audio::NMinus1Mixer> mixer;
  std::vector<AlignedBuffer<int16_t>> src;
  std::string error;

  MixerSide(size_t n, uint32_t flags) : src(make_sources(n)) {
    simd::mix_dsp_init(&dsp, flags);
    audio::MixerConfig cfg;
    cfg.max_sources = n;
    cfg.max_outputs = n;
    auto created = audio::NMinus1Mixer::create(cfg, &dsp);
    if (!created.ok()) {
      error = std::string(created.status().message());
      return;
    }
    mixer = std::move(created).value();
    for (uint32_t k = 0; k < n; ++k)
      if (!mixer->add_source(k).ok() || !mixer->add_output(k, k).ok()) error = "configuration failed";
  }
  void tick() {
    for (uint32_t k = 0; k < src.size(); ++k) (void)mixer->set_source_frame(k, src[k].data());
    mixer->mix();
    benchmark::DoNotOptimize(mixer->output(0).data());
    benchmark::ClobberMemory();
  }
};

struct NaiveSide {
  std::vector<AlignedBuffer<int16_t>> src, out;
  explicit NaiveSide(size_t n) : src(make_sources(n)) {
    for (size_t k = 0; k < n; ++k) out.emplace_back(kN);
  }
  void tick() {
    const size_t n = src.size();
    for (size_t k = 0; k < n; ++k) {
      int16_t* o = out[k].data();
      for (size_t i = 0; i < kN; ++i) {
        int32_t s = 0;
        for (size_t j = 0; j < n; ++j)
          if (j != k) s += src[j][i];
        o[i] = static_cast<int16_t>(std::clamp(s, -32768, 32767));
      }
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
};

void bm_naive(benchmark::State& state, size_t n) {
  NaiveSide side(n);
  for (auto _ : state) side.tick();
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n * kN));
}

void bm_mixer(benchmark::State& state, size_t n, uint32_t flags) {
  if ((simd::detected_cpu_flags() & flags) != flags) {
    state.SkipWithError("ISA not available on this CPU");
    return;
  }
  MixerSide side(n, flags);
  if (!side.error.empty()) {
    state.SkipWithError(side.error.c_str());
    return;
  }
  for (auto _ : state) side.tick();
  const auto& mixer = side.mixer;
  state.counters["limiter_passes"] = mixer->stats().limiter_passes;
  // Shows whether the limiter was engaged in the measured ticks.
  int peak = 0;
  for (int16_t s : mixer->output(0)) peak = std::max(peak, std::abs(int{s}));
  state.counters["peak_dbfs_leg0"] = peak > 0 ? 20 * std::log10(peak / 32768.0) : -200;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n * kN));
}

// Only the O(N) kernels: one accumulation over N sources, N x (total - own).
void bm_kernel(benchmark::State& state, size_t n, uint32_t flags) {
  if ((simd::detected_cpu_flags() & flags) != flags) {
    state.SkipWithError("ISA not available on this CPU");
    return;
  }
  simd::MixDsp dsp;
  simd::mix_dsp_init(&dsp, flags);
  auto src = make_sources(n);
  AlignedBuffer<int32_t> total(kN);
  std::vector<AlignedBuffer<int32_t>> legs;
  for (size_t k = 0; k < n; ++k) legs.emplace_back(kN);
  for (auto _ : state) {
    std::memset(total.data(), 0, kN * sizeof(int32_t));
    for (size_t k = 0; k < n; ++k) dsp.mix_accumulate_s16(total.data(), src[k].data(), kN);
    for (size_t k = 0; k < n; ++k) dsp.mix_sub_s16(legs[k].data(), total.data(), src[k].data(), kN);
    benchmark::DoNotOptimize(legs.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n * kN));
}

constexpr uint32_t kAll = simd::kCpuSse2 | simd::kCpuSsse3 | simd::kCpuSse41 | simd::kCpuAvx2;

// BM_MixNMinus1/interleaved/N: the mixer with the CPU's kernels, the scalar
// mixer and the naive mix, each doing one tick of its own benchmark above,
// alternately in one run.
void make_mix_sides(benchmark::State& state, std::vector<bench::Side>* sides, size_t n) {
  auto sipmix = std::make_shared<MixerSide>(n, simd::cpu_flags() & kAll);
  auto scalar = std::make_shared<MixerSide>(n, 0u);
  auto naive = std::make_shared<NaiveSide>(n);
  if (!sipmix->error.empty() || !scalar->error.empty()) {
    state.SkipWithError((sipmix->error + scalar->error).c_str());
    return;
  }
  sides->push_back(bench::Side::whole("sipmix", [sipmix](int64_t it) {
    for (int64_t i = 0; i < it; ++i) sipmix->tick();
  }));
  sides->push_back(bench::Side::whole("scalar", [scalar](int64_t it) {
    for (int64_t i = 0; i < it; ++i) scalar->tick();
  }));
  sides->push_back(bench::Side::whole("naive", [naive](int64_t it) {
    for (int64_t i = 0; i < it; ++i) naive->tick();
  }));
}

const bool kRegistered = [] {
  for (size_t n : {9, 32, 100}) {
    const std::string ns = std::to_string(n);
    benchmark::RegisterBenchmark(("BM_MixNMinus1/sipmix/" + ns).c_str(),
                                 [n](benchmark::State& s) { bm_mixer(s, n, simd::cpu_flags() & kAll); });
    benchmark::RegisterBenchmark(("BM_MixNMinus1/scalar/" + ns).c_str(),
                                 [n](benchmark::State& s) { bm_mixer(s, n, 0u); });
    benchmark::RegisterBenchmark(("BM_MixNMinus1/naive/" + ns).c_str(), [n](benchmark::State& s) { bm_naive(s, n); });
    benchmark::RegisterBenchmark(("BM_MixNMinus1Kernel/sipmix/" + ns).c_str(),
                                 [n](benchmark::State& s) { bm_kernel(s, n, simd::cpu_flags() & kAll); });
    benchmark::RegisterBenchmark(("BM_MixNMinus1Kernel/scalar/" + ns).c_str(),
                                 [n](benchmark::State& s) { bm_kernel(s, n, 0u); });
    bench::InterleavedBenchmark("BM_MixNMinus1/interleaved/" + ns,
                                [n](benchmark::State& s, std::vector<bench::Side>* sides) {
                                  make_mix_sides(s, sides, n);
                                });
  }
  return true;
}();

}  // namespace
}  // namespace sipmix
