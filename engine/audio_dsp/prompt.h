// Announcement prompts ("you are muted" / "you are unmuted"): loaded from WAV
// and resampled to the 48 kHz mix rate at configuration, then played to one
// leg in 20 ms chunks by a PromptPlayer. Prompts are immutable after load and
// may be shared by many players; their owner (the session) must keep them
// alive while any player plays them. A PromptPlayer is used on the tick thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "audio_dsp/resampler.h"
#include "sipmix/status.h"

namespace sipmix::audio {

inline constexpr int kPromptRateHz = 48000;
inline constexpr size_t kPromptFrameSamples = 960;  // 20 ms at 48 kHz

// Debian package asterisk-core-sounds-en-wav.
inline constexpr const char* kDefaultMutedPromptPath = "/usr/share/asterisk/sounds/en_US_f_Allison/conf-muted.wav";
inline constexpr const char* kDefaultUnmutedPromptPath =
    "/usr/share/asterisk/sounds/en_US_f_Allison/conf-unmuted.wav";

class Prompt {
 public:
  // Reads a PCM WAV (see wav_file.h) and resamples it to 48 kHz mono with the
  // filter delay removed. Errors name the path (see read_wav()).
  static StatusOr<Prompt> load(const std::string& path, int resampler_quality = Resampler::kDefaultQuality);
  // Same from samples in memory; `name` appears in errors and name().
  static StatusOr<Prompt> from_samples(std::span<const int16_t> samples, int sample_rate_hz, std::string name,
                                       int resampler_quality = Resampler::kDefaultQuality);

  std::span<const int16_t> samples() const { return samples_; }  // 48 kHz mono
  size_t frame_count() const { return (samples_.size() + kPromptFrameSamples - 1) / kPromptFrameSamples; }
  int64_t duration_ms() const { return static_cast<int64_t>(samples_.size()) * 1000 / kPromptRateHz; }
  const std::string& name() const { return name_; }
  int source_rate_hz() const { return source_rate_hz_; }

 private:
  Prompt(std::vector<int16_t> samples, std::string name, int source_rate_hz)
      : samples_(std::move(samples)), name_(std::move(name)), source_rate_hz_(source_rate_hz) {}

  std::vector<int16_t> samples_;
  std::string name_;
  int source_rate_hz_;
};

// Configurable prompt paths (the session configuration's fields).
struct MutePromptPaths {
  std::string muted = kDefaultMutedPromptPath;
  std::string unmuted = kDefaultUnmutedPromptPath;
};

struct MutePrompts {
  Prompt muted;
  Prompt unmuted;
};

// Loads both; the first failure is returned, naming its field and path.
StatusOr<MutePrompts> load_mute_prompts(const MutePromptPaths& paths,
                                        int resampler_quality = Resampler::kDefaultQuality);

// Plays one prompt at a time to one leg. start() with a new (or the same)
// prompt restarts from its beginning. No allocation.
class PromptPlayer {
 public:
  void start(const Prompt& prompt) {
    prompt_ = &prompt;
    pos_ = 0;
  }
  void stop() { prompt_ = nullptr; }
  bool playing() const { return prompt_ != nullptr; }
  const Prompt* current() const { return prompt_; }

  // Writes the next out.size() samples (normally kPromptFrameSamples) of the
  // prompt, zero-padded past its end, and returns true. Returns false with
  // `out` zeroed when nothing is playing. After the last chunk playing() is false.
  bool next_frame(std::span<int16_t> out);

 private:
  const Prompt* prompt_ = nullptr;
  size_t pos_ = 0;
};

}  // namespace sipmix::audio
