// checksimd for the ScaleDsp slots: every added ISA version against the
// scalar reference, at odd widths, strides wider than the width, misaligned
// starts, guard bands, random and worst-case (0/255 checkerboard) inputs.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "checksimd.h"
#include "simd/scale.h"

namespace sipmix::checksimd {
namespace {

using simd::ScaleDsp;

const int kWidths[] = {1, 2, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 213, 426, 640};

// Source pixels: 0 random, 1 all 255, 2 0/255 checkerboard, 3 all 0.
void fill_pattern(uint8_t* p, size_t n, int pattern, size_t stride = 0) {
  for (size_t i = 0; i < n; ++i) {
    switch (pattern) {
      case 0: p[i] = static_cast<uint8_t>(rng()()); break;
      case 1: p[i] = 255; break;
      case 2: p[i] = ((i + (stride ? i / stride : 0)) & 1) ? 255 : 0; break;
      default: p[i] = 0; break;
    }
  }
}

ScaleDsp ref_table() {
  ScaleDsp d;
  simd::scale_dsp_init(&d, 0);
  return d;
}

// Kernels that reduce `factor` rows: down2_box, down3_box.
template <typename Slot>
void check_down(Slot slot, int factor) {
  const ScaleDsp ref = ref_table();
  const int ran = for_each_added_version<ScaleDsp>(simd::scale_dsp_init, slot, [&](const std::string&, const ScaleDsp& dsp) {
    for (int w : kWidths) {
      for (int extra : {0, 5, 64}) {
        for (size_t mis : {0, 1, 3}) {
          for (int pattern = 0; pattern < 4; ++pattern) {
            SCOPED_TRACE("width " + std::to_string(w) + " extra stride " + std::to_string(extra) + " misalign " +
                         std::to_string(mis) + " pattern " + std::to_string(pattern));
            const int stride = w * factor + extra;
            Guarded<uint8_t> src(static_cast<size_t>(stride) * (factor - 1) + w * factor, mis);
            fill_pattern(src.data(), src.size(), pattern, static_cast<size_t>(stride));
            Guarded<uint8_t> a(w, mis), b(w, mis);
            (ref.*slot)(a.data(), src.data(), stride, w);
            (dsp.*slot)(b.data(), src.data(), stride, w);
            ASSERT_EQ(0, std::memcmp(a.data(), b.data(), w));
            ASSERT_TRUE(a.guards_intact());
            ASSERT_TRUE(b.guards_intact());
            ASSERT_TRUE(src.guards_intact());
          }
        }
      }
    }
  });
  if (simd::detected_cpu_flags() & simd::kCpuAvx2) {
    EXPECT_EQ(ran, 2);
  }
}

TEST(CheckSimd, scale_row_down2_box) { check_down(&ScaleDsp::scale_row_down2_box, 2); }
TEST(CheckSimd, scale_row_down3_box) { check_down(&ScaleDsp::scale_row_down3_box, 3); }

// The 3:1 reference is an exact rounded mean of 9 pixels for every sum.
TEST(CheckSimd, scale_row_down3_box_is_exact_mean) {
  for (int s = 0; s <= 9 * 255; ++s) ASSERT_EQ((s * 3641 + 16384) >> 15, (2 * s + 9) / 18) << s;
}

TEST(CheckSimd, scale_interp_row) {
  const ScaleDsp ref = ref_table();
  const int ran = for_each_added_version<ScaleDsp>(simd::scale_dsp_init, &ScaleDsp::scale_interp_row,
                                                   [&](const std::string&, const ScaleDsp& dsp) {
    for (int w : kWidths) {
      for (int f : {0, 1, 37, 64, 127}) {
        for (int pattern = 0; pattern < 4; ++pattern) {
          SCOPED_TRACE("width " + std::to_string(w) + " frac " + std::to_string(f) + " pattern " + std::to_string(pattern));
          Guarded<uint8_t> s0(w, 1), s1(w, 3), a(w, 2), b(w, 2);
          fill_pattern(s0.data(), w, pattern);
          fill_pattern(s1.data(), w, pattern == 2 ? 2 : (pattern + 1) % 4);
          if (pattern == 2) for (int i = 0; i < w; ++i) s1[i] = static_cast<uint8_t>(255 - s1[i]);
          ref.scale_interp_row(a.data(), s0.data(), s1.data(), w, f);
          dsp.scale_interp_row(b.data(), s0.data(), s1.data(), w, f);
          ASSERT_EQ(0, std::memcmp(a.data(), b.data(), w));
          ASSERT_TRUE(b.guards_intact());
          ASSERT_TRUE(s0.guards_intact());
          ASSERT_TRUE(s1.guards_intact());
        }
      }
    }
  });
  if (simd::detected_cpu_flags() & simd::kCpuAvx2) {
    EXPECT_EQ(ran, 2);
  }
}

// Positions from a real mapping: src_w -> dst_w, centred, as the compositor uses.
TEST(CheckSimd, scale_filter_cols) {
  const ScaleDsp ref = ref_table();
  const int ran = for_each_added_version<ScaleDsp>(simd::scale_dsp_init, &ScaleDsp::scale_filter_cols,
                                                   [&](const std::string&, const ScaleDsp& dsp) {
    for (int w : kWidths) {
      for (double ratio : {0.37, 0.5, 1.0, 1.5, 1.999, 2.5, 3.0, 7.3}) {
        for (int pattern = 0; pattern < 4; ++pattern) {
          SCOPED_TRACE("width " + std::to_string(w) + " ratio " + std::to_string(ratio) + " pattern " + std::to_string(pattern));
          const int src_w = std::max(1, static_cast<int>(std::lround(w * ratio)));
          const int32_t dx = static_cast<int32_t>((static_cast<int64_t>(src_w) << 16) / w);
          const int32_t x0 = std::max(0, (dx - 65536) / 2);
          Guarded<uint8_t> src(src_w + simd::kScaleRowPad, 1), a(w, 0), b(w, 0);
          fill_pattern(src.data(), src.size(), pattern);
          ref.scale_filter_cols(a.data(), src.data(), w, x0, dx);
          dsp.scale_filter_cols(b.data(), src.data(), w, x0, dx);
          ASSERT_EQ(0, std::memcmp(a.data(), b.data(), w));
          ASSERT_TRUE(b.guards_intact());
          ASSERT_TRUE(src.guards_intact());
        }
      }
    }
  });
  if (simd::detected_cpu_flags() & simd::kCpuAvx2) {
    EXPECT_EQ(ran, 2);
  }
}

TEST(CheckSimd, scale_accum_row) {
  const ScaleDsp ref = ref_table();
  const int ran = for_each_added_version<ScaleDsp>(simd::scale_dsp_init, &ScaleDsp::scale_accum_row,
                                                   [&](const std::string&, const ScaleDsp& dsp) {
    for (int w : kWidths) {
      for (int weight : {0, 1, 77, 128, 256}) {
        for (int pattern = 0; pattern < 4; ++pattern) {
          SCOPED_TRACE("width " + std::to_string(w) + " weight " + std::to_string(weight) + " pattern " + std::to_string(pattern));
          Guarded<uint8_t> src(w, 3);
          Guarded<uint16_t> a(w, 1), b(w, 1);
          fill_pattern(src.data(), w, pattern);
          // The accumulator holds earlier rows; keep the total within 65280.
          for (int i = 0; i < w; ++i) a[i] = static_cast<uint16_t>(rng()() % (65281 - 255 * weight));
          std::memcpy(b.data(), a.data(), w * sizeof(uint16_t));
          ref.scale_accum_row(a.data(), src.data(), w, weight);
          dsp.scale_accum_row(b.data(), src.data(), w, weight);
          ASSERT_EQ(0, std::memcmp(a.data(), b.data(), w * sizeof(uint16_t)));
          ASSERT_TRUE(b.guards_intact());
          ASSERT_TRUE(src.guards_intact());
        }
      }
    }
  });
  if (simd::detected_cpu_flags() & simd::kCpuAvx2) {
    EXPECT_EQ(ran, 2);
  }
}

TEST(CheckSimd, scale_box_cols) {
  const ScaleDsp ref = ref_table();
  const int ran = for_each_added_version<ScaleDsp>(simd::scale_dsp_init, &ScaleDsp::scale_box_cols,
                                                   [&](const std::string&, const ScaleDsp& dsp) {
    for (int w : kWidths) {
      for (double ratio : {2.0, 2.3, 3.0, 3.0047, 4.5, 8.0, 13.7}) {
        for (int pattern = 0; pattern < 4; ++pattern) {
          SCOPED_TRACE("width " + std::to_string(w) + " ratio " + std::to_string(ratio) + " pattern " + std::to_string(pattern));
          const int src_w = static_cast<int>(std::lround(w * ratio));
          const int32_t dx = (src_w * 256) / w;
          const int32_t x0 = (src_w * 256 - dx * w) / 2;
          Guarded<uint16_t> acc(src_w + simd::kScaleRowPad, 1);
          Guarded<uint8_t> a(w, 0), b(w, 0);
          for (size_t i = 0; i < acc.size(); ++i) {
            const int v = pattern == 0 ? static_cast<int>(rng()() % 256) : pattern == 1 ? 255 : pattern == 2 ? (i & 1) * 255 : 0;
            acc[i] = static_cast<uint16_t>(v * 256);
          }
          ref.scale_box_cols(a.data(), acc.data(), w, x0, dx);
          dsp.scale_box_cols(b.data(), acc.data(), w, x0, dx);
          ASSERT_EQ(0, std::memcmp(a.data(), b.data(), w));
          ASSERT_TRUE(b.guards_intact());
          ASSERT_TRUE(acc.guards_intact());
          if (pattern == 1) {
            for (int i = 0; i < w; ++i) ASSERT_EQ(a[i], 255);  // weights sum to exactly 1
          }
        }
      }
    }
  });
  if (simd::detected_cpu_flags() & simd::kCpuAvx2) {
    EXPECT_EQ(ran, 2);
  }
}

// (src_w, dst_w) mappings the compositor meets (1280 -> 426, 640 -> 213), exact
// 3:1, 2:1 and odd sizes.
struct Cols4Case { int src_w, dst_w; };
const Cols4Case kCols4Cases[] = {{1280, 426}, {640, 213}, {1278, 426}, {1920, 640}, {639, 213}, {100, 33},
                                 {96, 32},    {64, 32},   {51, 17},    {2, 1},      {5, 2},     {3, 1},
                                 {7, 3},      {97, 33},   {2000, 667}, {400, 133},  {33, 16},   {1282, 427}};

std::vector<uint8_t> plan_storage(int dst_w) { return std::vector<uint8_t>(simd::scale_cols4_plan_bytes(dst_w) + 3); }

TEST(CheckSimd, scale_rows3_cols4) {
  const ScaleDsp ref = ref_table();
  const int ran = for_each_added_version<ScaleDsp>(simd::scale_dsp_init, &ScaleDsp::scale_rows3_cols4,
                                                   [&](const std::string&, const ScaleDsp& dsp) {
    for (const Cols4Case& c : kCols4Cases) {
      for (int extra : {0, 5, 64}) {
        for (size_t mis : {0, 1, 3}) {
          for (int pattern = 0; pattern < 4; ++pattern) {
            SCOPED_TRACE("src " + std::to_string(c.src_w) + " dst " + std::to_string(c.dst_w) + " extra stride " +
                         std::to_string(extra) + " misalign " + std::to_string(mis) + " pattern " +
                         std::to_string(pattern));
            std::vector<uint8_t> storage = plan_storage(c.dst_w);
            simd::ScaleCols4Plan plan;
            ASSERT_TRUE(simd::scale_cols4_plan(&plan, storage.data() + mis, c.src_w, c.dst_w));
            const int stride = c.src_w + extra;
            // The last row ends at the guard band: nothing past it may matter.
            Guarded<uint8_t> src(static_cast<size_t>(stride) * 2 + c.src_w, mis);
            fill_pattern(src.data(), src.size(), pattern, static_cast<size_t>(stride));
            Guarded<uint8_t> a(c.dst_w, mis), b(c.dst_w, mis);
            ref.scale_rows3_cols4(a.data(), src.data(), stride, plan);
            dsp.scale_rows3_cols4(b.data(), src.data(), stride, plan);
            ASSERT_EQ(0, std::memcmp(a.data(), b.data(), c.dst_w));
            ASSERT_TRUE(a.guards_intact());
            ASSERT_TRUE(b.guards_intact());
            ASSERT_TRUE(src.guards_intact());
          }
        }
      }
    }
  });
  if (simd::detected_cpu_flags() & simd::kCpuAvx2) {
    EXPECT_EQ(ran, 2);
  }
}

// The final division is an exact rounded T / 192 for every reachable T.
TEST(CheckSimd, scale_rows3_cols4_division_is_exact) {
  for (uint32_t t = 0; t <= 3 * 255 * 128 / 2 + 2 * 255 * 64; ++t) ASSERT_EQ(((t + 96) * 43691u) >> 23, (t + 96) / 192) << t;
}

// The reference is the area average: flat inputs come back unchanged, and
// any input is within the 1/128 weight quantization of the area average
// computed in double precision.
TEST(CheckSimd, scale_rows3_cols4_is_area_average) {
  const ScaleDsp ref = ref_table();
  double worst = 0;
  for (const Cols4Case& c : kCols4Cases) {
    SCOPED_TRACE("src " + std::to_string(c.src_w) + " dst " + std::to_string(c.dst_w));
    std::vector<uint8_t> storage = plan_storage(c.dst_w);
    simd::ScaleCols4Plan plan;
    ASSERT_TRUE(simd::scale_cols4_plan(&plan, storage.data(), c.src_w, c.dst_w));
    std::vector<uint8_t> src(3 * static_cast<size_t>(c.src_w));
    std::vector<uint8_t> out(static_cast<size_t>(c.dst_w));
    for (int v = 0; v < 256; ++v) {
      std::fill(src.begin(), src.end(), static_cast<uint8_t>(v));
      ref.scale_rows3_cols4(out.data(), src.data(), c.src_w, plan);
      for (int i = 0; i < c.dst_w; ++i) ASSERT_EQ(out[i], v) << i;
    }
    for (int round = 0; round < 20; ++round) {
      for (auto& x : src) x = static_cast<uint8_t>(rng()());
      ref.scale_rows3_cols4(out.data(), src.data(), c.src_w, plan);
      const double r = static_cast<double>(c.src_w) / c.dst_w;
      for (int i = 0; i < c.dst_w; ++i) {
        const double a = i * r, b = (i + 1) * r;
        double acc = 0;
        for (int p = static_cast<int>(a); p < c.src_w && p < b; ++p)
          for (int row = 0; row < 3; ++row)
            acc += (std::min<double>(p + 1, b) - std::max<double>(p, a)) * src[static_cast<size_t>(row * c.src_w + p)];
        const double err = std::abs(out[i] - acc / r / 3.0);
        worst = std::max(worst, err);
        ASSERT_LE(err, 2.5) << i;
      }
    }
  }
  RecordProperty("worst_error", std::to_string(worst));
  std::printf("scale_rows3_cols4: worst error vs exact area average on random input: %.3f\n", worst);
  // Ratios needing wider windows, or below 2:1, are refused.
  std::vector<uint8_t> storage = plan_storage(100);
  simd::ScaleCols4Plan plan;
  EXPECT_FALSE(simd::scale_cols4_plan(&plan, storage.data(), 401, 100));
  EXPECT_FALSE(simd::scale_cols4_plan(&plan, storage.data(), 199, 100));
}

}  // namespace
}  // namespace sipmix::checksimd
