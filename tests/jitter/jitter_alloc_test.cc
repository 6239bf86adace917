// Counts heap allocations (the jitter test binary links
// sipmix_test_alloc_counter, which replaces the global operator new) and
// asserts that the steady-state insert/pull loop makes none.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "jitter/jitter_buffer.h"
#include "tests/jitter/jitter_test_util.h"
#include "tests/support/alloc_counter.h"

namespace sipmix {
namespace {

TEST(JitterBufferAlloc, CounterSeesAllocations) {
  const uint64_t before = sipmix::testing::allocation_count();
  auto v = std::make_unique<std::vector<int>>(100);
  EXPECT_GE(sipmix::testing::allocation_count() - before, 2u);
}

TEST(JitterBufferAlloc, SteadyStateInsertAndPullDoNotAllocate) {
  // Packets with 5 % reorder and 1 % duplicates, built before counting.
  std::mt19937 rng(5);
  std::vector<testing::TimedPacket> pk;
  testing::AudioSender tx;
  tx.seq = 0xF000;  // crosses the wrap during the counted loop
  for (int i = 0; i < 6000; ++i) {
    pk.push_back(tx.next(5000 + static_cast<int64_t>(rng() % 3000)));
    if (rng() % 100 == 0) pk.push_back(pk.back());
  }
  for (size_t i = 0; i + 1 < pk.size(); ++i)
    if (rng() % 100 < 5) std::swap(pk[i], pk[i + 1]);

  JitterBufferConfig ac;
  auto audio = std::move(JitterBuffer::create(ac)).value();
  JitterBufferConfig vc;
  vc.capacity_packets = 1024;
  vc.clock_rate_hz = 48000;
  auto video = std::move(JitterBuffer::create(vc)).value();

  uint64_t played = 0;
  int64_t t = 0;
  auto step = [&](const testing::TimedPacket& p) {
    t = p.arrival_us;
    (void)audio->insert(p.bytes, p.arrival_us);
    (void)video->insert(p.bytes, p.arrival_us);
    played += audio->pull_audio(t, (t / 1000000) % 2 == 0).kind == PlayoutKind::kPacket;
    JitterPacket next;
    played += audio->peek_next(&next) ? 0 : 0;
    while (video->pop_due(t).kind == PlayoutKind::kPacket) ++played;
    played += static_cast<uint64_t>(audio->stats().played > 0 ? 0 : 0) + static_cast<uint64_t>(audio->delay().target_delay_ms < 0);
  };
  for (size_t i = 0; i < 1000; ++i) step(pk[i]);  // warm-up
  const uint64_t before = sipmix::testing::allocation_count();
  for (size_t i = 1000; i < pk.size(); ++i) step(pk[i]);
  const uint64_t allocations = sipmix::testing::allocation_count() - before;
  EXPECT_EQ(allocations, 0u);
  EXPECT_GT(played, 8000u);  // both buffers did play during the loop
}

}  // namespace
}  // namespace sipmix
