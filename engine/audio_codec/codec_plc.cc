#include "audio_codec/codec_plc.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sipmix::audio {

namespace {
size_t ms_to_samples(int rate_hz, double ms) { return static_cast<size_t>(rate_hz * ms / 1000.0); }
}  // namespace

RepeatConcealer::RepeatConcealer(int sample_rate_hz)
    : min_lag_(ms_to_samples(sample_rate_hz, 2.5)),   // 400 Hz: highest voice pitch we track
      max_lag_(ms_to_samples(sample_rate_hz, 15.0)),  // 67 Hz: lowest
      window_(ms_to_samples(sample_rate_hz, 10.0)),
      hold_samples_(ms_to_samples(sample_rate_hz, kHoldMs)),
      fade_samples_(ms_to_samples(sample_rate_hz, kFadeMs)),
      cross_fade_samples_(ms_to_samples(sample_rate_hz, kCrossFadeMs)),
      history_(max_lag_ + window_, 0),
      template_(max_lag_, 0) {}

void RepeatConcealer::reset() {
  std::fill(history_.begin(), history_.end(), int16_t{0});
  concealing_ = false;
  concealed_ = 0;
  period_ = 0;
  pos_ = 0;
}

void RepeatConcealer::append_history(std::span<const int16_t> x) {
  const size_t h = history_.size();
  if (x.size() >= h) {
    std::memcpy(history_.data(), x.data() + (x.size() - h), h * sizeof(int16_t));
    return;
  }
  std::memmove(history_.data(), history_.data() + x.size(), (h - x.size()) * sizeof(int16_t));
  std::memcpy(history_.data() + (h - x.size()), x.data(), x.size() * sizeof(int16_t));
}

// The period is the lag whose normalized correlation with the newest window is
// highest. A tone or voiced speech then continues almost seamlessly; noise
// gets some period, which the fade keeps short.
void RepeatConcealer::start_concealment() {
  const size_t h = history_.size();
  const int16_t* cur = history_.data() + (h - window_);
  double best = -2.0;
  size_t best_lag = max_lag_;
  for (size_t lag = min_lag_; lag <= max_lag_; ++lag) {
    const int16_t* past = cur - lag;
    double xy = 0, yy = 0;
    for (size_t i = 0; i < window_; ++i) {
      xy += static_cast<double>(cur[i]) * past[i];
      yy += static_cast<double>(past[i]) * past[i];
    }
    const double score = yy > 0 ? xy / std::sqrt(yy) : 0.0;
    if (score > best) {
      best = score;
      best_lag = lag;
    }
  }
  period_ = best_lag;
  std::memcpy(template_.data(), history_.data() + (h - period_), period_ * sizeof(int16_t));
  pos_ = 0;
  concealed_ = 0;
  concealing_ = true;
}

int16_t RepeatConcealer::next_sample() {
  float gain = 1.0f;
  if (concealed_ >= hold_samples_ + fade_samples_) {
    gain = 0.0f;
  } else if (concealed_ > hold_samples_) {
    gain = 1.0f - static_cast<float>(concealed_ - hold_samples_) / static_cast<float>(fade_samples_);
  }
  const float v = static_cast<float>(template_[pos_]) * gain;
  if (++pos_ == period_) pos_ = 0;
  ++concealed_;
  return static_cast<int16_t>(std::lrintf(v));  // |v| <= |template| fits int16
}

void RepeatConcealer::conceal(std::span<int16_t> out) {
  if (!concealing_) start_concealment();
  for (auto& s : out) s = next_sample();
  append_history(out);
}

void RepeatConcealer::on_decoded(std::span<int16_t> frame) {
  if (concealing_) {
    const size_t n = std::min(cross_fade_samples_, frame.size());
    for (size_t i = 0; i < n; ++i) {
      const float w = static_cast<float>(i + 1) / static_cast<float>(n + 1);
      const float v = w * frame[i] + (1.0f - w) * next_sample();
      frame[i] = static_cast<int16_t>(std::lrintf(v));  // convex combination of int16 values
    }
    concealing_ = false;
  }
  append_history(frame);
}

}  // namespace sipmix::audio
