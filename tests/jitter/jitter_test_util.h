// Test helpers for the jitter buffer: RTP packet fixtures and a simulated
// 20 ms audio tick that feeds packets in arrival order. Single-threaded.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "jitter/jitter_buffer.h"
#include "rtp/rtp_packet.h"

namespace sipmix::testing {

// An RTP packet whose payload bytes are derived from (seq, ssrc) so that a
// played packet can be checked for integrity.
inline std::vector<uint8_t> make_rtp(uint16_t seq, uint32_t ts, uint32_t ssrc = 0x1234, size_t payload_size = 40,
                                     bool marker = false, uint8_t pt = 111) {
  std::vector<uint8_t> payload(payload_size);
  for (size_t i = 0; i < payload_size; ++i) payload[i] = static_cast<uint8_t>(seq * 7 + ssrc + i);
  rtp::RtpHeader h;
  h.marker = marker;
  h.payload_type = pt;
  h.sequence_number = seq;
  h.timestamp = ts;
  h.ssrc = ssrc;
  std::vector<uint8_t> out(rtp::kRtpHeaderSize + payload_size);
  const size_t n = rtp::write_rtp(h, {}, payload, out);
  out.resize(n);
  return out;
}

inline bool payload_intact(const JitterPacket& p) {
  for (size_t i = 0; i < p.payload.size(); ++i) {
    if (p.payload[i] != static_cast<uint8_t>(p.sequence_number * 7 + p.ssrc + i)) return false;
  }
  return true;
}

struct TimedPacket {
  std::vector<uint8_t> bytes;
  int64_t arrival_us;
};

// A sender of 20 ms Opus-like frames at 48 kHz.
struct AudioSender {
  uint16_t seq = 0;
  uint32_t ts = 0;
  uint32_t ssrc = 0x1234;
  int64_t send_us = 0;
  TimedPacket next(int64_t network_delay_us) {
    TimedPacket p{make_rtp(seq, ts, ssrc), send_us + network_delay_us};
    ++seq;
    ts += 960;
    send_us += 20000;
    return p;
  }
};

struct PlayoutRecord {
  PlayoutKind kind;
  uint16_t seq = 0;
  uint32_t ssrc = 0;
  int64_t tick_us = 0;
  bool intact = true;
  uint32_t lost_before = 0;
};

// Feeds `packets` (any order; sorted here by arrival) and ticks the consumer
// every 20 ms from start_us while tick < end_us. `silent(tick)` is the flag
// passed to pull_audio. Insert results are appended to `results` when given.
inline std::vector<PlayoutRecord> run_audio(JitterBuffer& jb, std::vector<TimedPacket> packets, int64_t start_us,
                                            int64_t end_us, std::function<bool(int64_t)> silent = nullptr,
                                            std::vector<InsertResult>* results = nullptr,
                                            std::function<void(int64_t)> on_tick = nullptr) {
  std::stable_sort(packets.begin(), packets.end(),
                   [](const TimedPacket& a, const TimedPacket& b) { return a.arrival_us < b.arrival_us; });
  std::vector<PlayoutRecord> out;
  size_t next = 0;
  for (int64_t t = start_us; t < end_us; t += 20000) {
    while (next < packets.size() && packets[next].arrival_us <= t) {
      const InsertResult r = jb.insert(packets[next].bytes, packets[next].arrival_us);
      if (results) results->push_back(r);
      ++next;
    }
    const Playout p = jb.pull_audio(t, silent ? silent(t) : false);
    PlayoutRecord rec{p.kind};
    rec.tick_us = t;
    rec.lost_before = p.lost_before;
    if (p.kind == PlayoutKind::kPacket) {
      rec.seq = p.packet.sequence_number;
      rec.ssrc = p.packet.ssrc;
      rec.intact = payload_intact(p.packet);
    }
    out.push_back(rec);
    if (on_tick) on_tick(t);
  }
  return out;
}

inline std::vector<uint16_t> played_seqs(const std::vector<PlayoutRecord>& r, uint32_t ssrc = 0) {
  std::vector<uint16_t> s;
  for (const auto& x : r)
    if (x.kind == PlayoutKind::kPacket && (ssrc == 0 || x.ssrc == ssrc)) s.push_back(x.seq);
  return s;
}

inline size_t count_kind(const std::vector<PlayoutRecord>& r, PlayoutKind k) {
  return static_cast<size_t>(std::count_if(r.begin(), r.end(), [k](const PlayoutRecord& x) { return x.kind == k; }));
}

// Sequence numbers given up as lost: kMissing turns plus gaps skipped at once.
inline size_t count_lost(const std::vector<PlayoutRecord>& r) {
  size_t n = 0;
  for (const auto& x : r) n += (x.kind == PlayoutKind::kMissing) + x.lost_before;
  return n;
}

// Consecutive (mod 2^16) starting at `first`.
inline bool consecutive_from(const std::vector<uint16_t>& s, uint16_t first) {
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] != static_cast<uint16_t>(first + i)) return false;
  return true;
}

}  // namespace sipmix::testing
