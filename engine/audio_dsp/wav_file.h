// PCM WAV reading (8/16-bit, mono/stereo, any rate -> mono int16) for
// announcement prompts and test material, plus a 16-bit mono writer.
// Configuration time only (reads whole files, allocates); any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sipmix/status.h"

namespace sipmix::audio {

struct WavAudio {
  int sample_rate_hz = 0;
  int channels = 0;             // in the file; samples below are always mono
  int bits_per_sample = 0;      // in the file: 8 or 16
  std::vector<int16_t> samples; // mono: stereo is averaged, 8-bit scaled to 16
};

// Files larger than this are refused (a prompt is seconds long).
inline constexpr size_t kMaxWavFileBytes = 64u << 20;

// Errors name the path: kNotFound (missing), kUnavailable (unreadable, a
// directory, too large), kInvalidArgument (not RIFF/WAVE, truncated header,
// unsupported format such as float, 24-bit, more than 2 channels, no data).
StatusOr<WavAudio> read_wav(const std::string& path);

// Same, from bytes in memory; `name` stands for the path in errors.
StatusOr<WavAudio> parse_wav(std::span<const uint8_t> bytes, const std::string& name);

// Writes a canonical 44-byte-header 16-bit mono PCM WAV.
Status write_wav(const std::string& path, int sample_rate_hz, std::span<const int16_t> samples);

}  // namespace sipmix::audio
