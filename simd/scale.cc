#include "simd/scale.h"

#include <cstring>

#include "simd/cpu.h"

namespace sipmix::simd {
namespace {

// Any-width adaptors (libyuv's row_any pattern): the SIMD kernel runs on whole
// vectors; the remainder goes through small padded stack rows and the same
// kernel, so no SIMD kernel carries a scalar tail.
template <int kStep, int kFactor, void (*Kernel)(uint8_t*, const uint8_t*, ptrdiff_t, int)>
void any_down(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width) {
  const int whole = dst_width - dst_width % kStep;
  if (whole) Kernel(dst, src, src_stride, whole);
  const int rest = dst_width - whole;
  if (!rest) return;
  constexpr int kRow = kStep * kFactor;
  alignas(64) uint8_t s[kFactor * kRow] = {};
  alignas(64) uint8_t d[kStep];
  for (int r = 0; r < kFactor; ++r)
    std::memcpy(s + r * kRow, src + r * src_stride + whole * kFactor, static_cast<size_t>(rest * kFactor));
  Kernel(d, s, kRow, kStep);
  std::memcpy(dst + whole, d, static_cast<size_t>(rest));
}

template <int kStep, void (*Kernel)(uint8_t*, const uint8_t*, const uint8_t*, int, int)>
void any_interp(uint8_t* dst, const uint8_t* src0, const uint8_t* src1, int width, int frac128) {
  const int whole = width - width % kStep;
  if (whole) Kernel(dst, src0, src1, whole, frac128);
  const int rest = width - whole;
  if (!rest) return;
  alignas(64) uint8_t a[kStep] = {}, b[kStep] = {}, d[kStep];
  std::memcpy(a, src0 + whole, static_cast<size_t>(rest));
  std::memcpy(b, src1 + whole, static_cast<size_t>(rest));
  Kernel(d, a, b, kStep, frac128);
  std::memcpy(dst + whole, d, static_cast<size_t>(rest));
}

template <int kStep, void (*Kernel)(uint16_t*, const uint8_t*, int, int)>
void any_accum(uint16_t* acc, const uint8_t* src, int width, int weight) {
  const int whole = width - width % kStep;
  if (whole) Kernel(acc, src, whole, weight);
  const int rest = width - whole;
  if (!rest) return;
  alignas(64) uint16_t a[kStep] = {};
  alignas(64) uint8_t s[kStep] = {};
  std::memcpy(a, acc + whole, static_cast<size_t>(rest) * 2);
  std::memcpy(s, src + whole, static_cast<size_t>(rest));
  Kernel(a, s, kStep, weight);
  std::memcpy(acc + whole, a, static_cast<size_t>(rest) * 2);
}

// Column kernels read their source by computed position, so there is nothing
// to pad: as libyuv's column adaptors do, the remainder (< one vector) runs
// the scalar reference, which is the specification the kernel matches.
template <int kStep, void (*Kernel)(uint8_t*, const uint8_t*, int, int32_t, int32_t)>
void any_filter_cols(uint8_t* dst, const uint8_t* src, int dst_width, int32_t x, int32_t dx) {
  const int whole = dst_width - dst_width % kStep;
  if (whole) Kernel(dst, src, whole, x, dx);
  if (whole < dst_width) scalar::scale_filter_cols(dst + whole, src, dst_width - whole, x + whole * dx, dx);
}

template <int kStep, void (*Kernel)(uint8_t*, const uint16_t*, int, int32_t, int32_t)>
void any_box_cols(uint8_t* dst, const uint16_t* acc, int dst_width, int32_t x, int32_t dx) {
  const int whole = dst_width - dst_width % kStep;
  if (whole) Kernel(dst, acc, whole, x, dx);
  if (whole < dst_width) scalar::scale_box_cols(dst + whole, acc, dst_width - whole, x + whole * dx, dx);
}

}  // namespace

void scale_dsp_init(ScaleDsp* dsp, uint32_t flags) {
  dsp->scale_row_down2_box = scalar::scale_row_down2_box;
  dsp->scale_row_down3_box = scalar::scale_row_down3_box;
  dsp->scale_interp_row = scalar::scale_interp_row;
  dsp->scale_filter_cols = scalar::scale_filter_cols;
  dsp->scale_accum_row = scalar::scale_accum_row;
  dsp->scale_box_cols = scalar::scale_box_cols;
#if defined(SIPMIX_HAVE_X86_SIMD)
  if (!(flags & kCpuSse41)) return;
  dsp->scale_row_down2_box = any_down<16, 2, sse41::scale_row_down2_box>;
  dsp->scale_row_down3_box = any_down<16, 3, sse41::scale_row_down3_box>;
  dsp->scale_interp_row = any_interp<16, sse41::scale_interp_row>;
  dsp->scale_filter_cols = any_filter_cols<8, sse41::scale_filter_cols>;
  dsp->scale_accum_row = any_accum<16, sse41::scale_accum_row>;
  dsp->scale_box_cols = any_box_cols<4, sse41::scale_box_cols>;
  if (!(flags & kCpuAvx2)) return;
  dsp->scale_row_down2_box = any_down<32, 2, avx2::scale_row_down2_box>;
  dsp->scale_row_down3_box = any_down<32, 3, avx2::scale_row_down3_box>;
  dsp->scale_interp_row = any_interp<32, avx2::scale_interp_row>;
  dsp->scale_filter_cols = any_filter_cols<16, avx2::scale_filter_cols>;
  dsp->scale_accum_row = any_accum<32, avx2::scale_accum_row>;
  dsp->scale_box_cols = any_box_cols<8, avx2::scale_box_cols>;
#else
  (void)flags;
#endif
}

const ScaleDsp& scale_dsp() {
  static const ScaleDsp dsp = [] {
    ScaleDsp d;
    scale_dsp_init(&d, cpu_flags());
    return d;
  }();
  return dsp;
}

}  // namespace sipmix::simd
