#include <immintrin.h>

#include "simd/mix.h"

namespace sipmix::simd::avx2 {

void mix_accumulate_s16(int32_t* acc, const int16_t* src, size_t n) {
  for (size_t i = 0; i < n; i += 16) {
    const __m256i s = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    const __m256i lo = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(s));
    const __m256i hi = _mm256_cvtepi16_epi32(_mm256_extracti128_si256(s, 1));
    __m256i* a = reinterpret_cast<__m256i*>(acc + i);
    _mm256_storeu_si256(a, _mm256_add_epi32(_mm256_loadu_si256(a), lo));
    _mm256_storeu_si256(a + 1, _mm256_add_epi32(_mm256_loadu_si256(a + 1), hi));
  }
}

void mix_sub_s16(int32_t* dst, const int32_t* total, const int16_t* own, size_t n) {
  for (size_t i = 0; i < n; i += 16) {
    const __m128i* o = reinterpret_cast<const __m128i*>(own + i);
    const __m256i lo = _mm256_cvtepi16_epi32(_mm_loadu_si128(o));
    const __m256i hi = _mm256_cvtepi16_epi32(_mm_loadu_si128(o + 1));
    const __m256i* t = reinterpret_cast<const __m256i*>(total + i);
    const __m256i t0 = _mm256_loadu_si256(t);
    const __m256i t1 = _mm256_loadu_si256(t + 1);
    __m256i* d = reinterpret_cast<__m256i*>(dst + i);
    _mm256_storeu_si256(d, _mm256_sub_epi32(t0, lo));
    _mm256_storeu_si256(d + 1, _mm256_sub_epi32(t1, hi));
  }
}

void mix_block_peaks_s32(uint32_t* peaks, const int32_t* src, size_t nblocks) {
  static_assert(kMixPeakBlock == 32);
  for (size_t b = 0; b < nblocks; ++b) {
    const __m256i* s = reinterpret_cast<const __m256i*>(src + b * kMixPeakBlock);
    // abs(INT32_MIN) stays 0x80000000, which read as unsigned is exact.
    const __m256i m0 =
        _mm256_max_epu32(_mm256_abs_epi32(_mm256_loadu_si256(s + 0)), _mm256_abs_epi32(_mm256_loadu_si256(s + 1)));
    const __m256i m1 =
        _mm256_max_epu32(_mm256_abs_epi32(_mm256_loadu_si256(s + 2)), _mm256_abs_epi32(_mm256_loadu_si256(s + 3)));
    const __m256i m2 = _mm256_max_epu32(m0, m1);
    __m128i m = _mm_max_epu32(_mm256_castsi256_si128(m2), _mm256_extracti128_si256(m2, 1));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0x4E));
    m = _mm_max_epu32(m, _mm_shuffle_epi32(m, 0xB1));
    peaks[b] = static_cast<uint32_t>(_mm_cvtsi128_si32(m));
  }
}

void mix_gain_s32_to_s16(int16_t* dst, const int32_t* src, size_t n, int32_t gain_q20, int32_t step_q20) {
  if (gain_q20 == kMixGainOne && step_q20 == 0) {  // unity: exactly a saturating pack
    for (size_t i = 0; i < n; i += 16) {
      const __m256i* s = reinterpret_cast<const __m256i*>(src + i);
      const __m256i p = _mm256_packs_epi32(_mm256_loadu_si256(s), _mm256_loadu_si256(s + 1));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_permute4x64_epi64(p, 0xD8));
    }
    return;
  }
  const __m256i step = _mm256_set1_epi32(step_q20);
  __m256i g = _mm256_add_epi32(_mm256_set1_epi32(gain_q20),
                               _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), step));
  const __m256i step8 = _mm256_slli_epi32(step, 3);
  const __m256 scale = _mm256_set1_ps(0x1p-20f);
  const __m256 lo = _mm256_set1_ps(-32768.0f);
  const __m256 hi = _mm256_set1_ps(32767.0f);
  for (size_t i = 0; i < n; i += 16) {
    const __m256i* s = reinterpret_cast<const __m256i*>(src + i);
    // Explicit multiplies and a clamp between them and the rounding: nothing
    // here can be contracted into an FMA, so the result matches the scalar.
    const __m256 g0 = _mm256_mul_ps(_mm256_cvtepi32_ps(g), scale);
    g = _mm256_add_epi32(g, step8);
    const __m256 g1 = _mm256_mul_ps(_mm256_cvtepi32_ps(g), scale);
    g = _mm256_add_epi32(g, step8);
    __m256 y0 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256(s)), g0);
    __m256 y1 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256(s + 1)), g1);
    y0 = _mm256_min_ps(_mm256_max_ps(y0, lo), hi);
    y1 = _mm256_min_ps(_mm256_max_ps(y1, lo), hi);
    // packs works per 128-bit lane: [y0 lo, y1 lo, y0 hi, y1 hi] -> reorder.
    const __m256i p = _mm256_packs_epi32(_mm256_cvtps_epi32(y0), _mm256_cvtps_epi32(y1));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_permute4x64_epi64(p, 0xD8));
  }
}

}  // namespace sipmix::simd::avx2
