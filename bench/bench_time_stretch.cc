// Accelerate (time compression) of one 40 ms FIFO at 48 kHz: sipmix's
// TimeStretch (coarse correlation search at 12 kHz, refined at 48 kHz over
// +-6 samples) against a brute-force search of every lag at 48 kHz with the
// same selection rule and the same crossfade. Inputs: a voiced-speech-like
// harmonic signal (130 Hz fundamental, 12 harmonics, a little noise) and
// white noise. Counters: the lag chosen and its correlation.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <numbers>
#include <vector>

#include "audio_dsp/time_stretch.h"
#include "interleave.h"

namespace sipmix {
namespace {

constexpr size_t kInput = 1920;  // 40 ms, what AudioInput hands over
constexpr size_t kMaxRemove = 720;

std::vector<int16_t> make_input(int kind) {
  std::vector<int16_t> x(kInput);
  uint64_t s = 99;
  for (size_t i = 0; i < kInput; ++i) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    const double noise = static_cast<double>(static_cast<int>(s % 2001) - 1000);
    double v = 0;
    if (kind == 0) {
      for (int h = 1; h <= 12; ++h)
        v += 9000.0 / h * std::sin(2 * std::numbers::pi * 130.0 * h * static_cast<double>(i) / 48000 + 0.7 * h);
      v += 0.3 * noise;
    } else {
      v = 8.0 * noise;
    }
    x[i] = static_cast<int16_t>(std::clamp(std::lround(v), -32768L, 32767L));
  }
  return x;
}

// The baseline: every lag in [120, 720] correlated at 48 kHz.
struct BruteForce {
  std::vector<int64_t> energy = std::vector<int64_t>(2 * kMaxRemove + 1);
  std::vector<double> corr = std::vector<double>(kMaxRemove + 2);

  size_t accelerate(int16_t* x, size_t size, size_t max_remove, double* best_corr) {
    const int lo = 120;
    const int hi = static_cast<int>(std::min({kMaxRemove, size / 2, max_remove}));
    if (hi < lo) return 0;
    energy[0] = 0;
    for (size_t i = 0; i < 2 * static_cast<size_t>(hi); ++i) energy[i + 1] = energy[i] + int64_t{x[i]} * x[i];
    double best = -2;
    for (int l = lo; l <= hi; ++l) {
      int64_t cross = 0;
      for (int i = 0; i < l; ++i) cross += int64_t{x[i]} * x[i + l];
      const size_t ul = static_cast<size_t>(l);
      const int64_t ea = energy[ul], eb = energy[2 * ul] - energy[ul];
      const double c = ea > 0 && eb > 0 ? static_cast<double>(cross) / std::sqrt(static_cast<double>(ea) * static_cast<double>(eb)) : 0;
      corr[ul] = c;
      best = std::max(best, c);
    }
    int lag = -1;
    for (int l = hi; l >= lo && lag < 0; --l) {
      const size_t ul = static_cast<size_t>(l);
      const bool peak = (l == lo || corr[ul] >= corr[ul - 1]) && (l == hi || corr[ul] >= corr[ul + 1]);
      if (peak && corr[ul] >= best - 0.02) lag = l;
    }
    *best_corr = corr[static_cast<size_t>(lag)];
    if (*best_corr < 0.9) return 0;
    const double c = std::clamp(*best_corr, 0.0, 1.0);
    for (int i = 0; i < lag; ++i) {
      const double w = (i + 0.5) / lag, a = 1 - w;
      const double g = 1.0 / std::sqrt(a * a + w * w + 2 * a * w * c);
      x[i] = static_cast<int16_t>(std::clamp(std::lround(g * (a * x[i] + w * x[i + lag])), -32768L, 32767L));
    }
    const size_t l = static_cast<size_t>(lag);
    std::memmove(x + l, x + 2 * l, (size - 2 * l) * sizeof(int16_t));
    return l;
  }
};

void BM_TimeStretch_sipmix(benchmark::State& state) {
  const std::vector<int16_t> in = make_input(static_cast<int>(state.range(0)));
  std::vector<int16_t> work(kInput);
  auto ts = audio::TimeStretch::create();
  audio::StretchResult r;
  for (auto _ : state) {
    std::memcpy(work.data(), in.data(), kInput * sizeof(int16_t));
    r = ts->accelerate(work, kMaxRemove);
    benchmark::DoNotOptimize(work.data());
  }
  state.counters["lag"] = static_cast<double>(r.removed_samples);
  state.counters["corr"] = r.correlation;
  state.SetItemsProcessed(state.iterations());
}

void BM_TimeStretch_brute_force(benchmark::State& state) {
  const std::vector<int16_t> in = make_input(static_cast<int>(state.range(0)));
  std::vector<int16_t> work(kInput);
  BruteForce bf;
  size_t removed = 0;
  double corr = 0;
  for (auto _ : state) {
    std::memcpy(work.data(), in.data(), kInput * sizeof(int16_t));
    removed = bf.accelerate(work.data(), kInput, kMaxRemove, &corr);
    benchmark::DoNotOptimize(work.data());
  }
  state.counters["lag"] = static_cast<double>(removed);
  state.counters["corr"] = corr;
  state.SetItemsProcessed(state.iterations());
}

// Arg: 0 = voiced (harmonic), 1 = white noise.
BENCHMARK(BM_TimeStretch_sipmix)->Name("BM_TimeStretch/sipmix")->Arg(0)->Arg(1);
BENCHMARK(BM_TimeStretch_brute_force)->Name("BM_TimeStretch/brute_force")->Arg(0)->Arg(1);

// BM_TimeStretch/interleaved/<arg>: the two above, alternately in one run.
const bool kInterleaved = [] {
  for (int kind : {0, 1})
    bench::InterleavedBenchmark(
        "BM_TimeStretch/interleaved/" + std::to_string(kind),
        [kind](benchmark::State&, std::vector<bench::Side>* sides) {
          struct Work {
            std::vector<int16_t> in, work = std::vector<int16_t>(kInput);
            decltype(audio::TimeStretch::create()) ts = audio::TimeStretch::create();
            BruteForce bf;
          };
          auto w = std::make_shared<Work>();
          w->in = make_input(kind);
          sides->push_back(bench::Side::whole("sipmix", [w](int64_t n) {
            for (int64_t i = 0; i < n; ++i) {
              std::memcpy(w->work.data(), w->in.data(), kInput * sizeof(int16_t));
              benchmark::DoNotOptimize(w->ts->accelerate(w->work, kMaxRemove));
              benchmark::DoNotOptimize(w->work.data());
            }
          }));
          sides->push_back(bench::Side::whole("brute_force", [w](int64_t n) {
            double corr = 0;
            for (int64_t i = 0; i < n; ++i) {
              std::memcpy(w->work.data(), w->in.data(), kInput * sizeof(int16_t));
              benchmark::DoNotOptimize(w->bf.accelerate(w->work.data(), kInput, kMaxRemove, &corr));
              benchmark::DoNotOptimize(w->work.data());
            }
          }));
        });
  return true;
}();

}  // namespace
}  // namespace sipmix
