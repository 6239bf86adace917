// NMinus1Mixer properties: each leg hears every other source at its level and
// never itself; announcements reach one leg only; identical mixes share one
// limiter pass (one encode); the mute gate removes a source from every mix.
#include "mix/mixer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "simd/cpu.h"
#include "tests/support/signal.h"

namespace sipmix::audio {
namespace {

using testing::sine;
using testing::tone_dbfs;

constexpr size_t kN = kMixFrameSamples;

std::unique_ptr<NMinus1Mixer> make_mixer(size_t sources, size_t outputs, const simd::MixDsp* dsp = nullptr) {
  MixerConfig cfg;
  cfg.max_sources = sources;
  cfg.max_outputs = outputs;
  auto m = NMinus1Mixer::create(cfg, dsp);
  EXPECT_TRUE(m.ok()) << m.status().message();
  return std::move(m).value();
}

double freq_of(size_t k) { return 300.0 + 200.0 * static_cast<double>(k); }

// N sources with tones at -24 dBFS; leg k's own source is source k.
void check_tones(size_t n_sources, const simd::MixDsp* dsp) {
  constexpr size_t kTicks = 25;
  constexpr double kLevel = -24.0;
  auto mixer = make_mixer(n_sources, n_sources, dsp);
  std::vector<std::vector<int16_t>> in;
  for (size_t k = 0; k < n_sources; ++k) {
    in.push_back(sine(freq_of(k), kLevel, kMixSampleRateHz, kTicks * kN, 0.7 * static_cast<double>(k)));
    ASSERT_TRUE(mixer->add_source(100 + static_cast<uint32_t>(k)).ok());
    ASSERT_TRUE(mixer->add_output(200 + static_cast<uint32_t>(k), 100 + static_cast<uint32_t>(k)).ok());
  }
  std::vector<std::vector<int16_t>> out(n_sources);
  for (size_t t = 0; t < kTicks; ++t) {
    for (size_t k = 0; k < n_sources; ++k)
      ASSERT_TRUE(mixer->set_source_frame(100 + static_cast<uint32_t>(k), in[k].data() + t * kN).ok());
    mixer->mix();
    EXPECT_EQ(mixer->stats().sources_mixed, n_sources);
    EXPECT_EQ(mixer->stats().limiter_passes, n_sources);  // every mix differs
    for (size_t k = 0; k < n_sources; ++k) {
      auto o = mixer->output(200 + static_cast<uint32_t>(k));
      ASSERT_EQ(o.size(), kN);
      out[k].insert(out[k].end(), o.begin(), o.end());
      EXPECT_EQ(mixer->mix_group(200 + static_cast<uint32_t>(k)), 200 + k);
    }
  }
  for (size_t k = 0; k < n_sources; ++k) {
    SCOPED_TRACE("leg " + std::to_string(k));
    const std::span<const int16_t> steady(out[k].data() + 2 * kN, out[k].size() - 2 * kN);
    for (size_t j = 0; j < n_sources; ++j) {
      const double level = tone_dbfs(steady, freq_of(j), kMixSampleRateHz);
      if (j == k) {
        EXPECT_LE(level, kLevel - 40.0) << "own tone " << freq_of(j) << " Hz";
      } else {
        EXPECT_NEAR(level, kLevel, 1.0) << "tone of source " << j << " at " << freq_of(j) << " Hz";
      }
    }
  }
}

TEST(NMinus1Mixer, FiveLegsHearEveryoneButThemselves) { check_tones(5, nullptr); }
TEST(NMinus1Mixer, NineLegsHearEveryoneButThemselves) { check_tones(9, nullptr); }

TEST(NMinus1Mixer, NineLegsScalarKernelsHearEveryoneButThemselves) {
  simd::MixDsp scalar;
  simd::mix_dsp_init(&scalar, 0);
  check_tones(9, &scalar);
}

TEST(NMinus1Mixer, SimdAndScalarOutputsAreBitIdentical) {
  simd::MixDsp scalar;
  simd::mix_dsp_init(&scalar, 0);
  auto a = make_mixer(9, 9);
  auto b = make_mixer(9, 9, &scalar);
  // Loud enough (nine at -6 dBFS) that the limiter works hard.
  std::vector<std::vector<int16_t>> in;
  for (uint32_t k = 0; k < 9; ++k) {
    in.push_back(sine(freq_of(k), -6.0, kMixSampleRateHz, 10 * kN, 0.3 * k));
    for (auto* m : {a.get(), b.get()}) {
      ASSERT_TRUE(m->add_source(k).ok());
      ASSERT_TRUE(m->add_output(k, k).ok());
    }
  }
  for (size_t t = 0; t < 10; ++t) {
    for (uint32_t k = 0; k < 9; ++k)
      for (auto* m : {a.get(), b.get()}) ASSERT_TRUE(m->set_source_frame(k, in[k].data() + t * kN).ok());
    a->mix();
    b->mix();
    for (uint32_t k = 0; k < 9; ++k) {
      auto x = a->output(k);
      auto y = b->output(k);
      ASSERT_EQ(0, std::memcmp(x.data(), y.data(), kN * sizeof(int16_t))) << "tick " << t << " leg " << k;
    }
  }
}

TEST(NMinus1Mixer, PrivateAnnouncementOnlyInItsLeg) {
  constexpr size_t kTicks = 20;
  auto mixer = make_mixer(4, 4);
  std::vector<std::vector<int16_t>> in;
  for (uint32_t k = 0; k < 4; ++k) {
    in.push_back(sine(freq_of(k), -24.0, kMixSampleRateHz, kTicks * kN, k));
    ASSERT_TRUE(mixer->add_source(k).ok());
    ASSERT_TRUE(mixer->add_output(10 + k, k).ok());
  }
  const auto prompt = sine(3000.0, -20.0, kMixSampleRateHz, kTicks * kN);
  std::vector<std::vector<int16_t>> out(4);
  for (size_t t = 0; t < kTicks; ++t) {
    for (uint32_t k = 0; k < 4; ++k) ASSERT_TRUE(mixer->set_source_frame(k, in[k].data() + t * kN).ok());
    ASSERT_TRUE(mixer->set_private_frame(12, prompt.data() + t * kN).ok());
    mixer->mix();
    for (uint32_t k = 0; k < 4; ++k) {
      auto o = mixer->output(10 + k);
      out[k].insert(out[k].end(), o.begin(), o.end());
    }
  }
  for (uint32_t k = 0; k < 4; ++k) {
    SCOPED_TRACE("leg " + std::to_string(k));
    const std::span<const int16_t> steady(out[k].data() + 2 * kN, out[k].size() - 2 * kN);
    const double p = tone_dbfs(steady, 3000.0, kMixSampleRateHz);
    if (k == 2) {
      EXPECT_NEAR(p, -20.0, 1.0);
      for (uint32_t j : {0u, 1u, 3u}) EXPECT_NEAR(tone_dbfs(steady, freq_of(j), kMixSampleRateHz), -24.0, 1.0);
      EXPECT_LE(tone_dbfs(steady, freq_of(2), kMixSampleRateHz), -64.0);
    } else {
      EXPECT_LE(p, -80.0);
    }
  }
}

TEST(NMinus1Mixer, IdenticalMixesShareOneLimiterPass) {
  // Legs 0..2 talk; 3 and 4 only listen (no own source); leg 5's source is
  // registered but silent this call (no frame). 3, 4 and 5 all hear exactly
  // the total: one pass, one group, one encode.
  auto mixer = make_mixer(6, 6);
  for (uint32_t k = 0; k < 6; ++k) ASSERT_TRUE(mixer->add_source(k).ok());
  for (uint32_t k = 0; k < 3; ++k) ASSERT_TRUE(mixer->add_output(10 + k, k).ok());
  ASSERT_TRUE(mixer->add_output(13).ok());
  ASSERT_TRUE(mixer->add_output(14, kNoSource).ok());
  ASSERT_TRUE(mixer->add_output(15, 5).ok());
  std::vector<std::vector<int16_t>> in;
  for (uint32_t k = 0; k < 3; ++k) in.push_back(sine(freq_of(k), -20.0, kMixSampleRateHz, 8 * kN, k));
  for (size_t t = 0; t < 8; ++t) {
    for (uint32_t k = 0; k < 3; ++k) ASSERT_TRUE(mixer->set_source_frame(k, in[k].data() + t * kN).ok());
    mixer->mix();
    EXPECT_EQ(mixer->stats().limiter_passes, 4u);
    EXPECT_EQ(mixer->stats().shared_outputs, 2u);
    const uint32_t g = mixer->mix_group(13);
    EXPECT_EQ(g, 13u);
    EXPECT_EQ(mixer->mix_group(14), g);
    EXPECT_EQ(mixer->mix_group(15), g);
    for (uint32_t k = 0; k < 3; ++k) EXPECT_NE(mixer->mix_group(10 + k), g);
    EXPECT_EQ(0, std::memcmp(mixer->output(13).data(), mixer->output(15).data(), kN * sizeof(int16_t)));
    EXPECT_EQ(0, std::memcmp(mixer->output(13).data(), mixer->output(14).data(), kN * sizeof(int16_t)));
  }
}

TEST(NMinus1Mixer, MutedLegLeavesEveryMixAndJoinsTheSharedGroup) {
  constexpr size_t kTicks = 30;
  auto mixer = make_mixer(3, 4);
  std::vector<std::vector<int16_t>> in;
  for (uint32_t k = 0; k < 3; ++k) {
    in.push_back(sine(freq_of(k), -20.0, kMixSampleRateHz, kTicks * kN, k));
    ASSERT_TRUE(mixer->add_source(k).ok());
    ASSERT_TRUE(mixer->add_output(10 + k, k).ok());
  }
  ASSERT_TRUE(mixer->add_output(99).ok());  // a pure listener
  ASSERT_TRUE(mixer->set_source_muted(0, true).ok());
  std::vector<std::vector<int16_t>> out(4);
  size_t shared_ticks = 0;
  for (size_t t = 0; t < kTicks; ++t) {
    for (uint32_t k = 0; k < 3; ++k) ASSERT_TRUE(mixer->set_source_frame(k, in[k].data() + t * kN).ok());
    mixer->mix();
    EXPECT_EQ(mixer->stats().sources_mixed, 2u);
    if (mixer->mix_group(10) == mixer->mix_group(99)) ++shared_ticks;
    for (uint32_t k = 0; k < 4; ++k) {
      auto o = mixer->output(k == 3 ? 99 : 10 + k);
      out[k].insert(out[k].end(), o.begin(), o.end());
    }
  }
  // The muted leg hears exactly what a listener hears, in one shared pass.
  EXPECT_EQ(shared_ticks, kTicks);
  for (uint32_t k = 0; k < 4; ++k) {
    const std::span<const int16_t> steady(out[k].data() + 2 * kN, out[k].size() - 2 * kN);
    EXPECT_LE(tone_dbfs(steady, freq_of(0), kMixSampleRateHz), -70.0) << "output " << k;
  }
  const std::span<const int16_t> leg0(out[0].data() + 2 * kN, out[0].size() - 2 * kN);
  EXPECT_NEAR(tone_dbfs(leg0, freq_of(1), kMixSampleRateHz), -20.0, 1.0);
  EXPECT_NEAR(tone_dbfs(leg0, freq_of(2), kMixSampleRateHz), -20.0, 1.0);

  // Unmute: leg 0 leaves the group at once, and everyone else hears it again.
  ASSERT_TRUE(mixer->set_source_muted(0, false).ok());
  for (uint32_t k = 0; k < 3; ++k) ASSERT_TRUE(mixer->set_source_frame(k, in[k].data()).ok());
  mixer->mix();
  EXPECT_NE(mixer->mix_group(10), mixer->mix_group(99));
  EXPECT_EQ(mixer->stats().sources_mixed, 3u);
}

TEST(NMinus1Mixer, RejectsBadConfiguration) {
  MixerConfig cfg;
  cfg.max_sources = 0;
  auto m = NMinus1Mixer::create(cfg);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("max_sources"), std::string::npos);
  cfg = MixerConfig{};
  cfg.limiter.release_ms = 0;
  m = NMinus1Mixer::create(cfg);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("release_ms"), std::string::npos);

  auto mixer = make_mixer(1, 1);
  ASSERT_TRUE(mixer->add_source(1).ok());
  EXPECT_FALSE(mixer->add_source(1).ok());  // duplicate
  EXPECT_EQ(mixer->add_source(2).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(mixer->set_source_frame(7, nullptr).code(), StatusCode::kNotFound);
  EXPECT_TRUE(mixer->output(42).empty());
}

TEST(NMinus1Mixer, NoSourcesGivesSilence) {
  auto mixer = make_mixer(2, 2);
  ASSERT_TRUE(mixer->add_source(1).ok());
  ASSERT_TRUE(mixer->add_output(1, 1).ok());
  mixer->mix();
  for (int16_t s : mixer->output(1)) ASSERT_EQ(s, 0);
}

}  // namespace
}  // namespace sipmix::audio
