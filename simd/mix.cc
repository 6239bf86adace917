#include "simd/mix.h"

#include "simd/any.h"
#include "simd/cpu.h"

namespace sipmix::simd {

void mix_dsp_init(MixDsp* dsp, uint32_t flags) {
  dsp->mix_accumulate_s16 = scalar::mix_accumulate_s16;
#if defined(SIPMIX_HAVE_X86_SIMD)
  if (!(flags & kCpuSse41)) return;
  dsp->mix_accumulate_s16 = any_accumulate<8, int32_t, int16_t, sse41::mix_accumulate_s16>;
  if (!(flags & kCpuAvx2)) return;
  dsp->mix_accumulate_s16 = any_accumulate<16, int32_t, int16_t, avx2::mix_accumulate_s16>;
#else
  (void)flags;
#endif
}

const MixDsp& mix_dsp() {
  static const MixDsp dsp = [] {
    MixDsp d;
    mix_dsp_init(&d, cpu_flags());
    return d;
  }();
  return dsp;
}

}  // namespace sipmix::simd
