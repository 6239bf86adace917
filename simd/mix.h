// Audio mixing kernels and their dispatch table. Every slot has a scalar
// reference in simd/scalar/ that is its specification; the x86 versions in
// simd/x86/ are checked against it by tests/simd (checksimd).
// Tables are filled once at init and then only read (any thread).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sipmix::simd {

// Samples per block of mix_block_peaks_s32 (0.67 ms at 48 kHz): the limiter's
// gain is computed once per block and ramped linearly across it.
inline constexpr size_t kMixPeakBlock = 32;
// Unity of the Q20 gains taken by mix_gain_s32_to_s16.
inline constexpr int32_t kMixGainOne = 1 << 20;

// acc[i] += src[i], int16 samples widened to int32 (no saturation).
using MixAccumulateS16Fn = void (*)(int32_t* acc, const int16_t* src, size_t n);
// dst[i] = total[i] - own[i]: one leg's N-1 mix from the total. dst may be total.
using MixSubS16Fn = void (*)(int32_t* dst, const int32_t* total, const int16_t* own, size_t n);
// peaks[b] = max |src[i]| over block b (kMixPeakBlock samples), as uint32 so
// that |INT32_MIN| = 2^31 is exact. Whole blocks only.
using MixBlockPeaksS32Fn = void (*)(uint32_t* peaks, const int32_t* src, size_t nblocks);
// Limiter gain application. With g_i = gain_q20 + i * step_q20 (int32, the
// caller keeps every g_i in [0, kMixGainOne]):
//   y = float(src[i]) * (float(g_i) * 2^-20), clamped to [-32768, 32767],
//   dst[i] = y rounded to nearest, ties to even.
// Exact IEEE single operations, so every ISA gives the same bits. The clamp
// is only a safety net: the limiter chooses gains that keep y in range. At
// unity (gain kMixGainOne, step 0) the formula is exactly int16 saturation,
// which every version takes as its fast path.
using MixGainS32ToS16Fn = void (*)(int16_t* dst, const int32_t* src, size_t n, int32_t gain_q20,
                                   int32_t step_q20);

struct MixDsp {
  MixAccumulateS16Fn mix_accumulate_s16;
  MixSubS16Fn mix_sub_s16;
  MixBlockPeaksS32Fn mix_block_peaks_s32;
  MixGainS32ToS16Fn mix_gain_s32_to_s16;
};

// Fills `dsp` with scalar versions, then upgrades per ISA in ascending order
// for each flag present in `cpu_flags`.
void mix_dsp_init(MixDsp* dsp, uint32_t cpu_flags);
// Process-wide table for cpu_flags(), built on first use.
const MixDsp& mix_dsp();

namespace scalar {
void mix_accumulate_s16(int32_t* acc, const int16_t* src, size_t n);
void mix_sub_s16(int32_t* dst, const int32_t* total, const int16_t* own, size_t n);
void mix_block_peaks_s32(uint32_t* peaks, const int32_t* src, size_t nblocks);
void mix_gain_s32_to_s16(int16_t* dst, const int32_t* src, size_t n, int32_t gain_q20, int32_t step_q20);
}  // namespace scalar
// Whole vectors only: n % 8 == 0 (sse41), n % 16 == 0 (avx2). The table
// holds any-width wrappers around them.
namespace sse41 {
void mix_accumulate_s16(int32_t* acc, const int16_t* src, size_t n);
void mix_sub_s16(int32_t* dst, const int32_t* total, const int16_t* own, size_t n);
void mix_block_peaks_s32(uint32_t* peaks, const int32_t* src, size_t nblocks);
void mix_gain_s32_to_s16(int16_t* dst, const int32_t* src, size_t n, int32_t gain_q20, int32_t step_q20);
}  // namespace sse41
namespace avx2 {
void mix_accumulate_s16(int32_t* acc, const int16_t* src, size_t n);
void mix_sub_s16(int32_t* dst, const int32_t* total, const int16_t* own, size_t n);
void mix_block_peaks_s32(uint32_t* peaks, const int32_t* src, size_t nblocks);
void mix_gain_s32_to_s16(int16_t* dst, const int32_t* src, size_t n, int32_t gain_q20, int32_t step_q20);
}  // namespace avx2

}  // namespace sipmix::simd
