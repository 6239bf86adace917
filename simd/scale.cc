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

using Rows3Cols4Groups = void (*)(uint8_t*, const uint8_t*, ptrdiff_t, const ScaleCols4Plan&, int, int, int32_t);

// The kernel runs on whole steps of the groups whose windows lie inside the
// rows; the remaining groups (their windows may pass the row end, which can
// be the end of the plane) run on a zero-padded copy of the row ends, into a
// stack row, through the same kernel.
template <int kGroupStep, Rows3Cols4Groups Kernel>
void any_rows3_cols4(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, const ScaleCols4Plan& plan) {
  const int whole = plan.safe_groups - plan.safe_groups % kGroupStep;
  if (whole) Kernel(dst, src, src_stride, plan, 0, whole, 0);
  const int done = 4 * whole;
  if (done >= plan.dst_width) return;
  const int tail = (plan.dst_width - done + 3) / 4;
  const int g1 = whole + (tail + kGroupStep - 1) / kGroupStep * kGroupStep;  // <= plan.groups
  const int32_t bias = plan.offset[whole];
  alignas(64) uint8_t s[3 * kScaleCols4TailRow] = {};
  alignas(64) uint8_t d[kScaleCols4TailRow];
  const size_t n = static_cast<size_t>(plan.src_width - bias);
  for (int r = 0; r < 3; ++r) std::memcpy(s + r * kScaleCols4TailRow, src + r * src_stride + bias, n);
  Kernel(d, s, kScaleCols4TailRow, plan, whole, g1, bias);
  std::memcpy(dst + done, d, static_cast<size_t>(plan.dst_width - done));
}

}  // namespace

size_t scale_cols4_plan_bytes(int max_dst_width) {
  const size_t groups = static_cast<size_t>(max_dst_width < 0 ? 0 : (max_dst_width + 15) / 16 * 4);
  return groups * (16 + 16 + 4) + 32;
}

bool scale_cols4_plan(ScaleCols4Plan* plan, void* storage, int src_width, int dst_width) {
  if (src_width < 2 || dst_width < 1 || 2 * static_cast<int64_t>(dst_width) > src_width) return false;
  const int64_t sw = src_width, dw = dst_width;
  const int groups = (dst_width + 15) / 16 * 4;
  // Every real output's pixels lie within 16 bytes of its group's first pixel.
  for (int i = 0; i < dst_width; ++i) {
    const int64_t last = ((i + 1) * sw - 1) / dw, group_first = (i & ~3) * sw / dw;
    if (last - group_first > 15) return false;
  }
  int safe = 0;
  while (safe < groups && 4 * safe + 3 < dst_width && 4 * safe * sw / dw + 16 <= sw) ++safe;
  // The adaptors run the tail (from a group index that is a multiple of 4 at
  // worst) on rows of kScaleCols4TailRow bytes; its outputs fit there too.
  const int first_tail = safe - safe % 4;
  if (sw - first_tail * 4 * sw / dw + 16 > kScaleCols4TailRow || 4 * (groups - first_tail) > kScaleCols4TailRow)
    return false;
  auto addr = reinterpret_cast<uintptr_t>(storage);
  addr = (addr + 31) & ~uintptr_t{31};
  auto* shuffle = reinterpret_cast<uint8_t*>(addr);
  auto* weight = reinterpret_cast<int8_t*>(shuffle + 16 * groups);
  auto* offset = reinterpret_cast<int32_t*>(weight + 16 * groups);
  int32_t last_offset = 0;
  for (int g = 0; g < groups; ++g) {
    const int64_t base = 4 * g < dst_width ? 4 * g * sw / dw : last_offset;
    offset[g] = static_cast<int32_t>(base);
    last_offset = offset[g];
    for (int k = 0; k < 4; ++k) {
      const int64_t i = 4 * g + k;
      const int64_t a = i * sw, b = a + sw;  // in 1/dw pixel
      const int64_t first = a / dw;
      int64_t g_prev = 0;
      for (int t = 0; t < 4; ++t) {
        int64_t cum = 0, e = first - base + t;
        if (i < dst_width) {
          const int64_t end = (first + t + 1) * dw;
          const int64_t c = (end < b ? end : b) - a;
          cum = c >= sw ? 128 : (2 * c * 128 + sw) / (2 * sw);
        }
        const int64_t w = cum > g_prev ? cum - g_prev : 0;
        if (w == 0) e = 0;
        const int idx = 16 * g + 8 * (t / 2) + 2 * k + t % 2;
        shuffle[idx] = static_cast<uint8_t>(e);
        weight[idx] = static_cast<int8_t>(w);
        if (cum > g_prev) g_prev = cum;
      }
    }
  }
  plan->src_width = src_width;
  plan->dst_width = dst_width;
  plan->groups = groups;
  plan->safe_groups = safe;
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
  dsp->scale_rows3_cols4 = scalar::scale_rows3_cols4;
#if defined(SIPMIX_HAVE_X86_SIMD)
  if (!(flags & kCpuSse41)) return;
  dsp->scale_row_down2_box = any_down<16, 2, sse41::scale_row_down2_box>;
  dsp->scale_row_down3_box = any_down<16, 3, sse41::scale_row_down3_box>;
  dsp->scale_interp_row = any_interp<16, sse41::scale_interp_row>;
  dsp->scale_filter_cols = any_filter_cols<8, sse41::scale_filter_cols>;
  dsp->scale_accum_row = any_accum<16, sse41::scale_accum_row>;
  dsp->scale_box_cols = any_box_cols<4, sse41::scale_box_cols>;
  dsp->scale_rows3_cols4 = any_rows3_cols4<1, sse41::scale_rows3_cols4_groups>;
  if (!(flags & kCpuAvx2)) return;
  dsp->scale_row_down2_box = any_down<32, 2, avx2::scale_row_down2_box>;
  dsp->scale_row_down3_box = any_down<32, 3, avx2::scale_row_down3_box>;
  dsp->scale_interp_row = any_interp<32, avx2::scale_interp_row>;
  dsp->scale_filter_cols = any_filter_cols<16, avx2::scale_filter_cols>;
  dsp->scale_accum_row = any_accum<32, avx2::scale_accum_row>;
  dsp->scale_box_cols = any_box_cols<8, avx2::scale_box_cols>;
  dsp->scale_rows3_cols4 = any_rows3_cols4<2, avx2::scale_rows3_cols4_groups>;
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
