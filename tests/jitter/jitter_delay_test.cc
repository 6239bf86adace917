// Adaptive target delay: it rises under jitter, comes back down after the
// spike, and the playout delay follows it through silence.
#include <gtest/gtest.h>

#include <random>

#include "jitter/jitter_buffer.h"
#include "tests/jitter/jitter_test_util.h"

namespace sipmix {
namespace {

using testing::AudioSender;
using testing::TimedPacket;

constexpr int64_t kMs = 1000;
constexpr int64_t kSec = 1000 * kMs;

TEST(JitterBufferDelay, RisesUnderJitterAndComesBackDown) {
  JitterBufferConfig c;  // min 20 ms, max 1000 ms, 95 % quantile
  auto jb = std::move(JitterBuffer::create(c)).value();
  AudioSender tx;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> spike(0, 150 * kMs);
  std::vector<TimedPacket> pk;
  // 0-30 s calm (5 ms), 30-50 s jitter spike (0-150 ms), 50-200 s calm.
  while (tx.send_us < 200 * kSec) {
    const bool in_spike = tx.send_us >= 30 * kSec && tx.send_us < 50 * kSec;
    pk.push_back(tx.next(in_spike ? 5 * kMs + spike(rng) : 5 * kMs));
  }
  int32_t target_calm = 0, target_spike_max = 0, target_after_60s = 0;
  JitterDelay end_delay;
  uint64_t missing_at_spike_end = 0, missing_calm_before = 0, missing_mid_spike = 0;
  std::vector<int32_t> target_after;  // once a second after the spike
  testing::run_audio(
      *jb, pk, 10 * kMs, 200 * kSec,
      // Speech with pauses: every other second is silent.
      [](int64_t t) { return (t / kSec) % 2 == 1; }, nullptr,
      [&](int64_t t) {
        const JitterDelay d = jb->delay();
        if (t == 29 * kSec + 10 * kMs) {
          target_calm = d.target_delay_ms;
          missing_calm_before = jb->stats().missing;
        }
        if (t >= 30 * kSec && t < 51 * kSec) target_spike_max = std::max(target_spike_max, d.target_delay_ms);
        if (t == 40 * kSec + 10 * kMs) missing_mid_spike = jb->stats().missing;
        if (t == 51 * kSec + 10 * kMs) missing_at_spike_end = jb->stats().missing;
        if (t >= 51 * kSec && (t - 10 * kMs) % kSec == 0) target_after.push_back(d.target_delay_ms);
        if (t == 110 * kSec + 10 * kMs) target_after_60s = d.target_delay_ms;
        if (t == 199 * kSec + 10 * kMs) end_delay = d;
      });
  EXPECT_EQ(target_calm, 20);
  EXPECT_EQ(missing_calm_before, 0u);
  // The 95 % quantile of a 0-150 ms spread is ~140 ms; the histogram still
  // holds the calm period, so expect well above 100 ms.
  EXPECT_GE(target_spike_max, 100);
  EXPECT_LE(target_spike_max, 160);
  // Once the target has risen, about 95 % of the spike's packets play in
  // time: the second half of the spike (500 packets) loses under 8 %.
  const JitterStats st = jb->stats();
  EXPECT_LT(missing_at_spike_end - missing_mid_spike, 500u * 8 / 100);
  EXPECT_LT(missing_mid_spike, 500u * 20 / 100);  // includes the ~2 s it takes to adapt
  // It comes back down and never sticks: non-increasing after the spike,
  // and at the minimum well before the end.
  for (size_t i = 1; i < target_after.size(); ++i) EXPECT_LE(target_after[i], target_after[i - 1]);
  EXPECT_LT(target_after_60s, target_spike_max);
  EXPECT_EQ(end_delay.target_delay_ms, 20);
  // The playout delay followed the target down through the silent seconds.
  EXPECT_LE(end_delay.current_delay_ms, end_delay.target_delay_ms + 20);
  EXPECT_GT(st.delay_cuts, 0u);
  // No audible frame was dropped: the calm part after the spike lost nothing.
  EXPECT_EQ(st.missing, missing_at_spike_end);
}

TEST(JitterBufferDelay, TargetStaysWithinConfiguredBounds) {
  JitterBufferConfig c;
  c.min_delay_ms = 40;
  c.max_delay_ms = 120;
  auto jb = std::move(JitterBuffer::create(c)).value();
  EXPECT_EQ(jb->delay().target_delay_ms, 40);
  AudioSender tx;
  std::mt19937 rng(3);
  std::uniform_int_distribution<int64_t> wild(0, 800 * kMs);
  std::vector<TimedPacket> pk;
  for (int i = 0; i < 2000; ++i) pk.push_back(tx.next(wild(rng)));
  int32_t lo = 1 << 30, hi = 0;
  testing::run_audio(*jb, pk, 10 * kMs, 41 * kSec, nullptr, nullptr, [&](int64_t) {
    lo = std::min(lo, jb->delay().target_delay_ms);
    hi = std::max(hi, jb->delay().target_delay_ms);
  });
  EXPECT_GE(lo, 40);
  EXPECT_EQ(hi, 120);
}

}  // namespace
}  // namespace sipmix
