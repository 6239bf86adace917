// Talker detection: levels from RFC 6464 or measured; the active-speaker
// ranking puts the most recent speakers first and does not flap.
#include "mix/talker.h"

#include <gtest/gtest.h>

#include <vector>

#include "mix/mixer.h"
#include "tests/support/signal.h"

namespace sipmix::audio {
namespace {

std::unique_ptr<TalkerDetector> make(size_t n) {
  TalkerConfig cfg;
  cfg.max_sources = n;
  auto t = TalkerDetector::create(cfg);
  EXPECT_TRUE(t.ok());
  auto d = std::move(t).value();
  for (uint32_t id = 1; id <= n; ++id) EXPECT_TRUE(d->add_source(id).ok());
  return d;
}

// Runs `ticks` ticks with RFC 6464 levels per source id (1-based; 127 = silence).
void run_rfc6464(TalkerDetector* d, const std::vector<uint8_t>& levels, int ticks) {
  for (int t = 0; t < ticks; ++t) {
    for (size_t i = 0; i < levels.size(); ++i)
      d->update(static_cast<uint32_t>(i + 1), TalkerDetector::level_from_rfc6464(levels[i]));
    d->end_tick();
  }
}

std::vector<uint32_t> ranking(const TalkerDetector& d) { return {d.ranking().begin(), d.ranking().end()}; }

TEST(TalkerDetector, Rfc6464LevelsRankMostRecentSpeakerFirst) {
  auto d = make(5);
  EXPECT_EQ(ranking(*d), (std::vector<uint32_t>{1, 2, 3, 4, 5}));  // join order
  EXPECT_FALSE(d->dominant().has_value());
  run_rfc6464(d.get(), {127, 127, 20, 127, 127}, 50);  // source 3 talks for 1 s
  EXPECT_TRUE(d->is_active(3));
  EXPECT_EQ(d->dominant(), 3u);
  EXPECT_EQ(ranking(*d), (std::vector<uint32_t>{3, 1, 2, 4, 5}));
  run_rfc6464(d.get(), {127, 127, 127, 127, 25}, 100);  // then source 5, for 2 s
  EXPECT_FALSE(d->is_active(3));
  EXPECT_TRUE(d->is_active(5));
  EXPECT_EQ(d->dominant(), 5u);
  EXPECT_EQ(ranking(*d), (std::vector<uint32_t>{5, 3, 1, 2, 4}));
  EXPECT_NEAR(d->smoothed_dbov(5), -25.0, 0.5);
}

TEST(TalkerDetector, RankingDoesNotFlapAroundTheThreshold) {
  auto d = make(3);
  run_rfc6464(d.get(), {127, 20, 127}, 30);  // 2 is the active speaker
  // Source 1 hovers around the activation threshold (-42 dBov) within the
  // hysteresis band, and 2 pauses 300 ms between phrases: nothing changes.
  std::vector<uint32_t> first = ranking(*d);
  int changes = 0;
  for (int t = 0; t < 200; ++t) {
    const uint8_t l1 = (t / 3) % 2 ? 44 : 47;  // -44 / -47 dBov: never above -42 for long
    const uint8_t l2 = (t % 40) < 25 ? 20 : 127;
    run_rfc6464(d.get(), {l1, l2, 127}, 1);
    if (ranking(*d) != first) ++changes, first = ranking(*d);
    EXPECT_EQ(d->dominant(), 2u) << "tick " << t;
  }
  EXPECT_EQ(changes, 0);
  EXPECT_TRUE(d->is_active(2));
  EXPECT_FALSE(d->is_active(1));
}

TEST(TalkerDetector, DominantNeedsMarginAndHold) {
  auto d = make(2);
  run_rfc6464(d.get(), {20, 127}, 30);
  run_rfc6464(d.get(), {20, 21}, 50);  // 2 joins, 1 dB quieter: 1 stays dominant
  EXPECT_EQ(d->dominant(), 1u);
  EXPECT_EQ(ranking(*d).front(), 1u);
  run_rfc6464(d.get(), {20, 18}, 50);  // 2 dB louder: below the 3 dB margin
  EXPECT_EQ(d->dominant(), 1u);
  run_rfc6464(d.get(), {20, 10}, 5);  // 10 dB louder, but only 100 ms so far
  EXPECT_EQ(d->dominant(), 1u);
  run_rfc6464(d.get(), {20, 10}, 20);
  EXPECT_EQ(d->dominant(), 2u);
  EXPECT_EQ(ranking(*d).front(), 2u);
}

TEST(TalkerDetector, MeasuredLevelsFromFrames) {
  EXPECT_NEAR(TalkerDetector::measure_dbov(testing::sine(440, -20.0, 48000, kMixFrameSamples)), -23.01, 0.05);
  const std::vector<int16_t> silence(kMixFrameSamples, 0);
  EXPECT_EQ(TalkerDetector::measure_dbov(silence), TalkerDetector::kSilenceDbov);

  auto d = make(3);
  const auto speech = testing::sine(300, -12.0, 48000, 100 * kMixFrameSamples);
  const auto hiss = testing::sine(5000, -70.0, 48000, 100 * kMixFrameSamples);
  for (size_t t = 0; t < 100; ++t) {
    d->update(1, TalkerDetector::measure_dbov({hiss.data() + t * kMixFrameSamples, kMixFrameSamples}));
    d->update(2, TalkerDetector::measure_dbov({speech.data() + t * kMixFrameSamples, kMixFrameSamples}));
    // source 3 sends nothing: silent
    d->end_tick();
  }
  EXPECT_FALSE(d->is_active(1));
  EXPECT_TRUE(d->is_active(2));
  EXPECT_FALSE(d->is_active(3));
  EXPECT_EQ(d->dominant(), 2u);
  EXPECT_EQ(ranking(*d), (std::vector<uint32_t>{2, 1, 3}));
}

TEST(TalkerDetector, RemovedDominantIsForgotten) {
  auto d = make(2);
  run_rfc6464(d.get(), {15, 127}, 20);
  EXPECT_EQ(d->dominant(), 1u);
  ASSERT_TRUE(d->remove_source(1).ok());
  EXPECT_FALSE(d->dominant().has_value());
  EXPECT_EQ(ranking(*d), (std::vector<uint32_t>{2}));
  EXPECT_FALSE(d->remove_source(1).ok());
}

TEST(TalkerDetector, RejectsBadConfiguration) {
  TalkerConfig c;
  c.off_dbov = -10.0f;  // above on_dbov: no hysteresis
  auto t = TalkerDetector::create(c);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("off_dbov"), std::string::npos);
}

}  // namespace
}  // namespace sipmix::audio
