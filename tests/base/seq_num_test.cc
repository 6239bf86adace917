#include "base/seq_num.h"

#include <gtest/gtest.h>

namespace sipmix {
namespace {

TEST(SeqNum, IsNewerAcrossWrap) {
  EXPECT_TRUE(is_newer_seq(1, 0));
  EXPECT_FALSE(is_newer_seq(0, 1));
  EXPECT_TRUE(is_newer_seq(0x0000, 0xFFFF));
  EXPECT_TRUE(is_newer_seq(0x0005, 0xFFF0));
  EXPECT_FALSE(is_newer_seq(0xFFF0, 0x0005));
  EXPECT_FALSE(is_newer_seq(7, 7));
  // Exactly half apart: antisymmetric.
  EXPECT_NE(is_newer_seq(0x8000, 0), is_newer_seq(0, 0x8000));
  EXPECT_TRUE(is_newer_timestamp(10, 0xFFFFFF00u));
  EXPECT_FALSE(is_newer_timestamp(0xFFFFFF00u, 10));
}

TEST(SeqNum, UnwrapForwardAcrossWrap) {
  SeqUnwrapper u;
  EXPECT_EQ(u.unwrap(0xFFFD), 0xFFFD);
  EXPECT_EQ(u.unwrap(0xFFFE), 0xFFFE);
  EXPECT_EQ(u.unwrap(0xFFFF), 0xFFFF);
  EXPECT_EQ(u.unwrap(0x0000), 0x10000);
  EXPECT_EQ(u.unwrap(0x0001), 0x10001);
  // Several wraps keep counting.
  int64_t last = 0x10001;
  for (int i = 0; i < 3 * 65536; i += 1000) last = u.unwrap(static_cast<uint16_t>(0x0001 + i));
  EXPECT_EQ(last, 0x10001 + 196000);
}

TEST(SeqNum, UnwrapReorderedBackAcrossWrap) {
  SeqUnwrapper u;
  EXPECT_EQ(u.unwrap(0x0002), 2);
  EXPECT_EQ(u.unwrap(0xFFFE), -2);  // arrived late, belongs before the wrap
  EXPECT_EQ(u.unwrap(0x0003), 3);
  EXPECT_EQ(u.peek(0xFFFF), -1);
  EXPECT_EQ(u.last(), 3);
}

TEST(SeqNum, TimestampUnwrap) {
  TimestampUnwrapper u;
  EXPECT_EQ(u.unwrap(0xFFFFFC40u), 0xFFFFFC40LL);
  EXPECT_EQ(u.unwrap(0x00000000u), 0x100000000LL);
  EXPECT_EQ(u.unwrap(0x000003C0u), 0x1000003C0LL);
  EXPECT_EQ(wrap_diff<uint32_t>(0x10, 0xFFFFFFF0u), 0x20);
  EXPECT_EQ(wrap_diff<uint16_t>(0xFFF0, 0x10), -0x20);
}

}  // namespace
}  // namespace sipmix
