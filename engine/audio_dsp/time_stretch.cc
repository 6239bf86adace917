#include "audio_dsp/time_stretch.h"

#include <algorithm>
#include <cmath>
#include <climits>
#include <cstdint>
#include <cstring>

namespace sipmix::audio {
namespace {

// A coarse lag this close to the best coarse correlation counts as as good:
// the longest such lag is preferred (more removed per operation; for a
// periodic signal it is a multiple of the period).
constexpr double kCoarseTolerance = 0.02;
// Full-rate refinement around a coarse lag: one decimation step and a bit.
constexpr int kRefine = TimeStretch::kDecimation + 2;

double normalized(int64_t cross, int64_t ea, int64_t eb) {
  if (ea <= 0 || eb <= 0) return 0;
  return static_cast<double>(cross) / std::sqrt(static_cast<double>(ea) * static_cast<double>(eb));
}

}  // namespace

Status TimeStretch::validate(const TimeStretchConfig& c) {
  if (c.min_lag_samples < 2 * kDecimation || c.min_lag_samples > kSampleRateHz / 20)
    return invalid_argument("time stretch: min_lag_samples must be in [8, 2400]");
  if (c.max_lag_samples < c.min_lag_samples || c.max_lag_samples > kSampleRateHz / 20)
    return invalid_argument("time stretch: max_lag_samples must be in [min_lag_samples, 2400]");
  if (!(c.periodic_correlation > 0 && c.periodic_correlation <= 1))
    return invalid_argument("time stretch: periodic_correlation must be in (0, 1]");
  if (c.noise_max_lag_samples < c.min_lag_samples)
    return invalid_argument("time stretch: noise_max_lag_samples must be >= min_lag_samples");
  if (!(c.max_energy_ratio >= 1)) return invalid_argument("time stretch: max_energy_ratio must be >= 1");
  if (!(c.quiet_rms >= 0 && c.quiet_rms < 32768)) return invalid_argument("time stretch: quiet_rms must be in [0, 32768)");
  return Status::ok_status();
}

StatusOr<TimeStretch> TimeStretch::create(const TimeStretchConfig& config) {
  Status s = validate(config);
  if (!s.ok()) return s;
  return TimeStretch(config);
}

TimeStretch::TimeStretch(const TimeStretchConfig& config)
    : config_(config),
      decimated_(2 * static_cast<size_t>(config.max_lag_samples) / kDecimation + 1),
      sums_(decimated_.size()),
      energy_(decimated_.size() + 1),
      coarse_corr_(static_cast<size_t>(config.max_lag_samples) / kDecimation + 2),
      full_energy_(2 * static_cast<size_t>(config.max_lag_samples) + 1) {
  const int64_t terms = std::max(1, config.max_lag_samples / kDecimation);
  decimated_limit_ = static_cast<int32_t>(std::sqrt(static_cast<double>(INT32_MAX) / static_cast<double>(terms)));
  while (int64_t{decimated_limit_} * decimated_limit_ * terms > INT32_MAX) --decimated_limit_;
  decimated_limit_ = std::min(decimated_limit_, int32_t{32767});
}

double TimeStretch::full_rate_correlation(const int16_t* x, int lag, int64_t* energy_a, int64_t* energy_b) const {
  int64_t cross = 0;
  const int16_t* y = x + lag;
  for (int i = 0; i < lag; ++i) cross += int64_t{x[i]} * y[i];
  const size_t l = static_cast<size_t>(lag);
  *energy_a = full_energy_[l];
  *energy_b = full_energy_[2 * l] - full_energy_[l];
  return normalized(cross, *energy_a, *energy_b);
}

int TimeStretch::refine(const int16_t* x, int lag, int lo, int hi, double* corr) const {
  int best = -1;
  double best_c = -2;
  int64_t ea, eb;
  for (int l = std::max(lo, lag - kRefine); l <= std::min(hi, lag + kRefine); ++l) {
    const double c = full_rate_correlation(x, l, &ea, &eb);
    if (c > best_c) best_c = c, best = l;
  }
  *corr = best_c;
  return best;
}

void TimeStretch::crossfade(int16_t* x, size_t size, int lag, double corr) {
  // Mixing two unit-power segments with weights a, b gives power
  // a^2 + b^2 + 2ab*c: a linear fade keeps the level of identical
  // waveforms (c = 1) and this gain keeps that of unrelated ones (c = 0,
  // an equal-power fade).
  const double c = std::clamp(corr, 0.0, 1.0);
  const double inv_lag = 1.0 / lag;
  const int16_t* y = x + lag;
  for (int i = 0; i < lag; ++i) {
    const double w = (i + 0.5) * inv_lag;
    const double a = 1.0 - w;
    const double g = 1.0 / std::sqrt(a * a + w * w + 2.0 * a * w * c);
    const double v = g * (a * x[i] + w * y[i]);
    x[i] = static_cast<int16_t>(std::clamp(std::lround(v), -32768L, 32767L));
  }
  const size_t l = static_cast<size_t>(lag);
  std::memmove(x + l, x + 2 * l, (size - 2 * l) * sizeof(int16_t));
}

StretchResult TimeStretch::accelerate(std::span<int16_t> samples, size_t max_remove_samples) {
  StretchResult out;
  const int lo = config_.min_lag_samples;
  const int hi = static_cast<int>(std::min({static_cast<size_t>(config_.max_lag_samples), samples.size() / 2,
                                            max_remove_samples}));
  if (hi < lo) return out;
  int16_t* x = samples.data();
  const size_t span = 2 * static_cast<size_t>(hi);

  full_energy_[0] = 0;
  for (size_t i = 0; i < span; ++i) full_energy_[i + 1] = full_energy_[i] + int64_t{x[i]} * x[i];
  if (static_cast<double>(full_energy_[span]) < config_.quiet_rms * config_.quiet_rms * static_cast<double>(span)) {
    crossfade(x, samples.size(), hi, 1.0);
    out.removed_samples = static_cast<size_t>(hi);
    out.kind = StretchKind::kQuiet;
    return out;
  }

  // Coarse search at 12 kHz: sums of 4 samples (a boxcar low-pass, enough
  // to find a period), correlation of the segment [0, L) with [L, 2L).
  // Block floating point: the sums are shifted so that the largest fits
  // decimated_limit_, and every correlation sum is an exact int32.
  const size_t nd = span / kDecimation;
  int32_t peak = 0;
  for (size_t j = 0; j < nd; ++j) {
    const int16_t* p = x + j * kDecimation;
    const int32_t s = int32_t{p[0]} + p[1] + p[2] + p[3];
    sums_[j] = s;
    peak = std::max(peak, s < 0 ? -s : s);
  }
  int shift = 0;
  while ((peak >> shift) > decimated_limit_) ++shift;
  energy_[0] = 0;
  for (size_t j = 0; j < nd; ++j) {
    const int16_t v = static_cast<int16_t>(sums_[j] >> shift);
    decimated_[j] = v;
    energy_[j + 1] = energy_[j] + int32_t{v} * v;
  }
  const int lo_d = (lo + kDecimation - 1) / kDecimation;
  const int hi_d = hi / kDecimation;
  int best_d = -1, longest_d = -1;
  double best_c = -2;
  for (int l = lo_d; l <= hi_d; ++l) {
    int32_t cross = 0;
    const int16_t* a = decimated_.data();
    const int16_t* b = a + l;
    for (int j = 0; j < l; ++j) cross += int32_t{a[j]} * b[j];
    const size_t ul = static_cast<size_t>(l);
    const double c = normalized(cross, energy_[ul], energy_[2 * ul] - energy_[ul]);
    coarse_corr_[ul] = c;
    if (c > best_c) best_c = c, best_d = l;
  }
  // The longest local maximum about as good as the best.
  for (int l = hi_d; l >= lo_d; --l) {
    const size_t ul = static_cast<size_t>(l);
    const double c = coarse_corr_[ul];
    const bool peak = (l == lo_d || c >= coarse_corr_[ul - 1]) && (l == hi_d || c >= coarse_corr_[ul + 1]);
    if (peak && c >= best_c - kCoarseTolerance) {
      longest_d = l;
      break;
    }
  }

  int lag = -1;
  double corr = -2;
  if (best_d < 0) {  // the range is narrower than one coarse step: search it at full rate
    lag = refine(x, (lo + hi) / 2, lo, hi, &corr);
  } else {
    lag = refine(x, longest_d * kDecimation, lo, hi, &corr);
    if (corr < config_.periodic_correlation && best_d != longest_d)
      lag = refine(x, best_d * kDecimation, lo, hi, &corr);
  }
  if (lag > 0 && corr >= config_.periodic_correlation) {
    crossfade(x, samples.size(), lag, corr);
    out.removed_samples = static_cast<size_t>(lag);
    out.kind = StretchKind::kPeriodic;
    out.correlation = corr;
    return out;
  }
  if (!config_.noise_fallback) return out;

  // Not periodic: a short segment, if the audio is stationary.
  const int noise_hi = std::min(hi, config_.noise_max_lag_samples);
  const int noise_hi_d = std::min(hi_d, noise_hi / kDecimation);
  int noise_d = -1;
  double noise_best = -2;
  for (int l = lo_d; l <= noise_hi_d; ++l) {
    if (coarse_corr_[static_cast<size_t>(l)] > noise_best) noise_best = coarse_corr_[static_cast<size_t>(l)], noise_d = l;
  }
  lag = refine(x, noise_d >= 0 ? noise_d * kDecimation : (lo + noise_hi) / 2, lo, noise_hi, &corr);
  if (lag <= 0) return out;
  int64_t ea, eb;
  corr = full_rate_correlation(x, lag, &ea, &eb);
  const double emin = static_cast<double>(std::min(ea, eb)), emax = static_cast<double>(std::max(ea, eb));
  if (emin <= 0 || emax > config_.max_energy_ratio * emin) return out;  // a transient: leave it
  crossfade(x, samples.size(), lag, corr);
  out.removed_samples = static_cast<size_t>(lag);
  out.kind = StretchKind::kNoiseLike;
  out.correlation = corr;
  return out;
}

}  // namespace sipmix::audio
