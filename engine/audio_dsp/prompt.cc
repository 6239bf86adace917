#include "audio_dsp/prompt.h"

#include <algorithm>
#include <cstring>

#include "audio_dsp/wav_file.h"

namespace sipmix::audio {

StatusOr<Prompt> Prompt::from_samples(std::span<const int16_t> in, int sample_rate_hz, std::string name,
                                      int resampler_quality) {
  if (in.empty()) return invalid_argument("prompt '" + name + "': no audio samples");
  constexpr size_t kChunk = 4096;
  auto rs = Resampler::create(sample_rate_hz, kPromptRateHz, resampler_quality, kChunk);
  if (!rs.ok()) return invalid_argument("prompt '" + name + "': " + rs.status().message());

  const size_t want = static_cast<size_t>((static_cast<uint64_t>(in.size()) * kPromptRateHz + sample_rate_hz - 1) /
                                          static_cast<uint64_t>(sample_rate_hz));
  const size_t skip = static_cast<size_t>(rs->output_latency_samples());
  std::vector<int16_t> out;
  out.reserve(want + skip + rs->max_output_samples());
  std::vector<int16_t> buf(rs->max_output_samples());
  // Feed the audio, then zeros until the filter delay has flushed out the tail.
  const std::vector<int16_t> zeros(kChunk, 0);
  size_t pos = 0;
  while (out.size() < want + skip) {
    std::span<const int16_t> chunk;
    if (pos < in.size()) {
      chunk = in.subspan(pos, std::min(kChunk, in.size() - pos));
      pos += chunk.size();
    } else {
      chunk = zeros;
    }
    const size_t n = rs->process(chunk, buf);
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
  std::vector<int16_t> samples(out.begin() + static_cast<std::ptrdiff_t>(skip),
                               out.begin() + static_cast<std::ptrdiff_t>(skip + want));
  return Prompt(std::move(samples), std::move(name), sample_rate_hz);
}

StatusOr<Prompt> Prompt::load(const std::string& path, int resampler_quality) {
  auto wav = read_wav(path);
  if (!wav.ok()) return wav.status();
  return from_samples(wav->samples, wav->sample_rate_hz, path, resampler_quality);
}

StatusOr<MutePrompts> load_mute_prompts(const MutePromptPaths& paths, int resampler_quality) {
  auto muted = Prompt::load(paths.muted, resampler_quality);
  if (!muted.ok()) return Status(muted.status().code(), "muted prompt: " + muted.status().message());
  auto unmuted = Prompt::load(paths.unmuted, resampler_quality);
  if (!unmuted.ok()) return Status(unmuted.status().code(), "unmuted prompt: " + unmuted.status().message());
  return MutePrompts{std::move(muted).value(), std::move(unmuted).value()};
}

bool PromptPlayer::next_frame(std::span<int16_t> out) {
  if (prompt_ == nullptr) {
    std::fill(out.begin(), out.end(), int16_t{0});
    return false;
  }
  const std::span<const int16_t> s = prompt_->samples();
  const size_t n = std::min(out.size(), s.size() - pos_);
  if (n > 0) std::memcpy(out.data(), s.data() + pos_, n * sizeof(int16_t));
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(n), out.end(), int16_t{0});
  pos_ += n;
  if (pos_ >= s.size()) prompt_ = nullptr;
  return true;
}

}  // namespace sipmix::audio
