#include "mix/limiter.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <string>

namespace sipmix::audio {
namespace {

constexpr size_t kBlock = simd::kMixPeakBlock;
constexpr float kFullScale = 32768.0f;

float db_to_linear(double db) { return static_cast<float>(std::pow(10.0, db / 20.0)); }

}  // namespace

Status Limiter::validate(const LimiterConfig& c, size_t frame_samples) {
  if (c.sample_rate_hz < 8000 || c.sample_rate_hz > 192000)
    return invalid_argument("limiter.sample_rate_hz must be in [8000, 192000]");
  if (!(c.ceiling_dbfs >= -20.0 && c.ceiling_dbfs <= -0.1))
    return invalid_argument("limiter.ceiling_dbfs must be in [-20, -0.1]");
  if (!(c.knee_db >= 0.0 && c.knee_db <= 12.0)) return invalid_argument("limiter.knee_db must be in [0, 12]");
  if (c.lookahead_blocks < 1 || c.lookahead_blocks > kMaxLookaheadBlocks)
    return invalid_argument("limiter.lookahead_blocks must be in [1, " + std::to_string(kMaxLookaheadBlocks) + "]");
  if (!(c.hold_ms >= 0.0 && c.hold_ms <= 100.0)) return invalid_argument("limiter.hold_ms must be in [0, 100]");
  if (!(c.release_ms >= 1.0 && c.release_ms <= 1000.0))
    return invalid_argument("limiter.release_ms must be in [1, 1000]");
  if (frame_samples == 0 || frame_samples % kBlock != 0)
    return invalid_argument("limiter frame_samples must be a positive multiple of " + std::to_string(kBlock));
  return {};
}

Limiter::Limiter(const LimiterConfig& c, size_t frame_samples, const simd::MixDsp& dsp)
    : dsp_(&dsp),
      frame_(frame_samples),
      delay_(static_cast<size_t>(c.lookahead_blocks) * kBlock),
      blocks_(frame_samples / kBlock),
      lookahead_(c.lookahead_blocks),
      buf_(delay_ + frame_samples),
      peaks_(frame_samples / kBlock),
      gains_q20_(frame_samples / kBlock) {
  assert(validate(c, frame_samples).ok());
  const double block_ms = 1000.0 * kBlock / c.sample_rate_hz;
  hold_blocks_ = static_cast<int>(std::ceil(c.hold_ms / block_ms));
  const double a = 1.0 - std::exp(-block_ms / c.release_ms);
  release_coef_ = static_cast<float>(a);
  ceiling_ = kFullScale * db_to_linear(c.ceiling_dbfs);
  knee_lo_ = kFullScale * db_to_linear(c.ceiling_dbfs - c.knee_db / 2);
  knee_hi_ = kFullScale * db_to_linear(c.ceiling_dbfs + c.knee_db / 2);
  // Soft knee (infinite ratio): gain_dB = -(L - T + W/2)^2 / (2W) for L in
  // [T - W/2, T + W/2]; it meets the flat ceiling with matching slope.
  knee_inv_step_ = knee_hi_ > knee_lo_ ? kKneeSteps / (knee_hi_ - knee_lo_) : 0.0f;
  for (int i = 0; i <= kKneeSteps; ++i) {
    const double p = knee_lo_ + (static_cast<double>(knee_hi_) - knee_lo_) * i / kKneeSteps;
    const double level_db = 20.0 * std::log10(p / kFullScale);
    const double x = level_db - c.ceiling_dbfs + c.knee_db / 2;
    knee_gain_[i] = c.knee_db > 0 ? static_cast<float>(std::pow(10.0, -x * x / (2 * c.knee_db) / 20.0)) : 1.0f;
  }
  // Blocks of release until the gap to the target, at most 1, is below the
  // snap distance; one more for float rounding. See the header for the sum.
  const int release_blocks = static_cast<int>(std::ceil(std::log(kReleaseSnap) / std::log(1.0 - a))) + 1;
  release_time_ms_ = (lookahead_ + hold_blocks_ + release_blocks + 1) * block_ms;
  reset();
}

double Limiter::release_time_ms() const { return release_time_ms_; }

void Limiter::reset() {
  std::fill_n(t_hist_, kMaxLookaheadBlocks, 1.0f);
  std::fill_n(e_hist_, kMaxLookaheadBlocks, 1.0f);
  hold_left_ = hold_blocks_;
  g_last_q20_ = simd::kMixGainOne;
  std::memset(buf_.data(), 0, (delay_ + frame_) * sizeof(int32_t));
}

float Limiter::target_gain(uint32_t peak) const {
  const float p = static_cast<float>(peak);
  if (p <= knee_lo_) return 1.0f;
  const float hard = ceiling_ / p;  // gain that puts this peak exactly on the ceiling
  if (p >= knee_hi_) return hard;
  const float pos = (p - knee_lo_) * knee_inv_step_;
  const int i = std::min(static_cast<int>(pos), kKneeSteps - 1);
  const float g = knee_gain_[i] + (knee_gain_[i + 1] - knee_gain_[i]) * (pos - static_cast<float>(i));
  return std::min(g, hard);
}

void Limiter::process(int16_t* out) {
  const int32_t* src = buf_.data();
  dsp_->mix_block_peaks_s32(peaks_.data(), input(), blocks_);

  // Fast path: at rest and nothing reaches the knee -> bit-exact pass-through.
  bool quiet = g_last_q20_ == simd::kMixGainOne && e_hist_[lookahead_ - 1] == 1.0f;
  for (int k = 0; k < lookahead_ && quiet; ++k) quiet = t_hist_[k] == 1.0f && e_hist_[k] == 1.0f;
  for (size_t b = 0; b < blocks_ && quiet; ++b) quiet = static_cast<float>(peaks_[b]) <= knee_lo_;
  if (quiet) {
    hold_left_ = hold_blocks_;  // what the full path does when every target is unity
    dsp_->mix_gain_s32_to_s16(out, src, frame_, simd::kMixGainOne, 0);
    std::memmove(buf_.data(), buf_.data() + frame_, delay_ * sizeof(int32_t));
    return;
  }

  const int k_hist = lookahead_;
  for (size_t b = 0; b < blocks_; ++b) {
    const float t = target_gain(peaks_[b]);
    // Minimum over this block and the `lookahead_` before it: the gain
    // boundaries that touch any of them are bounded by it.
    float h = t;
    for (int k = 0; k < k_hist; ++k) h = std::min(h, t_hist_[k]);
    for (int k = 0; k + 1 < k_hist; ++k) t_hist_[k] = t_hist_[k + 1];
    t_hist_[k_hist - 1] = t;

    float e = e_hist_[k_hist - 1];
    if (h <= e) {  // attack (instant on the envelope; the box average below ramps it)
      e = h;
      hold_left_ = hold_blocks_;
    } else if (hold_left_ > 0) {
      --hold_left_;
    } else {
      e += (h - e) * release_coef_;
      if (h - e < kReleaseSnap) e = h;
    }
    for (int k = 0; k + 1 < k_hist; ++k) e_hist_[k] = e_hist_[k + 1];
    e_hist_[k_hist - 1] = e;

    // Box average of the last `lookahead_` envelope values: a linear attack
    // ramp over the look-ahead, still below every target it must respect.
    float sum = 0;
    for (int k = 0; k < k_hist; ++k) sum += e_hist_[k];
    const float g = k_hist == 1 ? e : std::min(sum / static_cast<float>(k_hist), 1.0f);
    // Truncation keeps the applied gain at or below the computed one.
    gains_q20_[b] = static_cast<int32_t>(g * static_cast<float>(simd::kMixGainOne));
  }

  // Output block b is the input block `lookahead_` blocks earlier (it sits at
  // buf_ block b), ramped from the previous boundary gain to gains_q20_[b].
  // Runs of constant gain go to the kernel in one call.
  int32_t prev = g_last_q20_;
  size_t b = 0;
  while (b < blocks_) {
    if (gains_q20_[b] == prev) {
      size_t e = b;
      while (e < blocks_ && gains_q20_[e] == prev) ++e;
      dsp_->mix_gain_s32_to_s16(out + b * kBlock, src + b * kBlock, (e - b) * kBlock, prev, 0);
      b = e;
    } else {
      // Truncating division: the ramp never passes its end gain.
      const int32_t step = (gains_q20_[b] - prev) / static_cast<int32_t>(kBlock);
      dsp_->mix_gain_s32_to_s16(out + b * kBlock, src + b * kBlock, kBlock, prev, step);
      prev = gains_q20_[b];
      ++b;
    }
  }
  g_last_q20_ = prev;
  std::memmove(buf_.data(), buf_.data() + frame_, delay_ * sizeof(int32_t));
}

bool Limiter::same_state(const Limiter& o) const {
  if (frame_ != o.frame_ || delay_ != o.delay_ || lookahead_ != o.lookahead_) return false;
  if (g_last_q20_ != o.g_last_q20_ || hold_left_ != o.hold_left_) return false;
  for (int k = 0; k < lookahead_; ++k)
    if (t_hist_[k] != o.t_hist_[k] || e_hist_[k] != o.e_hist_[k]) return false;
  return std::memcmp(buf_.data(), o.buf_.data(), delay_ * sizeof(int32_t)) == 0;
}

void Limiter::copy_state_from(const Limiter& o) {
  assert(frame_ == o.frame_ && delay_ == o.delay_);
  std::copy_n(o.t_hist_, kMaxLookaheadBlocks, t_hist_);
  std::copy_n(o.e_hist_, kMaxLookaheadBlocks, e_hist_);
  hold_left_ = o.hold_left_;
  g_last_q20_ = o.g_last_q20_;
  std::memcpy(buf_.data(), o.buf_.data(), delay_ * sizeof(int32_t));
}

}  // namespace sipmix::audio
