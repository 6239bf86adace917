// Int16 mono sample-rate conversion through SpeexDSP, e.g. 8/16 kHz codec
// audio <-> the 48 kHz mix. One per stream direction, tick thread only. The
// filter keeps its history across calls, so consecutive 20 ms frames join
// seamlessly. State is allocated in create(); process() allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "sipmix/status.h"

struct SpeexResamplerState_;  // speexdsp

namespace sipmix::audio {

class Resampler {
 public:
  static constexpr int kDefaultQuality = 5;  // speexdsp 0..10; ours must be >= 3
  static constexpr int kMinQuality = 3;
  static constexpr int kMaxQuality = 10;
  static constexpr size_t kDefaultMaxInputSamples = 5760;  // 120 ms at 48 kHz

  // Rates in [8000, 192000]. Equal rates give a plain copy. Errors name the bad field.
  static StatusOr<Resampler> create(int in_rate_hz, int out_rate_hz, int quality = kDefaultQuality,
                                    size_t max_input_samples = kDefaultMaxInputSamples);

  Resampler(Resampler&& other) noexcept;
  Resampler& operator=(Resampler&& other) noexcept;
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;
  ~Resampler();

  // Converts `in` (at most max_input_samples()) into `out`, which must hold
  // max_output_samples(). Returns the samples written: exactly
  // in.size() * out_rate / in_rate for whole 20 ms frames between the codec
  // rates and 48 kHz. Oversized input is truncated to max_input_samples().
  size_t process(std::span<const int16_t> in, std::span<int16_t> out);

  // Clears the filter history (new stream); keeps rates and quality.
  void reset();

  int in_rate_hz() const { return in_rate_hz_; }
  int out_rate_hz() const { return out_rate_hz_; }
  int quality() const { return quality_; }
  size_t max_input_samples() const { return max_input_samples_; }
  size_t max_output_samples() const { return max_output_samples_; }
  // Filter delay, in output samples (0 for a copy).
  int output_latency_samples() const;

 private:
  Resampler(SpeexResamplerState_* st, int in_rate_hz, int out_rate_hz, int quality, size_t max_input_samples);

  SpeexResamplerState_* st_ = nullptr;  // null when rates are equal
  int in_rate_hz_ = 0;
  int out_rate_hz_ = 0;
  int quality_ = 0;
  size_t max_input_samples_ = 0;
  size_t max_output_samples_ = 0;
};

}  // namespace sipmix::audio
