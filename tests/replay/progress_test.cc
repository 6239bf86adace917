// Progress bar: shows percent, media time and speed on a terminal, and writes
// nothing at all when disabled (stderr not a terminal).
#include "tools/replay/progress.h"

#include <gtest/gtest.h>

namespace sipmix::replay {
namespace {

TEST(Progress, LineHasPercentTimeAndSpeed) {
  const std::string line = ProgressBar::format_line(5'000'000, 10'000'000, 12.34, 10);
  EXPECT_EQ(line, "[#####-----]  50%  0:05.0 / 0:10.0  12.3x");
  EXPECT_EQ(ProgressBar::format_line(20'000'000, 10'000'000, 1, 4), "[####] 100%  0:20.0 / 0:10.0  1.0x");
  EXPECT_EQ(ProgressBar::format_line(61'500'000, 0, 2), "1:01.5  2.0x");
}

TEST(Progress, SilentWhenDisabled) {
  ::testing::internal::CaptureStderr();
  {
    ProgressBar bar(10'000'000, false);
    for (int64_t t = 0; t <= 10'000'000; t += 20'000) bar.update(t);
    bar.finish();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(Progress, DrawsAndEndsTheLineWhenEnabled) {
  ::testing::internal::CaptureStderr();
  {
    ProgressBar bar(10'000'000, true);
    for (int64_t t = 0; t <= 10'000'000; t += 20'000) bar.update(t);  // fast loop: at most one redraw
  }
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("100%"), std::string::npos) << out;
  EXPECT_EQ(out.back(), '\n');
  EXPECT_LE(std::count(out.begin(), out.end(), '\r'), 3);
}

}  // namespace
}  // namespace sipmix::replay
