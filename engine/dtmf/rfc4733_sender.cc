#include "dtmf/rfc4733_sender.h"

#include <algorithm>

#include "dtmf/rfc4733.h"
#include "rtp/rtp_packet.h"

namespace sipmix::dtmf {

namespace {

uint32_t ceil_div(uint32_t a, uint32_t b) { return (a + b - 1) / b; }

bool allowed_play_char(char c) { return (c >= '0' && c <= '9') || c == '*' || c == '#' || c == 'p'; }

}  // namespace

Status Rfc4733Sender::validate(const Rfc4733SenderConfig& c) {
  const auto field = [](const char* name, uint64_t v, const char* range) {
    return invalid_argument(std::string("dtmf sender ") + name + " " + std::to_string(v) + " not in " + range);
  };
  if (c.payload_type > 127) return field("payload_type", c.payload_type, "0..127");
  if (c.clock_rate_hz < 8000 || c.clock_rate_hz > 96000) return field("clock_rate_hz", c.clock_rate_hz, "8000..96000");
  if (c.tick_ms < 10 || c.tick_ms > 100) return field("tick_ms", c.tick_ms, "10..100");
  if (static_cast<uint64_t>(c.clock_rate_hz) * c.tick_ms % 1000 != 0)
    return invalid_argument("dtmf sender tick_ms " + std::to_string(c.tick_ms) +
                            " is not a whole number of samples at clock_rate_hz " + std::to_string(c.clock_rate_hz));
  if (c.tone_ms < 40) return field("tone_ms", c.tone_ms, "40..(65535 samples)");
  const uint64_t tone_samples = static_cast<uint64_t>(ceil_div(c.tone_ms, c.tick_ms)) * c.tick_ms * c.clock_rate_hz / 1000;
  if (tone_samples > kMaxEventDuration)
    return invalid_argument("dtmf sender tone_ms " + std::to_string(c.tone_ms) + " exceeds 65535 samples at " +
                            std::to_string(c.clock_rate_hz) + " Hz");
  if (c.gap_ms > 10000) return field("gap_ms", c.gap_ms, "0..10000");
  if (c.pause_ms < c.tick_ms || c.pause_ms > 10000) return field("pause_ms", c.pause_ms, "tick_ms..10000");
  if (c.volume > 63) return field("volume", c.volume, "0..63");
  if (c.end_packets < 1 || c.end_packets > 5) return field("end_packets", c.end_packets, "1..5");
  if (c.max_queued_digits < 1 || c.max_queued_digits > 4096)
    return field("max_queued_digits", c.max_queued_digits, "1..4096");
  return Status::ok_status();
}

StatusOr<Rfc4733Sender> Rfc4733Sender::create(const Rfc4733SenderConfig& config) {
  if (Status s = validate(config); !s.ok()) return s;
  return Rfc4733Sender(config);
}

Rfc4733Sender::Rfc4733Sender(const Rfc4733SenderConfig& c)
    : config_(c),
      samples_per_tick_(c.clock_rate_hz * c.tick_ms / 1000),
      tone_ticks_(ceil_div(c.tone_ms, c.tick_ms)),
      gap_ticks_(ceil_div(c.gap_ms, c.tick_ms)),
      pause_ticks_(ceil_div(c.pause_ms, c.tick_ms)) {
  queue_.reserve(c.max_queued_digits);
}

Status Rfc4733Sender::play(std::string_view digits) {
  if (digits.empty()) return invalid_argument("dtmf digits: empty string");
  for (size_t i = 0; i < digits.size(); ++i) {
    if (!allowed_play_char(digits[i])) {
      return invalid_argument(std::string("dtmf digits: invalid character '") + digits[i] + "' at position " +
                              std::to_string(i) + " (allowed: 0-9 * # p)");
    }
  }
  queue_.erase(0, head_);  // within the reserved capacity: no reallocation
  head_ = 0;
  if (queue_.size() + digits.size() > config_.max_queued_digits) {
    return invalid_argument("dtmf digits: " + std::to_string(digits.size()) + " digits would exceed the queue of " +
                            std::to_string(config_.max_queued_digits));
  }
  queue_.append(digits);
  return Status::ok_status();
}

void Rfc4733Sender::clear_queue() {
  queue_.clear();
  head_ = 0;
  if (state_ == State::kPause) state_ = State::kIdle;
}

bool Rfc4733Sender::idle() const {
  return head_ == queue_.size() && (state_ == State::kIdle || ((state_ == State::kGap || state_ == State::kPause) && wait_ticks_ == 0));
}

size_t Rfc4733Sender::write_packet(bool marker, bool end, uint16_t& seq, std::span<uint8_t> out) {
  uint8_t payload[kEventBlockSize];
  write_event_block(EventBlock{event_, end, config_.volume, duration_}, payload);
  rtp::RtpHeader h;
  h.marker = marker;
  h.payload_type = config_.payload_type;
  h.sequence_number = seq;
  h.timestamp = event_timestamp_;
  h.ssrc = config_.ssrc;
  const size_t n = rtp::write_rtp(h, {}, payload, out);
  if (n == 0) return 0;
  ++seq;
  ++packets_sent_;
  return n;
}

size_t Rfc4733Sender::on_audio_tick(uint32_t audio_rtp_timestamp, uint16_t& next_sequence_number,
                                    std::span<uint8_t> out) {
  if (out.size() < kPacketSize) return 0;
  for (;;) {
    switch (state_) {
      case State::kGap:
      case State::kPause:
        if (wait_ticks_ > 0) {
          --wait_ticks_;
          return 0;
        }
        state_ = State::kIdle;
        continue;
      case State::kIdle: {
        if (head_ == queue_.size()) return 0;
        const char c = queue_[head_++];
        if (c == 'p') {
          state_ = State::kPause;
          wait_ticks_ = pause_ticks_;
          continue;
        }
        event_ = *char_to_event(c);
        event_timestamp_ = audio_rtp_timestamp;  // the event starts where this tick's audio would have
        ticks_done_ = 0;
        state_ = State::kTone;
        continue;
      }
      case State::kTone: {
        ++ticks_done_;
        duration_ = static_cast<uint16_t>(std::min<uint64_t>(uint64_t{ticks_done_} * samples_per_tick_, kMaxEventDuration));
        const bool last = ticks_done_ == tone_ticks_;
        const size_t n = write_packet(ticks_done_ == 1, last, next_sequence_number, out);
        if (last) {
          state_ = State::kEnd;
          ticks_done_ = 1;
          if (ticks_done_ == config_.end_packets) {
            state_ = State::kGap;
            wait_ticks_ = gap_ticks_;
            ++digits_sent_;
          }
        }
        return n;
      }
      case State::kEnd: {
        const size_t n = write_packet(false, true, next_sequence_number, out);
        if (++ticks_done_ == config_.end_packets) {
          // The retransmission ticks count as part of the inter-digit gap.
          state_ = State::kGap;
          wait_ticks_ = gap_ticks_ > config_.end_packets - 1 ? gap_ticks_ - (config_.end_packets - 1) : 0;
          ++digits_sent_;
        }
        return n;
      }
    }
  }
}

}  // namespace sipmix::dtmf
