// Demo sources for `sipmix-replay --demo`: recognisable video (a distinct
// background colour per participant, a big label, a moving bar and a frame
// counter) and audio (a distinct tone, or a looped speech file) for
// participant k. Output is raw I420 / 48 kHz mono int16; encoding is the
// caller's. One object per participant, used by one thread; it owns its frame.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sipmix/picture.h"
#include "sipmix/status.h"
#include "tools/replay/font.h"
#include "tools/replay/picture.h"

namespace sipmix::replay {

// Background colour of participant k (k >= 0; distinct for k < 12, then cycles).
Rgb participant_colour(int k);
// Tone of participant k: 300 + 150 * k Hz.
double participant_tone_hz(int k);

class VideoSynth {
 public:
  // `label` is drawn as large as fits (e.g. "P3" or a name). Sizes are rounded
  // up to even.
  VideoSynth(int participant, std::string label, int width, int height);

  // Draws frame `frame_index` (the bar's position and the counter follow it)
  // and returns a view of it, valid until the next call.
  PictureView render(int64_t frame_index);
  int participant() const { return participant_; }
  Rgb background() const { return background_; }
  int width() const { return frame_.width(); }
  int height() const { return frame_.height(); }

 private:
  int participant_;
  std::string label_;
  Rgb background_;
  Yuv bg_yuv_;
  Picture frame_;
};

class AudioSynth {
 public:
  static constexpr int kSampleRateHz = 48000;
  static constexpr int kFrameSamples = 960;  // 20 ms

  // A sine of participant_tone_hz(k) at `level_dbfs` (peak; -20 by default).
  static AudioSynth tone(int participant, double level_dbfs = -20.0);
  static AudioSynth tone_hz(double freq_hz, double level_dbfs);
  // A speech file (any format MediaReader reads), looped, resampled to 48 kHz
  // mono, with `gap_ms` of silence between repetitions. Errors name the path.
  static StatusOr<AudioSynth> looped_file(const std::string& path, int gap_ms = 500);

  // Fills the next 20 ms.
  void next_frame(std::span<int16_t, kFrameSamples> out);
  double freq_hz() const { return freq_hz_; }  // 0 for a file source

 private:
  AudioSynth() = default;
  double freq_hz_ = 0;
  double amplitude_ = 0;
  double phase_ = 0, phase_step_ = 0;
  std::vector<int16_t> loop_;
  size_t loop_pos_ = 0;
};

}  // namespace sipmix::replay
