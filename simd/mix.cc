#include "simd/mix.h"

#include <cstring>

#include "simd/any.h"
#include "simd/cpu.h"

namespace sipmix::simd {
namespace {

// Any-width adaptors for the kernels whose shape any.h does not cover: the
// whole-vector part runs in place, the tail through padded stack buffers.
template <size_t kStep, void (*Kernel)(int32_t*, const int32_t*, const int16_t*, size_t)>
void any_sub(int32_t* dst, const int32_t* total, const int16_t* own, size_t n) {
  const size_t whole = n - n % kStep;
  if (whole) Kernel(dst, total, own, whole);
  const size_t rest = n - whole;
  if (!rest) return;
  alignas(64) int32_t d[kStep] = {};
  alignas(64) int32_t t[kStep] = {};
  alignas(64) int16_t o[kStep] = {};
  std::memcpy(t, total + whole, rest * sizeof(int32_t));
  std::memcpy(o, own + whole, rest * sizeof(int16_t));
  Kernel(d, t, o, kStep);
  std::memcpy(dst + whole, d, rest * sizeof(int32_t));
}

template <size_t kStep, void (*Kernel)(int16_t*, const int32_t*, size_t, int32_t, int32_t)>
void any_gain(int16_t* dst, const int32_t* src, size_t n, int32_t gain_q20, int32_t step_q20) {
  const size_t whole = n - n % kStep;
  if (whole) Kernel(dst, src, whole, gain_q20, step_q20);
  const size_t rest = n - whole;
  if (!rest) return;
  alignas(64) int16_t d[kStep] = {};
  alignas(64) int32_t s[kStep] = {};
  std::memcpy(s, src + whole, rest * sizeof(int32_t));
  // Padding lanes continue the ramp past the caller's range; their samples
  // are zero, so their gains do not matter.
  const int32_t g_tail = gain_q20 + static_cast<int32_t>(whole) * step_q20;
  Kernel(d, s, kStep, g_tail, step_q20);
  std::memcpy(dst + whole, d, rest * sizeof(int16_t));
}

}  // namespace

void mix_dsp_init(MixDsp* dsp, uint32_t flags) {
  dsp->mix_accumulate_s16 = scalar::mix_accumulate_s16;
  dsp->mix_sub_s16 = scalar::mix_sub_s16;
  dsp->mix_block_peaks_s32 = scalar::mix_block_peaks_s32;
  dsp->mix_gain_s32_to_s16 = scalar::mix_gain_s32_to_s16;
#if defined(SIPMIX_HAVE_X86_SIMD)
  if (!(flags & kCpuSse41)) return;
  dsp->mix_accumulate_s16 = any_accumulate<8, int32_t, int16_t, sse41::mix_accumulate_s16>;
  dsp->mix_sub_s16 = any_sub<8, sse41::mix_sub_s16>;
  dsp->mix_block_peaks_s32 = sse41::mix_block_peaks_s32;
  dsp->mix_gain_s32_to_s16 = any_gain<8, sse41::mix_gain_s32_to_s16>;
  if (!(flags & kCpuAvx2)) return;
  dsp->mix_accumulate_s16 = any_accumulate<16, int32_t, int16_t, avx2::mix_accumulate_s16>;
  dsp->mix_sub_s16 = any_sub<16, avx2::mix_sub_s16>;
  dsp->mix_block_peaks_s32 = avx2::mix_block_peaks_s32;
  dsp->mix_gain_s32_to_s16 = any_gain<16, avx2::mix_gain_s32_to_s16>;
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
