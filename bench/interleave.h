// Interleaved comparisons for sipmix_bench: sipmix and each baseline run
// alternately (A, B, C, A, B, C, ...) inside one benchmark invocation, so that
// every ratio compares batches taken in the same time window on a shared,
// noisy machine. Used by the benchmark thread only.
//
// Each round runs one batch of every side in a fixed order, sipmix first. A
// batch is n operations, n calibrated per side (before the rounds) so that a
// batch lasts about batch_s: far above the timer's resolution. Counters:
//   ratio_<baseline>            median over rounds of the baseline's time per
//                               operation / sipmix's, in the same round
//   ratio_<baseline>_p10/_p90   the 10th and 90th percentile of those ratios
//   ratio_<baseline>_min/_max   their extremes
//   sipmix_us, <baseline>_us    median time per operation (µs)
//   rounds, batch_<side>        the rounds and each side's batch size n
// The benchmark's own time (UseManualTime) is sipmix's median time per
// operation. Register with InterleavedBenchmark() below.
#pragma once

#include <benchmark/benchmark.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace sipmix::bench {

enum class BatchClock {
  kThreadCpu,  // CPU time of the benchmark thread (what single-thread benchmarks use)
  kWall,       // wall time: when the measured work spans threads (UseRealTime benchmarks)
};

// Accumulates the time between start() and stop() calls; a batch that writes
// its inputs untimed between operations starts and stops it around each one.
class BatchTimer {
 public:
  explicit BatchTimer(BatchClock clock) : clock_(clock) {}
  void start() { start_s_ = now_s(); }
  void stop() { total_s_ += now_s() - start_s_; }
  double seconds() const { return total_s_; }
  void reset() { total_s_ = 0; }

 private:
  double now_s() const {
    if (clock_ == BatchClock::kWall)
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
  BatchClock clock_;
  double start_s_ = 0, total_s_ = 0;
};

// One side of a comparison. run(n, timer) performs n operations and times
// what counts with timer.start()/stop(); whole() builds a side that times
// the whole batch.
struct Side {
  std::string name;  // "sipmix" for the side under test, else the baseline's counter name
  std::function<void(int64_t n, BatchTimer& timer)> run;

  template <typename Fn>  // fn(n) runs n operations
  static Side whole(std::string name, Fn fn) {
    return {std::move(name), [fn = std::move(fn)](int64_t n, BatchTimer& t) mutable {
              t.start();
              fn(n);
              t.stop();
            }};
  }
};

struct InterleaveOptions {
  int rounds = 21;
  double batch_s = 0.01;  // target length of one batch
  BatchClock clock = BatchClock::kThreadCpu;
};

namespace detail {

// Nearest-rank quantile of a sorted, non-empty vector.
inline double quantile(const std::vector<double>& sorted, double q) {
  const size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace detail

// Runs the rounds inside `state` (registered with Iterations(1) and
// UseManualTime()) and sets the counters above. sides[0] is sipmix.
inline void RunInterleaved(benchmark::State& state, std::vector<Side>& sides, const InterleaveOptions& opt) {
  const size_t k = sides.size();
  if (k < 2 || opt.rounds < 1) {
    state.SkipWithError("an interleaved comparison needs sipmix, a baseline and a round");
    return;
  }
  BatchTimer timer(opt.clock);
  auto time_batch = [&](Side& s, int64_t n) {
    timer.reset();
    s.run(n, timer);
    return timer.seconds();
  };
  // Calibration (also the warm-up): grow n until one batch lasts batch_s.
  // Each size is timed 3 times and the median counts, so that one batch
  // slowed (a preemption) or sped up does not set the size.
  std::vector<int64_t> batch(k, 1);
  for (size_t i = 0; i < k; ++i) {
    for (;;) {
      std::vector<double> three(3);
      for (double& x : three) x = time_batch(sides[i], batch[i]);
      const double t = detail::median(three);
      if (t >= opt.batch_s || batch[i] >= (int64_t{1} << 40)) break;
      const double grow = t > 0 ? 1.2 * opt.batch_s / t : 10.0;
      batch[i] = std::max(batch[i] + 1, static_cast<int64_t>(static_cast<double>(batch[i]) * std::min(grow, 10.0)));
    }
  }
  // per_op[i][r]: seconds per operation of side i in round r.
  std::vector<std::vector<double>> per_op(k, std::vector<double>(static_cast<size_t>(opt.rounds)));
  for (auto _ : state) {
    for (int r = 0; r < opt.rounds; ++r)
      for (size_t i = 0; i < k; ++i)
        per_op[i][static_cast<size_t>(r)] = time_batch(sides[i], batch[i]) / static_cast<double>(batch[i]);
    state.SetIterationTime(detail::median(per_op[0]));
  }
  state.counters["rounds"] = opt.rounds;
  state.counters["sipmix_us"] = 1e6 * detail::median(per_op[0]);
  for (size_t i = 0; i < k; ++i) state.counters["batch_" + sides[i].name] = static_cast<double>(batch[i]);
  for (size_t i = 1; i < k; ++i) {
    std::vector<double> ratio(static_cast<size_t>(opt.rounds));
    for (size_t r = 0; r < ratio.size(); ++r) ratio[r] = per_op[i][r] / per_op[0][r];
    std::sort(ratio.begin(), ratio.end());
    const std::string b = sides[i].name;
    state.counters[b + "_us"] = 1e6 * detail::median(per_op[i]);
    state.counters["ratio_" + b] = detail::median(ratio);
    state.counters["ratio_" + b + "_p10"] = detail::quantile(ratio, 0.1);
    state.counters["ratio_" + b + "_p90"] = detail::quantile(ratio, 0.9);
    state.counters["ratio_" + b + "_min"] = ratio.front();
    state.counters["ratio_" + b + "_max"] = ratio.back();
  }
}

// Registers `name` (which ends in "/interleaved"): make_sides(state, &sides)
// builds the sides (and may SkipWithError); they then run interleaved.
template <typename MakeSides>
benchmark::internal::Benchmark* InterleavedBenchmark(const std::string& name, MakeSides make_sides,
                                                     InterleaveOptions opt = {}) {
  return benchmark::RegisterBenchmark(name.c_str(),
                                      [make_sides, opt](benchmark::State& state) {
                                        std::vector<Side> sides;
                                        make_sides(state, &sides);
                                        if (state.error_occurred()) {
                                          for (auto _ : state) {
                                          }
                                          return;
                                        }
                                        RunInterleaved(state, sides, opt);
                                      })
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace sipmix::bench
