#include "tools/replay/synth.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

#include "tools/replay/font.h"
#include "tools/replay/media_reader.h"

namespace sipmix::replay {
namespace {

// Well separated hues, mid brightness so white labels stay readable.
constexpr Rgb kPalette[12] = {
    {200, 40, 40},  {40, 150, 60},  {40, 80, 200},  {200, 140, 20}, {140, 50, 170}, {20, 150, 160},
    {190, 60, 130}, {100, 120, 30}, {90, 90, 90},   {160, 90, 40},  {60, 40, 120},  {30, 110, 110},
};

void fill_rect(const MutablePictureView& f, int x, int y, int w, int h, Yuv c) {
  const int x0 = std::clamp(x, 0, f.width), x1 = std::clamp(x + w, 0, f.width);
  const int y0 = std::clamp(y, 0, f.height), y1 = std::clamp(y + h, 0, f.height);
  if (x1 <= x0 || y1 <= y0) return;
  for (int yy = y0; yy < y1; ++yy) std::memset(f.y + static_cast<ptrdiff_t>(yy) * f.stride_y + x0, c.y, x1 - x0);
  for (int yy = y0 / 2; yy < (y1 + 1) / 2; ++yy) {
    std::memset(f.u + static_cast<ptrdiff_t>(yy) * f.stride_u + x0 / 2, c.u, (x1 + 1) / 2 - x0 / 2);
    std::memset(f.v + static_cast<ptrdiff_t>(yy) * f.stride_v + x0 / 2, c.v, (x1 + 1) / 2 - x0 / 2);
  }
}

}  // namespace

Rgb participant_colour(int k) { return kPalette[((k % 12) + 12) % 12]; }
double participant_tone_hz(int k) { return 300.0 + 150.0 * k; }

VideoSynth::VideoSynth(int participant, std::string label, int width, int height)
    : participant_(participant), label_(std::move(label)), background_(participant_colour(participant)),
      bg_yuv_(rgb_to_yuv(background_)), frame_(std::max(2, (width + 1) & ~1), std::max(2, (height + 1) & ~1)) {}

PictureView VideoSynth::render(int64_t frame_index) {
  const MutablePictureView f = frame_.mutable_view();
  const int w = f.width, h = f.height;
  fill_rect(f, 0, 0, w, h, bg_yuv_);
  const Yuv white = rgb_to_yuv({255, 255, 255});
  const Yuv dark = rgb_to_yuv({20, 20, 20});

  // Big label, centred: as large as fits in 80 % of the width and half the height.
  const int label_w1 = std::max(text_width(label_), 1);
  const int scale = std::max(1, std::min(w * 8 / 10 / label_w1, h / 2 / kGlyphHeight));
  const int lx = (w - text_width(label_, scale)) / 2;
  const int ly = (h - text_height(scale)) / 2 - h / 10;
  draw_text(f, lx + std::max(1, scale / 8), ly + std::max(1, scale / 8), label_, dark, scale);  // shadow
  draw_text(f, lx, ly, label_, white, scale);

  // A bar sweeping left to right across the lower part, once every 2 s at 30 fps.
  const int bar_w = std::max(2, w / 16);
  const int bar_h = std::max(2, h / 12);
  const int travel = std::max(1, w - bar_w);
  const int64_t period = 60;
  const int64_t phase = ((frame_index % period) + period) % period;
  const int bx = static_cast<int>(phase * travel / (period - 1));
  fill_rect(f, 0, h - bar_h - h / 20, w, bar_h, dark);
  fill_rect(f, bx, h - bar_h - h / 20, bar_w, bar_h, white);

  // Frame counter in the top-left corner.
  const int small = std::max(1, h / 120);
  const std::string counter = "#" + std::to_string(frame_index);
  draw_text(f, 4 * small, 4 * small, counter, white, small);
  return frame_.view();
}

AudioSynth AudioSynth::tone_hz(double freq_hz, double level_dbfs) {
  AudioSynth a;
  a.freq_hz_ = freq_hz;
  a.amplitude_ = 32767.0 * std::pow(10.0, level_dbfs / 20.0);
  a.phase_step_ = 2.0 * std::numbers::pi * freq_hz / kSampleRateHz;
  return a;
}

AudioSynth AudioSynth::tone(int participant, double level_dbfs) {
  return tone_hz(participant_tone_hz(participant), level_dbfs);
}

StatusOr<AudioSynth> AudioSynth::looped_file(const std::string& path, int gap_ms) {
  auto samples = read_audio_file_48k_mono(path);
  if (!samples.ok()) return samples.status();
  AudioSynth a;
  a.loop_ = std::move(samples.value());
  a.loop_.resize(a.loop_.size() + static_cast<size_t>(std::max(gap_ms, 0)) * kSampleRateHz / 1000, 0);
  return a;
}

void AudioSynth::next_frame(std::span<int16_t, kFrameSamples> out) {
  if (!loop_.empty()) {
    for (int16_t& s : out) {
      s = loop_[loop_pos_];
      if (++loop_pos_ == loop_.size()) loop_pos_ = 0;
    }
    return;
  }
  for (int16_t& s : out) {
    s = static_cast<int16_t>(std::lround(amplitude_ * std::sin(phase_)));
    phase_ += phase_step_;
  }
  phase_ = std::fmod(phase_, 2.0 * std::numbers::pi);
}

}  // namespace sipmix::replay
