// Optional in-band (Goertzel) DTMF detector: finds synthesized key tones at
// 8 and 48 kHz, and stays silent on real speech (Debian's Allison prompts).
#include "dtmf/inband_detector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/support/signal.h"
#include "tests/support/test_env.h"
#include "tests/support/test_paths.h"

namespace sipmix::dtmf {
namespace {

const std::map<char, std::pair<double, double>>& tones() {
  static const std::map<char, std::pair<double, double>> t = {
      {'1', {697, 1209}}, {'2', {697, 1336}}, {'3', {697, 1477}}, {'A', {697, 1633}},
      {'4', {770, 1209}}, {'5', {770, 1336}}, {'6', {770, 1477}}, {'B', {770, 1633}},
      {'7', {852, 1209}}, {'8', {852, 1336}}, {'9', {852, 1477}}, {'C', {852, 1633}},
      {'*', {941, 1209}}, {'0', {941, 1336}}, {'#', {941, 1477}}, {'D', {941, 1633}}};
  return t;
}

// Key tones of `tone_ms` separated by `gap_ms` of silence (or quiet noise).
std::vector<int16_t> keypad(const std::string& digits, int rate, int tone_ms, int gap_ms, double level_dbfs,
                            double noise_dbfs = -200) {
  std::vector<int16_t> out;
  const size_t tone_n = static_cast<size_t>(rate) * tone_ms / 1000, gap_n = static_cast<size_t>(rate) * gap_ms / 1000;
  out.resize(gap_n, 0);
  for (char d : digits) {
    const auto [lo, hi] = tones().at(d);
    const auto a = sipmix::testing::sine(lo, level_dbfs, rate, tone_n);
    const auto b = sipmix::testing::sine(hi, level_dbfs, rate, tone_n);
    for (size_t i = 0; i < tone_n; ++i) out.push_back(static_cast<int16_t>(a[i] + b[i]));
    out.insert(out.end(), gap_n, 0);
  }
  if (noise_dbfs > -200) {
    std::mt19937 rng(7);
    std::normal_distribution<double> g(0, 32768.0 * std::pow(10.0, noise_dbfs / 20));
    for (auto& s : out) s = static_cast<int16_t>(std::clamp(s + g(rng), -32768.0, 32767.0));
  }
  return out;
}

std::vector<InbandDigit> detect(const std::vector<int16_t>& pcm, int rate, size_t chunk = 160) {
  auto det = InbandDtmfDetector::create({.sample_rate_hz = static_cast<uint32_t>(rate)}).value();
  for (size_t i = 0; i < pcm.size(); i += chunk)
    det.process(std::span<const int16_t>(pcm.data() + i, std::min(chunk, pcm.size() - i)));
  std::vector<InbandDigit> v;
  InbandDigit d;
  while (det.pop_digit(d)) v.push_back(d);
  return v;
}

std::string digits_of(const std::vector<InbandDigit>& v) {
  std::string s;
  for (const auto& d : v) s += d.digit;
  return s;
}

TEST(InbandDtmfDetector, FindsEveryKeyAt8k) {
  const std::string all = "123A456B789C*0#D";
  const auto got = detect(keypad(all, 8000, 100, 100, -12), 8000);
  EXPECT_EQ(digits_of(got), all);
  for (const auto& d : got) EXPECT_NEAR(static_cast<double>(d.duration_ms), 100.0, 30.0);
}

TEST(InbandDtmfDetector, FindsKeysAt48kWithNoise) {
  const std::string keys = "*6#9";
  EXPECT_EQ(digits_of(detect(keypad(keys, 48000, 80, 80, -20, /*noise_dbfs=*/-45), 48000, 960)), keys);
}

TEST(InbandDtmfDetector, RepeatedKeyIsTwoDigits) {
  EXPECT_EQ(digits_of(detect(keypad("66", 8000, 100, 100, -12), 8000)), "66");
}

TEST(InbandDtmfDetector, IgnoresSingleTonesAndQuietTones) {
  const auto one = sipmix::testing::sine(1000, -6, 8000, 8000);
  EXPECT_TRUE(detect(one, 8000).empty());
  const auto row_only = sipmix::testing::sine(697, -6, 8000, 8000);
  EXPECT_TRUE(detect(row_only, 8000).empty());
  EXPECT_TRUE(detect(keypad("5", 8000, 200, 100, -45), 8000).empty()) << "below min_tone_dbfs";
}

std::vector<int16_t> read_wav_s16_mono(const std::string& path, int* rate) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<int16_t> pcm;
  if (b.size() < 12 || std::memcmp(b.data(), "RIFF", 4) != 0 || std::memcmp(b.data() + 8, "WAVE", 4) != 0) return pcm;
  size_t pos = 12;
  int channels = 0, bits = 0;
  while (pos + 8 <= b.size()) {
    uint32_t len;
    std::memcpy(&len, b.data() + pos + 4, 4);
    const char* id = b.data() + pos;
    const size_t body = pos + 8;
    if (body + len > b.size()) len = static_cast<uint32_t>(b.size() - body);
    if (std::memcmp(id, "fmt ", 4) == 0 && len >= 16) {
      uint16_t ch, bps;
      uint32_t r;
      std::memcpy(&ch, b.data() + body + 2, 2);
      std::memcpy(&r, b.data() + body + 4, 4);
      std::memcpy(&bps, b.data() + body + 14, 2);
      channels = ch;
      bits = bps;
      *rate = static_cast<int>(r);
    } else if (std::memcmp(id, "data", 4) == 0 && channels == 1 && bits == 16) {
      pcm.resize(len / 2);
      std::memcpy(pcm.data(), b.data() + body, pcm.size() * 2);
      return pcm;
    }
    pos = body + len + (len & 1);
  }
  return pcm;
}

TEST(InbandDtmfDetector, NoDigitsInRealSpeech) {
  const std::string dir = sipmix::testing::kPromptDir;
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "prompts not installed";
  const size_t max_files = sipmix::testing::ci_scale() ? 40 : 100000;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".wav") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  size_t used = 0;
  double seconds = 0;
  std::string falses;
  for (const auto& path : files) {
    const std::string name = std::filesystem::path(path).filename().string();
    // Prompts that are tones, not speech.
    if (name.find("tone") != std::string::npos || name.find("beep") != std::string::npos) continue;
    if (used++ >= max_files) break;
    int rate = 0;
    const auto pcm = read_wav_s16_mono(path, &rate);
    if (pcm.empty() || rate != 8000) continue;
    seconds += static_cast<double>(pcm.size()) / rate;
    for (const auto& d : detect(pcm, rate)) falses += name + ":" + d.digit + " ";
  }
  EXPECT_GT(seconds, 30.0);
  EXPECT_EQ(falses, "") << "talk-off in " << seconds << " s of speech";
}

TEST(InbandDtmfDetector, RejectsBadConfiguration) {
  EXPECT_FALSE(InbandDtmfDetector::create({.sample_rate_hz = 4000}).ok());
  EXPECT_FALSE(InbandDtmfDetector::create({.min_tone_fraction = 0}).ok());
}

}  // namespace
}  // namespace sipmix::dtmf
