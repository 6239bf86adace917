// Scalar references: the specification of every ScaleDsp slot.
#include "simd/scale.h"

namespace sipmix::simd::scalar {

void scale_row_down2_box(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width) {
  const uint8_t* s1 = src + src_stride;
  for (int i = 0; i < dst_width; ++i) {
    const int s = src[2 * i] + src[2 * i + 1] + s1[2 * i] + s1[2 * i + 1];
    dst[i] = static_cast<uint8_t>((s + 2) >> 2);
  }
}

void scale_row_down3_box(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width) {
  const uint8_t* s1 = src + src_stride;
  const uint8_t* s2 = s1 + src_stride;
  for (int i = 0; i < dst_width; ++i) {
    const int k = 3 * i;
    const int s = src[k] + src[k + 1] + src[k + 2] + s1[k] + s1[k + 1] + s1[k + 2] + s2[k] + s2[k + 1] + s2[k + 2];
    dst[i] = static_cast<uint8_t>((s * 3641 + 16384) >> 15);
  }
}

void scale_interp_row(uint8_t* dst, const uint8_t* src0, const uint8_t* src1, int width, int frac128) {
  const int f = frac128, g = 128 - frac128;
  for (int i = 0; i < width; ++i) dst[i] = static_cast<uint8_t>((src0[i] * g + src1[i] * f + 64) >> 7);
}

void scale_filter_cols(uint8_t* dst, const uint8_t* src, int dst_width, int32_t x_q16, int32_t dx_q16) {
  uint32_t x = static_cast<uint32_t>(x_q16);
  for (int i = 0; i < dst_width; ++i, x += static_cast<uint32_t>(dx_q16)) {
    const uint32_t k = x >> 16;
    const int f = static_cast<int>((x >> 9) & 127);
    dst[i] = static_cast<uint8_t>((src[k] * (128 - f) + src[k + 1] * f + 64) >> 7);
  }
}

void scale_accum_row(uint16_t* acc, const uint8_t* src, int width, int weight) {
  for (int i = 0; i < width; ++i) acc[i] = static_cast<uint16_t>(acc[i] + src[i] * weight);
}

void scale_box_cols(uint8_t* dst, const uint16_t* acc, int dst_width, int32_t x_q8, int32_t dx_q8) {
  const uint32_t dx = static_cast<uint32_t>(dx_q8);
  const uint32_t r = (1u << 24) / dx;
  const int taps = static_cast<int>((dx + 255) / 256 + 1);
  uint32_t a = static_cast<uint32_t>(x_q8);
  for (int i = 0; i < dst_width; ++i, a += dx) {
    const uint32_t b = a + dx;
    uint32_t p = a >> 8, g_prev = 0, sum = 0;
    for (int t = 0; t < taps; ++t, ++p) {
      const uint32_t end = (p + 1) << 8;
      const uint32_t c = (end < b ? end : b) - a;
      const uint32_t g = c >= dx ? 256u : (c * r) >> 16;
      sum += (g - g_prev) * acc[p];
      g_prev = g;
    }
    dst[i] = static_cast<uint8_t>((sum + 32768) >> 16);
  }
}

namespace {

uint8_t rows3_cols4_one(const uint8_t* win, ptrdiff_t stride, const uint8_t* shuffle, const int8_t* weight, int k) {
  int p[3][2];
  for (int r = 0; r < 3; ++r) {
    const uint8_t* x = win + r * stride;
    for (int h = 0; h < 2; ++h) {
      const int i0 = 8 * h + 2 * k, i1 = i0 + 1;
      p[r][h] = weight[i0] * x[shuffle[i0]] + weight[i1] * x[shuffle[i1]];
    }
  }
  int t = 0;
  for (int h = 0; h < 2; ++h) t += ((p[0][h] + p[1][h]) >> 1) + (p[2][h] >> 1);
  return static_cast<uint8_t>((static_cast<uint32_t>(t + 96) * 43691u) >> 23);
}

}  // namespace

void scale_rows3_cols4(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, const ScaleCols4Plan& plan) {
  for (int i = 0; i < plan.dst_width; ++i) {
    const int g = i / 4;
    dst[i] = rows3_cols4_one(src + plan.offset[g], src_stride, plan.shuffle + 16 * g, plan.weight + 16 * g, i % 4);
  }
}

void scale_rows3_cols4_groups(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, const ScaleCols4Plan& plan,
                              int g0, int g1, int32_t bias) {
  for (int g = g0; g < g1; ++g)
    for (int k = 0; k < 4; ++k)
      dst[4 * (g - g0) + k] =
          rows3_cols4_one(src + plan.offset[g] - bias, src_stride, plan.shuffle + 16 * g, plan.weight + 16 * g, k);
}

}  // namespace sipmix::simd::scalar
