#include "audio_dsp/resampler.h"

#include <speex/speex_resampler.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace sipmix::audio {

namespace {
bool valid_rate(int hz) { return hz >= 8000 && hz <= 192000; }
}  // namespace

StatusOr<Resampler> Resampler::create(int in_rate_hz, int out_rate_hz, int quality, size_t max_input_samples) {
  if (!valid_rate(in_rate_hz))
    return invalid_argument("resampler: in_rate_hz must be in [8000, 192000], got " + std::to_string(in_rate_hz));
  if (!valid_rate(out_rate_hz))
    return invalid_argument("resampler: out_rate_hz must be in [8000, 192000], got " + std::to_string(out_rate_hz));
  if (quality < kMinQuality || quality > kMaxQuality)
    return invalid_argument("resampler: quality must be in [3, 10], got " + std::to_string(quality));
  if (max_input_samples == 0 || max_input_samples > (1u << 20))
    return invalid_argument("resampler: max_input_samples must be in [1, 1048576], got " +
                            std::to_string(max_input_samples));
  SpeexResamplerState* st = nullptr;
  if (in_rate_hz != out_rate_hz) {
    int err = RESAMPLER_ERR_SUCCESS;
    st = speex_resampler_init(1, static_cast<spx_uint32_t>(in_rate_hz), static_cast<spx_uint32_t>(out_rate_hz),
                              quality, &err);
    if (st == nullptr || err != RESAMPLER_ERR_SUCCESS) {
      return unavailable(std::string("resampler: speex_resampler_init failed: ") + speex_resampler_strerror(err));
    }
  }
  return Resampler(st, in_rate_hz, out_rate_hz, quality, max_input_samples);
}

Resampler::Resampler(SpeexResamplerState* st, int in_rate_hz, int out_rate_hz, int quality, size_t max_input_samples)
    : st_(st),
      in_rate_hz_(in_rate_hz),
      out_rate_hz_(out_rate_hz),
      quality_(quality),
      max_input_samples_(max_input_samples),
      // Speex may emit one sample more than the exact ratio on a call after a
      // fractional remainder; leave room for it.
      max_output_samples_((max_input_samples * static_cast<size_t>(out_rate_hz) + in_rate_hz - 1) /
                              static_cast<size_t>(in_rate_hz) + 2) {}

Resampler::Resampler(Resampler&& o) noexcept
    : st_(std::exchange(o.st_, nullptr)),
      in_rate_hz_(o.in_rate_hz_),
      out_rate_hz_(o.out_rate_hz_),
      quality_(o.quality_),
      max_input_samples_(o.max_input_samples_),
      max_output_samples_(o.max_output_samples_) {}

Resampler& Resampler::operator=(Resampler&& o) noexcept {
  std::swap(st_, o.st_);
  in_rate_hz_ = o.in_rate_hz_;
  out_rate_hz_ = o.out_rate_hz_;
  quality_ = o.quality_;
  max_input_samples_ = o.max_input_samples_;
  max_output_samples_ = o.max_output_samples_;
  return *this;
}

Resampler::~Resampler() {
  if (st_ != nullptr) speex_resampler_destroy(st_);
}

void Resampler::reset() {
  if (st_ != nullptr) speex_resampler_reset_mem(st_);
}

int Resampler::output_latency_samples() const { return st_ != nullptr ? speex_resampler_get_output_latency(st_) : 0; }

size_t Resampler::process(std::span<const int16_t> in, std::span<int16_t> out) {
  const size_t n_in = std::min(in.size(), max_input_samples_);
  if (st_ == nullptr) {
    const size_t n = std::min(n_in, out.size());
    if (n > 0) std::memcpy(out.data(), in.data(), n * sizeof(int16_t));
    return n;
  }
  spx_uint32_t in_len = static_cast<spx_uint32_t>(n_in);
  spx_uint32_t out_len = static_cast<spx_uint32_t>(std::min(out.size(), max_output_samples_));
  speex_resampler_process_int(st_, 0, in.data(), &in_len, out.data(), &out_len);
  return out_len;
}

}  // namespace sipmix::audio
