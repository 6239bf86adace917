// Look-ahead peak limiter for mix outputs: int32 sums of many int16 sources in,
// int16 out that never wraps, never exceeds the ceiling and is never hard-clipped.
// One instance per output of NMinus1Mixer; used on the session's tick thread only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/aligned_buffer.h"
#include "simd/mix.h"
#include "sipmix/status.h"

namespace sipmix::audio {

// Defaults and why (docs/audio.md has the long form):
// - ceiling -0.5 dBFS: the threshold of an infinite-ratio curve, so the output
//   peak never exceeds it; 0.5 dB leaves room for the codecs' overshoot
//   while a fully driven mix still peaks within 1 dB of full scale.
// - soft knee 4 dB wide centred on the ceiling: gain reduction starts gently
//   at -2.5 dBFS, so a single loud talker is barely touched.
// - look-ahead 2 blocks of 32 samples (1.33 ms at 48 kHz): the attack is a
//   linear gain ramp over those 1.33 ms that completes before the peak
//   leaves the delay line, so no sample overshoots and no step is audible.
// - hold 5 ms, then a one-pole release with a 20 ms time constant that snaps
//   to the target once within 0.005 (0.04 dB): no gain ripple on content down
//   to 100 Hz, and exact unity (bit-transparent) at most ~112 ms after a
//   loud passage (release_time_ms() gives the bound for a configuration).
struct LimiterConfig {
  int sample_rate_hz = 48000;
  double ceiling_dbfs = -0.5;
  double knee_db = 4.0;
  int lookahead_blocks = 2;  // of simd::kMixPeakBlock samples; 1..kMaxLookaheadBlocks
  double hold_ms = 5.0;
  double release_ms = 20.0;  // one-pole time constant
};

class Limiter {
 public:
  static constexpr int kMaxLookaheadBlocks = 4;
  // Relative distance to the target at which the release snaps onto it.
  static constexpr float kReleaseSnap = 0.005f;

  // Names the offending field in the returned error.
  static Status validate(const LimiterConfig& config, size_t frame_samples);

  // `config` must pass validate(). `frame_samples` is a multiple of
  // simd::kMixPeakBlock. `dsp` (kernels) must outlive the limiter.
  Limiter(const LimiterConfig& config, size_t frame_samples, const simd::MixDsp& dsp);
  Limiter(Limiter&&) noexcept = default;
  Limiter& operator=(Limiter&&) noexcept = default;

  // Where the caller writes the next frame (frame_samples int32 values).
  int32_t* input() { return buf_.data() + delay_; }
  // Limits the frame in input() into `out` (frame_samples values). The
  // output lags the input by delay_samples().
  void process(int16_t* out);

  size_t frame_samples() const { return frame_; }
  size_t delay_samples() const { return delay_; }
  // Upper bound on the time from the last loud input sample until the output
  // is bit-exactly the (delayed) input again, for input below the knee.
  double release_time_ms() const;
  // Gain applied at the end of the last frame (1 = unity).
  double gain() const { return static_cast<double>(g_last_q20_) / simd::kMixGainOne; }

  // True when both limiters would produce the same output for the same
  // input: the mixer then runs one of them and copies the state to the other.
  bool same_state(const Limiter& other) const;
  void copy_state_from(const Limiter& other);
  void reset();

 private:
  float target_gain(uint32_t peak) const;

  const simd::MixDsp* dsp_;
  size_t frame_ = 0, delay_ = 0, blocks_ = 0;
  int lookahead_ = 2;
  int hold_blocks_ = 0;
  float release_coef_ = 0;
  // Curve constants in int16 units (32768 = 0 dBFS).
  float knee_lo_ = 0, knee_hi_ = 0, ceiling_ = 0;
  // Knee gain sampled uniformly in peak between knee_lo_ and knee_hi_,
  // interpolated linearly: no log/exp per block on the tick thread.
  static constexpr int kKneeSteps = 64;
  float knee_gain_[kKneeSteps + 1] = {};
  float knee_inv_step_ = 0;
  double release_time_ms_ = 0;

  // State. buf_ holds the delay line (delay_ samples) followed by the frame.
  AlignedBuffer<int32_t> buf_;
  float t_hist_[kMaxLookaheadBlocks] = {};  // targets of the last blocks, newest last
  float e_hist_[kMaxLookaheadBlocks] = {};  // smoothed envelope of the last blocks
  int hold_left_ = 0;
  int32_t g_last_q20_ = simd::kMixGainOne;
  // Scratch, per process().
  AlignedBuffer<uint32_t> peaks_;
  AlignedBuffer<int32_t> gains_q20_;
};

}  // namespace sipmix::audio
