// Single-threaded behaviour of the jitter buffer: ordering, loss, late and
// duplicate packets, wrap, resets, DTX, overflow, RFC 3550 statistics, video.
#include "jitter/jitter_buffer.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/jitter/jitter_test_util.h"

namespace sipmix {
namespace {

using testing::AudioSender;
using testing::consecutive_from;
using testing::count_kind;
using testing::make_rtp;
using testing::played_seqs;
using testing::run_audio;
using testing::TimedPacket;

constexpr int64_t kMs = 1000;

std::unique_ptr<JitterBuffer> make_audio_buffer(uint32_t capacity = 128) {
  JitterBufferConfig c;
  c.capacity_packets = capacity;
  auto jb = JitterBuffer::create(c);
  EXPECT_TRUE(jb.ok()) << jb.status().message();
  return std::move(jb).value();
}

TEST(JitterBuffer, ValidateRejectsBadConfig) {
  JitterBufferConfig c;
  EXPECT_TRUE(JitterBuffer::validate(c).ok());
  c.capacity_packets = 100;
  Status s = JitterBuffer::validate(c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("capacity_packets"), std::string::npos);
  c = {};
  c.min_delay_ms = 300;
  c.max_delay_ms = 200;
  EXPECT_FALSE(JitterBuffer::validate(c).ok());
  c = {};
  c.delay_quantile = 1.0;
  EXPECT_FALSE(JitterBuffer::create(c).ok());
}

TEST(JitterBuffer, InOrderAcrossSequenceWrap) {
  auto jb = make_audio_buffer();
  AudioSender tx;
  tx.seq = 0xFFF0;
  tx.ts = 0xFFFFF000u;  // the timestamp wraps too
  std::vector<TimedPacket> pk;
  for (int i = 0; i < 100; ++i) pk.push_back(tx.next(5 * kMs));
  auto out = run_audio(*jb, pk, 10 * kMs, 2200 * kMs);
  auto seqs = played_seqs(out);
  ASSERT_EQ(seqs.size(), 100u);
  EXPECT_TRUE(consecutive_from(seqs, 0xFFF0));
  EXPECT_EQ(count_kind(out, PlayoutKind::kMissing), 0u);
  for (const auto& r : out) EXPECT_TRUE(r.intact);
  const JitterStats st = jb->stats();
  EXPECT_EQ(st.received, 100u);
  EXPECT_EQ(st.expected, 100u);
  EXPECT_EQ(st.lost, 0);
  EXPECT_EQ(st.played, 100u);
  EXPECT_EQ(st.resets, 0u);
  EXPECT_EQ(st.target_delay_ms, 20);
}

TEST(JitterBuffer, ReorderedPacketsPlayInOrder) {
  auto jb = make_audio_buffer();
  AudioSender tx;
  tx.seq = 0xFFE0;
  std::vector<TimedPacket> pk;
  for (int i = 0; i < 80; ++i) pk.push_back(tx.next(5 * kMs));
  // Swap the arrival of pairs (k, k+1) every 8 packets, across the wrap too.
  int swaps = 0;
  for (size_t k = 3; k + 1 < pk.size(); k += 8) {
    std::swap(pk[k].arrival_us, pk[k + 1].arrival_us);
    ++swaps;
  }
  auto out = run_audio(*jb, pk, 10 * kMs, 2000 * kMs);
  auto seqs = played_seqs(out);
  ASSERT_EQ(seqs.size(), 80u);
  EXPECT_TRUE(consecutive_from(seqs, 0xFFE0));
  const JitterStats st = jb->stats();
  EXPECT_EQ(st.reordered, static_cast<uint64_t>(swaps));
  EXPECT_EQ(st.missing, 0u);
  EXPECT_EQ(st.lost, 0);
}

TEST(JitterBuffer, DuplicatesCountedAndPlayedOnce) {
  auto jb = make_audio_buffer();
  AudioSender tx;
  std::vector<TimedPacket> pk;
  int dups = 0;
  for (int i = 0; i < 60; ++i) {
    pk.push_back(tx.next(5 * kMs));
    if (i % 5 == 0) {
      TimedPacket d = pk.back();
      d.arrival_us += (i % 10 == 0) ? 1 * kMs : 45 * kMs;  // before and after it played
      pk.push_back(d);
      ++dups;
    }
  }
  std::vector<InsertResult> res;
  auto out = run_audio(*jb, pk, 10 * kMs, 1500 * kMs, nullptr, &res);
  auto seqs = played_seqs(out);
  ASSERT_EQ(seqs.size(), 60u);
  EXPECT_TRUE(consecutive_from(seqs, 0));
  const JitterStats st = jb->stats();
  EXPECT_EQ(st.duplicate, static_cast<uint64_t>(dups));
  EXPECT_EQ(std::count(res.begin(), res.end(), InsertResult::kDuplicate), dups);
  EXPECT_EQ(st.received, 60u + dups);
  EXPECT_EQ(st.lost, -dups);  // RFC 3550 §A.3: duplicates make it negative
}

TEST(JitterBuffer, LossGivesOneMissingTurnAndPeekForFec) {
  auto jb = make_audio_buffer();
  AudioSender tx;
  tx.seq = 0xFFFA;
  std::vector<TimedPacket> pk;
  for (int i = 0; i < 30; ++i) {
    TimedPacket p = tx.next(5 * kMs);
    if (i != 6) pk.push_back(p);  // seq 0x0000 is lost
  }
  std::sort(pk.begin(), pk.end(), [](auto& a, auto& b) { return a.arrival_us < b.arrival_us; });
  size_t next = 0;
  int missing_turns = 0;
  std::vector<uint16_t> seqs;
  for (int64_t t = 10 * kMs; t < 800 * kMs; t += 20 * kMs) {
    while (next < pk.size() && pk[next].arrival_us <= t) {
      (void)jb->insert(pk[next].bytes, pk[next].arrival_us);
      ++next;
    }
    Playout p = jb->pull_audio(t);
    if (p.kind == PlayoutKind::kPacket) seqs.push_back(p.packet.sequence_number);
    if (p.kind == PlayoutKind::kMissing) {
      ++missing_turns;
      EXPECT_EQ(seqs.back(), 0xFFFF);  // the turn comes right after 0xFFFF
      JitterPacket fec;
      ASSERT_TRUE(jb->peek_next(&fec));  // the following packet is here: decode its FEC
      EXPECT_EQ(fec.sequence_number, 0x0001);
      EXPECT_TRUE(testing::payload_intact(fec));
    }
  }
  EXPECT_EQ(missing_turns, 1);
  ASSERT_EQ(seqs.size(), 29u);
  EXPECT_EQ(seqs[6], 0x0001);
  const JitterStats st = jb->stats();
  EXPECT_EQ(st.lost, 1);
  EXPECT_EQ(st.missing, 1u);
}

TEST(JitterBuffer, LatePacketCountedAndDropped) {
  auto jb = make_audio_buffer();
  AudioSender tx;
  std::vector<TimedPacket> pk;
  for (int i = 0; i < 40; ++i) pk.push_back(tx.next(i == 10 ? 150 * kMs : 5 * kMs));
  std::vector<InsertResult> res;
  auto out = run_audio(*jb, pk, 10 * kMs, 1000 * kMs, nullptr, &res);
  auto seqs = played_seqs(out);
  EXPECT_EQ(std::count(seqs.begin(), seqs.end(), 10), 0);
  ASSERT_EQ(seqs.size(), 39u);
  EXPECT_EQ(count_kind(out, PlayoutKind::kMissing), 1u);
  EXPECT_EQ(std::count(res.begin(), res.end(), InsertResult::kLate), 1);
  const JitterStats st = jb->stats();
  EXPECT_EQ(st.late, 1u);
  EXPECT_EQ(st.lost, 0);  // RFC 3550: it was received, just too late
}

TEST(JitterBuffer, MalformedAndTooLargeRejected) {
  auto jb = make_audio_buffer();
  std::vector<uint8_t> p = make_rtp(1, 960);
  p[0] = 0x40;  // version 1
  EXPECT_EQ(jb->insert(p, 0), InsertResult::kMalformed);
  EXPECT_EQ(jb->insert(std::span<const uint8_t>(p.data(), 5), 0), InsertResult::kMalformed);
  std::vector<uint8_t> big = make_rtp(2, 960, 0x1234, 1600);
  EXPECT_EQ(jb->insert(big, 0), InsertResult::kTooLarge);
  std::vector<uint8_t> max = make_rtp(3, 960, 0x1234, JitterBuffer::kMaxPacketBytes - rtp::kRtpHeaderSize);
  EXPECT_EQ(jb->insert(max, 0), InsertResult::kAccepted);
  const JitterStats st = jb->stats();
  EXPECT_EQ(st.malformed, 2u);
  EXPECT_EQ(st.too_large, 1u);
  EXPECT_EQ(st.received, 1u);
  Playout out = jb->pull_audio(100 * kMs);
  ASSERT_EQ(out.kind, PlayoutKind::kPacket);
  EXPECT_EQ(out.packet.data.size(), JitterBuffer::kMaxPacketBytes);
  EXPECT_TRUE(testing::payload_intact(out.packet));
}

TEST(JitterBuffer, SsrcChangeResetsAndResyncs) {
  auto jb = make_audio_buffer();
  AudioSender a;
  a.seq = 100;
  a.ssrc = 0xAAAA;
  std::vector<TimedPacket> pk;
  for (int i = 0; i < 50; ++i) pk.push_back(a.next(5 * kMs));
  AudioSender b;
  b.seq = 40000;
  b.ts = 12345;
  b.ssrc = 0xBBBB;
  b.send_us = a.send_us;
  for (int i = 0; i < 50; ++i) pk.push_back(b.next(5 * kMs));
  std::vector<InsertResult> res;
  auto out = run_audio(*jb, pk, 10 * kMs, 2500 * kMs, nullptr, &res);
  EXPECT_EQ(res[50], InsertResult::kReset);
  auto sa = played_seqs(out, 0xAAAA);
  auto sb = played_seqs(out, 0xBBBB);
  EXPECT_GE(sa.size(), 48u);
  EXPECT_TRUE(consecutive_from(sa, 100));
  ASSERT_EQ(sb.size(), 50u);
  EXPECT_TRUE(consecutive_from(sb, 40000));
  // No B packet plays before the last A packet.
  size_t last_a = 0, first_b = out.size();
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].kind != PlayoutKind::kPacket) continue;
    if (out[i].ssrc == 0xAAAA) last_a = i;
    if (out[i].ssrc == 0xBBBB) first_b = std::min(first_b, i);
  }
  EXPECT_LT(last_a, first_b);
  const JitterStats st = jb->stats();
  EXPECT_EQ(st.ssrc_changes, 1u);
  EXPECT_EQ(st.resets, 1u);
  EXPECT_EQ(st.missing, 0u);
  EXPECT_EQ(st.expected, 100u);
  EXPECT_EQ(st.discarded, 50u - sa.size());
}

TEST(JitterBuffer, HugeSequenceJumpResetsAfterConfirmation) {
  auto jb = make_audio_buffer();
  AudioSender tx;
  tx.seq = 1000;
  std::vector<TimedPacket> pk;
  for (int i = 0; i < 30; ++i) pk.push_back(tx.next(5 * kMs));
  tx.seq = static_cast<uint16_t>(tx.seq + 20000);
  const uint16_t jumped = tx.seq;
  for (int i = 0; i < 30; ++i) pk.push_back(tx.next(5 * kMs));
  std::vector<InsertResult> res;
  auto out = run_audio(*jb, pk, 10 * kMs, 1500 * kMs, nullptr, &res);
  EXPECT_EQ(res[30], InsertResult::kJumpPending);
  EXPECT_EQ(res[31], InsertResult::kReset);
  auto seqs = played_seqs(out);
  // Before: 1000..1029 (the last may be flushed by the reset); after: from jumped+1.
  std::vector<uint16_t> before, after;
  for (uint16_t s : seqs) (s < 2000 ? before : after).push_back(s);
  EXPECT_TRUE(consecutive_from(before, 1000));
  EXPECT_GE(before.size(), 28u);
  ASSERT_EQ(after.size(), 29u);
  EXPECT_TRUE(consecutive_from(after, static_cast<uint16_t>(jumped + 1)));
  EXPECT_EQ(jb->stats().resets, 1u);
}

TEST(JitterBuffer, SingleStrayJumpDoesNotReset) {
  auto jb = make_audio_buffer();
  AudioSender tx;
  std::vector<TimedPacket> pk;
  for (int i = 0; i < 40; ++i) {
    pk.push_back(tx.next(5 * kMs));
    if (i == 20) pk.push_back({make_rtp(30000, 5), pk.back().arrival_us + 1});
  }
  std::vector<InsertResult> res;
  auto out = run_audio(*jb, pk, 10 * kMs, 1200 * kMs, nullptr, &res);
  EXPECT_EQ(res[21], InsertResult::kJumpPending);
  auto seqs = played_seqs(out);
  ASSERT_EQ(seqs.size(), 40u);
  EXPECT_TRUE(consecutive_from(seqs, 0));
  EXPECT_EQ(jb->stats().resets, 0u);
  EXPECT_EQ(jb->stats().missing, 0u);
}

TEST(JitterBuffer, HugeTimestampJumpResets) {
  auto jb = make_audio_buffer();
  AudioSender tx;
  std::vector<TimedPacket> pk;
  for (int i = 0; i < 30; ++i) pk.push_back(tx.next(5 * kMs));
  tx.ts += 48000 * 30;  // 30 s of media time vanish; the sequence stays continuous
  for (int i = 0; i < 30; ++i) pk.push_back(tx.next(5 * kMs));
  std::vector<InsertResult> res;
  auto out = run_audio(*jb, pk, 10 * kMs, 1500 * kMs, nullptr, &res);
  EXPECT_EQ(res[30], InsertResult::kJumpPending);
  EXPECT_EQ(res[31], InsertResult::kReset);
  auto seqs = played_seqs(out);
  EXPECT_EQ(seqs.back(), 59);
  EXPECT_EQ(jb->stats().resets, 1u);
  // After the reset playout resumes right away, not 30 s later.
  size_t after = std::count_if(seqs.begin(), seqs.end(), [](uint16_t s) { return s > 30; });
  EXPECT_EQ(after, 29u);
}

TEST(JitterBuffer, RingOverflowFlushesAndRecovers) {
  auto jb = make_audio_buffer(16);
  AudioSender tx;
  std::vector<InsertResult> res;
  // The consumer stalls while 40 packets arrive.
  for (int i = 0; i < 40; ++i) {
    TimedPacket p = tx.next(5 * kMs);
    res.push_back(jb->insert(p.bytes, p.arrival_us));
  }
  EXPECT_EQ(res[0], InsertResult::kAccepted);
  EXPECT_GT(std::count(res.begin(), res.end(), InsertResult::kBufferFull), 0);
  std::vector<TimedPacket> pk;
  for (int i = 0; i < 60; ++i) pk.push_back(tx.next(5 * kMs));
  auto out = run_audio(*jb, pk, 800 * kMs, 2200 * kMs);
  // It recovers: once playing again, every later packet plays in order.
  auto seqs = played_seqs(out);
  ASSERT_GE(seqs.size(), 55u);
  EXPECT_TRUE(consecutive_from(seqs, seqs.front()));
  EXPECT_EQ(seqs.back(), 99);
  const JitterStats st = jb->stats();
  EXPECT_GE(st.resets, 1u);
  EXPECT_GT(st.discarded, 0u);
}

TEST(JitterBuffer, DtxGapIsNotLoss) {
  auto jb = make_audio_buffer();
  AudioSender tx;
  std::vector<TimedPacket> pk;
  for (int i = 0; i < 10; ++i) pk.push_back(tx.next(5 * kMs));
  tx.ts += 960 * 19;  // 400 ms without packets, sequence continuous
  tx.send_us += 19 * 20 * kMs;
  for (int i = 0; i < 10; ++i) pk.push_back(tx.next(5 * kMs));
  auto out = run_audio(*jb, pk, 10 * kMs, 1000 * kMs);
  auto seqs = played_seqs(out);
  ASSERT_EQ(seqs.size(), 20u);
  EXPECT_TRUE(consecutive_from(seqs, 0));
  EXPECT_EQ(count_kind(out, PlayoutKind::kMissing), 0u);
  // Packet 10 plays at its time: 400 ms after packet 9, give or take a tick.
  int64_t t9 = 0, t10 = 0;
  for (const auto& r : out) {
    if (r.kind != PlayoutKind::kPacket) continue;
    if (r.seq == 9) t9 = r.tick_us;
    if (r.seq == 10) t10 = r.tick_us;
  }
  EXPECT_NEAR(static_cast<double>(t10 - t9), 400.0 * kMs, 20.0 * kMs);
}

TEST(JitterBuffer, UnderrunHoldsThenSilenceCutsTheExtraDelay) {
  auto jb = make_audio_buffer();
  AudioSender tx;
  std::vector<TimedPacket> pk;
  for (int i = 0; i < 150; ++i) {
    TimedPacket p = tx.next(5 * kMs);
    if (i >= 20 && i < 25) p.arrival_us = 25 * 20 * kMs + 5 * kMs;  // a 100 ms network stall, then a burst
    pk.push_back(p);
  }
  int64_t delay_after_burst = 0;
  JitterDelay late_delay;
  auto out = run_audio(
      *jb, pk, 10 * kMs, 3100 * kMs, [](int64_t t) { return t > 1000 * kMs; }, nullptr,
      [&](int64_t t) {
        if (t == 810 * kMs) delay_after_burst = jb->delay().current_delay_ms;
        if (t == 2810 * kMs) late_delay = jb->delay();
      });
  auto seqs = played_seqs(out);
  const JitterStats st = jb->stats();
  // Every packet plays, except the silent frames dropped to cut the delay.
  EXPECT_EQ(seqs.size() + st.delay_cuts, 150u);
  for (size_t i = 1; i < seqs.size(); ++i) EXPECT_LT(seqs[i - 1], seqs[i]);
  for (size_t i = 0; i < seqs.size() && seqs[i] < 35; ++i) EXPECT_EQ(seqs[i], i);  // none cut while audible
  EXPECT_EQ(count_kind(out, PlayoutKind::kMissing), 0u);
  // The stall added ~100 ms of delay; silence brings it back to the target.
  EXPECT_GE(delay_after_burst, 100);
  EXPECT_GE(st.delay_cuts, 4u);
  EXPECT_LE(late_delay.current_delay_ms, late_delay.target_delay_ms + 20);
}

TEST(JitterBuffer, OutageSkipsTheGapAtOnce) {
  auto jb = make_audio_buffer();
  AudioSender tx;
  std::vector<TimedPacket> pk;
  for (int i = 0; i < 200; ++i) {
    TimedPacket p = tx.next(5 * kMs);
    if (i < 50 || i >= 100) pk.push_back(p);  // a 1 s outage: 50 packets lost
  }
  int64_t t100 = 0;
  JitterDelay delay_later;
  auto out = run_audio(*jb, pk, 10 * kMs, 4200 * kMs, nullptr, nullptr, [&](int64_t t) {
    if (t == 3010 * kMs) delay_later = jb->delay();
  });
  uint32_t max_skip = 0;
  for (const auto& r : out) {
    if (r.kind == PlayoutKind::kPacket && r.seq == 100) t100 = r.tick_us;
    max_skip = std::max(max_skip, r.lost_before);
  }
  // Packet 100 plays on time (sent at 2000 ms, ~25 ms of delay), not after
  // 50 ticks of concealment that would add a second of delay.
  EXPECT_LE(t100, 2000 * kMs + 60 * kMs);
  EXPECT_GE(max_skip, 45u);
  EXPECT_EQ(testing::count_lost(out), 50u);
  const JitterStats st = jb->stats();
  EXPECT_EQ(st.missing, 50u);
  EXPECT_EQ(st.played, 150u);
  EXPECT_LE(delay_later.current_delay_ms, delay_later.target_delay_ms + 20);
}

TEST(JitterBuffer, StatsInterarrivalJitter) {
  auto jb = make_audio_buffer();
  AudioSender tx;
  std::vector<TimedPacket> pk;
  for (int i = 0; i < 200; ++i) pk.push_back(tx.next((i % 2) ? 10 * kMs : 0));
  run_audio(*jb, pk, 10 * kMs, 4100 * kMs);
  const JitterStats st = jb->stats();
  // |D| is 10 ms = 480 timestamp units on every packet: J converges to 480.
  EXPECT_GE(st.jitter_rtp, 470u);
  EXPECT_LE(st.jitter_rtp, 480u);
  EXPECT_NEAR(st.jitter_ms, 10.0, 0.3);
}

TEST(JitterBuffer, StatsLostAcrossWrap) {
  auto jb = make_audio_buffer();
  AudioSender tx;
  tx.seq = 0xFFF0;
  std::vector<TimedPacket> pk;
  for (int i = 0; i < 40; ++i) {
    TimedPacket p = tx.next(5 * kMs);
    const uint16_t s = static_cast<uint16_t>(0xFFF0 + i);
    if (s != 0xFFFF && s != 0x0000 && s != 0x0005) pk.push_back(p);
  }
  auto out = run_audio(*jb, pk, 10 * kMs, 1000 * kMs);
  const JitterStats st = jb->stats();
  EXPECT_EQ(st.expected, 40u);
  EXPECT_EQ(st.received, 37u);
  EXPECT_EQ(st.lost, 3);
  EXPECT_EQ(st.missing, 3u);
  EXPECT_EQ(testing::count_lost(out), 3u);
}

TEST(JitterBuffer, ConcealedFramesAreReported) {
  auto jb = make_audio_buffer();
  jb->report_concealed(3);
  jb->report_concealed(2);
  EXPECT_EQ(jb->stats().concealed, 5u);
}

// Video: 30 fps at 90 kHz, 5 packets per frame, marker on the last one.
// The producer publishes its scan bound only when a packet leaves a hole;
// packets appended in order after it are found by their stamps. A consumer
// that polls between every insert (so its cached bound is always stale) must
// still see every packet, in order, with each hole reported once.
TEST(JitterBufferVideo, ConsumerPollingBetweenInsertsSeesEveryPacketAfterHoles) {
  JitterBufferConfig c;
  c.capacity_packets = 64;
  c.clock_rate_hz = 90000;
  c.min_delay_ms = c.max_delay_ms = 20;
  auto jb = std::move(JitterBuffer::create(c)).value();
  // Sequence numbers in arrival order: holes (11, 30-31, 50), a late
  // fill-in of a hole still open (41 after 42), appends in order, and
  // sequence numbers crossing 0xFFFF (offset below).
  std::vector<uint16_t> order;
  for (uint16_t s = 0; s < 60; ++s) {
    if (s == 11 || s == 30 || s == 31 || s == 50 || s == 41) continue;
    order.push_back(s);
    if (s == 42) order.push_back(41);
  }
  constexpr uint16_t kBase = 0xFFE0;
  constexpr int64_t kNow = int64_t{1} << 50;  // every packet is due at once
  std::vector<uint16_t> played;
  uint32_t lost = 0;
  for (uint16_t s : order) {
    const auto bytes = make_rtp(static_cast<uint16_t>(kBase + s), 3000u * s, 0x77, 100, false, 96);
    // 41 arrives after 42 was played: its turn has passed.
    ASSERT_EQ(jb->insert(bytes, 1000 * s), s == 41 ? InsertResult::kLate : InsertResult::kAccepted) << s;
    for (int poll = 0; poll < 2; ++poll) {  // the second poll finds nothing
      Playout p = jb->pop_due(kNow);
      if (p.kind != PlayoutKind::kPacket) break;
      EXPECT_TRUE(testing::payload_intact(p.packet));
      played.push_back(static_cast<uint16_t>(p.packet.sequence_number - kBase));
      lost += p.lost_before;
    }
  }
  std::vector<uint16_t> expected;
  for (uint16_t s = 0; s < 60; ++s)
    if (s != 11 && s != 30 && s != 31 && s != 50 && s != 41) expected.push_back(s);
  EXPECT_EQ(played, expected);
  EXPECT_EQ(lost, 5u);  // 11, 30, 31, 41, 50
  EXPECT_EQ(jb->stats().late, 1u);
}

TEST(JitterBufferVideo, PopsDuePacketsInOrderWithGapSignalled) {
  JitterBufferConfig c;
  c.capacity_packets = 256;
  c.clock_rate_hz = 90000;
  c.min_delay_ms = 30;
  c.max_delay_ms = 500;
  auto jb = std::move(JitterBuffer::create(c)).value();
  std::vector<TimedPacket> pk;
  uint16_t seq = 0xFFF8;
  for (int f = 0; f < 20; ++f) {
    for (int k = 0; k < 5; ++k, ++seq) {
      const int64_t arrival = f * 33333 + k * kMs + 2 * kMs;
      if (f == 3 && k == 2) continue;  // lost
      pk.push_back({make_rtp(seq, 1000 + f * 3000, 0x77, 900, k == 4, 96), arrival});
    }
  }
  std::swap(pk[12].arrival_us, pk[13].arrival_us);  // and a reorder
  std::sort(pk.begin(), pk.end(), [](auto& a, auto& b) { return a.arrival_us < b.arrival_us; });
  size_t next = 0;
  std::vector<JitterPacket> popped;
  std::vector<uint32_t> lost;
  std::vector<std::vector<uint8_t>> copies;
  for (int64_t t = 0; t < 1200 * kMs; t += 5 * kMs) {
    while (next < pk.size() && pk[next].arrival_us <= t) {
      (void)jb->insert(pk[next].bytes, pk[next].arrival_us);
      ++next;
    }
    for (;;) {
      Playout p = jb->pop_due(t);
      if (p.kind != PlayoutKind::kPacket) break;
      EXPECT_GE(t - p.packet.arrival_us, 0);
      EXPECT_TRUE(testing::payload_intact(p.packet));
      popped.push_back(p.packet);
      lost.push_back(p.lost_before);
    }
  }
  ASSERT_EQ(popped.size(), 99u);
  uint64_t lost_total = 0;
  for (size_t i = 0; i < popped.size(); ++i) {
    lost_total += lost[i];
    if (i > 0) {
      EXPECT_EQ(static_cast<uint16_t>(popped[i].sequence_number - popped[i - 1].sequence_number), 1u + lost[i]);
    }
  }
  EXPECT_EQ(lost_total, 1u);
  // Frame assembly: a timestamp is complete when its packets run gap-free to the marker.
  std::map<uint32_t, int> complete;
  int run = 0;
  for (size_t i = 0; i < popped.size(); ++i) {
    if (i == 0 || lost[i] != 0 || popped[i].rtp_timestamp != popped[i - 1].rtp_timestamp) run = 0;
    ++run;
    if (popped[i].marker && run == 5) complete[popped[i].rtp_timestamp] = 1;
  }
  EXPECT_EQ(complete.size(), 19u);
  EXPECT_EQ(complete.count(1000 + 3 * 3000), 0u);
  EXPECT_EQ(jb->stats().missing, 1u);
}

}  // namespace
}  // namespace sipmix
