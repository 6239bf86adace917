// Limiter properties under worst-case input: nine full-scale sources in phase
// never wrap, never clip flat, stay within 1 dB of full scale and recover to
// exact unity gain within the stated release time.
#include "mix/limiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "mix/mixer.h"
#include "tests/support/signal.h"

namespace sipmix::audio {
namespace {

constexpr size_t kN = kMixFrameSamples;

double dbfs(double v) { return 20.0 * std::log10(v / 32768.0); }

struct LimRun {
  std::vector<int32_t> in;   // limiter input (the mix total)
  std::vector<int16_t> out;  // limiter output, delay_samples() behind
};

// Nine full-scale 1 kHz sources in phase for `loud_ticks`, then the same nine
// at -40 dBFS each (a sum at -21 dBFS, below the knee), through the mixer.
LimRun nine_in_phase(size_t loud_ticks, size_t quiet_ticks, NMinus1Mixer* mixer) {
  const size_t ticks = loud_ticks + quiet_ticks;
  auto loud = testing::sine(1000.0, 0.0, kMixSampleRateHz, loud_ticks * kN);
  auto quiet = testing::sine(1000.0, -40.0, kMixSampleRateHz, quiet_ticks * kN, 0.0);
  std::vector<int16_t> src(loud);
  src.insert(src.end(), quiet.begin(), quiet.end());
  LimRun r;
  for (size_t t = 0; t < ticks; ++t) {
    for (uint32_t k = 0; k < 9; ++k) EXPECT_TRUE(mixer->set_source_frame(k, src.data() + t * kN).ok());
    mixer->mix();
    auto o = mixer->output(100);
    r.out.insert(r.out.end(), o.begin(), o.end());
  }
  for (int16_t s : src) r.in.push_back(9 * static_cast<int32_t>(s));
  return r;
}

std::unique_ptr<NMinus1Mixer> nine_source_mixer() {
  MixerConfig cfg;
  cfg.max_sources = 9;
  cfg.max_outputs = 1;
  auto m = NMinus1Mixer::create(cfg);
  EXPECT_TRUE(m.ok());
  auto mixer = std::move(m).value();
  for (uint32_t k = 0; k < 9; ++k) EXPECT_TRUE(mixer->add_source(k).ok());
  EXPECT_TRUE(mixer->add_output(100).ok());  // hears all nine
  return mixer;
}

TEST(Limiter, NineFullScaleSourcesInPhaseNeverWrapNorClip) {
  auto mixer = nine_source_mixer();
  const size_t d = mixer->delay_samples();
  LimRun r = nine_in_phase(25, 0, mixer.get());
  const double ceiling = 32768.0 * std::pow(10.0, LimiterConfig{}.ceiling_dbfs / 20.0);
  int max_abs = 0;
  for (size_t i = d; i < r.out.size(); ++i) {
    const int32_t x = r.in[i - d];
    const int y = r.out[i];
    // No wrap: the output never has the opposite sign of its input.
    if (x != 0 && y != 0) {
      ASSERT_EQ(x > 0, y > 0) << "sample " << i;
    }
    ASSERT_LE(std::abs(y), ceiling + 1.0) << "sample " << i;
    ASSERT_LT(std::abs(y), 32767) << "sample " << i;  // never reaches the int16 rails
    max_abs = std::max(max_abs, std::abs(y));
  }
  // No flat top: two neighbours never both sit at the output's peak.
  int flat = 0;
  for (size_t i = d + 1; i < r.out.size(); ++i) {
    const int a = std::abs(r.out[i - 1]);
    const int b = std::abs(r.out[i]);
    if (r.out[i - 1] == r.out[i] && a >= max_abs - 1 && b >= max_abs - 1) ++flat;
  }
  EXPECT_EQ(flat, 0);
  // Loud: the steady output peaks within 1 dB of full scale (input +19 dB).
  int steady_peak = 0;
  for (size_t i = 5 * kN; i < r.out.size(); ++i) steady_peak = std::max(steady_peak, std::abs(int{r.out[i]}));
  EXPECT_GE(dbfs(steady_peak), -1.0);
  EXPECT_LE(dbfs(steady_peak), LimiterConfig{}.ceiling_dbfs + 0.01);
  // ...and is still a clean 1 kHz tone.
  const std::span<const int16_t> steady(r.out.data() + 5 * kN, r.out.size() - 5 * kN);
  EXPECT_NEAR(testing::tone_dbfs(steady, 1000.0, kMixSampleRateHz), dbfs(steady_peak), 0.2);
}

TEST(Limiter, RecoversToUnityWithinReleaseTime) {
  auto mixer = nine_source_mixer();
  const size_t d = mixer->delay_samples();
  const double release_ms = mixer->limiter_release_time_ms();
  EXPECT_GE(release_ms, 50.0);
  EXPECT_LE(release_ms, 150.0);
  constexpr size_t kLoud = 25;
  LimRun r = nine_in_phase(kLoud, 15, mixer.get());
  const size_t loud_end = kLoud * kN;  // first quiet input sample
  const size_t recovered = loud_end + static_cast<size_t>(std::ceil(release_ms * kMixSampleRateHz / 1000.0));
  ASSERT_LT(recovered + d, r.out.size());
  // Gain was reduced at the end of the loud part: the quiet input right after
  // it comes out well below unity...
  double g_first_quiet = 0;
  int in_peak = 0, out_peak = 0;
  for (size_t i = loud_end; i < loud_end + 96; ++i) {
    in_peak = std::max(in_peak, std::abs(r.in[i]));
    out_peak = std::max(out_peak, std::abs(int{r.out[i + d]}));
  }
  g_first_quiet = static_cast<double>(out_peak) / in_peak;
  EXPECT_LT(20 * std::log10(g_first_quiet), -10.0);
  // ...and from the stated release time on, the output is the input, bit-exact.
  for (size_t i = recovered; i + d < r.out.size(); ++i) ASSERT_EQ(r.out[i + d], r.in[i]) << "input sample " << i;
}

TEST(Limiter, TransparentBelowTheKneeAndGentleInIt) {
  const LimiterConfig cfg;
  Limiter lim(cfg, kN, simd::mix_dsp());
  // -3 dBFS peak is below the knee (-2.5 dBFS): bit-exact pass-through.
  auto x = testing::sine(997.0, -3.0, kMixSampleRateHz, 10 * kN);
  std::vector<int16_t> out(kN);
  std::vector<int16_t> all;
  for (size_t t = 0; t < 10; ++t) {
    std::copy_n(x.begin() + t * kN, kN, lim.input());
    lim.process(out.data());
    all.insert(all.end(), out.begin(), out.end());
  }
  const size_t d = lim.delay_samples();
  for (size_t i = d; i < all.size(); ++i) ASSERT_EQ(all[i], x[i - d]);

  // -1 dBFS is inside the knee: reduced by the knee curve, (T - L - W/2)^2 / 2W = 0.28 dB.
  Limiter lim2(cfg, kN, simd::mix_dsp());
  auto y = testing::sine(1000.0, -1.0, kMixSampleRateHz, 20 * kN);
  all.clear();
  for (size_t t = 0; t < 20; ++t) {
    std::copy_n(y.begin() + t * kN, kN, lim2.input());
    lim2.process(out.data());
    all.insert(all.end(), out.begin(), out.end());
  }
  const std::span<const int16_t> steady(all.data() + 10 * kN, all.size() - 10 * kN);
  const double expected = -1.0 - std::pow(-1.0 - cfg.ceiling_dbfs + cfg.knee_db / 2, 2) / (2 * cfg.knee_db);
  EXPECT_NEAR(testing::tone_dbfs(steady, 1000.0, kMixSampleRateHz), expected, 0.1);
}

TEST(Limiter, SuddenFullScaleNoiseNeverExceedsCeiling) {
  // 100 sources of full-scale noise arriving at once after quiet: the look-
  // ahead attack must already be down when the first loud sample leaves.
  const LimiterConfig cfg;
  Limiter lim(cfg, kN, simd::mix_dsp());
  const double ceiling = 32768.0 * std::pow(10.0, cfg.ceiling_dbfs / 20.0);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> noise(-100 * 32768, 100 * 32767);
  std::vector<int32_t> in;
  std::vector<int16_t> out(kN), all;
  for (size_t t = 0; t < 12; ++t) {
    int32_t* p = lim.input();
    for (size_t i = 0; i < kN; ++i) {
      const bool loud = (t == 3 && i >= 517) || (t > 3 && t < 8);  // starts mid-frame, mid-block
      p[i] = loud ? noise(rng) : static_cast<int32_t>(rng() % 2001) - 1000;
    }
    in.insert(in.end(), p, p + kN);
    lim.process(out.data());
    all.insert(all.end(), out.begin(), out.end());
  }
  const size_t d = lim.delay_samples();
  for (size_t i = d; i < all.size(); ++i) {
    ASSERT_LE(std::abs(int{all[i]}), ceiling + 1.0) << "sample " << i;
    if (in[i - d] != 0 && all[i] != 0) {
      ASSERT_EQ(in[i - d] > 0, all[i] > 0) << "sample " << i;
    }
  }
}

TEST(Limiter, AttackIsWithinTwoMilliseconds) {
  const LimiterConfig cfg;
  Limiter lim(cfg, kN, simd::mix_dsp());
  EXPECT_LE(lim.delay_samples() * 1000.0 / kMixSampleRateHz, 2.0);
}

TEST(Limiter, ValidateNamesTheField) {
  LimiterConfig c;
  c.knee_db = 30;
  Status s = Limiter::validate(c, kN);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("knee_db"), std::string::npos);
  c = LimiterConfig{};
  c.ceiling_dbfs = 0.0;
  EXPECT_FALSE(Limiter::validate(c, kN).ok());
  EXPECT_FALSE(Limiter::validate(LimiterConfig{}, 961).ok());
  EXPECT_TRUE(Limiter::validate(LimiterConfig{}, kN).ok());
}

}  // namespace
}  // namespace sipmix::audio
