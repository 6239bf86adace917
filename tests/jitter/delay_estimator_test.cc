// DelayEstimator against straightforward references: the quantile target of
// its O(1) lazily-forgotten histogram against the weighted quantile computed
// from every packet seen (weight forget_factor^age), and its integer RFC 3550
// jitter against the formula in floating point.
#include "jitter/delay_estimator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "jitter/jitter_buffer.h"
#include "tests/support/test_env.h"

namespace sipmix {
namespace {

using testing::XorShift64;

// Every 10th packet arrives with no extra delay, so the reference (the
// fastest transit of the last 2 s) stays that of the first packet and each
// packet's relative delay is exactly its extra delay.
struct Feed {
  JitterBufferConfig config;
  std::vector<int64_t> extra_us;  // per packet
};

// The target a brute-force estimator would give after packets [0, n).
int64_t reference_target_us(const Feed& f, size_t n, int64_t bucket_us) {
  constexpr int kBuckets = 256;
  std::vector<double> hist(kBuckets, 0.0);
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    const double w = std::pow(f.config.forget_factor, static_cast<double>(n - 1 - i));
    const int b = static_cast<int>(std::min<int64_t>(f.extra_us[i] / bucket_us, kBuckets - 1));
    hist[b] += w;
    total += w;
  }
  double cum = 0;
  int q = 0;
  for (; q < kBuckets; ++q) {
    cum += hist[q];
    if (cum >= f.config.delay_quantile * total) break;
  }
  return std::clamp<int64_t>((q + 1) * bucket_us, f.config.min_delay_ms * 1000, f.config.max_delay_ms * 1000);
}

TEST(DelayEstimator, TargetIsTheForgettingQuantileOfEveryPacketSeen) {
  Feed f;
  f.config.min_delay_ms = 0;
  f.config.max_delay_ms = 1000;
  XorShift64 rng(0xD31A);
  SCOPED_TRACE(rng.seed_text());
  // Three phases: calm (0-20 ms), a spike (0-300 ms), calm again, so the
  // target rises and comes back down while both are compared.
  for (int i = 0; i < 9000; ++i) {
    const int64_t span = (i >= 2000 && i < 3000) ? 300000 : 20000;
    f.extra_us.push_back(i % 10 == 0 ? 0 : static_cast<int64_t>(rng.next() % static_cast<uint32_t>(span)));
  }
  DelayEstimator e(f.config);
  constexpr int64_t kFrameUs = 20000;
  int checks = 0, exact = 0;
  int64_t peak = 0;
  for (size_t i = 0; i < f.extra_us.size(); ++i) {
    const int64_t send_us = static_cast<int64_t>(i) * kFrameUs;
    e.update(1'000'000 + send_us + f.extra_us[i], send_us, send_us * 48 / 1000);
    ASSERT_EQ(e.ref_offset_us(), 1'000'000) << i;
    if (i % 50 != 49) continue;
    const int64_t want = reference_target_us(f, i + 1, e.bucket_us());
    ++checks;
    if (e.target_us() == want) ++exact;
    // Floating-point sums in another order may put a quantile that sits on
    // a bucket edge in the neighbouring bucket; never further.
    EXPECT_LE(std::abs(e.target_us() - want), e.bucket_us()) << "packet " << i;
    peak = std::max<int64_t>(peak, e.target_us());
  }
  EXPECT_GE(exact, checks * 98 / 100) << exact << " of " << checks;
  EXPECT_GT(peak, 250000);              // the spike raised it
  // 6000 packets later the spike weighs 0.9993^6000 = 1.5 % of its first
  // weight: the target is back at the calm 95th percentile (19 ms, the
  // bucket's upper edge).
  EXPECT_LT(e.target_us(), 25000);
}

TEST(DelayEstimator, InterarrivalJitterFollowsRfc3550) {
  JitterBufferConfig c;
  DelayEstimator e(c);
  XorShift64 rng(0x3550);
  SCOPED_TRACE(rng.seed_text());
  double j = 0;  // RFC 3550 §6.4.1, in timestamp units
  int64_t last_transit = 0;
  for (int i = 0; i < 5000; ++i) {
    const int64_t send_us = i * 20000;
    const int64_t extra_us = rng.next() % 40000;
    const int64_t arrival_us = 5'000'000 + send_us + extra_us;
    const int64_t ts = send_us * 48 / 1000;
    e.update(arrival_us, send_us, ts);
    const int64_t transit = arrival_us * 48 / 1000 - ts;
    if (i > 0) j += (std::abs(static_cast<double>(transit - last_transit)) - j) / 16;
    last_transit = transit;
  }
  // Uniform extra delay of 0-40 ms: |D| averages 13.3 ms, 640 units.
  const double ours = e.jitter_q4() / 16.0;
  EXPECT_NEAR(ours, j, 1.0 + 0.005 * j);
  EXPECT_GT(j, 400);
}

}  // namespace
}  // namespace sipmix
