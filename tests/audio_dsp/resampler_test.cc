// SpeexDSP resampler: a 1 kHz tone survives 48k -> 8k -> 48k at >= 40 dB SNR,
// content above 4 kHz is filtered out at 8 kHz, frames join seamlessly, and
// bad configuration is refused with the field named.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "audio_dsp/resampler.h"
#include "tests/support/signal.h"

namespace sipmix::audio {
namespace {

using sipmix::testing::rms_dbfs;
using sipmix::testing::sine;
using sipmix::testing::snr_db;
using sipmix::testing::tone_dbfs;

// Runs `x` through `rs` in 20 ms frames; every call must return a whole frame.
std::vector<int16_t> run_frames(Resampler& rs, const std::vector<int16_t>& x) {
  const size_t in_frame = static_cast<size_t>(rs.in_rate_hz() / 50);
  const size_t out_frame = static_cast<size_t>(rs.out_rate_hz() / 50);
  std::vector<int16_t> buf(rs.max_output_samples()), y;
  for (size_t i = 0; i + in_frame <= x.size(); i += in_frame) {
    const size_t n = rs.process(std::span(x).subspan(i, in_frame), buf);
    EXPECT_EQ(n, out_frame);
    y.insert(y.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return y;
}

Resampler make(int in, int out, int quality = Resampler::kDefaultQuality) {
  auto r = Resampler::create(in, out, quality, 960);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return std::move(r).value();
}

TEST(Resampler, OneKilohertzThrough8kKeeps40dB) {
  for (int quality : {3, Resampler::kDefaultQuality, 10}) {
    Resampler down = make(48000, 8000, quality);
    Resampler up = make(8000, 48000, quality);
    const auto x = sine(1000.0, -6.0, 48000, 48000);
    const auto y = run_frames(up, run_frames(down, x));
    ASSERT_EQ(y.size(), x.size());
    // Skip the first 100 ms (filter start-up); search the filters' delay.
    const std::span<const int16_t> ref = std::span(x).subspan(4800, x.size() - 9600);
    const std::span<const int16_t> out = std::span(y).subspan(4800);
    size_t delay = 0;
    const double snr = snr_db(ref, out, 200, &delay);
    std::printf("quality %d: 1 kHz 48k->8k->48k SNR %.1f dB, delay %zu samples\n", quality, snr, delay);
    EXPECT_GE(snr, 40.0) << "quality " << quality;
    EXPECT_NEAR(tone_dbfs(out, 1000.0, 48000), -6.0, 0.5);
  }
}

TEST(Resampler, ContentAbove4kHzIsRemovedAt8k) {
  Resampler down = make(48000, 8000);
  for (double f : {4500.0, 6000.0, 10000.0}) {
    down.reset();
    const auto x = sine(f, -1.0, 48000, 48000);
    const auto y = run_frames(down, x);
    const std::span<const int16_t> steady = std::span(y).subspan(800);
    const double in_db = rms_dbfs(x);
    const double out_db = rms_dbfs(steady);
    double alias_hz = std::fmod(f, 8000.0);  // where an unfiltered decimation would put it
    if (alias_hz > 4000.0) alias_hz = 8000.0 - alias_hz;
    std::printf("%.0f Hz at 48k -> 8k: %.1f dB down (alias at %.0f Hz: %.1f dBFS)\n", f, in_db - out_db, alias_hz,
                tone_dbfs(steady, alias_hz, 8000));
    EXPECT_LE(out_db, in_db - 40.0) << f << " Hz";
    EXPECT_LE(tone_dbfs(steady, alias_hz, 8000), -41.0) << f << " Hz";
  }
  // The passband stays: 3 kHz loses less than 1 dB.
  down.reset();
  const auto y = run_frames(down, sine(3000.0, -6.0, 48000, 48000));
  EXPECT_NEAR(tone_dbfs(std::span(y).subspan(800), 3000.0, 8000), -6.0, 1.0);
}

TEST(Resampler, G722RateRoundTrip) {
  Resampler down = make(48000, 16000);
  Resampler up = make(16000, 48000);
  const auto x = sine(2500.0, -6.0, 48000, 48000);
  const auto y = run_frames(up, run_frames(down, x));
  const double snr = snr_db(std::span(x).subspan(4800, 38400), std::span(y).subspan(4800), 600);
  EXPECT_GE(snr, 40.0);
}

// The filter history carries across calls: 20 ms frames give exactly what a
// single call over the whole signal gives.
TEST(Resampler, FramesJoinLikeOneLongCall) {
  const auto x = sine(1000.0, -6.0, 8000, 8000);
  Resampler framed = make(8000, 48000);
  const auto a = run_frames(framed, x);
  auto whole = Resampler::create(8000, 48000, Resampler::kDefaultQuality, x.size());
  ASSERT_TRUE(whole.ok());
  std::vector<int16_t> b(whole->max_output_samples());
  b.resize(whole->process(x, b));
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a, b);
}

TEST(Resampler, EqualRatesCopy) {
  Resampler same = make(48000, 48000);
  const auto x = sine(1000.0, -6.0, 48000, 960);
  std::vector<int16_t> y(same.max_output_samples());
  ASSERT_EQ(same.process(x, y), 960u);
  EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin()));
  EXPECT_EQ(same.output_latency_samples(), 0);
}

TEST(Resampler, RefusesBadConfiguration) {
  auto q = Resampler::create(8000, 48000, 2);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(q.status().message().find("quality"), std::string::npos);
  EXPECT_FALSE(Resampler::create(8000, 48000, 11).ok());
  auto r = Resampler::create(4000, 48000);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("in_rate_hz"), std::string::npos);
  EXPECT_FALSE(Resampler::create(8000, 0).ok());
  EXPECT_FALSE(Resampler::create(8000, 48000, 5, 0).ok());
  EXPECT_GE(Resampler::kDefaultQuality, 3);
}

TEST(Resampler, OversizedInputIsTruncatedNotOverrun) {
  Resampler up = make(8000, 48000);  // max 960 input samples
  std::vector<int16_t> x(5000, 1000), y(up.max_output_samples());
  const size_t n = up.process(x, y);
  EXPECT_LE(n, up.max_output_samples());
  EXPECT_GE(n, 960u * 6 - 6);
}

}  // namespace
}  // namespace sipmix::audio
