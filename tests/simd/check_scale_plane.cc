// Plane tests for scale_plane() (after libyuv's planar tests): every ratio
// class takes its method and gives the result that method promises; every
// CPU level gives the scalar level's bytes; source and destination planes end
// (or start) flush against an inaccessible page, so a read or write outside
// the rectangles faults; odd sizes, strides wider than the width, unaligned
// starts and bottom-up sources.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "checksimd.h"
#include "simd/scale.h"

namespace sipmix::checksimd {
namespace {

using simd::ScaleDsp;
using simd::ScaleFilter;
using simd::ScaleMethod;

// `bytes` of read-write memory with an inaccessible page right after its end
// (kEnd) or right before its start plus `lead` bytes (kStart).
class PageFlush {
 public:
  enum class Edge { kEnd, kStart };
  PageFlush(size_t bytes, Edge edge, size_t lead = 0) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t data_pages = (bytes + lead + page - 1) / page;
    map_bytes_ = (data_pages + 1) * page;
    void* m = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) std::abort();
    map_ = static_cast<uint8_t*>(m);
    if (edge == Edge::kEnd) {
      if (mprotect(map_ + data_pages * page, page, PROT_NONE) != 0) std::abort();
      data_ = map_ + data_pages * page - bytes;
    } else {
      if (mprotect(map_, page, PROT_NONE) != 0) std::abort();
      data_ = map_ + page + lead;
    }
    std::memset(data_, kSentinel, bytes);
  }
  ~PageFlush() { munmap(map_, map_bytes_); }
  PageFlush(const PageFlush&) = delete;
  PageFlush& operator=(const PageFlush&) = delete;
  uint8_t* data() { return data_; }

 private:
  uint8_t* map_ = nullptr;
  size_t map_bytes_ = 0;
  uint8_t* data_ = nullptr;
};

size_t plane_bytes(int stride, int w, int h) { return static_cast<size_t>(stride) * (h - 1) + static_cast<size_t>(w); }

struct Case {
  int sw, sh, dw, dh;
  ScaleMethod box;  // the method ScaleFilter::kBox takes
};
// Every ratio class, at odd and small sizes and at the compositor's sizes.
const Case kCases[] = {
    {1, 1, 1, 1, ScaleMethod::kCopy},          {7, 5, 7, 5, ScaleMethod::kCopy},
    {33, 17, 33, 17, ScaleMethod::kCopy},      {1, 1, 3, 3, ScaleMethod::kBilinear},
    {7, 5, 17, 13, ScaleMethod::kBilinear},    {33, 9, 64, 31, ScaleMethod::kBilinear},
    {213, 120, 426, 240, ScaleMethod::kBilinear}, {5, 3, 640, 9, ScaleMethod::kBilinear},
    {2, 2, 1, 1, ScaleMethod::kBox2},          {14, 10, 7, 5, ScaleMethod::kBox2},
    {66, 34, 33, 17, ScaleMethod::kBox2},      {1280, 720, 640, 360, ScaleMethod::kBox2},
    {3, 3, 1, 1, ScaleMethod::kBox3},          {21, 15, 7, 5, ScaleMethod::kBox3},
    {99, 51, 33, 17, ScaleMethod::kBox3},      {1278, 720, 426, 240, ScaleMethod::kBox3},
    {1280, 720, 426, 240, ScaleMethod::kRows3Cols4}, {640, 360, 213, 120, ScaleMethod::kRows3Cols4},
    {97, 15, 33, 5, ScaleMethod::kRows3Cols4}, {7, 9, 3, 3, ScaleMethod::kRows3Cols4},
    {1000, 700, 333, 230, ScaleMethod::kArea}, {65, 33, 13, 7, ScaleMethod::kArea},
    {33, 101, 16, 5, ScaleMethod::kArea},      {5, 5, 2, 2, ScaleMethod::kArea},
    {1920, 1080, 426, 240, ScaleMethod::kArea}, {17, 13, 11, 9, ScaleMethod::kBilinear},
    {1280, 720, 854, 480, ScaleMethod::kBilinear}, {33, 64, 50, 20, ScaleMethod::kBilinear},
    {1000, 40, 10, 1, ScaleMethod::kBilinear},
};
constexpr int kMaxSrcWidth = 2048;

std::string name(const Case& c, ScaleFilter f) {
  return std::to_string(c.sw) + "x" + std::to_string(c.sh) + " -> " + std::to_string(c.dw) + "x" +
         std::to_string(c.dh) + (f == ScaleFilter::kBox ? " box" : " bilinear");
}

ScaleMethod expected(const Case& c, ScaleFilter f) {
  if (f == ScaleFilter::kBilinear && c.box != ScaleMethod::kCopy) return ScaleMethod::kBilinear;
  return c.box;
}

struct Scratch {
  std::vector<uint8_t> storage = std::vector<uint8_t>(simd::scale_scratch_bytes(kMaxSrcWidth) + 7);
  simd::ScaleScratch scratch;
  Scratch() {
    // Any alignment: start 7 bytes in.
    if (!scratch.init(storage.data() + 7, storage.size() - 7, kMaxSrcWidth)) std::abort();
  }
};

ScaleDsp table(uint32_t flags) {
  ScaleDsp d;
  simd::scale_dsp_init(&d, flags);
  return d;
}

// Source pixels: 0 random (from `r`), 1 0/255 checkerboard, 2 all 255.
void fill_source(std::mt19937_64& r, uint8_t* p, int stride, int w, int h, int pattern) {
  for (int y = 0; y < h; ++y) {
    uint8_t* row = p + static_cast<ptrdiff_t>(y) * stride;
    if (pattern == 0) {
      for (int x = 0; x < w; x += 8) {
        const uint64_t v = r();
        std::memcpy(row + x, &v, static_cast<size_t>(std::min(8, w - x)));
      }
    } else {
      for (int x = 0; x < w; ++x) row[x] = pattern == 2 || ((x + y) & 1) ? 255 : 0;
    }
  }
}
void fill_source(uint8_t* p, int stride, int w, int h, int pattern) { fill_source(rng(), p, stride, w, h, pattern); }

// Index of the first difference, or -1.
ptrdiff_t first_mismatch(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) return 0;
  const auto m = std::mismatch(a.begin(), a.end(), b.begin());
  return m.first == a.end() ? -1 : m.first - a.begin();
}

// The destination rectangle as a tight array.
std::vector<uint8_t> rect(const uint8_t* p, int stride, int w, int h) {
  std::vector<uint8_t> out(static_cast<size_t>(w) * h);
  for (int y = 0; y < h; ++y) std::memcpy(out.data() + static_cast<size_t>(y) * w, p + static_cast<ptrdiff_t>(y) * stride, w);
  return out;
}

// Bytes between the rows (stride wider than the width) are left alone.
bool gaps_untouched(const uint8_t* p, int stride, int w, int h) {
  for (int y = 0; y + 1 < h; ++y)
    for (int x = w; x < stride; ++x)
      if (p[static_cast<ptrdiff_t>(y) * stride + x] != kSentinel) return false;
  return true;
}

TEST(ScalePlane, EveryRatioClassTakesItsMethod) {
  for (const Case& c : kCases)
    for (ScaleFilter f : {ScaleFilter::kBox, ScaleFilter::kBilinear}) {
      SCOPED_TRACE(name(c, f));
      EXPECT_STREQ(simd::scale_method_name(expected(c, f)),
                   simd::scale_method_name(simd::scale_plane_method(c.sw, c.sh, c.dw, c.dh, f)));
      EXPECT_STREQ(simd::scale_method_name(expected(c, f)),  // bottom up
                   simd::scale_method_name(simd::scale_plane_method(c.sw, -c.sh, c.dw, c.dh, f)));
    }
}

// One source/destination layout of a run: where each plane sits.
struct Layout {
  const char* what;
  PageFlush::Edge edge;
  size_t lead;      // bytes after the page start (kStart only)
  int extra_stride; // stride - width
  bool bottom_up;   // negative src_height
};
const Layout kLayouts[] = {
    {"flush at the end, tight rows", PageFlush::Edge::kEnd, 0, 0, false},
    {"flush at the end, odd stride", PageFlush::Edge::kEnd, 0, 5, false},
    {"flush at the start", PageFlush::Edge::kStart, 0, 64, false},
    {"unaligned start", PageFlush::Edge::kStart, 3, 1, false},
    {"bottom up, flush at the end", PageFlush::Edge::kEnd, 0, 3, true},
    {"bottom up, flush at the start", PageFlush::Edge::kStart, 1, 0, true},
};

// Scales `c` at one layout through `dsp`; returns the destination rectangle.
// Faults (the test dies) on an access outside either plane.
std::vector<uint8_t> run(const Case& c, ScaleFilter f, const Layout& l, const ScaleDsp& dsp, uint64_t input_seed,
                         int pattern, simd::ScaleScratch* scratch) {
  const int ss = c.sw + l.extra_stride, ds = c.dw + l.extra_stride;
  PageFlush src(plane_bytes(ss, c.sw, c.sh), l.edge, l.lead);
  PageFlush dst(plane_bytes(ds, c.dw, c.dh), l.edge, l.lead);
  std::mt19937_64 r(input_seed);
  fill_source(r, src.data(), ss, c.sw, c.sh, pattern);
  EXPECT_TRUE(simd::scale_plane(src.data(), ss, c.sw, l.bottom_up ? -c.sh : c.sh, dst.data(), ds, c.dw, c.dh, f,
                                scratch, dsp));
  EXPECT_TRUE(gaps_untouched(dst.data(), ds, c.dw, c.dh));
  return rect(dst.data(), ds, c.dw, c.dh);
}

// Every CPU level's table gives the scalar table's bytes, for every case,
// filter, layout and pattern (the plane function uses several slots, so
// every level is run, not only the ones that change a given slot).
TEST(ScalePlane, EveryCpuLevelGivesTheScalarBytes) {
  const ScaleDsp ref = table(0);
  Scratch ref_scratch, scratch;
  int levels_run = 0;
  for (const Level& lv : levels()) {
    if (lv.flags == 0) continue;
    SCOPED_TRACE("level " + lv.name);
    ++levels_run;
    const ScaleDsp dsp = table(lv.flags);
    for (const Case& c : kCases)
      for (ScaleFilter f : {ScaleFilter::kBox, ScaleFilter::kBilinear})
        for (const Layout& l : kLayouts) {
          // Big planes: one layout of each edge and one pattern.
          const bool big = c.sw * c.sh > 100000;
          if (big && &l != &kLayouts[0] && &l != &kLayouts[5]) continue;
          for (int pattern = 0; pattern < (big ? 1 : 3); ++pattern) {
            SCOPED_TRACE(name(c, f) + ", " + l.what + ", pattern " + std::to_string(pattern));
            const uint64_t input_seed = rng()();
            const std::vector<uint8_t> a = run(c, f, l, ref, input_seed, pattern, &ref_scratch.scratch);
            const std::vector<uint8_t> b = run(c, f, l, dsp, input_seed, pattern, &scratch.scratch);
            ASSERT_EQ(first_mismatch(a, b), -1);
          }
        }
  }
  if (simd::detected_cpu_flags() & simd::kCpuAvx2) {
    EXPECT_GE(levels_run, 2);
  }
}

// Output (i, j) of a w x h plane scaled to dw x dh covers [ox + i sx,
// ox + (i + 1) sx) x [oy + j sy, oy + (j + 1) sy) in source pixels.
struct Footprint {
  double ox, sx, oy, sy;
};
// The exact one: the source split evenly.
Footprint exact_footprint(int w, int h, int dw, int dh) {
  return {0, static_cast<double>(w) / dw, 0, static_cast<double>(h) / dh};
}
// kArea's: the step rounded down to 1/256 pixel, the slack split at both ends.
Footprint area_footprint(int w, int h, int dw, int dh) {
  const int dx = w * 256 / dw, dy = h * 256 / dh;
  return {(w * 256 - dx * dw) / 2 / 256.0, dx / 256.0, (h * 256 - dy * dh) / 2 / 256.0, dy / 256.0};
}

// The area average over each output's footprint, in double precision.
std::vector<double> area_average(const uint8_t* src, int stride, int w, int h, int dw, int dh, const Footprint& f) {
  std::vector<double> out(static_cast<size_t>(dw) * dh);
  const double sx = f.sx, sy = f.sy;
  for (int j = 0; j < dh; ++j)
    for (int i = 0; i < dw; ++i) {
      const double x0 = f.ox + i * sx, x1 = x0 + sx, y0 = f.oy + j * sy, y1 = y0 + sy;
      double acc = 0;
      for (int r = static_cast<int>(y0); r < std::min(h, static_cast<int>(std::ceil(y1))); ++r) {
        const double wy = std::min(y1, r + 1.0) - std::max(y0, static_cast<double>(r));
        for (int c = static_cast<int>(x0); c < std::min(w, static_cast<int>(std::ceil(x1))); ++c)
          acc += wy * (std::min(x1, c + 1.0) - std::max(x0, static_cast<double>(c))) *
                 src[static_cast<ptrdiff_t>(r) * stride + c];
      }
      out[static_cast<size_t>(j) * dw + i] = acc / (sx * sy);
    }
  return out;
}

// What each method promises, checked on the process-wide (fastest) table,
// which the test above ties to the scalar specification.
TEST(ScalePlane, EachMethodGivesWhatItPromises) {
  Scratch s;
  double worst_area = 0, worst_fused = 0;
  for (const Case& c : kCases) {
    SCOPED_TRACE(name(c, ScaleFilter::kBox));
    std::vector<uint8_t> src(static_cast<size_t>(c.sw) * c.sh), dst(static_cast<size_t>(c.dw) * c.dh);
    fill_source(src.data(), c.sw, c.sw, c.sh, 0);
    ASSERT_TRUE(simd::scale_plane(src.data(), c.sw, c.sw, c.sh, dst.data(), c.dw, c.dw, c.dh, ScaleFilter::kBox,
                                  &s.scratch));
    auto at = [&](int x, int y) { return static_cast<int>(src[static_cast<size_t>(y) * c.sw + x]); };
    for (int y = 0; y < c.dh; ++y)
      for (int x = 0; x < c.dw; ++x) {
        const int out = dst[static_cast<size_t>(y) * c.dw + x];
        switch (c.box) {
          case ScaleMethod::kCopy:
            ASSERT_EQ(out, at(x, y));
            break;
          case ScaleMethod::kBox2:
            ASSERT_EQ(out, (at(2 * x, 2 * y) + at(2 * x + 1, 2 * y) + at(2 * x, 2 * y + 1) + at(2 * x + 1, 2 * y + 1) + 2) / 4);
            break;
          case ScaleMethod::kBox3: {
            int sum = 0;
            for (int dy = 0; dy < 3; ++dy)
              for (int dx = 0; dx < 3; ++dx) sum += at(3 * x + dx, 3 * y + dy);
            ASSERT_EQ(out, (2 * sum + 9) / 18);  // round(sum / 9)
            break;
          }
          default:
            break;
        }
      }
    // kRows3Cols4 covers the source exactly (weights rounded to 1/128);
    // kArea covers footprints on a 1/256 pixel grid, centred, with weights
    // rounded to 1/256 in each direction. Measured on random input: up to
    // about 1.7 levels for either; a footprint off by half a pixel gives 12.
    if (c.box == ScaleMethod::kArea || c.box == ScaleMethod::kRows3Cols4) {
      const bool fused = c.box == ScaleMethod::kRows3Cols4;
      const std::vector<double> ref =
          area_average(src.data(), c.sw, c.sw, c.sh, c.dw, c.dh,
                       fused ? exact_footprint(c.sw, c.sh, c.dw, c.dh) : area_footprint(c.sw, c.sh, c.dw, c.dh));
      double& worst = fused ? worst_fused : worst_area;
      for (size_t i = 0; i < dst.size(); ++i) {
        const double err = std::abs(dst[i] - ref[i]);
        worst = std::max(worst, err);
        ASSERT_LE(err, fused ? 2.5 : 3.0) << i;
      }
    }
  }
  std::printf("scale_plane: worst error vs the area average of the footprint: area %.3f, fused 3-row %.3f\n",
              worst_area, worst_fused);
}

// Weights of every method sum to one: a flat plane stays flat.
TEST(ScalePlane, FlatPlaneStaysFlatAtEveryRatio) {
  Scratch s;
  for (const Case& c : kCases)
    for (ScaleFilter f : {ScaleFilter::kBox, ScaleFilter::kBilinear})
      for (int v : {0, 1, 128, 254, 255}) {
        SCOPED_TRACE(name(c, f) + " value " + std::to_string(v));
        std::vector<uint8_t> src(static_cast<size_t>(c.sw) * c.sh, static_cast<uint8_t>(v));
        std::vector<uint8_t> dst(static_cast<size_t>(c.dw) * c.dh, static_cast<uint8_t>(v ^ 0x5a));
        ASSERT_TRUE(simd::scale_plane(src.data(), c.sw, c.sw, c.sh, dst.data(), c.dw, c.dw, c.dh, f, &s.scratch));
        ASSERT_EQ(std::count(dst.begin(), dst.end(), static_cast<uint8_t>(v)), static_cast<ptrdiff_t>(dst.size()));
      }
}

// Bilinear keeps a ramp a ramp: output rows and columns never go down, and
// stay within the source's range (no overshoot at the replicated edges).
TEST(ScalePlane, BilinearKeepsARampMonotone) {
  Scratch s;
  for (const Case& c : kCases) {
    SCOPED_TRACE(name(c, ScaleFilter::kBilinear));
    std::vector<uint8_t> src(static_cast<size_t>(c.sw) * c.sh), dst(static_cast<size_t>(c.dw) * c.dh);
    for (int y = 0; y < c.sh; ++y)
      for (int x = 0; x < c.sw; ++x)
        src[static_cast<size_t>(y) * c.sw + x] = static_cast<uint8_t>(10 + 200 * (x + y) / (c.sw + c.sh));
    ASSERT_TRUE(simd::scale_plane(src.data(), c.sw, c.sw, c.sh, dst.data(), c.dw, c.dw, c.dh, ScaleFilter::kBilinear,
                                  &s.scratch));
    const auto [lo, hi] = std::minmax_element(src.begin(), src.end());
    for (int y = 0; y < c.dh; ++y)
      for (int x = 0; x < c.dw; ++x) {
        const uint8_t v = dst[static_cast<size_t>(y) * c.dw + x];
        ASSERT_GE(v, *lo);
        ASSERT_LE(v, *hi);
        if (x > 0) {
          ASSERT_GE(v, dst[static_cast<size_t>(y) * c.dw + x - 1]) << x << "," << y;
        }
        if (y > 0) {
          ASSERT_GE(v, dst[static_cast<size_t>(y - 1) * c.dw + x]) << x << "," << y;
        }
      }
  }
}

// A negative source height reads the plane bottom up: the same as scaling
// the vertically flipped copy.
TEST(ScalePlane, NegativeHeightScalesTheFlippedPlane) {
  Scratch s;
  for (const Case& c : kCases)
    for (ScaleFilter f : {ScaleFilter::kBox, ScaleFilter::kBilinear}) {
      SCOPED_TRACE(name(c, f));
      std::vector<uint8_t> src(static_cast<size_t>(c.sw) * c.sh), flipped(src.size());
      fill_source(src.data(), c.sw, c.sw, c.sh, 0);
      for (int y = 0; y < c.sh; ++y)
        std::memcpy(flipped.data() + static_cast<size_t>(c.sh - 1 - y) * c.sw, src.data() + static_cast<size_t>(y) * c.sw, c.sw);
      std::vector<uint8_t> a(static_cast<size_t>(c.dw) * c.dh), b(a.size());
      ASSERT_TRUE(simd::scale_plane(src.data(), c.sw, c.sw, -c.sh, a.data(), c.dw, c.dw, c.dh, f, &s.scratch));
      ASSERT_TRUE(simd::scale_plane(flipped.data(), c.sw, c.sw, c.sh, b.data(), c.dw, c.dw, c.dh, f, &s.scratch));
      ASSERT_EQ(first_mismatch(a, b), -1);
    }
}

// Arguments out of range are refused and nothing is written.
TEST(ScalePlane, RefusesBadArgumentsWithoutWriting) {
  Scratch s;
  std::vector<uint8_t> src(64 * 64, 7);
  std::vector<uint8_t> dst(64 * 64, kSentinel);
  auto untouched = [&] { return std::count(dst.begin(), dst.end(), kSentinel) == static_cast<ptrdiff_t>(dst.size()); };
  const ScaleFilter f = ScaleFilter::kBox;
  EXPECT_FALSE(simd::scale_plane(src.data(), 64, 0, 8, dst.data(), 64, 4, 4, f, &s.scratch));
  EXPECT_FALSE(simd::scale_plane(src.data(), 64, 8, 0, dst.data(), 64, 4, 4, f, &s.scratch));
  EXPECT_FALSE(simd::scale_plane(src.data(), 64, 8, 8, dst.data(), 64, 0, 4, f, &s.scratch));
  EXPECT_FALSE(simd::scale_plane(src.data(), 64, 8, 8, dst.data(), 64, 4, -4, f, &s.scratch));
  EXPECT_FALSE(simd::scale_plane(src.data(), 7, 8, 8, dst.data(), 64, 4, 4, f, &s.scratch));   // src_stride < width
  EXPECT_FALSE(simd::scale_plane(src.data(), 64, 8, 8, dst.data(), 3, 4, 4, f, &s.scratch));   // dst_stride < width
  EXPECT_FALSE(simd::scale_plane(nullptr, 64, 8, 8, dst.data(), 64, 4, 4, f, &s.scratch));
  EXPECT_FALSE(simd::scale_plane(src.data(), 64, 8, 8, dst.data(), 64, 4, 4, f, nullptr));
  EXPECT_FALSE(simd::scale_plane(src.data(), 64, 8, 8, dst.data(), 64, 4, simd::kScaleMaxSize + 1, f, &s.scratch));
  EXPECT_TRUE(untouched());
  // Wider than the scratch was laid out for.
  std::vector<uint8_t> small_storage(simd::scale_scratch_bytes(16));
  simd::ScaleScratch small;
  ASSERT_TRUE(small.init(small_storage.data(), small_storage.size(), 16));
  EXPECT_FALSE(simd::scale_plane(src.data(), 64, 17, 8, dst.data(), 64, 4, 4, f, &small));
  EXPECT_TRUE(simd::scale_plane(src.data(), 64, 16, 8, dst.data(), 64, 4, 4, f, &small));
  EXPECT_FALSE(untouched());
  // A scratch that was never laid out, or too little storage.
  std::fill(dst.begin(), dst.end(), kSentinel);
  simd::ScaleScratch none;
  EXPECT_FALSE(simd::scale_plane(src.data(), 64, 8, 8, dst.data(), 64, 4, 4, f, &none));
  EXPECT_FALSE(none.init(small_storage.data(), small_storage.size() - 1, 16));
  EXPECT_FALSE(simd::scale_plane(src.data(), 64, 8, 8, dst.data(), 64, 4, 4, f, &none));
  EXPECT_FALSE(none.init(small_storage.data(), small_storage.size(), simd::kScaleMaxSize + 1));
  EXPECT_EQ(simd::scale_scratch_bytes(0), 0u);
  EXPECT_TRUE(untouched());
}

}  // namespace
}  // namespace sipmix::checksimd
