// scale_plane(): the algorithm choice for a plane and its row loops over the
// ScaleDsp kernels. Which method runs for which sizes is decided in
// choose_method() only.
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "simd/scale.h"

namespace sipmix::simd {

struct ScaleScratchAccess {
  static uint8_t* row(ScaleScratch& s) { return s.row_; }
  static uint16_t* acc(ScaleScratch& s) { return s.acc_; }

  // The plan for sw -> dw, or null when the ratio is outside its range.
  // Cached: built on the first use of a pair, in the oldest entry.
  static const ScaleCols4Plan* cols4_plan(ScaleScratch& s, int sw, int dw) {
    for (const ScaleScratch::Cols4Entry& e : s.cols4_)
      if (e.src_width == sw && e.dst_width == dw) return e.ok ? &e.plan : nullptr;
    ScaleScratch::Cols4Entry& e = s.cols4_[static_cast<size_t>(s.cols4_next_)];
    s.cols4_next_ = (s.cols4_next_ + 1) % ScaleScratch::kCols4Entries;
    e.src_width = sw;
    e.dst_width = dw;
    e.ok = scale_cols4_plan(&e.plan, e.storage, sw, dw);
    return e.ok ? &e.plan : nullptr;
  }
};

namespace {

constexpr int kRowPadLeft = 16;  // replicated left edge for bilinear upscales
constexpr int kCols4Entries = 4;

size_t round64(size_t n) { return (n + 63) & ~size_t{63}; }
size_t row_bytes(int w) { return round64(static_cast<size_t>(kRowPadLeft + w + kScaleRowPad)); }
size_t acc_bytes(int w) { return round64(static_cast<size_t>(w + kScaleRowPad) * sizeof(uint16_t)); }
// A fused-filter plan needs 2 * dst_width <= src_width.
size_t plan_bytes(int w) { return round64(scale_cols4_plan_bytes(w / 2)); }

bool in_range(int v) { return v >= 1 && v <= kScaleMaxSize; }

// The one place that decides. `cols4_ok(sw, dw)` says whether the fused
// filter has a plan for that column ratio.
template <typename Cols4Ok>
ScaleMethod choose_method(int sw, int sh, int dw, int dh, ScaleFilter filter, Cols4Ok cols4_ok) {
  if (!in_range(sw) || !in_range(sh) || !in_range(dw) || !in_range(dh)) return ScaleMethod::kNone;
  if (sw == dw && sh == dh) return ScaleMethod::kCopy;
  if (filter == ScaleFilter::kBilinear) return ScaleMethod::kBilinear;
  if (sw == 2 * dw && sh == 2 * dh) return ScaleMethod::kBox2;
  if (sw == 3 * dw && sh == 3 * dh) return ScaleMethod::kBox3;
  if (sh == 3 * dh && cols4_ok(sw, dw)) return ScaleMethod::kRows3Cols4;
  if (sw >= 2 * dw && sh >= 2 * dh && sw <= 32 * dw && sh <= 32 * dh) return ScaleMethod::kArea;
  return ScaleMethod::kBilinear;
}

void copy_plane(const uint8_t* src, ptrdiff_t src_stride, uint8_t* dst, ptrdiff_t dst_stride, int w, int h) {
  for (int y = 0; y < h; ++y) std::memcpy(dst + y * dst_stride, src + y * src_stride, static_cast<size_t>(w));
}

// Exact area average in 1/256 pixel: vertical weights sum to 256 per output
// row (telescoping), then the horizontal area pass.
void area_plane(const ScaleDsp& d, const uint8_t* src, ptrdiff_t src_stride, int sw, int sh, uint8_t* dst,
                ptrdiff_t dst_stride, int dw, int dh, uint16_t* acc) {
  const int32_t dx = (sw * 256) / dw, x0 = (sw * 256 - dx * dw) / 2;
  const int32_t dy = (sh * 256) / dh, y0 = (sh * 256 - dy * dh) / 2;
  const uint32_t rcp = (1u << 24) / static_cast<uint32_t>(dy);
  for (int y = 0; y < dh; ++y) {
    std::memset(acc, 0, static_cast<size_t>(sw) * sizeof(uint16_t));
    const uint32_t a = static_cast<uint32_t>(y0 + y * dy), b = a + static_cast<uint32_t>(dy);
    uint32_t g_prev = 0;
    for (uint32_t p = a >> 8; (p << 8) < b; ++p) {
      const uint32_t end = (p + 1) << 8;
      const uint32_t c = (end < b ? end : b) - a;
      const uint32_t g = c >= static_cast<uint32_t>(dy) ? 256u : (c * rcp) >> 16;
      if (g > g_prev) d.scale_accum_row(acc, src + static_cast<ptrdiff_t>(p) * src_stride, sw, static_cast<int>(g - g_prev));
      g_prev = g;
    }
    d.scale_box_cols(dst + y * dst_stride, acc, dw, x0, dx);
  }
}

// Bilinear, centre-aligned, edges replicated: each output row interpolates
// two source rows into the padded scratch row, then filters its columns.
void bilinear_plane(const ScaleDsp& d, const uint8_t* src, ptrdiff_t src_stride, int sw, int sh, uint8_t* dst,
                    ptrdiff_t dst_stride, int dw, int dh, uint8_t* row) {
  const int32_t dx = static_cast<int32_t>((static_cast<int64_t>(sw) << 16) / dw);
  const int32_t x0 = (dx - 65536) / 2 + (kRowPadLeft << 16);
  const int64_t dy = (static_cast<int64_t>(sh) << 16) / dh;
  for (int y = 0; y < dh; ++y) {
    const int64_t pos = std::max<int64_t>(0, (dy - 65536) / 2 + y * dy);
    int yi = static_cast<int>(pos >> 16), f = static_cast<int>((pos >> 9) & 127);
    if (yi >= sh - 1) {
      yi = sh - 1;
      f = 0;
    }
    const uint8_t* s0 = src + static_cast<ptrdiff_t>(yi) * src_stride;
    d.scale_interp_row(row + kRowPadLeft, s0, f ? s0 + src_stride : s0, sw, f);
    std::memset(row, row[kRowPadLeft], kRowPadLeft);
    std::memset(row + kRowPadLeft + sw, row[kRowPadLeft + sw - 1], kScaleRowPad);
    d.scale_filter_cols(dst + y * dst_stride, row, dw, x0, dx);
  }
}

}  // namespace

const char* scale_method_name(ScaleMethod method) {
  switch (method) {
    case ScaleMethod::kNone: return "none";
    case ScaleMethod::kCopy: return "copy";
    case ScaleMethod::kBox2: return "box2";
    case ScaleMethod::kBox3: return "box3";
    case ScaleMethod::kRows3Cols4: return "rows3_cols4";
    case ScaleMethod::kArea: return "area";
    case ScaleMethod::kBilinear: return "bilinear";
  }
  return "?";
}

size_t scale_scratch_bytes(int max_src_width) {
  if (!in_range(max_src_width)) return 0;
  return 64 + row_bytes(max_src_width) + acc_bytes(max_src_width) + kCols4Entries * plan_bytes(max_src_width);
}

bool ScaleScratch::init(void* storage, size_t bytes, int max_src_width) {
  static_assert(kCols4Entries == ScaleScratch::kCols4Entries);
  max_src_width_ = 0;
  if (!storage || !in_range(max_src_width) || bytes < scale_scratch_bytes(max_src_width)) return false;
  auto* p = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(storage) + 63) & ~uintptr_t{63});
  row_ = p;
  p += row_bytes(max_src_width);
  acc_ = reinterpret_cast<uint16_t*>(p);
  p += acc_bytes(max_src_width);
  for (Cols4Entry& e : cols4_) {
    e = Cols4Entry{};
    e.storage = p;
    p += plan_bytes(max_src_width);
  }
  cols4_next_ = 0;
  max_src_width_ = max_src_width;
  return true;
}

ScaleMethod scale_plane_method(int src_width, int src_height, int dst_width, int dst_height, ScaleFilter filter) {
  if (src_height == std::numeric_limits<int>::min()) return ScaleMethod::kNone;
  return choose_method(src_width, src_height < 0 ? -src_height : src_height, dst_width, dst_height, filter,
                       [](int sw, int dw) {
                         std::vector<uint8_t> storage(scale_cols4_plan_bytes(dw));
                         ScaleCols4Plan plan;
                         return scale_cols4_plan(&plan, storage.data(), sw, dw);
                       });
}

bool scale_plane(const uint8_t* src, int src_stride, int src_width, int src_height, uint8_t* dst, int dst_stride,
                 int dst_width, int dst_height, ScaleFilter filter, ScaleScratch* scratch, const ScaleDsp& dsp) {
  if (!src || !dst || !scratch || src_height == std::numeric_limits<int>::min()) return false;
  const int sw = src_width, sh = src_height < 0 ? -src_height : src_height, dw = dst_width, dh = dst_height;
  if (sw > scratch->max_src_width() || src_stride < sw || dst_stride < dw) return false;
  const ScaleCols4Plan* plan = nullptr;
  const ScaleMethod method = choose_method(sw, sh, dw, dh, filter, [&plan, scratch](int s, int d) {
    plan = ScaleScratchAccess::cols4_plan(*scratch, s, d);
    return plan != nullptr;
  });
  if (method == ScaleMethod::kNone) return false;
  ptrdiff_t ss = src_stride;
  if (src_height < 0) {  // bottom up: start at the last row, step backwards
    src += static_cast<ptrdiff_t>(sh - 1) * ss;
    ss = -ss;
  }
  const ptrdiff_t ds = dst_stride;
  switch (method) {
    case ScaleMethod::kNone:
      return false;
    case ScaleMethod::kCopy:
      copy_plane(src, ss, dst, ds, dw, dh);
      return true;
    case ScaleMethod::kBox2:
      for (int y = 0; y < dh; ++y) dsp.scale_row_down2_box(dst + y * ds, src + 2 * y * ss, ss, dw);
      return true;
    case ScaleMethod::kBox3:
      for (int y = 0; y < dh; ++y) dsp.scale_row_down3_box(dst + y * ds, src + 3 * y * ss, ss, dw);
      return true;
    case ScaleMethod::kRows3Cols4:
      for (int y = 0; y < dh; ++y) dsp.scale_rows3_cols4(dst + y * ds, src + 3 * y * ss, ss, *plan);
      return true;
    case ScaleMethod::kArea:
      area_plane(dsp, src, ss, sw, sh, dst, ds, dw, dh, ScaleScratchAccess::acc(*scratch));
      return true;
    case ScaleMethod::kBilinear:
      bilinear_plane(dsp, src, ss, sw, sh, dst, ds, dw, dh, ScaleScratchAccess::row(*scratch));
      return true;
  }
  return false;
}

}  // namespace sipmix::simd
