// Packet loss concealment for codecs without their own (G.711, G.722): repeat
// the last pitch period with a fade-out, then cross-fade into the next good
// frame. One per decoder, tick thread only; buffers allocated at construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sipmix::audio {

class RepeatConcealer {
 public:
  // Full level for the first kHoldMs of a loss, then a linear fade to silence
  // over kFadeMs: a long loss goes quiet instead of buzzing.
  static constexpr int kHoldMs = 10;
  static constexpr int kFadeMs = 50;
  // Cross-fade from the concealment into the first good frame after it.
  static constexpr int kCrossFadeMs = 5;

  explicit RepeatConcealer(int sample_rate_hz);

  // A good frame was decoded. If it follows concealment, its start is
  // cross-faded in place from the concealment waveform (so no step).
  void on_decoded(std::span<int16_t> frame);
  // Writes out.size() samples of concealment.
  void conceal(std::span<int16_t> out);
  void reset();

  size_t pitch_period_samples() const { return period_; }

 private:
  void start_concealment();
  int16_t next_sample();
  void append_history(std::span<const int16_t> x);

  size_t min_lag_, max_lag_, window_;
  size_t hold_samples_, fade_samples_, cross_fade_samples_;
  std::vector<int16_t> history_;   // the newest samples, oldest first
  std::vector<int16_t> template_;  // one pitch period taken when a loss starts
  size_t period_ = 0;
  size_t pos_ = 0;                 // position in template_
  size_t concealed_ = 0;           // samples generated in this loss
  bool concealing_ = false;
};

}  // namespace sipmix::audio
