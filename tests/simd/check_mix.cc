#include <algorithm>
#include <limits>

#include "checksimd.h"
#include "simd/mix.h"

namespace sipmix::checksimd {
namespace {

using simd::MixDsp;

constexpr size_t kWidths[] = {1, 7, 8, 15, 16, 17, 31, 33, 63, 960, 961};
constexpr size_t kMisaligns[] = {0, 1, 3};

std::string where(size_t w, size_t mis, int pattern) {
  return "width " + std::to_string(w) + " misalign " + std::to_string(mis) + " pattern " + std::to_string(pattern);
}

bool detected_avx2() { return (simd::detected_cpu_flags() & simd::kCpuAvx2) != 0; }

TEST(CheckSimd, mix_accumulate_s16) {
  MixDsp ref;
  simd::mix_dsp_init(&ref, 0);
  const int ran = for_each_added_version<MixDsp>(simd::mix_dsp_init, &MixDsp::mix_accumulate_s16,
                                                 [&](const std::string&, const MixDsp& dsp) {
    for (size_t w : kWidths) {
      for (size_t mis : kMisaligns) {
        for (int pattern = 0; pattern < 4; ++pattern) {
          SCOPED_TRACE(where(w, mis, pattern));
          Guarded<int16_t> src(w, mis);
          Guarded<int32_t> a(w, mis), b(w, mis);
          fill_random(src.data(), w);
          for (size_t i = 0; i < w; ++i) a[i] = static_cast<int32_t>(rng()() % (1u << 24)) - (1 << 23);
          if (pattern == 1) std::fill_n(src.data(), w, int16_t{32767});
          if (pattern == 2) std::fill_n(src.data(), w, int16_t{-32768});
          if (pattern == 3) {  // alternating extremes, accumulator already large
            for (size_t i = 0; i < w; ++i) {
              src[i] = (i & 1) ? int16_t{-32768} : int16_t{32767};
              a[i] = (i & 1) ? -(1 << 28) : (1 << 28);
            }
          }
          std::memcpy(b.data(), a.data(), w * sizeof(int32_t));
          ref.mix_accumulate_s16(a.data(), src.data(), w);
          dsp.mix_accumulate_s16(b.data(), src.data(), w);
          ASSERT_EQ(0, std::memcmp(a.data(), b.data(), w * sizeof(int32_t)));
          ASSERT_TRUE(b.guards_intact());
          ASSERT_TRUE(src.guards_intact());
        }
      }
    }
  });
  if (detected_avx2()) {
    EXPECT_EQ(ran, 2);  // sse41 and avx2
  }
}

TEST(CheckSimd, mix_sub_s16) {
  MixDsp ref;
  simd::mix_dsp_init(&ref, 0);
  const int ran = for_each_added_version<MixDsp>(simd::mix_dsp_init, &MixDsp::mix_sub_s16,
                                                 [&](const std::string&, const MixDsp& dsp) {
    for (size_t w : kWidths) {
      for (size_t mis : kMisaligns) {
        for (int pattern = 0; pattern < 4; ++pattern) {
          SCOPED_TRACE(where(w, mis, pattern));
          Guarded<int16_t> own(w, mis);
          Guarded<int32_t> total(w, mis), a(w, mis), b(w, mis);
          fill_random(own.data(), w);
          for (size_t i = 0; i < w; ++i) total[i] = static_cast<int32_t>(rng()() % (1u << 26)) - (1 << 25);
          if (pattern == 1) {  // the leg is the only full-scale talker
            for (size_t i = 0; i < w; ++i) total[i] = own[i] = (i & 1) ? int16_t{-32768} : int16_t{32767};
          }
          if (pattern == 2) {  // 100 full-scale sources in phase
            for (size_t i = 0; i < w; ++i) {
              own[i] = (i & 1) ? int16_t{-32768} : int16_t{32767};
              total[i] = 100 * own[i];
            }
          }
          if (pattern == 3) {  // own opposite to the total: the largest differences
            for (size_t i = 0; i < w; ++i) {
              own[i] = (i & 1) ? int16_t{32767} : int16_t{-32768};
              total[i] = (i & 1) ? -(1 << 30) : (1 << 30) - 1;
            }
          }
          ref.mix_sub_s16(a.data(), total.data(), own.data(), w);
          dsp.mix_sub_s16(b.data(), total.data(), own.data(), w);
          ASSERT_EQ(0, std::memcmp(a.data(), b.data(), w * sizeof(int32_t)));
          ASSERT_TRUE(b.guards_intact());
          ASSERT_TRUE(own.guards_intact());
          ASSERT_TRUE(total.guards_intact());
          // In place (dst == total), as the mixer may use it.
          Guarded<int32_t> c(w, mis);
          std::memcpy(c.data(), total.data(), w * sizeof(int32_t));
          dsp.mix_sub_s16(c.data(), c.data(), own.data(), w);
          ASSERT_EQ(0, std::memcmp(a.data(), c.data(), w * sizeof(int32_t)));
          ASSERT_TRUE(c.guards_intact());
        }
      }
    }
  });
  if (detected_avx2()) {
    EXPECT_EQ(ran, 2);
  }
}

TEST(CheckSimd, mix_block_peaks_s32) {
  MixDsp ref;
  simd::mix_dsp_init(&ref, 0);
  const int ran = for_each_added_version<MixDsp>(simd::mix_dsp_init, &MixDsp::mix_block_peaks_s32,
                                                 [&](const std::string&, const MixDsp& dsp) {
    for (size_t blocks : {1, 2, 3, 7, 30, 31}) {
      const size_t w = blocks * simd::kMixPeakBlock;
      for (size_t mis : kMisaligns) {
        for (int pattern = 0; pattern < 5; ++pattern) {
          SCOPED_TRACE(where(w, mis, pattern));
          Guarded<int32_t> src(w, mis);
          Guarded<uint32_t> a(blocks, mis), b(blocks, mis);
          fill_random(src.data(), w);
          if (pattern == 1) std::fill_n(src.data(), w, std::numeric_limits<int32_t>::min());
          if (pattern == 2) std::fill_n(src.data(), w, std::numeric_limits<int32_t>::max());
          if (pattern == 3) {  // alternating extremes
            for (size_t i = 0; i < w; ++i)
              src[i] = (i & 1) ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int32_t>::max();
          }
          if (pattern == 4) {  // small values, the peak in a random lane of each block
            for (size_t i = 0; i < w; ++i) src[i] = static_cast<int32_t>(rng()() % 201) - 100;
            for (size_t blk = 0; blk < blocks; ++blk) {
              const size_t lane = rng()() % simd::kMixPeakBlock;
              src[blk * simd::kMixPeakBlock + lane] = (blk & 1) ? -300000 - static_cast<int32_t>(blk) : 300000;
            }
          }
          ref.mix_block_peaks_s32(a.data(), src.data(), blocks);
          dsp.mix_block_peaks_s32(b.data(), src.data(), blocks);
          ASSERT_EQ(0, std::memcmp(a.data(), b.data(), blocks * sizeof(uint32_t)));
          ASSERT_TRUE(b.guards_intact());
          ASSERT_TRUE(src.guards_intact());
        }
      }
    }
  });
  if (detected_avx2()) {
    EXPECT_EQ(ran, 2);
  }
}

TEST(CheckSimd, mix_gain_s32_to_s16) {
  MixDsp ref;
  simd::mix_dsp_init(&ref, 0);
  const int ran = for_each_added_version<MixDsp>(simd::mix_dsp_init, &MixDsp::mix_gain_s32_to_s16,
                                                 [&](const std::string&, const MixDsp& dsp) {
    for (size_t w : kWidths) {
      for (size_t mis : kMisaligns) {
        for (int pattern = 0; pattern < 7; ++pattern) {
          SCOPED_TRACE(where(w, mis, pattern));
          Guarded<int32_t> src(w, mis);
          Guarded<int16_t> a(w, mis), b(w, mis);
          // A random ramp between two gains in [0, 1]: every g_i stays in range.
          const int32_t g0 = static_cast<int32_t>(rng()() % (simd::kMixGainOne + 1));
          const int32_t g1 = static_cast<int32_t>(rng()() % (simd::kMixGainOne + 1));
          int32_t gain = g0;
          int32_t step = w > 1 ? (g1 - g0) / static_cast<int32_t>(w - 1) : 0;
          for (size_t i = 0; i < w; ++i) src[i] = static_cast<int32_t>(rng()() % (1u << 22)) - (1 << 21);
          if (pattern == 1) {  // full range int32: exercises float rounding of the input and the clamp
            fill_random(src.data(), w);
          }
          if (pattern == 2) {  // unity: must pass int16-range input through unchanged
            gain = simd::kMixGainOne;
            step = 0;
            for (size_t i = 0; i < w; ++i) src[i] = (i & 1) ? -32768 : 32767;
          }
          if (pattern == 3) {  // alternating extremes of the sum of nine full-scale sources
            for (size_t i = 0; i < w; ++i) src[i] = (i & 1) ? 9 * -32768 : 9 * 32767;
          }
          if (pattern == 4) {  // gain 1/2 on odd values: every product is a tie
            gain = simd::kMixGainOne / 2;
            step = 0;
            for (size_t i = 0; i < w; ++i) src[i] = 2 * static_cast<int32_t>(rng()() % 60000) - 59999;
          }
          if (pattern == 5) {  // zero gain
            gain = 0;
            step = 0;
            fill_random(src.data(), w);
          }
          if (pattern == 6) {  // int32 extremes at unity: clamped, never wrapped
            gain = simd::kMixGainOne;
            step = 0;
            for (size_t i = 0; i < w; ++i)
              src[i] = (i & 1) ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int32_t>::max();
          }
          ref.mix_gain_s32_to_s16(a.data(), src.data(), w, gain, step);
          dsp.mix_gain_s32_to_s16(b.data(), src.data(), w, gain, step);
          ASSERT_EQ(0, std::memcmp(a.data(), b.data(), w * sizeof(int16_t)));
          ASSERT_TRUE(b.guards_intact());
          ASSERT_TRUE(src.guards_intact());
          if (pattern == 2) {
            for (size_t i = 0; i < w; ++i) ASSERT_EQ(a[i], src[i]);
          }
          if (pattern == 6) {
            for (size_t i = 0; i < w; ++i) ASSERT_EQ(a[i], (i & 1) ? -32768 : 32767);
          }
        }
      }
    }
  });
  if (detected_avx2()) {
    EXPECT_EQ(ran, 2);
  }
}

}  // namespace
}  // namespace sipmix::checksimd
