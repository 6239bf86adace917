// Test helpers for the DTMF suite: build telephone-event and audio RTP
// packets, and drain a receiver's events. Test thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dtmf/rfc4733.h"
#include "dtmf/rfc4733_receiver.h"
#include "rtp/rtp_packet.h"

namespace sipmix::dtmf::testing {

inline constexpr uint8_t kEventPt = 101;

struct EventPacketSpec {
  uint32_t ssrc = 0x1234;
  uint16_t seq = 0;
  uint32_t timestamp = 0;
  uint8_t event = 0;
  bool end = false;
  uint16_t duration = 0;
  bool marker = false;
  uint8_t payload_type = kEventPt;
  uint8_t volume = 10;
  bool reserved_bit = false;
  int extra_blocks = 0;  // more blocks after the first (their content differs)
};

inline std::vector<uint8_t> event_packet(const EventPacketSpec& s) {
  std::vector<uint8_t> payload(kEventBlockSize * static_cast<size_t>(1 + s.extra_blocks));
  write_event_block(EventBlock{s.event, s.end, s.volume, s.duration}, payload);
  if (s.reserved_bit) payload[1] |= 0x40;
  for (int i = 1; i <= s.extra_blocks; ++i) {
    write_event_block(EventBlock{static_cast<uint8_t>((s.event + i) % 16), true, s.volume, 400},
                      std::span<uint8_t>(payload).subspan(kEventBlockSize * static_cast<size_t>(i)));
  }
  rtp::RtpHeader h;
  h.marker = s.marker;
  h.payload_type = s.payload_type;
  h.sequence_number = s.seq;
  h.timestamp = s.timestamp;
  h.ssrc = s.ssrc;
  std::vector<uint8_t> out(rtp::kRtpHeaderSize + payload.size());
  out.resize(rtp::write_rtp(h, {}, payload, out));
  return out;
}

// A 20 ms PCMU packet (PT 0) of silence.
inline std::vector<uint8_t> audio_packet(uint32_t ssrc, uint16_t seq, uint32_t timestamp) {
  std::vector<uint8_t> payload(160, 0xFF);
  rtp::RtpHeader h;
  h.payload_type = 0;
  h.sequence_number = seq;
  h.timestamp = timestamp;
  h.ssrc = ssrc;
  std::vector<uint8_t> out(rtp::kRtpHeaderSize + payload.size());
  out.resize(rtp::write_rtp(h, {}, payload, out));
  return out;
}

inline std::vector<DtmfEvent> drain(Rfc4733Receiver& r) {
  std::vector<DtmfEvent> v;
  DtmfEvent e;
  while (r.pop_event(e)) v.push_back(e);
  return v;
}

inline std::string digits_of(const std::vector<DtmfEvent>& events) {
  std::string s;
  for (const DtmfEvent& e : events) s += e.digit;
  return s;
}

}  // namespace sipmix::dtmf::testing

namespace sipmix::dtmf::testing {

struct TimedPacket {
  int64_t time_ms = 0;
  std::vector<uint8_t> bytes;
};

// One event as a typical sender emits it: `updates` packets every
// `interval_ms` with durations 0, step, 2*step... (marker on the first), then
// `end_copies` E packets with duration updates*step, every `end_spacing_ms`.
// `same_seq_end`: the copies reuse one sequence number (sip-tester does this).
struct ToneSpec {
  uint32_t ssrc = 0x1234;
  uint32_t timestamp = 0;
  uint8_t event = 5;
  int updates = 5;
  uint16_t step = 160;
  int end_copies = 3;
  bool same_seq_end = false;
  int64_t start_ms = 0;
  int64_t interval_ms = 20;
  int64_t end_spacing_ms = 20;
  uint8_t payload_type = kEventPt;
};

inline std::vector<TimedPacket> tone_packets(const ToneSpec& t, uint16_t& seq) {
  std::vector<TimedPacket> v;
  int64_t now = t.start_ms;
  for (int i = 0; i < t.updates; ++i) {
    EventPacketSpec s;
    s.ssrc = t.ssrc;
    s.seq = seq++;
    s.timestamp = t.timestamp;
    s.event = t.event;
    s.duration = static_cast<uint16_t>(i * t.step);
    s.marker = i == 0;
    s.payload_type = t.payload_type;
    v.push_back({now, event_packet(s)});
    now += t.interval_ms;
  }
  const uint16_t end_seq = seq;
  for (int i = 0; i < t.end_copies; ++i) {
    EventPacketSpec s;
    s.ssrc = t.ssrc;
    s.seq = t.same_seq_end ? end_seq : seq;
    if (!t.same_seq_end || i == t.end_copies - 1) ++seq;
    s.timestamp = t.timestamp;
    s.event = t.event;
    s.end = true;
    s.duration = static_cast<uint16_t>(t.updates * t.step);
    s.payload_type = t.payload_type;
    v.push_back({now, event_packet(s)});
    now += t.end_spacing_ms;
  }
  return v;
}

inline void feed(Rfc4733Receiver& r, const std::vector<TimedPacket>& packets) {
  for (const TimedPacket& p : packets) r.on_packet(std::span<const uint8_t>(p.bytes), p.time_ms);
}

}  // namespace sipmix::dtmf::testing
