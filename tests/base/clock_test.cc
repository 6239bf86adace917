#include "sipmix/clock.h"

#include <gtest/gtest.h>

#include "base/aligned_buffer.h"
#include "sipmix/status.h"

namespace sipmix {
namespace {

TEST(Clock, SimulatedMovesOnlyWhenAdvanced) {
  SimulatedClock c(1000);
  EXPECT_EQ(c.now_us(), 1000);
  EXPECT_EQ(c.now_us(), 1000);
  c.advance_us(20000);
  EXPECT_EQ(c.now_ms(), 21);
  c.set_us(5);
  EXPECT_EQ(c.now_us(), 5);
}

TEST(Clock, RealIsMonotonic) {
  RealClock c;
  int64_t a = c.now_us(), b = c.now_us();
  EXPECT_LE(a, b);
}

TEST(AlignedBuffer, AlignedZeroedAndMovable) {
  AlignedBuffer<int16_t> b(961);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % kCacheLine, 0u);
  for (int16_t v : b) EXPECT_EQ(v, 0);
  AlignedBuffer<int16_t> c = std::move(b);
  EXPECT_EQ(c.size(), 961u);
  EXPECT_EQ(b.data(), nullptr);
}

TEST(Status, CarriesCodeAndMessage) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  StatusOr<int> v = 7;
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(*v, 7);
  StatusOr<int> e = invalid_argument("leg.audio.clock_hz: must be 8000 or 48000");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sipmix
