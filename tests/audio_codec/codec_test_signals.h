// Test material for the codec and resampler tests: real speech from Debian's
// asterisk prompts, resampled to the rate a test wants, and a speech-like
// multi-tone. Header-only so it is shared by the codec_*_test.cc files.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

#include "audio_dsp/resampler.h"
#include "audio_dsp/wav_file.h"
#include "tests/support/test_env.h"
#include "tests/support/test_paths.h"

namespace sipmix::audio::testing {

using sipmix::testing::ci_scale;

// Whole-signal conversion with the filter delay removed (test material only).
inline std::vector<int16_t> resample_all(const std::vector<int16_t>& x, int from_hz, int to_hz) {
  if (from_hz == to_hz) return x;
  auto rs = Resampler::create(from_hz, to_hz, Resampler::kDefaultQuality, 960);
  EXPECT_TRUE(rs.ok());
  if (!rs.ok()) return {};
  const size_t want = x.size() * static_cast<size_t>(to_hz) / static_cast<size_t>(from_hz);
  const size_t skip = static_cast<size_t>(rs->output_latency_samples());
  std::vector<int16_t> out, buf(rs->max_output_samples()), zeros(960, 0);
  size_t pos = 0;
  while (out.size() < want + skip) {
    const size_t n = std::min<size_t>(960, x.size() > pos ? x.size() - pos : 0);
    const size_t got = n > 0 ? rs->process(std::span(x).subspan(pos, n), buf) : rs->process(zeros, buf);
    pos += n;
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got));
  }
  return std::vector<int16_t>(out.begin() + static_cast<std::ptrdiff_t>(skip),
                              out.begin() + static_cast<std::ptrdiff_t>(skip + want));
}

// Up to `seconds` of a real recording (8 kHz source) at `rate_hz`.
inline std::vector<int16_t> speech(int rate_hz, double seconds) {
  const std::string path = std::string(sipmix::testing::kPromptDir) + "/demo-echotest.wav";
  auto wav = read_wav(path);
  EXPECT_TRUE(wav.ok()) << wav.status().message();
  if (!wav.ok()) return {};
  std::vector<int16_t> x = wav->samples;
  x.resize(std::min(x.size(), static_cast<size_t>(seconds * wav->sample_rate_hz)));
  return resample_all(x, wav->sample_rate_hz, rate_hz);
}

// Three harmonically unrelated tones, each at `level_dbfs` peak.
inline std::vector<int16_t> multitone(int rate_hz, size_t n, double level_dbfs = -14.0) {
  std::vector<int16_t> x(n);
  const double a = 32767.0 * std::pow(10.0, level_dbfs / 20.0);
  const double f[] = {330.0, 770.0, 1230.0};
  for (size_t i = 0; i < n; ++i) {
    double v = 0;
    for (double fi : f) v += a * std::sin(2 * std::numbers::pi * fi * static_cast<double>(i) / rate_hz);
    x[i] = static_cast<int16_t>(std::lround(v));
  }
  return x;
}

// Largest |x[n] - x[n-1]| for n in [begin, end).
inline int max_step(const std::vector<int16_t>& x, size_t begin, size_t end) {
  int m = 0;
  for (size_t i = std::max<size_t>(begin, 1); i < std::min(end, x.size()); ++i)
    m = std::max(m, std::abs(static_cast<int>(x[i]) - x[i - 1]));
  return m;
}

}  // namespace sipmix::audio::testing
