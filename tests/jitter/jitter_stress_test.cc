// Two threads: a producer inserts millions of packets with seeded reorder,
// loss and duplicates while the consumer pulls. Every packet the buffer
// accepted plays exactly once, in order, intact. Run under TSan.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "jitter/jitter_buffer.h"
#include "rtp/rtp_packet.h"
#include "tests/support/test_env.h"

namespace sipmix {
namespace {

using testing::ci_scale;

// The payload carries the logical packet number n and a check pattern.
constexpr size_t kPayload = 24;

size_t build(uint32_t n, uint8_t* out, size_t cap) {
  uint8_t payload[kPayload];
  std::memcpy(payload, &n, 4);
  for (size_t i = 4; i < kPayload; ++i) payload[i] = static_cast<uint8_t>(n * 31 + i);
  rtp::RtpHeader h;
  h.payload_type = 111;
  h.sequence_number = static_cast<uint16_t>(0xFF00 + n);  // wraps every 65536 packets
  h.timestamp = n * 960u;
  h.ssrc = 0xC0FFEE;
  return rtp::write_rtp(h, {}, payload, std::span<uint8_t>(out, cap));
}

bool decode(const JitterPacket& p, uint32_t* n) {
  if (p.payload.size() != kPayload) return false;
  std::memcpy(n, p.payload.data(), 4);
  for (size_t i = 4; i < kPayload; ++i)
    if (p.payload[i] != static_cast<uint8_t>(*n * 31 + i)) return false;
  return p.sequence_number == static_cast<uint16_t>(0xFF00 + *n);
}

TEST(JitterBufferStress, ProducerConsumerExactlyOnceInOrder) {
  const uint32_t total = ci_scale() ? 200000 : 2000000;
  // Arrival order: 5 % of packets swapped with one 1-3 places later, 1 % lost,
  // 1 % sent again up to 4 places later.
  std::mt19937 rng(20261126);
  std::vector<uint32_t> order;
  order.reserve(total + total / 50);
  for (uint32_t n = 0; n < total; ++n) {
    if (rng() % 100 == 0) continue;
    order.push_back(n);
  }
  for (size_t i = 0; i + 3 < order.size(); ++i)
    if (rng() % 100 < 5) std::swap(order[i], order[i + 1 + rng() % 3]);
  std::vector<uint32_t> with_dups;
  with_dups.reserve(order.size() + order.size() / 50);
  for (size_t i = 0; i < order.size(); ++i) {
    with_dups.push_back(order[i]);
    if (rng() % 100 == 0 && i >= 4) with_dups.push_back(order[i - rng() % 4]);
  }

  JitterBufferConfig c;
  c.capacity_packets = 4096;
  auto jb = std::move(JitterBuffer::create(c)).value();

  std::vector<uint8_t> accepted(total, 0);  // written by the producer, read after join
  std::atomic<int64_t> consumed{-1};       // newest n played, for back-pressure
  std::atomic<bool> done{false};
  uint64_t late_results = 0, dup_results = 0, other_results = 0;

  std::thread producer([&] {
    uint8_t buf[256];
    for (uint32_t n : with_dups) {
      // Stay within half a ring of the consumer so the ring never overflows.
      while (static_cast<int64_t>(n) - consumed.load(std::memory_order_acquire) > 3000) std::this_thread::yield();
      const size_t len = build(n, buf, sizeof(buf));
      switch (jb->insert(std::span<const uint8_t>(buf, len), int64_t{n} * 20000)) {
        case InsertResult::kAccepted: ++accepted[n]; break;
        case InsertResult::kLate: ++late_results; break;
        case InsertResult::kDuplicate: ++dup_results; break;
        default: ++other_results; break;
      }
    }
    done.store(true, std::memory_order_release);
  });

  // The consumer alternates the audio and the video pull; "now" is far
  // ahead, so a gap is skipped as soon as a later packet is there.
  constexpr int64_t kNow = int64_t{1} << 60;
  std::vector<uint32_t> played;
  played.reserve(total);
  bool corrupt = false;
  uint64_t calls = 0;
  auto take = [&](const Playout& p) {
    if (p.kind != PlayoutKind::kPacket) return false;
    uint32_t n = 0;
    if (!decode(p.packet, &n)) corrupt = true;
    played.push_back(n);
    consumed.store(n, std::memory_order_release);
    return true;
  };
  for (;;) {
    const bool finished = done.load(std::memory_order_acquire);
    const Playout p = (++calls % 3 == 0) ? jb->pull_audio(kNow) : jb->pop_due(kNow);
    if (take(p) || p.kind == PlayoutKind::kMissing) continue;
    if (finished) {
      while (take(jb->pop_due(kNow))) {
      }
      break;
    }
    std::this_thread::yield();
  }
  producer.join();

  EXPECT_FALSE(corrupt);
  EXPECT_EQ(other_results, 0u);
  for (size_t i = 1; i < played.size(); ++i) ASSERT_LT(played[i - 1], played[i]) << "out of order at " << i;
  std::vector<uint8_t> plays(total, 0);
  for (uint32_t n : played) ++plays[n];
  uint64_t mismatches = 0, accepted_count = 0;
  for (uint32_t n = 0; n < total; ++n) {
    accepted_count += accepted[n];
    if (accepted[n] > 1 || plays[n] != accepted[n]) ++mismatches;
  }
  EXPECT_EQ(mismatches, 0u) << "a packet accepted but not played, played but not accepted, or twice";
  EXPECT_EQ(played.size(), accepted_count);
  const JitterStats st = jb->stats();
  EXPECT_EQ(st.played, played.size());
  EXPECT_EQ(st.late, late_results);
  EXPECT_EQ(st.duplicate, dup_results);
  EXPECT_EQ(st.received, with_dups.size());
  EXPECT_EQ(st.resets, 0u);
  // Most packets play: only losses and reordered ones overtaken by the pull.
  EXPECT_GT(played.size(), total * 9 / 10);
}

}  // namespace
}  // namespace sipmix
