#include "simd/mix.h"

namespace sipmix::simd::scalar {

void mix_accumulate_s16(int32_t* acc, const int16_t* src, size_t n) {
  for (size_t i = 0; i < n; ++i) acc[i] += src[i];
}

}  // namespace sipmix::simd::scalar
