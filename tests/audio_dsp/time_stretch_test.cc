// Accelerate (time compression): sines keep frequency, level and continuity;
// the removed count is exact; noise and silence stay in bounds; real speech
// compressed by 10 % keeps its level.
#include "audio_dsp/time_stretch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "audio_dsp/resampler.h"
#include "audio_dsp/wav_file.h"
#include "tests/support/signal.h"
#include "tests/support/test_paths.h"

namespace sipmix::audio {
namespace {

using sipmix::testing::rms_dbfs;
using sipmix::testing::sine;
using sipmix::testing::tone_dbfs;

constexpr size_t kFrame = 960;

struct Compressed {
  std::vector<int16_t> out;
  size_t removed = 0;
  int ops = 0;
  size_t min_op = SIZE_MAX, max_op = 0;
  int periodic = 0, noise_like = 0, quiet = 0, declined = 0;
};

// Plays `in` through a 48 kHz FIFO the way AudioInput does: 20 ms in and
// out per tick; while fewer than `ratio` of the samples taken in have been
// removed, the FIFO is filled to 40 ms and compressed once, by at most
// 15 ms and never below one frame.
Compressed compress(TimeStretch& ts, const std::vector<int16_t>& in, double ratio) {
  Compressed c;
  std::vector<int16_t> fifo(8 * kFrame);
  size_t fifo_size = 0, pos = 0;
  auto feed = [&] {
    const size_t n = std::min(kFrame, in.size() - pos);
    std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(pos), n, fifo.begin() + static_cast<std::ptrdiff_t>(fifo_size));
    fifo_size += n;
    pos += n;
  };
  while (pos < in.size() || fifo_size >= kFrame) {
    if (fifo_size < kFrame && pos < in.size()) feed();
    if (static_cast<double>(c.removed) < ratio * static_cast<double>(pos)) {
      if (fifo_size < 2 * kFrame && pos < in.size()) feed();
      if (fifo_size >= 2 * kFrame) {
        const size_t before = fifo_size;
        const size_t max_remove = std::min<size_t>(720, fifo_size - kFrame);
        const StretchResult r = ts.accelerate({fifo.data(), fifo_size}, max_remove);
        EXPECT_LE(r.removed_samples, max_remove);
        EXPECT_TRUE(r.removed_samples == 0 || r.removed_samples >= 120) << r.removed_samples;
        fifo_size -= r.removed_samples;
        EXPECT_EQ(fifo_size + r.removed_samples, before);
        c.removed += r.removed_samples;
        switch (r.kind) {
          case StretchKind::kDeclined: ++c.declined; break;
          case StretchKind::kPeriodic: ++c.periodic; break;
          case StretchKind::kNoiseLike: ++c.noise_like; break;
          case StretchKind::kQuiet: ++c.quiet; break;
        }
        if (r.removed_samples) {
          ++c.ops;
          c.min_op = std::min(c.min_op, r.removed_samples);
          c.max_op = std::max(c.max_op, r.removed_samples);
        }
      }
    }
    if (fifo_size < kFrame) break;
    c.out.insert(c.out.end(), fifo.begin(), fifo.begin() + kFrame);
    std::copy(fifo.begin() + kFrame, fifo.begin() + static_cast<std::ptrdiff_t>(fifo_size), fifo.begin());
    fifo_size -= kFrame;
  }
  c.out.insert(c.out.end(), fifo.begin(), fifo.begin() + static_cast<std::ptrdiff_t>(fifo_size));
  return c;
}

int max_step(const std::vector<int16_t>& x) {
  int m = 0;
  for (size_t i = 1; i < x.size(); ++i) m = std::max(m, std::abs(int{x[i]} - int{x[i - 1]}));
  return m;
}

// Frequency from upward zero crossings (with linear interpolation).
double zero_crossing_hz(const std::vector<int16_t>& x, int rate_hz) {
  double first = -1, last = -1;
  int n = 0;
  for (size_t i = 1; i < x.size(); ++i) {
    if (x[i - 1] < 0 && x[i] >= 0) {
      const double a = x[i - 1], b = x[i];
      const double t = static_cast<double>(i - 1) - a / (b - a);
      if (first < 0) first = t;
      last = t;
      ++n;
    }
  }
  return n > 1 ? (n - 1) * rate_hz / (last - first) : 0;
}

TimeStretch make() {
  auto ts = TimeStretch::create();
  EXPECT_TRUE(ts.ok());
  return std::move(*ts);
}

class TimeStretchSine : public ::testing::TestWithParam<double> {};

TEST_P(TimeStretchSine, KeepsFrequencyLevelAndContinuity) {
  const double hz = GetParam();
  const auto in = sine(hz, -6.0, 48000, 48000 * 4);
  TimeStretch ts = make();
  // As fast as it goes: one operation every tick.
  const Compressed c = compress(ts, in, 1.0);
  std::printf("%.0f Hz: removed %.1f %% in %d ops of %zu-%zu samples, max step %d (clean %d)\n", hz,
              100.0 * static_cast<double>(c.removed) / static_cast<double>(in.size()), c.ops, c.min_op, c.max_op,
              max_step(c.out), max_step(in));
  ASSERT_GT(c.ops, 100);
  EXPECT_EQ(c.out.size() + c.removed, in.size()) << "removed count matches the length change";
  EXPECT_EQ(c.periodic, c.ops);
  EXPECT_EQ(c.declined, 0);
  EXPECT_GE(c.min_op, 480u) << "a sine's period is removed 10-15 ms at a time";
  EXPECT_LE(c.max_op, 720u);
  // Every 100 ms block: the tone at its level, nothing beside it (each
  // operation shifts the phase by a fraction of a sample, so one Goertzel
  // over seconds would be too narrow a measure).
  const double in_level = tone_dbfs({in.data(), 4800}, hz, 48000);
  EXPECT_NEAR(in_level, -6.0, 0.1);
  for (size_t b = 0; b + 4800 <= c.out.size(); b += 4800) {
    const std::span<const int16_t> blk(c.out.data() + b, 4800);
    EXPECT_NEAR(tone_dbfs(blk, hz, 48000), in_level, 0.5) << "block at " << b;
    EXPECT_LT(tone_dbfs(blk, hz * 1.5, 48000), in_level - 40) << "block at " << b;
    EXPECT_LT(tone_dbfs(blk, hz * 2, 48000), in_level - 40) << "block at " << b;
  }
  EXPECT_NEAR(zero_crossing_hz(c.out, 48000), hz, hz * 0.002);
  EXPECT_NEAR(rms_dbfs(c.out), rms_dbfs(in), 0.5);
  EXPECT_LE(max_step(c.out), max_step(in) * 1.2) << "no discontinuity";
}

INSTANTIATE_TEST_SUITE_P(Tones, TimeStretchSine, ::testing::Values(440.0, 1000.0, 150.0, 3100.0));

TEST(TimeStretch, RemovedCountIsExactAtAModerateRate) {
  const auto in = sine(440, -10.0, 48000, 48000 * 3);
  TimeStretch ts = make();
  const Compressed c = compress(ts, in, 0.10);
  EXPECT_EQ(c.out.size() + c.removed, in.size());
  EXPECT_NEAR(static_cast<double>(c.removed) / static_cast<double>(in.size()), 0.10, 0.02);
  EXPECT_LE(max_step(c.out), max_step(in) * 1.2);
}

TEST(TimeStretch, WhiteNoiseRespectsBoundsAndLevel) {
  uint64_t s = 12345;
  std::vector<int16_t> in(48000 * 3);
  for (auto& v : in) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    v = static_cast<int16_t>(static_cast<int>(s % 16001) - 8000);
  }
  TimeStretch ts = make();
  const Compressed c = compress(ts, in, 0.10);
  EXPECT_EQ(c.out.size() + c.removed, in.size());
  EXPECT_EQ(c.periodic, 0);
  EXPECT_GT(c.noise_like, 0) << "stationary noise is compressed in short segments";
  EXPECT_LE(c.max_op, 240u);
  EXPECT_NEAR(rms_dbfs(c.out), rms_dbfs(in), 0.5);

  // Every size and budget, including too small ones.
  for (size_t n : {size_t{0}, size_t{1}, size_t{239}, size_t{240}, size_t{241}, size_t{1000}, size_t{1440}, size_t{4000}}) {
    for (size_t max_remove : {size_t{0}, size_t{119}, size_t{120}, size_t{121}, size_t{500}, size_t{720}, size_t{5000}}) {
      std::vector<int16_t> x(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
      const StretchResult r = ts.accelerate(x, max_remove);
      EXPECT_LE(r.removed_samples, std::min({max_remove, n / 2, size_t{720}})) << n << " " << max_remove;
      // The tail moved down intact.
      const size_t l = r.removed_samples;
      if (l) {
        EXPECT_GE(l, 120u);
        EXPECT_TRUE(std::equal(x.begin() + static_cast<std::ptrdiff_t>(l), x.begin() + static_cast<std::ptrdiff_t>(n - l),
                               in.begin() + static_cast<std::ptrdiff_t>(2 * l)));
      }
    }
  }
}

TEST(TimeStretch, SilenceIsRemovedCleanly) {
  const std::vector<int16_t> in(48000, 0);
  TimeStretch ts = make();
  const Compressed c = compress(ts, in, 0.25);
  EXPECT_EQ(c.out.size() + c.removed, in.size());
  EXPECT_EQ(c.quiet, c.ops);
  EXPECT_GT(c.ops, 0);
  EXPECT_TRUE(std::all_of(c.out.begin(), c.out.end(), [](int16_t v) { return v == 0; }));
}

TEST(TimeStretch, AnOnsetIsNotCompressedAsNoise) {
  // 10 ms of silence, then loud noise: the two halves differ by far more
  // than the allowed energy ratio.
  std::vector<int16_t> x(1920, 0);
  uint64_t s = 7;
  for (size_t i = 480; i < x.size(); ++i) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    x[i] = static_cast<int16_t>(static_cast<int>(s % 20001) - 10000);
  }
  TimeStretch ts = make();
  const StretchResult r = ts.accelerate(x, 720);
  EXPECT_EQ(r.kind, StretchKind::kDeclined);
  EXPECT_EQ(r.removed_samples, 0u);
}

TEST(TimeStretch, ConfigValidation) {
  TimeStretchConfig c;
  EXPECT_TRUE(TimeStretch::validate(c).ok());
  c.min_lag_samples = 4;
  EXPECT_FALSE(TimeStretch::validate(c).ok());
  c = {};
  c.max_lag_samples = 100;
  EXPECT_NE(TimeStretch::validate(c).message().find("max_lag_samples"), std::string::npos);
  c = {};
  c.periodic_correlation = 1.5;
  EXPECT_FALSE(TimeStretch::create(c).ok());
  c = {};
  c.max_energy_ratio = 0.5;
  EXPECT_FALSE(TimeStretch::validate(c).ok());
}

std::vector<int16_t> speech_48k() {
  std::vector<int16_t> pcm8;
  for (const char* name : {"conf-muted", "conf-unmuted", "call-forwarding", "all-circuits-busy-now",
                           "cannot-complete-as-dialed"}) {
    auto w = read_wav(std::string(sipmix::testing::kPromptDir) + "/" + name + ".wav");
    if (!w.ok() || w->sample_rate_hz != 8000) continue;
    pcm8.insert(pcm8.end(), w->samples.begin(), w->samples.end());
  }
  std::vector<int16_t> out;
  auto rs = Resampler::create(8000, 48000, 5);
  if (!rs.ok() || pcm8.empty()) return out;
  std::vector<int16_t> buf(rs->max_output_samples());
  for (size_t i = 0; i < pcm8.size(); i += 160) {
    const size_t n = std::min<size_t>(160, pcm8.size() - i);
    const size_t m = rs->process({pcm8.data() + i, n}, buf);
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(m));
  }
  return out;
}

TEST(TimeStretch, SpeechCompressedByTenPercentKeepsItsLevel) {
  const auto in = speech_48k();
  if (in.size() < 48000 * 3) GTEST_SKIP() << "asterisk-core-sounds-en-wav prompts not found in " << sipmix::testing::kPromptDir;
  TimeStretch ts = make();
  const Compressed c = compress(ts, in, 0.10);
  const double removed = static_cast<double>(c.removed) / static_cast<double>(in.size());
  std::printf("speech %.2f s: removed %.1f %% in %d ops (%d periodic, %d noise-like, %d quiet, %d declined), "
              "rms %.2f -> %.2f dBFS\n",
              static_cast<double>(in.size()) / 48000, removed * 100, c.ops, c.periodic, c.noise_like, c.quiet,
              c.declined, rms_dbfs(in), rms_dbfs(c.out));
  EXPECT_EQ(c.out.size() + c.removed, in.size());
  EXPECT_NEAR(removed, 0.10, 0.02);
  EXPECT_GT(c.periodic, 0) << "voiced speech is compressed by pitch periods";
  EXPECT_NEAR(rms_dbfs(c.out), rms_dbfs(in), 1.0);
}

TEST(TimeStretch, IsDeterministic) {
  const auto in = speech_48k();
  if (in.empty()) GTEST_SKIP() << "prompts not found";
  TimeStretch a = make(), b = make();
  const Compressed x = compress(a, in, 0.2), y = compress(b, in, 0.2);
  EXPECT_EQ(x.out, y.out);
  EXPECT_EQ(x.removed, y.removed);
}

}  // namespace
}  // namespace sipmix::audio
