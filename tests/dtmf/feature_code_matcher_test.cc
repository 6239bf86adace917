// Feature-code matcher: "*6" toggles, with the sequences a caller really types.
#include "dtmf/feature_code_matcher.h"

#include <gtest/gtest.h>

#include <string_view>

namespace sipmix::dtmf {
namespace {

FeatureCodeMatcher make_matcher(int64_t timeout_ms = 3000) {
  auto m = FeatureCodeMatcher::create({.prefix = '*', .code = '6', .inter_digit_timeout_ms = timeout_ms});
  EXPECT_TRUE(m.ok());
  return std::move(m).value();
}

// Types `digits` as 100 ms tones separated by `gap_ms`; returns the toggles.
int type(FeatureCodeMatcher& m, std::string_view digits, int64_t gap_ms = 200) {
  int toggles = 0;
  int64_t t = 0;
  for (char d : digits) {
    if (m.on_digit(d, t, t + 100)) ++toggles;
    t += 100 + gap_ms;
  }
  return toggles;
}

TEST(FeatureCodeMatcher, StarSixToggles) {
  auto m = make_matcher();
  EXPECT_EQ(type(m, "*6"), 1);
}

TEST(FeatureCodeMatcher, StarStarSixToggles) {
  auto m = make_matcher();
  EXPECT_EQ(type(m, "**6"), 1);
}

TEST(FeatureCodeMatcher, SixAfterTimeoutDoesNotToggle) {
  auto m = make_matcher();
  EXPECT_FALSE(m.on_digit('*', 0, 100));
  EXPECT_FALSE(m.on_digit('6', 100 + 3001, 100 + 3101));
  // Just inside the timeout it does.
  EXPECT_FALSE(m.on_digit('*', 10000, 10100));
  EXPECT_TRUE(m.on_digit('6', 10100 + 3000, 10100 + 3100));
}

TEST(FeatureCodeMatcher, TimeoutIsConfigurable) {
  auto m = make_matcher(1000);
  EXPECT_EQ(type(m, "*6", 1500), 0);
  EXPECT_EQ(type(m, "*6", 900), 1);
}

TEST(FeatureCodeMatcher, OtherDigitsDoNotToggle) {
  auto m = make_matcher();
  EXPECT_EQ(type(m, "*7"), 0);
  EXPECT_EQ(type(m, "66"), 0);
  EXPECT_EQ(type(m, "6"), 0);
  EXPECT_EQ(type(m, "*76"), 0);  // 7 reset the sequence
  EXPECT_EQ(type(m, "#6"), 0);
}

TEST(FeatureCodeMatcher, StarSixTwiceTogglesTwice) {
  auto m = make_matcher();
  EXPECT_EQ(type(m, "*6*6"), 2);
  EXPECT_EQ(type(m, "*66"), 1);  // the second 6 has no * before it
}

TEST(FeatureCodeMatcher, RejectsBadConfiguration) {
  EXPECT_FALSE(FeatureCodeMatcher::create({.prefix = '*', .code = '*'}).ok());
  EXPECT_FALSE(FeatureCodeMatcher::create({.prefix = 'x', .code = '6'}).ok());
  EXPECT_FALSE(FeatureCodeMatcher::create({.inter_digit_timeout_ms = 0}).ok());
}

}  // namespace
}  // namespace sipmix::dtmf
