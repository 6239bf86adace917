// Signal measurements the tests judge output by: tone level (Goertzel), RMS,
// SNR, and plane PSNR. All levels are in dBFS relative to int16 full scale.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sipmix::testing {

// A sine of `freq_hz` at `level_dbfs` (peak), `n` samples at `rate_hz`.
std::vector<int16_t> sine(double freq_hz, double level_dbfs, int rate_hz, size_t n, double phase = 0);

// Level of the `freq_hz` component in dBFS (a full-scale sine reads 0 dBFS),
// by Goertzel over the whole span with a Hann window.
double tone_dbfs(std::span<const int16_t> x, double freq_hz, int rate_hz);
double tone_dbfs(std::span<const float> x, double freq_hz, int rate_hz);  // x in [-1, 1]

// RMS level in dBFS (a full-scale sine reads -3.01 dBFS). -200 for silence.
double rms_dbfs(std::span<const int16_t> x);

// SNR of `test` against `ref` in dB after the best integer delay in
// [0, max_delay] (test lags ref) and a least-squares gain.
double snr_db(std::span<const int16_t> ref, std::span<const int16_t> test, size_t max_delay = 0,
              size_t* best_delay = nullptr);

// PSNR of two 8-bit planes of the same size (inf -> 99).
double psnr(const uint8_t* a, int a_stride, const uint8_t* b, int b_stride, int width, int height);

}  // namespace sipmix::testing
