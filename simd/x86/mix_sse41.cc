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

}  // namespace sipmix::simd::sse41
