// RFC 4733 sender: plays DTMF digits to a SIP leg as telephone-event packets
// that share the leg's outgoing audio SSRC, sequence numbers and timestamps.
// play() is called on the tick thread (the session queues the API call there)
// and allocates; on_audio_tick() runs every audio tick and never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sipmix/status.h"

namespace sipmix::dtmf {

struct Rfc4733SenderConfig {
  uint8_t payload_type = 101;     // negotiated telephone-event PT (96..127 usually)
  uint32_t clock_rate_hz = 8000;  // negotiated event clock; equals the leg's audio RTP clock (8000, 48000 with Opus)
  uint32_t ssrc = 0;              // the leg's outgoing audio SSRC
  uint32_t tick_ms = 20;          // the leg's audio packet interval; one event packet per tick
  uint32_t tone_ms = 100;         // tone length, rounded up to whole ticks
  uint32_t gap_ms = 100;          // from one tone's end to the next tone's start, rounded up to ticks
  uint32_t pause_ms = 500;        // what 'p' waits
  uint8_t volume = 10;            // -dBm0
  uint32_t end_packets = 3;       // copies of the final (E) packet, one per tick
  size_t max_queued_digits = 256;
};

class Rfc4733Sender {
 public:
  static constexpr size_t kPacketSize = 16;  // RTP header + one event block

  // Validates the configuration; the error names the field.
  static StatusOr<Rfc4733Sender> create(const Rfc4733SenderConfig& config);
  static Status validate(const Rfc4733SenderConfig& config);

  // Queues digits "0-9 * #" and 'p' (a pause). Rejects the whole string, with
  // the offending character and position, if any character is not allowed,
  // or if it is empty or would overflow the queue.
  Status play(std::string_view digits);
  // Drops queued digits that have not started; a tone in progress ends normally.
  void clear_queue();
  // True when nothing is queued or being played (gaps and pauses included).
  bool idle() const;

  // Called once per audio tick with the RTP timestamp this tick's audio
  // packet would carry. When it returns n > 0, the session sends those n
  // bytes of `out` (>= kPacketSize) instead of this tick's audio packet;
  // `next_sequence_number` (the leg's shared counter) has been advanced by
  // one. When it returns 0, the tick carries audio as usual.
  size_t on_audio_tick(uint32_t audio_rtp_timestamp, uint16_t& next_sequence_number, std::span<uint8_t> out);

  const Rfc4733SenderConfig& config() const { return config_; }
  uint64_t packets_sent() const { return packets_sent_; }
  uint64_t digits_sent() const { return digits_sent_; }

 private:
  explicit Rfc4733Sender(const Rfc4733SenderConfig& config);

  enum class State : uint8_t { kIdle, kTone, kEnd, kGap, kPause };

  size_t write_packet(bool marker, bool end, uint16_t& seq, std::span<uint8_t> out);

  Rfc4733SenderConfig config_;
  uint32_t samples_per_tick_ = 0;
  uint32_t tone_ticks_ = 0;
  uint32_t gap_ticks_ = 0;
  uint32_t pause_ticks_ = 0;

  std::string queue_;   // allocated at construction to max_queued_digits
  size_t head_ = 0;
  State state_ = State::kIdle;
  uint8_t event_ = 0;
  uint32_t event_timestamp_ = 0;
  uint32_t ticks_done_ = 0;   // tone ticks sent, or end packets sent
  uint32_t wait_ticks_ = 0;   // audio ticks left in a gap or pause
  uint16_t duration_ = 0;
  uint64_t packets_sent_ = 0;
  uint64_t digits_sent_ = 0;
};

}  // namespace sipmix::dtmf
