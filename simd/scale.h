// 8-bit plane scaling row kernels and their dispatch table (used by the video
// compositor). Every slot has a scalar reference in simd/scalar/scale_c.cc that
// is its specification; simd/x86 versions are bit-exact to it (checksimd).
// Kernels write one output row; the caller owns every buffer. Tables are
// filled once at init and then only read (any thread).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sipmix::simd {

// Exact 2:1 box. dst[i] = (sum of the 2x2 block at src[2i] over rows src and
// src + src_stride + 2) >> 2. Reads 2 * dst_width bytes of 2 rows.
using ScaleRowDown2BoxFn = void (*)(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width);
// Exact 3:1 box. dst[i] = (s * 3641 + 16384) >> 15 where s is the sum of the
// 3x3 block at src[3i] (equals round(s / 9) for every possible s). Reads
// 3 * dst_width bytes of 3 rows.
using ScaleRowDown3BoxFn = void (*)(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width);
// Vertical bilinear pass: dst[i] = (src0[i] * (128 - f) + src1[i] * f + 64) >> 7,
// f = frac128 in [0, 127].
using ScaleInterpRowFn = void (*)(uint8_t* dst, const uint8_t* src0, const uint8_t* src1, int width, int frac128);
// Horizontal bilinear pass with a 16.16 position: for output i, x = x_q16 + i *
// dx_q16, k = x >> 16, f = (x >> 9) & 127,
// dst[i] = (src[k] * (128 - f) + src[k + 1] * f + 64) >> 7.
// x >= 0; src must be readable up to index (x_last >> 16) + 16 (padded row).
using ScaleFilterColsFn = void (*)(uint8_t* dst, const uint8_t* src, int dst_width, int32_t x_q16, int32_t dx_q16);
// Vertical area pass: acc[i] += src[i] * weight (weights of one output row sum
// to 256, so acc never exceeds 65280).
using ScaleAccumRowFn = void (*)(uint16_t* acc, const uint8_t* src, int width, int weight);
// Horizontal area pass over an accumulated row (values are pixel * 256). Output
// i covers [a, a + dx_q8) with a = x_q8 + i * dx_q8 in 1/256 pixel. Source pixel
// p = (a >> 8) + t, t in [0, taps) with taps = (dx_q8 + 255) / 256 + 1, gets the
// weight G(c_t) - G(c_{t-1}) where c_t = min(a + dx_q8, (p + 1) << 8) - a,
// c_{-1} = 0 and G(c) = c >= dx_q8 ? 256 : (c * (2^24 / dx_q8)) >> 16, so the
// weights of one output sum to exactly 256. dst[i] = (sum w * acc[p] + 32768) >> 16.
// 512 <= dx_q8 <= 8192 (2:1 to 32:1); acc must be readable (any value) up to
// index (a_last >> 8) + taps + 1.
using ScaleBoxColsFn = void (*)(uint8_t* dst, const uint16_t* acc, int dst_width, int32_t x_q8, int32_t dx_q8);
// Vertical 3:1 sum: sum[i] = src[i] + src[i + src_stride] + src[i + 2 * src_stride]
// (at most 765).
using ScaleSumRows3Fn = void (*)(uint16_t* sum, const uint8_t* src, ptrdiff_t src_stride, int width);

// A precomputed horizontal area filter of at most 4 taps per output (any
// ratio up to a little over 3:1, e.g. 1280 -> 426), applied to 16-bit sums.
// Outputs go in pairs; pair j reads the 8 sums at sum[offset[j]] ("window").
// Output 2j + h takes tap t from window element shuffle[16j + 8h + 2t] / 2
// (shuffle holds pshufb byte indexes: 2e, 2e + 1) with weight
// weight[8j + 4h + t] (int16, >= 0), and
// dst[2j + h] = (sum over t of weight * window[e] + 32768) >> 16.
struct ScaleCols4Plan {
  int dst_width = 0;
  const int32_t* offset = nullptr;  // (dst_width + 1) / 2 entries
  const uint8_t* shuffle = nullptr;  // 16 per pair, 16-byte aligned
  const int16_t* weight = nullptr;   // 8 per pair, 16-byte aligned
};
using ScaleCols4Fn = void (*)(uint8_t* dst, const uint16_t* sum, const ScaleCols4Plan& plan);

// Storage a ScaleCols4Plan for up to max_dst_width outputs needs (bytes,
// including alignment slack).
size_t scale_cols4_plan_bytes(int max_dst_width);
// Builds the exact area filter src_width -> dst_width for sums of 3 rows
// (scale_sum_rows3): source pixel p covers [p, p + 1), output i covers
// [i * r, (i + 1) * r), r = src_width / dst_width, in exact rational
// arithmetic. Weights are the cumulative coverage rounded to 1/21845
// (21845 = round(65536 / 3) folds in the 1/3 of the row sum), so each output's
// weights sum to exactly 21845 and a flat input gives back its value. Writes
// into `storage` (scale_cols4_plan_bytes(dst_width) bytes, any alignment).
// Returns false (plan untouched) when an output covers more than 4 pixels or
// a pair more than 8 (ratios above about 3:1 or below 1:1). The kernel reads
// sums up to index src_width + 6 (those get weight 0 but must be readable).
bool scale_cols4_plan(ScaleCols4Plan* plan, void* storage, int src_width, int dst_width);

struct ScaleDsp {
  ScaleRowDown2BoxFn scale_row_down2_box;
  ScaleRowDown3BoxFn scale_row_down3_box;
  ScaleInterpRowFn scale_interp_row;
  ScaleFilterColsFn scale_filter_cols;
  ScaleAccumRowFn scale_accum_row;
  ScaleBoxColsFn scale_box_cols;
  ScaleSumRows3Fn scale_sum_rows3;
  ScaleCols4Fn scale_cols4;
};

// Padding (bytes / elements) a row buffer needs past its last used index for
// scale_filter_cols / scale_box_cols, whatever the ISA.
inline constexpr int kScaleRowPad = 64;

// Fills `dsp` with scalar versions, then upgrades per ISA in ascending order.
void scale_dsp_init(ScaleDsp* dsp, uint32_t cpu_flags);
// Process-wide table for cpu_flags(), built on first use.
const ScaleDsp& scale_dsp();

namespace scalar {
void scale_row_down2_box(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width);
void scale_row_down3_box(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width);
void scale_interp_row(uint8_t* dst, const uint8_t* src0, const uint8_t* src1, int width, int frac128);
void scale_filter_cols(uint8_t* dst, const uint8_t* src, int dst_width, int32_t x_q16, int32_t dx_q16);
void scale_accum_row(uint16_t* acc, const uint8_t* src, int width, int weight);
void scale_box_cols(uint8_t* dst, const uint16_t* acc, int dst_width, int32_t x_q8, int32_t dx_q8);
void scale_sum_rows3(uint16_t* sum, const uint8_t* src, ptrdiff_t src_stride, int width);
void scale_cols4(uint8_t* dst, const uint16_t* sum, const ScaleCols4Plan& plan);
}  // namespace scalar

// Whole-vector kernels: widths are multiples of the step noted; the dispatch
// table wraps them with the any-width adaptors in simd/scale.cc.
namespace sse41 {
void scale_row_down2_box(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width);  // % 16
void scale_row_down3_box(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width);  // % 16
void scale_interp_row(uint8_t* dst, const uint8_t* src0, const uint8_t* src1, int width, int frac128);  // % 16
void scale_filter_cols(uint8_t* dst, const uint8_t* src, int dst_width, int32_t x_q16, int32_t dx_q16);  // % 8
void scale_accum_row(uint16_t* acc, const uint8_t* src, int width, int weight);  // % 16
void scale_box_cols(uint8_t* dst, const uint16_t* acc, int dst_width, int32_t x_q8, int32_t dx_q8);  // % 4
void scale_sum_rows3(uint16_t* sum, const uint8_t* src, ptrdiff_t src_stride, int width);  // % 16
// Outputs [0, n) of the plan, n % 8 == 0 (the adaptor runs the rest in scalar).
void scale_cols4(uint8_t* dst, const uint16_t* sum, const ScaleCols4Plan& plan, int n);
}  // namespace sse41
namespace avx2 {
void scale_row_down2_box(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width);  // % 32
void scale_row_down3_box(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width);  // % 32
void scale_interp_row(uint8_t* dst, const uint8_t* src0, const uint8_t* src1, int width, int frac128);  // % 32
void scale_filter_cols(uint8_t* dst, const uint8_t* src, int dst_width, int32_t x_q16, int32_t dx_q16);  // % 16
void scale_accum_row(uint16_t* acc, const uint8_t* src, int width, int weight);  // % 32
void scale_box_cols(uint8_t* dst, const uint16_t* acc, int dst_width, int32_t x_q8, int32_t dx_q8);  // % 8
void scale_sum_rows3(uint16_t* sum, const uint8_t* src, ptrdiff_t src_stride, int width);  // % 32
void scale_cols4(uint8_t* dst, const uint16_t* sum, const ScaleCols4Plan& plan, int n);  // n % 16
}  // namespace avx2

}  // namespace sipmix::simd
