#include <algorithm>

#include "simd/mix.h"

namespace sipmix::simd::scalar {

void mix_accumulate_s16(int32_t* acc, const int16_t* src, size_t n) {
  for (size_t i = 0; i < n; ++i) acc[i] += src[i];
}

void mix_sub_s16(int32_t* dst, const int32_t* total, const int16_t* own, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = total[i] - own[i];
}

void mix_block_peaks_s32(uint32_t* peaks, const int32_t* src, size_t nblocks) {
  for (size_t b = 0; b < nblocks; ++b) {
    uint32_t m = 0;
    for (size_t i = 0; i < kMixPeakBlock; ++i) {
      const int32_t x = src[b * kMixPeakBlock + i];
      const uint32_t a = x < 0 ? 0u - static_cast<uint32_t>(x) : static_cast<uint32_t>(x);
      m = std::max(m, a);
    }
    peaks[b] = m;
  }
}

void mix_gain_s32_to_s16(int16_t* dst, const int32_t* src, size_t n, int32_t gain_q20, int32_t step_q20) {
  // 1.5 * 2^23: adding it rounds any |y| <= 2^22 to an integer, ties to even,
  // exactly as cvtps2dq does under the default rounding mode.
  constexpr float kRound = 12582912.0f;
  if (gain_q20 == kMixGainOne && step_q20 == 0) {
    // Unity: float(x) * 1 clamped and rounded is exactly int16 saturation
    // (|x| >= 2^24, where float(x) rounds, clamps either way).
    for (size_t i = 0; i < n; ++i) dst[i] = static_cast<int16_t>(std::clamp(src[i], -32768, 32767));
    return;
  }
  int32_t g = gain_q20;
  for (size_t i = 0; i < n; ++i, g += step_q20) {
    const float gf = static_cast<float>(g) * 0x1p-20f;
    float y = static_cast<float>(src[i]) * gf;
    y = std::min(std::max(y, -32768.0f), 32767.0f);
    const float r = (y + kRound) - kRound;
    dst[i] = static_cast<int16_t>(r);
  }
}

}  // namespace sipmix::simd::scalar
