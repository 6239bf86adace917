// The measuring tools the other suites rely on must themselves be right.
#include "tests/support/signal.h"

#include <gtest/gtest.h>

namespace sipmix::testing {
namespace {

TEST(Signal, GoertzelReadsToneLevel) {
  auto x = sine(1000, -6, 48000, 4800);
  EXPECT_NEAR(tone_dbfs(x, 1000, 48000), -6, 0.2);
  EXPECT_LT(tone_dbfs(x, 1500, 48000), -60);
  EXPECT_NEAR(rms_dbfs(x), -9.01, 0.1);
}

TEST(Signal, SnrFindsDelay) {
  auto ref = sine(440, -10, 8000, 800);
  std::vector<int16_t> t(810, 0);
  for (size_t i = 0; i < ref.size(); ++i) t[i + 7] = ref[i] / 2;
  size_t d = 0;
  EXPECT_GT(snr_db(ref, t, 20, &d), 40);
  EXPECT_EQ(d, 7u);
}

}  // namespace
}  // namespace sipmix::testing
