// RFC 4733 telephone-event receiver for one SIP leg: turns event packets into
// digit events, each reported exactly once per (SSRC, RTP timestamp, event).
// One owner thread (the session's tick thread); no allocation, lock or syscall per packet.
// The session routes packets by payload type: only telephone-event packets come
// here, so a tone packet is never decoded as audio and never reaches the mix.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dtmf/rfc4733.h"
#include "rtp/rtp_packet.h"
#include "sipmix/status.h"

namespace sipmix::dtmf {

enum class DtmfEndReason : uint8_t {
  kEndBit,      // a packet with E set arrived
  kTimeout,     // no update for end_timeout_ms of media time
  kSuperseded,  // a new event started on the same SSRC, or flush()
};

// One digit, reported once, when it ends.
struct DtmfEvent {
  uint32_t ssrc = 0;
  uint32_t rtp_timestamp = 0;     // of the event's first segment
  uint8_t event = 0;              // 0..16
  char digit = '\0';              // event_to_char(event)
  uint8_t volume = 0;             // -dBm0 of the last packet
  uint64_t duration_samples = 0;  // all segments, event-clock units
  int64_t duration_ms = 0;
  int64_t start_ms = 0;           // media time the tone began (arrival of the first packet seen minus its duration)
  int64_t end_ms = 0;             // start_ms + duration_ms
  uint32_t segments = 1;          // > 1 for a long event split at 0xFFFF
  DtmfEndReason end_reason = DtmfEndReason::kEndBit;
};

struct Rfc4733ReceiverConfig {
  uint8_t payload_type = 101;      // the negotiated telephone-event PT; other PTs are counted and ignored
  uint32_t clock_rate_hz = 8000;   // the negotiated telephone-event clock (8000, or 48000 beside Opus)
  int64_t end_timeout_ms = 200;    // finalize an event without E after this much media time without an update
  // How long a reported (SSRC, timestamp, event) key is remembered, in media
  // time: packets with that key are retransmits or stragglers until then.
  // After it, the same key starts a new event (a sender replaying one
  // capture, as sipp does with sip-tester's pcaps).
  int64_t key_memory_ms = 1000;
};

struct Rfc4733ReceiverStats {
  uint64_t packets = 0;              // every call to on_packet
  uint64_t wrong_payload_type = 0;   // not the telephone-event PT (ignored)
  uint64_t malformed = 0;            // not RTP, or payload shorter than one block
  uint64_t ignored_event_code = 0;   // event code > 16
  uint64_t multi_block = 0;          // payloads with more than one block (first one read)
  uint64_t end_retransmits = 0;      // E packets of an event already reported
  uint64_t late = 0;                 // other packets of a reported event or an earlier segment
  uint64_t reordered = 0;            // an update whose duration went backwards
  uint64_t events = 0;               // digits reported
  uint64_t timeouts = 0;             // of which ended by timeout
  uint64_t superseded = 0;           // of which ended by a newer event
  uint64_t segments_joined = 0;      // long-event continuations merged into one digit
  uint64_t queue_overflow = 0;       // events dropped because nobody drained the queue
};

class Rfc4733Receiver {
 public:
  static constexpr size_t kMaxActiveEvents = 4;   // concurrent SSRCs with an event in progress
  static constexpr size_t kHistorySize = 32;      // reported (SSRC, timestamp, event) keys remembered
  static constexpr size_t kQueueSize = 16;        // reported events waiting for pop_event()

  // Validates the configuration (clock 1..192000 Hz, PT 0..127, timeout
  // 20..5000 ms, key memory end_timeout_ms..60000 ms).
  static StatusOr<Rfc4733Receiver> create(const Rfc4733ReceiverConfig& config);
  static Status validate(const Rfc4733ReceiverConfig& config);

  // Feeds one received RTP packet. `now_ms` is media time (the session's
  // clock); it must not go backwards. Completed events go to the queue.
  void on_packet(const rtp::RtpPacketView& packet, int64_t now_ms);
  // Same, from raw bytes (parsed with rtp::parse_rtp; malformed ones are counted).
  void on_packet(std::span<const uint8_t> rtp_bytes, int64_t now_ms);
  // Finalizes events that have had no update for end_timeout_ms. Call every tick.
  void poll(int64_t now_ms);
  // Finalizes every event in progress (leg hang-up, re-INVITE).
  void flush(int64_t now_ms);

  // Takes the oldest reported event. Returns false when none is waiting.
  bool pop_event(DtmfEvent& out);

  bool event_in_progress() const;
  const Rfc4733ReceiverStats& stats() const { return stats_; }
  const Rfc4733ReceiverConfig& config() const { return config_; }

 private:
  explicit Rfc4733Receiver(const Rfc4733ReceiverConfig& config);

  struct Active {
    bool in_use = false;
    uint32_t ssrc = 0;
    uint8_t event = 0;
    uint8_t volume = 0;
    uint32_t first_timestamp = 0;
    uint32_t segment_timestamp = 0;
    uint16_t segment_duration = 0;     // largest duration seen in the current segment
    uint64_t earlier_segments = 0;     // samples covered by finished segments
    uint32_t segments = 1;
    int64_t start_ms = 0;
    int64_t last_update_ms = 0;
  };
  struct Key {
    uint32_t ssrc = 0;
    uint32_t timestamp = 0;
    uint8_t event = 0;
    bool valid = false;
    int64_t reported_ms = 0;
  };

  bool in_history(uint32_t ssrc, uint32_t timestamp, uint8_t event, int64_t now_ms) const;
  void remember(uint32_t ssrc, uint32_t timestamp, uint8_t event, int64_t now_ms);
  bool is_continuation(const Active& a, uint32_t timestamp, uint8_t event) const;
  void finalize(Active& a, DtmfEndReason reason, int64_t now_ms);
  int64_t samples_to_ms(uint64_t samples) const;

  Rfc4733ReceiverConfig config_;
  int64_t segment_slack_samples_ = 0;
  std::array<Active, kMaxActiveEvents> active_{};
  std::array<Key, kHistorySize> history_{};
  size_t history_next_ = 0;
  std::array<DtmfEvent, kQueueSize> queue_{};
  size_t queue_head_ = 0;
  size_t queue_count_ = 0;
  Rfc4733ReceiverStats stats_;
};

}  // namespace sipmix::dtmf
