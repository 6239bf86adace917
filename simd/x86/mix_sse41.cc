#include <smmintrin.h>

#include "simd/mix.h"

namespace sipmix::simd::sse41 {

void mix_accumulate_s16(int32_t* acc, const int16_t* src, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m128i lo = _mm_cvtepi16_epi32(s);
    const __m128i hi = _mm_cvtepi16_epi32(_mm_srli_si128(s, 8));
    __m128i* a = reinterpret_cast<__m128i*>(acc + i);
    _mm_storeu_si128(a, _mm_add_epi32(_mm_loadu_si128(a), lo));
    _mm_storeu_si128(a + 1, _mm_add_epi32(_mm_loadu_si128(a + 1), hi));
  }
}

void mix_sub_s16(int32_t* dst, const int32_t* total, const int16_t* own, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    const __m128i o = _mm_loadu_si128(reinterpret_cast<const __m128i*>(own + i));
    const __m128i lo = _mm_cvtepi16_epi32(o);
    const __m128i hi = _mm_cvtepi16_epi32(_mm_srli_si128(o, 8));
    const __m128i* t = reinterpret_cast<const __m128i*>(total + i);
    const __m128i t0 = _mm_loadu_si128(t);
    const __m128i t1 = _mm_loadu_si128(t + 1);
    __m128i* d = reinterpret_cast<__m128i*>(dst + i);
    _mm_storeu_si128(d, _mm_sub_epi32(t0, lo));
    _mm_storeu_si128(d + 1, _mm_sub_epi32(t1, hi));
  }
}

void mix_block_peaks_s32(uint32_t* peaks, const int32_t* src, size_t nblocks) {
  static_assert(kMixPeakBlock == 32);
  for (size_t b = 0; b < nblocks; ++b) {
    const __m128i* s = reinterpret_cast<const __m128i*>(src + b * kMixPeakBlock);
    // abs(INT32_MIN) stays 0x80000000, which read as unsigned is exact.
    __m128i m0 = _mm_max_epu32(_mm_abs_epi32(_mm_loadu_si128(s + 0)), _mm_abs_epi32(_mm_loadu_si128(s + 1)));
    __m128i m1 = _mm_max_epu32(_mm_abs_epi32(_mm_loadu_si128(s + 2)), _mm_abs_epi32(_mm_loadu_si128(s + 3)));
    __m128i m2 = _mm_max_epu32(_mm_abs_epi32(_mm_loadu_si128(s + 4)), _mm_abs_epi32(_mm_loadu_si128(s + 5)));
    __m128i m3 = _mm_max_epu32(_mm_abs_epi32(_mm_loadu_si128(s + 6)), _mm_abs_epi32(_mm_loadu_si128(s + 7)));
    __m128i m = _mm_max_epu32(_mm_max_epu32(m0, m1), _mm_max_epu32(m2, m3));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0x4E));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0xB1));
    peaks[b] = static_cast<uint32_t>(_mm_cvtsi128_si32(m));
  }
}

void mix_gain_s32_to_s16(int16_t* dst, const int32_t* src, size_t n, int32_t gain_q20, int32_t step_q20) {
  if (gain_q20 == kMixGainOne && step_q20 == 0) {  // unity: exactly a saturating pack
    for (size_t i = 0; i < n; i += 8) {
      const __m128i* s = reinterpret_cast<const __m128i*>(src + i);
      const __m128i r = _mm_packs_epi32(_mm_loadu_si128(s), _mm_loadu_si128(s + 1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), r);
    }
    return;
  }
  const __m128i step = _mm_set1_epi32(step_q20);
  __m128i g = _mm_add_epi32(_mm_set1_epi32(gain_q20), _mm_mullo_epi32(_mm_setr_epi32(0, 1, 2, 3), step));
  const __m128i step4 = _mm_slli_epi32(step, 2);
  const __m128 scale = _mm_set1_ps(0x1p-20f);
  const __m128 lo = _mm_set1_ps(-32768.0f);
  const __m128 hi = _mm_set1_ps(32767.0f);
  for (size_t i = 0; i < n; i += 8) {
    const __m128i* s = reinterpret_cast<const __m128i*>(src + i);
    const __m128 g0 = _mm_mul_ps(_mm_cvtepi32_ps(g), scale);
    g = _mm_add_epi32(g, step4);
    const __m128 g1 = _mm_mul_ps(_mm_cvtepi32_ps(g), scale);
    g = _mm_add_epi32(g, step4);
    __m128 y0 = _mm_mul_ps(_mm_cvtepi32_ps(_mm_loadu_si128(s)), g0);
    __m128 y1 = _mm_mul_ps(_mm_cvtepi32_ps(_mm_loadu_si128(s + 1)), g1);
    y0 = _mm_min_ps(_mm_max_ps(y0, lo), hi);
    y1 = _mm_min_ps(_mm_max_ps(y1, lo), hi);
    const __m128i r = _mm_packs_epi32(_mm_cvtps_epi32(y0), _mm_cvtps_epi32(y1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), r);
  }
}

}  // namespace sipmix::simd::sse41
