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

template <int kStep, void (*Kernel)(uint16_t*, const uint8_t*, ptrdiff_t, int)>
void any_sum_rows3(uint16_t* sum, const uint8_t* src, ptrdiff_t src_stride, int width) {
  const int whole = width - width % kStep;
  if (whole) Kernel(sum, src, src_stride, whole);
  const int rest = width - whole;
  if (!rest) return;
  alignas(64) uint8_t s[3 * kStep] = {};
  alignas(64) uint16_t d[kStep];
  for (int r = 0; r < 3; ++r) std::memcpy(s + r * kStep, src + r * src_stride + whole, static_cast<size_t>(rest));
  Kernel(d, s, kStep, kStep);
  std::memcpy(sum + whole, d, static_cast<size_t>(rest) * sizeof(uint16_t));
}

template <int kStep, void (*Kernel)(uint8_t*, const uint16_t*, const ScaleCols4Plan&, int)>
void any_cols4(uint8_t* dst, const uint16_t* sum, const ScaleCols4Plan& plan) {
  const int whole = plan.dst_width - plan.dst_width % kStep;
  if (whole) Kernel(dst, sum, plan, whole);
  if (whole == plan.dst_width) return;
  const int pairs = whole / 2;  // kStep is even: the rest starts at a pair
  ScaleCols4Plan rest;
  rest.dst_width = plan.dst_width - whole;
  rest.offset = plan.offset + pairs;
  rest.shuffle = plan.shuffle + 16 * pairs;
  rest.weight = plan.weight + 8 * pairs;
  scalar::scale_cols4(dst + whole, sum, rest);
}

}  // namespace

size_t scale_cols4_plan_bytes(int max_dst_width) {
  const size_t pairs = static_cast<size_t>(max_dst_width < 0 ? 0 : (max_dst_width + 1) / 2);
  return pairs * (16 + 16 + 4) + 16;
}

bool scale_cols4_plan(ScaleCols4Plan* plan, void* storage, int src_width, int dst_width) {
  constexpr int64_t kTotal = 21845;  // round(65536 / 3)
  if (src_width < 1 || dst_width < 1 || dst_width > src_width) return false;
  const int pairs = (dst_width + 1) / 2;
  const int64_t sw = src_width, dw = dst_width;
  // Check first: every output covers <= 4 pixels, every pair <= 8 from its start.
  for (int i = 0; i < dst_width; ++i) {
    const int64_t first = i * sw / dw, last = ((i + 1) * sw - 1) / dw;
    const int64_t pair_first = (i & ~1) * sw / dw;
    if (last - first + 1 > 4 || last - pair_first > 7) return false;
  }
  auto addr = reinterpret_cast<uintptr_t>(storage);
  addr = (addr + 15) & ~uintptr_t{15};
  auto* shuffle = reinterpret_cast<uint8_t*>(addr);
  auto* weight = reinterpret_cast<int16_t*>(shuffle + 16 * pairs);
  auto* offset = reinterpret_cast<int32_t*>(weight + 8 * pairs);
  for (int j = 0; j < pairs; ++j) {
    const int64_t base = 2 * j * sw / dw;
    offset[j] = static_cast<int32_t>(base);
    for (int h = 0; h < 2; ++h) {
      const int64_t i = 2 * j + h;
      const int64_t a = i * sw, b = a + sw;  // in 1/dw pixel
      const int64_t first = a / dw;
      int64_t g_prev = 0;
      for (int t = 0; t < 4; ++t) {
        int64_t g = 0;
        int64_t e = first - base + t;
        if (i < dst_width) {
          const int64_t end = (first + t + 1) * dw;
          const int64_t c = (end < b ? end : b) - a;
          g = c >= sw ? kTotal : (2 * c * kTotal + sw) / (2 * sw);
        } else {
          g = g_prev;  // the missing odd output of an odd width
        }
        const int64_t w = g - g_prev;
        if (w == 0 || e > 7) e = 0;
        shuffle[16 * j + 8 * h + 2 * t] = static_cast<uint8_t>(2 * e);
        shuffle[16 * j + 8 * h + 2 * t + 1] = static_cast<uint8_t>(2 * e + 1);
        weight[8 * j + 4 * h + t] = static_cast<int16_t>(w);
        g_prev = g;
      }
    }
  }
  plan->dst_width = dst_width;
  plan->offset = offset;
  plan->shuffle = shuffle;
  plan->weight = weight;
  return true;
}

void scale_dsp_init(ScaleDsp* dsp, uint32_t flags) {
  dsp->scale_row_down2_box = scalar::scale_row_down2_box;
  dsp->scale_row_down3_box = scalar::scale_row_down3_box;
  dsp->scale_interp_row = scalar::scale_interp_row;
  dsp->scale_filter_cols = scalar::scale_filter_cols;
  dsp->scale_accum_row = scalar::scale_accum_row;
  dsp->scale_box_cols = scalar::scale_box_cols;
  dsp->scale_sum_rows3 = scalar::scale_sum_rows3;
  dsp->scale_cols4 = scalar::scale_cols4;
#if defined(SIPMIX_HAVE_X86_SIMD)
  if (!(flags & kCpuSse41)) return;
  dsp->scale_row_down2_box = any_down<16, 2, sse41::scale_row_down2_box>;
  dsp->scale_row_down3_box = any_down<16, 3, sse41::scale_row_down3_box>;
  dsp->scale_interp_row = any_interp<16, sse41::scale_interp_row>;
  dsp->scale_filter_cols = any_filter_cols<8, sse41::scale_filter_cols>;
  dsp->scale_accum_row = any_accum<16, sse41::scale_accum_row>;
  dsp->scale_box_cols = any_box_cols<4, sse41::scale_box_cols>;
  dsp->scale_sum_rows3 = any_sum_rows3<16, sse41::scale_sum_rows3>;
  dsp->scale_cols4 = any_cols4<8, sse41::scale_cols4>;
  if (!(flags & kCpuAvx2)) return;
  dsp->scale_row_down2_box = any_down<32, 2, avx2::scale_row_down2_box>;
  dsp->scale_row_down3_box = any_down<32, 3, avx2::scale_row_down3_box>;
  dsp->scale_interp_row = any_interp<32, avx2::scale_interp_row>;
  dsp->scale_filter_cols = any_filter_cols<16, avx2::scale_filter_cols>;
  dsp->scale_accum_row = any_accum<32, avx2::scale_accum_row>;
  dsp->scale_box_cols = any_box_cols<8, avx2::scale_box_cols>;
  dsp->scale_sum_rows3 = any_sum_rows3<32, avx2::scale_sum_rows3>;
  dsp->scale_cols4 = any_cols4<16, avx2::scale_cols4>;
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
