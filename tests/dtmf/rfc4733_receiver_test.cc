// RFC 4733 receiver: every case of the receiver facts in docs/dtmf.md, each asserting
// that the user-visible result (digits reported exactly once, with the right
// duration) holds.
#include "dtmf/rfc4733_receiver.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/alloc_counter.h"
#include "tests/dtmf/dtmf_test_util.h"

namespace sipmix::dtmf {
namespace {

using testing::drain;
using testing::event_packet;
using testing::EventPacketSpec;
using testing::feed;
using testing::tone_packets;
using testing::ToneSpec;

Rfc4733Receiver make_receiver(uint32_t clock_hz = 8000, int64_t timeout_ms = 200) {
  Rfc4733ReceiverConfig c;
  c.payload_type = testing::kEventPt;
  c.clock_rate_hz = clock_hz;
  c.end_timeout_ms = timeout_ms;
  auto r = Rfc4733Receiver::create(c);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return std::move(r).value();
}

TEST(Rfc4733Payload, ParsesFirstBlockAndIgnoresReservedBit) {
  const uint8_t p[] = {0x0A, 0xC0 | 0x0A, 0x08, 0xC0, 0x06, 0x00, 0x00, 0x00};
  const auto parsed = parse_event_payload(p);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->first.event, 10);
  EXPECT_TRUE(parsed->first.end);
  EXPECT_EQ(parsed->first.volume, 10);
  EXPECT_EQ(parsed->first.duration, 0x08C0);
  EXPECT_EQ(parsed->block_count, 2u);
  EXPECT_FALSE(parse_event_payload(std::span<const uint8_t>(p, 3)).has_value());
  EXPECT_FALSE(parse_event_payload({}).has_value());
}

TEST(Rfc4733Payload, EventCharactersRoundTrip) {
  const std::string all = "0123456789*#ABCD!";
  for (uint8_t e = 0; e <= kMaxDtmfEvent; ++e) {
    EXPECT_EQ(event_to_char(e), all[e]);
    EXPECT_EQ(char_to_event(all[e]), e);
  }
  EXPECT_EQ(event_to_char(17), '\0');
  EXPECT_FALSE(char_to_event('x').has_value());
}

TEST(Rfc4733Receiver, ReportsOneDigitWithDurationAndStart) {
  auto r = make_receiver();
  uint16_t seq = 100;
  feed(r, tone_packets(ToneSpec{.timestamp = 16000, .event = 5, .updates = 5, .start_ms = 1000}, seq));
  const auto ev = drain(r);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].digit, '5');
  EXPECT_EQ(ev[0].rtp_timestamp, 16000u);
  EXPECT_EQ(ev[0].duration_samples, 800u);
  EXPECT_EQ(ev[0].duration_ms, 100);
  EXPECT_EQ(ev[0].start_ms, 1000);  // first packet carried duration 0
  EXPECT_EQ(ev[0].end_ms, 1100);
  EXPECT_EQ(ev[0].end_reason, DtmfEndReason::kEndBit);
  EXPECT_EQ(r.stats().end_retransmits, 2u);
}

TEST(Rfc4733Receiver, EndRetransmitsWithSameSequenceNumberCountOnce) {
  auto r = make_receiver();
  uint16_t seq = 7;
  feed(r, tone_packets(ToneSpec{.timestamp = 800, .event = 1, .end_copies = 3, .same_seq_end = true,
                                .end_spacing_ms = 0},
                       seq));
  const auto ev = drain(r);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].digit, '1');
  EXPECT_EQ(r.stats().end_retransmits, 2u);
}

TEST(Rfc4733Receiver, EndRetransmitsWithNewSequenceNumbersCountOnce) {
  auto r = make_receiver();
  uint16_t seq = 65534;  // crosses the sequence wrap on the way
  feed(r, tone_packets(ToneSpec{.timestamp = 800, .event = 9, .end_copies = 3, .same_seq_end = false}, seq));
  EXPECT_EQ(testing::digits_of(drain(r)), "9");
}

TEST(Rfc4733Receiver, LostFirstPacketNeedsNoMarker) {
  auto r = make_receiver();
  uint16_t seq = 0;
  auto pk = tone_packets(ToneSpec{.timestamp = 4000, .event = 3, .start_ms = 500}, seq);
  pk.erase(pk.begin());  // the only packet with M set
  feed(r, pk);
  const auto ev = drain(r);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].digit, '3');
  EXPECT_EQ(ev[0].duration_ms, 100);
  EXPECT_EQ(ev[0].start_ms, 500);  // 520 ms arrival minus the 20 ms it reported
}

TEST(Rfc4733Receiver, EndOnlyEventIsReportedOnce) {
  auto r = make_receiver();
  for (int i = 0; i < 3; ++i) {
    r.on_packet(std::span<const uint8_t>(event_packet(EventPacketSpec{
                    .seq = static_cast<uint16_t>(10 + i), .timestamp = 9000, .event = 11, .end = true,
                    .duration = 960})),
                2000 + 20 * i);
  }
  const auto ev = drain(r);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].digit, '#');
  EXPECT_EQ(ev[0].duration_ms, 120);
  EXPECT_EQ(ev[0].start_ms, 2000 - 120);
}

TEST(Rfc4733Receiver, NoEndPacketFinalizesAfterMediaTimeout) {
  for (const int64_t timeout : {150, 200}) {
    auto r = make_receiver(8000, timeout);
    uint16_t seq = 0;
    feed(r, tone_packets(ToneSpec{.timestamp = 160, .event = 7, .updates = 6, .end_copies = 0, .start_ms = 0}, seq));
    const int64_t last_update = 5 * 20;
    r.poll(last_update + timeout - 1);
    EXPECT_TRUE(drain(r).empty()) << "finalized before the timeout";
    EXPECT_TRUE(r.event_in_progress());
    r.poll(last_update + timeout);
    const auto ev = drain(r);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].digit, '7');
    EXPECT_EQ(ev[0].duration_samples, 800u);
    EXPECT_EQ(ev[0].end_reason, DtmfEndReason::kTimeout);
    // A straggler of the finalized event does not report it again.
    r.on_packet(std::span<const uint8_t>(event_packet(
                    EventPacketSpec{.seq = 40, .timestamp = 160, .event = 7, .end = true, .duration = 960})),
                last_update + timeout + 30);
    EXPECT_TRUE(drain(r).empty());
  }
}

TEST(Rfc4733Receiver, LongEventAcrossSegmentsIsOneDigit8k) {
  auto r = make_receiver(8000);
  // 0xFFFF at 8 kHz is 8.19 s; two full segments then 1000 samples more.
  uint16_t seq = 0;
  int64_t now = 0;
  uint32_t ts = 1000;
  uint64_t total = 0;
  for (int segment = 0; segment < 3; ++segment) {
    const bool last = segment == 2;
    const uint32_t length = last ? 1000 : 0xFFFF;
    for (uint32_t d = 0; d < length; d += 160) {
      r.on_packet(std::span<const uint8_t>(event_packet(
                      EventPacketSpec{.seq = seq++, .timestamp = ts, .event = 0, .duration = static_cast<uint16_t>(d),
                                      .marker = segment == 0 && d == 0})),
                  now);
      now += 20;
    }
    for (int copy = 0; copy < 3; ++copy) {  // segment ends are sent 3 times too
      r.on_packet(std::span<const uint8_t>(event_packet(EventPacketSpec{
                      .seq = seq++, .timestamp = ts, .event = 0, .end = last, .duration = static_cast<uint16_t>(length)})),
                  now);
      now += 20;
    }
    total += length;
    ts += length;
    EXPECT_TRUE(last || drain(r).empty()) << "segment " << segment << " reported as a digit of its own";
  }
  const auto ev = drain(r);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].digit, '0');
  EXPECT_EQ(ev[0].segments, 3u);
  EXPECT_EQ(ev[0].duration_samples, total);
  EXPECT_EQ(ev[0].rtp_timestamp, 1000u);
  EXPECT_EQ(r.stats().segments_joined, 2u);
}

TEST(Rfc4733Receiver, LongEventAcrossSegmentsIsOneDigit48kWithoutFinalEnd) {
  auto r = make_receiver(48000);
  // 0xFFFF at 48 kHz is 1.365 s. Segment 1's final packet is lost, and the
  // event's end packets too: timeout.
  uint16_t seq = 0;
  int64_t now = 0;
  const uint32_t ts0 = 0xFFFFF000u;  // the timestamp wraps inside the event
  for (uint32_t d = 0; d + 960 < 0xFFFF; d += 960) {
    r.on_packet(std::span<const uint8_t>(event_packet(
                    EventPacketSpec{.seq = seq++, .timestamp = ts0, .event = 10, .duration = static_cast<uint16_t>(d)})),
                now);
    now += 20;
  }
  const uint32_t ts1 = ts0 + 0xFFFF;
  for (uint32_t d = 960; d <= 9600; d += 960) {
    r.on_packet(std::span<const uint8_t>(event_packet(
                    EventPacketSpec{.seq = seq++, .timestamp = ts1, .event = 10, .duration = static_cast<uint16_t>(d)})),
                now);
    now += 20;
  }
  r.poll(now + 1000);
  const auto ev = drain(r);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].digit, '*');
  EXPECT_EQ(ev[0].segments, 2u);
  EXPECT_EQ(ev[0].duration_samples, 0xFFFFu + 9600u);
  EXPECT_EQ(ev[0].duration_ms, (0xFFFF + 9600) * 1000 / 48000);
  EXPECT_EQ(ev[0].end_reason, DtmfEndReason::kTimeout);
}

TEST(Rfc4733Receiver, SameDigitTwiceWithLostEndsStaysTwoDigits) {
  auto r = make_receiver();
  uint16_t seq = 0;
  // "66", 100 ms tones 100 ms apart, every end packet lost.
  feed(r, tone_packets(ToneSpec{.timestamp = 0, .event = 6, .end_copies = 0, .start_ms = 0}, seq));
  feed(r, tone_packets(ToneSpec{.timestamp = 1600, .event = 6, .end_copies = 0, .start_ms = 200}, seq));
  r.poll(2000);
  EXPECT_EQ(testing::digits_of(drain(r)), "66");
}

TEST(Rfc4733Receiver, Clock48kDurations) {
  auto r = make_receiver(48000);
  uint16_t seq = 0;
  feed(r, tone_packets(ToneSpec{.timestamp = 96000, .event = 4, .updates = 4, .step = 960}, seq));
  const auto ev = drain(r);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].duration_samples, 3840u);
  EXPECT_EQ(ev[0].duration_ms, 80);
}

TEST(Rfc4733Receiver, MultiBlockPayloadReadsFirstBlock) {
  auto r = make_receiver();
  for (uint16_t i = 0; i < 3; ++i) {
    r.on_packet(std::span<const uint8_t>(event_packet(EventPacketSpec{.seq = i, .timestamp = 320, .event = 2,
                                                                       .end = i == 2,
                                                                       .duration = static_cast<uint16_t>(160 * i),
                                                                       .extra_blocks = 2})),
                20 * i);
  }
  EXPECT_EQ(testing::digits_of(drain(r)), "2");
  EXPECT_EQ(r.stats().multi_block, 3u);
}

TEST(Rfc4733Receiver, ReservedBitAndUnknownEventsIgnored) {
  auto r = make_receiver();
  // Event 40 (not a DTMF event) first; then '8' with R set.
  for (uint16_t i = 0; i < 3; ++i)
    r.on_packet(std::span<const uint8_t>(event_packet(EventPacketSpec{.seq = i, .timestamp = 0, .event = 40,
                                                                       .end = i == 2, .duration = 160})),
                20 * i);
  for (uint16_t i = 0; i < 3; ++i)
    r.on_packet(std::span<const uint8_t>(event_packet(EventPacketSpec{.seq = static_cast<uint16_t>(3 + i),
                                                                       .timestamp = 800, .event = 8, .end = i == 2,
                                                                       .duration = static_cast<uint16_t>(160 * i),
                                                                       .reserved_bit = true})),
                100 + 20 * i);
  EXPECT_EQ(testing::digits_of(drain(r)), "8");
  EXPECT_EQ(r.stats().ignored_event_code, 3u);
}

TEST(Rfc4733Receiver, SeparateSsrcForEvents) {
  auto r = make_receiver();
  uint16_t seq = 0;
  // The audio SSRC is 0xAAAA (never seen here); events come on 0xBBBB.
  feed(r, tone_packets(ToneSpec{.ssrc = 0xBBBB, .timestamp = 4242, .event = 12}, seq));
  const auto ev = drain(r);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].ssrc, 0xBBBBu);
  EXPECT_EQ(ev[0].digit, 'A');
}

TEST(Rfc4733Receiver, TwoSsrcsInterleavedKeepTheirOwnEvents) {
  auto r = make_receiver();
  uint16_t seq_a = 0, seq_b = 500;
  auto a = tone_packets(ToneSpec{.ssrc = 1, .timestamp = 100, .event = 1, .start_ms = 0}, seq_a);
  auto b = tone_packets(ToneSpec{.ssrc = 2, .timestamp = 900, .event = 2, .start_ms = 10}, seq_b);
  std::vector<testing::TimedPacket> all;
  std::merge(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(all),
             [](const auto& x, const auto& y) { return x.time_ms < y.time_ms; });
  feed(r, all);
  EXPECT_EQ(testing::digits_of(drain(r)), "12");
}

TEST(Rfc4733Receiver, AudioInterleavedIsNotDecodedAsEvents) {
  auto r = make_receiver();
  uint16_t seq = 0;
  auto events = tone_packets(ToneSpec{.ssrc = 0x55, .timestamp = 1600, .event = 6}, seq);
  // The same sender keeps sending PCMU audio during the event (same SSRC, own sequence numbers).
  std::vector<testing::TimedPacket> all;
  for (size_t i = 0; i < events.size(); ++i) {
    all.push_back({events[i].time_ms, testing::audio_packet(0x55, static_cast<uint16_t>(1000 + i), 1600 + 160 * i)});
    all.push_back(events[i]);
  }
  feed(r, all);
  EXPECT_EQ(testing::digits_of(drain(r)), "6");
  EXPECT_EQ(r.stats().wrong_payload_type, events.size());
}

TEST(Rfc4733Receiver, ReorderingNeverReportsTwice) {
  auto r = make_receiver();
  uint16_t seq = 0;
  auto pk = tone_packets(ToneSpec{.timestamp = 3200, .event = 5, .updates = 6}, seq);
  // Swap two updates, and hold the second update back until after the end.
  std::swap(pk[2], pk[3]);
  auto late = pk[1];
  pk.erase(pk.begin() + 1);
  pk.push_back(late);
  for (size_t i = 0; i < pk.size(); ++i) pk[i].time_ms = 20 * static_cast<int64_t>(i);
  feed(r, pk);
  const auto ev = drain(r);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].duration_samples, 960u);
  EXPECT_GE(r.stats().reordered, 1u);
  EXPECT_GE(r.stats().late, 1u);

  // A late packet of the reported digit, then one more during the next digit: both ignored.
  r.on_packet(std::span<const uint8_t>(
                  event_packet(EventPacketSpec{.seq = 2, .timestamp = 3200, .event = 5, .duration = 320})),
              600);
  auto next = tone_packets(ToneSpec{.timestamp = 8000, .event = 9, .start_ms = 1000}, seq);
  next.insert(next.begin() + 2, {1030, event_packet(EventPacketSpec{.seq = 3, .timestamp = 3200, .event = 5,
                                                                    .end = true, .duration = 960})});
  feed(r, next);
  r.poll(5000);
  EXPECT_EQ(testing::digits_of(drain(r)), "9");
}

TEST(Rfc4733Receiver, ReplayedKeyAfterKeyMemoryIsANewEvent) {
  // sipp replays one capture with the same timestamps: after key_memory_ms
  // of media time the same (SSRC, timestamp, event) is a new press.
  auto r = Rfc4733Receiver::create({.payload_type = 101, .clock_rate_hz = 8000, .key_memory_ms = 1000}).value();
  uint16_t seq = 0;
  feed(r, tone_packets(ToneSpec{.timestamp = 800, .event = 1, .start_ms = 0}, seq));
  seq = 0;
  feed(r, tone_packets(ToneSpec{.timestamp = 800, .event = 1, .start_ms = 500}, seq));  // within memory
  EXPECT_EQ(testing::digits_of(drain(r)), "1");
  seq = 0;
  feed(r, tone_packets(ToneSpec{.timestamp = 800, .event = 1, .start_ms = 2000}, seq));  // after it
  EXPECT_EQ(testing::digits_of(drain(r)), "1");
}

TEST(Rfc4733Receiver, StragglerOlderThanEventInProgressIsDropped) {
  auto r = make_receiver();
  uint16_t seq = 50;
  auto pk = tone_packets(ToneSpec{.timestamp = 8000, .event = 2, .end_copies = 0}, seq);
  feed(r, pk);
  // A packet of an earlier event never seen (lost entirely) arrives late.
  r.on_packet(std::span<const uint8_t>(
                  event_packet(EventPacketSpec{.seq = 10, .timestamp = 4000, .event = 1, .end = true, .duration = 800})),
              110);
  feed(r, {{120, event_packet(EventPacketSpec{.seq = 60, .timestamp = 8000, .event = 2, .end = true, .duration = 800})}});
  EXPECT_EQ(testing::digits_of(drain(r)), "2");
}

TEST(Rfc4733Receiver, NewEventSupersedesOneWithoutEnd) {
  auto r = make_receiver();
  uint16_t seq = 0;
  feed(r, tone_packets(ToneSpec{.timestamp = 0, .event = 1, .end_copies = 0, .start_ms = 0}, seq));
  feed(r, tone_packets(ToneSpec{.timestamp = 1200, .event = 2, .start_ms = 150}, seq));
  const auto ev = drain(r);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].digit, '1');
  EXPECT_EQ(ev[0].end_reason, DtmfEndReason::kSuperseded);
  EXPECT_EQ(ev[1].digit, '2');
}

TEST(Rfc4733Receiver, MalformedAndWrongPayloadTypeCountedAndDropped) {
  auto r = make_receiver();
  const uint8_t garbage[] = {0x00, 0x01, 0x02};
  r.on_packet(std::span<const uint8_t>(garbage), 0);
  auto short_payload = event_packet(EventPacketSpec{.seq = 1, .timestamp = 0, .event = 1, .end = true});
  short_payload.resize(rtp::kRtpHeaderSize + 2);
  r.on_packet(std::span<const uint8_t>(short_payload), 0);
  r.on_packet(std::span<const uint8_t>(event_packet(EventPacketSpec{.seq = 2, .event = 1, .end = true, .payload_type = 96})), 0);
  EXPECT_TRUE(drain(r).empty());
  EXPECT_EQ(r.stats().malformed, 2u);
  EXPECT_EQ(r.stats().wrong_payload_type, 1u);
}

TEST(Rfc4733Receiver, RejectsBadConfiguration) {
  auto bad_clock = Rfc4733Receiver::create({.payload_type = 101, .clock_rate_hz = 0});
  ASSERT_FALSE(bad_clock.ok());
  EXPECT_NE(bad_clock.status().message().find("clock_rate_hz"), std::string::npos);
  auto bad_pt = Rfc4733Receiver::create({.payload_type = 200});
  ASSERT_FALSE(bad_pt.ok());
  EXPECT_NE(bad_pt.status().message().find("payload_type"), std::string::npos);
  EXPECT_FALSE(Rfc4733Receiver::create({.end_timeout_ms = 5}).ok());
  auto bad_memory = Rfc4733Receiver::create({.end_timeout_ms = 200, .key_memory_ms = 100});
  ASSERT_FALSE(bad_memory.ok());
  EXPECT_NE(bad_memory.status().message().find("key_memory_ms"), std::string::npos);
}

TEST(Rfc4733Receiver, NoAllocationPerPacket) {
  auto r = make_receiver();
  uint16_t seq = 0;
  std::vector<testing::TimedPacket> all;
  for (int i = 0; i < 200; ++i) {
    auto pk = tone_packets(ToneSpec{.timestamp = static_cast<uint32_t>(i * 4000), .event = static_cast<uint8_t>(i % 16),
                                    .end_copies = (i % 3), .start_ms = i * 500},
                           seq);
    all.insert(all.end(), pk.begin(), pk.end());
  }
  size_t reported = 0;
  DtmfEvent e;
  const uint64_t before = sipmix::testing::allocation_count();
  for (const auto& p : all) {
    r.on_packet(std::span<const uint8_t>(p.bytes), p.time_ms);
    while (r.pop_event(e)) ++reported;
  }
  r.poll(1000000);
  while (r.pop_event(e)) ++reported;
  EXPECT_EQ(sipmix::testing::allocation_count(), before);
  EXPECT_EQ(reported, 200u);
}

}  // namespace
}  // namespace sipmix::dtmf
