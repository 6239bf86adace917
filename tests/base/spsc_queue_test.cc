#include "base/spsc_queue.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>
#include <vector>

#include "tests/support/test_env.h"

namespace sipmix {
namespace {

TEST(SpscPacketQueue, FifoAndBounds) {
  SpscPacketQueue q(3, 8);
  const uint8_t a[] = {1, 2, 3}, b[] = {4}, big[9] = {};
  EXPECT_TRUE(q.try_push(a, 10));
  EXPECT_TRUE(q.try_push(b, 20));
  EXPECT_FALSE(q.try_push(big, 30));  // larger than a slot
  EXPECT_TRUE(q.try_push(a, 40));
  EXPECT_FALSE(q.try_push(a, 50));  // full
  uint8_t out[8];
  int64_t t = 0;
  ASSERT_EQ(q.try_pop(out, &t), 3u);
  EXPECT_EQ(t, 10);
  EXPECT_EQ(out[2], 3);
  ASSERT_EQ(q.try_pop(out, &t), 1u);
  EXPECT_EQ(out[0], 4);
  ASSERT_EQ(q.try_pop(out, &t), 3u);
  EXPECT_EQ(q.try_pop(out, &t), 0u);
}

// Every packet arrives exactly once, in order, across threads (run under TSan).
TEST(SpscPacketQueueStress, ConcurrentProducerConsumer) {
  const uint32_t n = testing::ci_scale() ? 50000 : 500000;
  SpscPacketQueue q(64, 16);
  std::thread producer([&] {
    for (uint32_t i = 0; i < n;) {
      uint8_t p[8];
      std::memcpy(p, &i, 4);
      const uint32_t len = 4 + i % 4;
      if (q.try_push({p, len}, i)) ++i;
    }
  });
  uint32_t expect = 0;
  uint8_t out[16];
  while (expect < n) {
    int64_t stamp;
    const size_t got = q.try_pop(out, &stamp);
    if (!got) continue;
    uint32_t v;
    std::memcpy(&v, out, 4);
    ASSERT_EQ(v, expect);
    ASSERT_EQ(got, 4 + expect % 4);
    ASSERT_EQ(stamp, expect);
    ++expect;
  }
  producer.join();
}

}  // namespace
}  // namespace sipmix
