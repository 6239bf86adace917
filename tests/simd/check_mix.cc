#include "checksimd.h"
#include "simd/mix.h"

namespace sipmix::checksimd {
namespace {

using simd::MixDsp;

TEST(CheckSimd, mix_accumulate_s16) {
  MixDsp ref;
  simd::mix_dsp_init(&ref, 0);
  const int ran = for_each_added_version<MixDsp>(simd::mix_dsp_init, &MixDsp::mix_accumulate_s16,
                                                 [&](const std::string&, const MixDsp& dsp) {
    const size_t widths[] = {1, 7, 8, 15, 16, 17, 31, 33, 63, 960, 961};
    for (size_t w : widths) {
      for (size_t mis : {0, 1, 3}) {
        for (int pattern = 0; pattern < 4; ++pattern) {
          SCOPED_TRACE("width " + std::to_string(w) + " misalign " + std::to_string(mis) + " pattern " +
                       std::to_string(pattern));
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
  if (simd::detected_cpu_flags() & simd::kCpuAvx2) {
    EXPECT_EQ(ran, 2);  // sse41 and avx2
  }
}

}  // namespace
}  // namespace sipmix::checksimd
