// Time compression ("accelerate", NetEq style) of 48 kHz mono audio on the
// receive path: removes one similarity period (one or more pitch periods)
// with a crossfade, so a stream whose playout delay is above its target
// catches up without a gap or a click. One instance per stream, tick thread
// only; the scratch is allocated at construction, accelerate() allocates
// nothing. The caller owns the samples it passes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sipmix/status.h"

namespace sipmix::audio {

enum class StretchKind : uint8_t {
  kDeclined,   // nothing removed: too little input or budget, or a transient
  kPeriodic,   // a period with correlation >= periodic_correlation
  kNoiseLike,  // poor correlation but stationary: a short segment
  kQuiet,      // below quiet_rms: the longest allowed segment
};

struct StretchResult {
  size_t removed_samples = 0;
  StretchKind kind = StretchKind::kDeclined;
  // Normalized correlation of the two crossfaded segments (1 = identical
  // waveforms); 0 when declined or quiet.
  double correlation = 0;
};

struct TimeStretchConfig {
  // Similarity lag range in samples at 48 kHz: 2.5 ms .. 15 ms.
  int min_lag_samples = 120;
  int max_lag_samples = 720;
  // At or above: the waveform repeats, remove the lag.
  double periodic_correlation = 0.9;
  // Below it, remove a short segment (at most noise_max_lag_samples) if the
  // two segments' energies are within max_energy_ratio of each other
  // (stationary, noise-like); a transient (onset, decay) is left alone.
  bool noise_fallback = true;
  int noise_max_lag_samples = 240;
  double max_energy_ratio = 2.0;
  // RMS (int16 units) below which the audio counts as inaudible: ~-60 dBFS.
  double quiet_rms = 33.0;
};

class TimeStretch {
 public:
  static constexpr int kSampleRateHz = 48000;
  // The coarse search runs at 12 kHz.
  static constexpr int kDecimation = 4;

  // Errors name the bad field.
  static Status validate(const TimeStretchConfig& config);
  static StatusOr<TimeStretch> create(const TimeStretchConfig& config = {});

  // Input needed for the whole lag range (less input searches shorter lags).
  size_t full_input_samples() const { return 2 * static_cast<size_t>(config_.max_lag_samples); }
  const TimeStretchConfig& config() const { return config_; }

  // Shortens `samples` from its start: the first 2L samples (two
  // consecutive similar segments of L samples) become one crossfaded
  // segment of L samples, and the rest moves down by L. L <=
  // max_remove_samples and <= samples.size() / 2. The first output sample
  // stays continuous with whatever played before samples[0]. Returns how many
  // samples were removed; samples[0, size - removed) is the result.
  StretchResult accelerate(std::span<int16_t> samples, size_t max_remove_samples);

 private:
  explicit TimeStretch(const TimeStretchConfig& config);

  // Normalized correlation of x[0, lag) with x[lag, 2 lag) at full rate,
  // with the two segments' energies.
  double full_rate_correlation(const int16_t* x, int lag, int64_t* energy_a, int64_t* energy_b) const;
  // Best full-rate lag within +-kRefine samples of `lag`, clamped to [lo, hi].
  int refine(const int16_t* x, int lag, int lo, int hi, double* corr) const;
  static void crossfade(int16_t* x, size_t size, int lag, double corr);

  TimeStretchConfig config_;
  // Largest |decimated sample| such that a whole coarse correlation sum
  // fits in int32 (16-bit multiply-adds, vectorizable).
  int32_t decimated_limit_ = 0;
  std::vector<int16_t> decimated_;    // sums of kDecimation samples, scaled to decimated_limit_
  std::vector<int32_t> sums_;         // the unscaled sums
  std::vector<int64_t> energy_;       // prefix sums of decimated_^2
  std::vector<double> coarse_corr_;   // per decimated lag
  std::vector<int64_t> full_energy_;  // prefix sums of samples^2
};

}  // namespace sipmix::audio
