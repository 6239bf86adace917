// 8-bit plane scaling: scale_plane(), a pure (pointer, stride, width, height)
// function that chooses the algorithm for the ratio, over the row kernels of
// the ScaleDsp table. Every slot has a scalar reference in
// simd/scalar/scale_c.cc that is its specification; simd/x86 versions are
// bit-exact to it (checksimd). The caller owns every buffer, scratch included.
// Tables are filled once at init and then only read (any thread); a
// ScaleScratch serves one scale_plane() call at a time.
#pragma once

#include <array>
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
// Fused 3-row area filter: rows exactly 3:1, columns through a precomputed
// plan of at most 4 taps per output (any ratio from 2:1 to a little over
// 3:1, e.g. 1280 -> 426). The 3 source rows are read once (16-byte windows
// that overlap by about 4 bytes); no scratch row, no gathers. Outputs go in groups of 4; group g reads the 16 bytes of each
// of the 3 rows at src + offset[g] ("window"). In group g, output k (0..3)
// takes tap t (0..3) from window byte e = shuffle[16g + 8(t / 2) + 2k + t % 2]
// with weight w = weight[same index] (int8, 0..127; an output's 4 weights
// sum to 128). Per row r, half h: P[r][h] = w(2h) * x_r[e(2h)] + w(2h + 1) *
// x_r[e(2h + 1)] (<= 32640); Q_h = ((P[0][h] + P[1][h]) >> 1) + (P[2][h] >> 1);
// T = Q_0 + Q_1 (about 192 x the mean); dst = ((T + 96) * 43691) >> 23, which
// is round(T / 192) for every T. A flat input gives back its value.
struct ScaleCols4Plan {
  int src_width = 0, dst_width = 0;
  int groups = 0;       // (dst_width + 3) / 4, padded with empty groups to a multiple of 4
  int safe_groups = 0;  // leading groups whose 16-byte windows end inside src_width
  const int32_t* offset = nullptr;  // groups entries
  const uint8_t* shuffle = nullptr;  // 16 per group, 32-byte aligned
  const int8_t* weight = nullptr;    // 16 per group, 32-byte aligned
};
// Row length (bytes) of the padded copy the adaptor uses for the last groups.
inline constexpr int kScaleCols4TailRow = 256;
using ScaleRows3Cols4Fn = void (*)(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, const ScaleCols4Plan& plan);

// Storage a ScaleCols4Plan for up to max_dst_width outputs needs (bytes,
// including alignment slack).
size_t scale_cols4_plan_bytes(int max_dst_width);
// Builds the area filter src_width -> dst_width: source pixel p covers
// [p, p + 1), output i covers [i * r, (i + 1) * r), r = src_width /
// dst_width, in exact rational arithmetic; weights are the cumulative
// coverage rounded to 1/128, so they sum to exactly 128. Writes into
// `storage` (scale_cols4_plan_bytes(dst_width) bytes, any alignment). Returns
// false (plan untouched) unless 2 * dst_width <= src_width and every group of
// 4 outputs lies within 16 bytes (ratios up to a little over 3:1). Unused
// taps have weight 0 and point at window byte 0, so the kernels read nothing
// outside the source rows' [0, src_width).
bool scale_cols4_plan(ScaleCols4Plan* plan, void* storage, int src_width, int dst_width);

struct ScaleDsp {
  ScaleRowDown2BoxFn scale_row_down2_box;
  ScaleRowDown3BoxFn scale_row_down3_box;
  ScaleInterpRowFn scale_interp_row;
  ScaleFilterColsFn scale_filter_cols;
  ScaleAccumRowFn scale_accum_row;
  ScaleBoxColsFn scale_box_cols;
  ScaleRows3Cols4Fn scale_rows3_cols4;
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
void scale_rows3_cols4(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, const ScaleCols4Plan& plan);
// Writes dst[4 (g - g0) + k], k = 0..3, for the groups g in [g0, g1)
// (padding outputs included), every window read at src + offset[g] - bias
// (the any-width adaptor runs the last groups on a padded copy through this).
void scale_rows3_cols4_groups(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, const ScaleCols4Plan& plan,
                              int g0, int g1, int32_t bias);
}  // namespace scalar

// ---- Planes ----

// Largest width or height scale_plane() accepts.
inline constexpr int kScaleMaxSize = 16384;

// How scale_plane() filters.
enum class ScaleFilter : uint8_t {
  // Area average when both directions shrink by 2:1 or more (up to 32:1),
  // bilinear otherwise. What the compositor uses.
  kBox,
  // Bilinear at every ratio but 1:1 (aliases below one half).
  kBilinear,
};

// The algorithm scale_plane() runs, chosen from the sizes and the filter:
enum class ScaleMethod : uint8_t {
  kNone,        // refused (a size out of range)
  kCopy,        // same size: row copy
  kBox2,        // exactly 2:1 both ways: scale_row_down2_box
  kBox3,        // exactly 3:1 both ways: scale_row_down3_box
  kRows3Cols4,  // rows exactly 3:1, columns 2:1 to a little over 3:1
                // (e.g. 1280 -> 426): scale_rows3_cols4 with a cached plan
  kArea,        // 2:1 to 32:1 both ways: scale_accum_row + scale_box_cols
  kBilinear,    // anything else: scale_interp_row + scale_filter_cols,
                // centre-aligned, edges replicated
};
const char* scale_method_name(ScaleMethod method);

// Bytes of storage a ScaleScratch for sources up to max_src_width columns
// needs (alignment slack included); 0 when max_src_width is outside
// 1..kScaleMaxSize.
size_t scale_scratch_bytes(int max_src_width);

// Working memory of scale_plane(), in storage the caller owns: one padded
// source row (bilinear), one 16-bit accumulator row (area) and the column
// plans of the fused 3-row filter for the last few (source width, destination
// width) pairs, so that a plane of a size seen before costs no set-up.
class ScaleScratch {
 public:
  ScaleScratch() = default;
  ScaleScratch(const ScaleScratch&) = delete;
  ScaleScratch& operator=(const ScaleScratch&) = delete;

  // Lays the scratch out in `storage` (`bytes` >= scale_scratch_bytes(
  // max_src_width), any alignment), which must outlive its use here.
  // Configuration time. False, leaving the scratch unusable, when
  // max_src_width is outside 1..kScaleMaxSize or `bytes` is too small.
  bool init(void* storage, size_t bytes, int max_src_width);
  int max_src_width() const { return max_src_width_; }

 private:
  friend struct ScaleScratchAccess;
  struct Cols4Entry {
    int src_width = 0, dst_width = 0;  // 0: empty
    bool ok = false;                   // the plan exists for this pair
    ScaleCols4Plan plan;
    uint8_t* storage = nullptr;
  };
  static constexpr int kCols4Entries = 4;  // luma + chroma of two source sizes

  int max_src_width_ = 0;  // 0: not initialised
  uint8_t* row_ = nullptr;
  uint16_t* acc_ = nullptr;
  std::array<Cols4Entry, kCols4Entries> cols4_{};
  int cols4_next_ = 0;
};

// Scales the src_width x |src_height| plane at `src` into the dst_width x
// dst_height plane at `dst` (rows `*_stride` bytes apart) with the method
// scale_plane_method() names. A negative src_height reads the source bottom
// up (its last row first), as libyuv does. Reads only the source rectangle
// and writes only the destination rectangle; the two must not overlap.
// Returns false, writing nothing, when a pointer is null, a size is outside
// 1..kScaleMaxSize, a stride is smaller than its width, or src_width exceeds
// scratch->max_src_width(). No allocation, no lock. `dsp` selects the kernels
// (tests pass a table built for a masked CPU level).
bool scale_plane(const uint8_t* src, int src_stride, int src_width, int src_height, uint8_t* dst, int dst_stride,
                 int dst_width, int dst_height, ScaleFilter filter, ScaleScratch* scratch,
                 const ScaleDsp& dsp = scale_dsp());

// The method scale_plane() runs for these sizes (src_height may be negative).
// Builds a fused-filter plan to find out, so it allocates: not for the hot
// path.
ScaleMethod scale_plane_method(int src_width, int src_height, int dst_width, int dst_height, ScaleFilter filter);

// Whole-vector kernels: widths are multiples of the step noted; the dispatch
// table wraps them with the any-width adaptors in simd/scale.cc.
namespace sse41 {
void scale_row_down2_box(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width);  // % 16
void scale_row_down3_box(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width);  // % 16
void scale_interp_row(uint8_t* dst, const uint8_t* src0, const uint8_t* src1, int width, int frac128);  // % 16
void scale_filter_cols(uint8_t* dst, const uint8_t* src, int dst_width, int32_t x_q16, int32_t dx_q16);  // % 8
void scale_accum_row(uint16_t* acc, const uint8_t* src, int width, int weight);  // % 16
void scale_box_cols(uint8_t* dst, const uint16_t* acc, int dst_width, int32_t x_q8, int32_t dx_q8);  // % 4
// Groups [g0, g1) as scalar::scale_rows3_cols4_groups; g1 - g0 a multiple
// of 1 (SSE4.1) or 2 (AVX2).
void scale_rows3_cols4_groups(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, const ScaleCols4Plan& plan,
                              int g0, int g1, int32_t bias);
}  // namespace sse41
namespace avx2 {
void scale_row_down2_box(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width);  // % 32
void scale_row_down3_box(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width);  // % 32
void scale_interp_row(uint8_t* dst, const uint8_t* src0, const uint8_t* src1, int width, int frac128);  // % 32
void scale_filter_cols(uint8_t* dst, const uint8_t* src, int dst_width, int32_t x_q16, int32_t dx_q16);  // % 16
void scale_accum_row(uint16_t* acc, const uint8_t* src, int width, int weight);  // % 32
void scale_box_cols(uint8_t* dst, const uint16_t* acc, int dst_width, int32_t x_q8, int32_t dx_q8);  // % 8
void scale_rows3_cols4_groups(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, const ScaleCols4Plan& plan,
                              int g0, int g1, int32_t bias);
}  // namespace avx2

}  // namespace sipmix::simd
