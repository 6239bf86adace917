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

}  // namespace sipmix::simd::avx2
