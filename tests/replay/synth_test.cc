// Demo sources: each participant's video is its own colour with its label and
// visible motion; its audio is its own tone at -20 dBFS.
#include "tools/replay/synth.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/support/signal.h"
#include "tests/support/test_paths.h"
#include "tools/replay/picture.h"

namespace sipmix::replay {
namespace {

TEST(VideoSynth, DistinctColourLabelAndMotion) {
  for (int k = 0; k < 9; ++k) {
    for (int j = 0; j < k; ++j) {
      const Rgb a = participant_colour(k), b = participant_colour(j);
      EXPECT_GT(std::abs(a.r - b.r) + std::abs(a.g - b.g) + std::abs(a.b - b.b), 60) << k << " vs " << j;
    }
  }
  VideoSynth s(3, "P3", 321, 180);
  EXPECT_EQ(s.width(), 322);
  RgbImage f0, f1;
  ASSERT_TRUE(i420_to_rgb(s.render(0), f0).ok());
  ASSERT_TRUE(i420_to_rgb(s.render(15), f1).ok());
  const Rgb bg = participant_colour(3);
  const Rgb corner = f0.pixel(f0.width() - 5, 5);
  EXPECT_NEAR(corner.r, bg.r, 6);
  EXPECT_NEAR(corner.g, bg.g, 6);
  EXPECT_NEAR(corner.b, bg.b, 6);
  // The label puts white ink in the middle band.
  int white = 0, moved = 0;
  for (int y = 0; y < f0.height(); ++y) {
    for (int x = 0; x < f0.width(); ++x) {
      const Rgb p = f0.pixel(x, y), q = f1.pixel(x, y);
      if (y > f0.height() / 4 && y < f0.height() * 3 / 4 && p.r > 240 && p.g > 240 && p.b > 240) ++white;
      if (!(p == q)) ++moved;
    }
  }
  EXPECT_GT(white, 1000);
  EXPECT_GT(moved, 200);  // the bar and counter moved
}

TEST(AudioSynth, OwnToneAtMinus20AndNotTheOthers) {
  for (int k = 0; k < 4; ++k) {
    AudioSynth a = AudioSynth::tone(k);
    EXPECT_DOUBLE_EQ(a.freq_hz(), 300 + 150 * k);
    std::vector<int16_t> pcm(48000);
    for (size_t i = 0; i < pcm.size(); i += 960) a.next_frame(std::span<int16_t, 960>(pcm.data() + i, 960));
    EXPECT_NEAR(sipmix::testing::tone_dbfs(pcm, participant_tone_hz(k), 48000), -20, 0.5);
    EXPECT_LT(sipmix::testing::tone_dbfs(pcm, participant_tone_hz(k + 1), 48000), -70);
  }
}

TEST(AudioSynth, LoopsSpeechFile) {
  const std::string prompt = std::string(sipmix::testing::kPromptDir) + "/conf-unmuted.wav";
  if (!sipmix::testing::file_exists(prompt)) GTEST_SKIP() << "asterisk-core-sounds-en-wav not installed";
  auto a = AudioSynth::looped_file(prompt, 200);
  ASSERT_TRUE(a.ok()) << a.status().message();
  std::vector<int16_t> pcm(48000 * 6);
  for (size_t i = 0; i < pcm.size(); i += 960) a->next_frame(std::span<int16_t, 960>(pcm.data() + i, 960));
  EXPECT_GT(sipmix::testing::rms_dbfs(pcm), -45);
  EXPECT_FALSE(AudioSynth::looped_file("/nonexistent/speech.wav").ok());
}

}  // namespace
}  // namespace sipmix::replay
