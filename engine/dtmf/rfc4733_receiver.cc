#include "dtmf/rfc4733_receiver.h"

#include <string>

#include "base/seq_num.h"

namespace sipmix::dtmf {

Status Rfc4733Receiver::validate(const Rfc4733ReceiverConfig& c) {
  if (c.payload_type > 127)
    return invalid_argument("telephone-event payload_type " + std::to_string(c.payload_type) + " not in 0..127");
  if (c.clock_rate_hz == 0 || c.clock_rate_hz > 192000)
    return invalid_argument("telephone-event clock_rate_hz " + std::to_string(c.clock_rate_hz) +
                            " not in 1..192000");
  if (c.end_timeout_ms < 20 || c.end_timeout_ms > 5000)
    return invalid_argument("dtmf end_timeout_ms " + std::to_string(c.end_timeout_ms) + " not in 20..5000");
  if (c.key_memory_ms < c.end_timeout_ms || c.key_memory_ms > 60000)
    return invalid_argument("dtmf key_memory_ms " + std::to_string(c.key_memory_ms) +
                            " not in end_timeout_ms..60000");
  return Status::ok_status();
}

StatusOr<Rfc4733Receiver> Rfc4733Receiver::create(const Rfc4733ReceiverConfig& config) {
  if (Status s = validate(config); !s.ok()) return s;
  return Rfc4733Receiver(config);
}

Rfc4733Receiver::Rfc4733Receiver(const Rfc4733ReceiverConfig& config)
    : config_(config),
      segment_slack_samples_(config.end_timeout_ms * static_cast<int64_t>(config.clock_rate_hz) / 1000) {}

int64_t Rfc4733Receiver::samples_to_ms(uint64_t samples) const {
  return static_cast<int64_t>(samples * 1000 / config_.clock_rate_hz);
}

bool Rfc4733Receiver::in_history(uint32_t ssrc, uint32_t timestamp, uint8_t event, int64_t now_ms) const {
  for (const Key& k : history_) {
    if (k.valid && k.ssrc == ssrc && k.timestamp == timestamp && k.event == event &&
        now_ms - k.reported_ms <= config_.key_memory_ms)
      return true;
  }
  return false;
}

void Rfc4733Receiver::remember(uint32_t ssrc, uint32_t timestamp, uint8_t event, int64_t now_ms) {
  history_[history_next_] = Key{ssrc, timestamp, event, true, now_ms};
  history_next_ = (history_next_ + 1) % kHistorySize;
}

// RFC 4733 §2.5.1.3: a segment that reached the maximum duration without E is
// followed by one with the same event code whose timestamp is the previous
// segment's timestamp plus its duration. Tolerate the last packets of the old
// segment being lost (up to the timeout's worth of samples).
bool Rfc4733Receiver::is_continuation(const Active& a, uint32_t timestamp, uint8_t event) const {
  if (a.event != event) return false;
  if (a.segment_duration + segment_slack_samples_ < kMaxEventDuration) return false;
  if (!is_newer_timestamp(timestamp, a.segment_timestamp)) return false;
  const int64_t advance = wrap_diff<uint32_t>(timestamp, a.segment_timestamp);
  return advance >= a.segment_duration && advance <= kMaxEventDuration + segment_slack_samples_;
}

void Rfc4733Receiver::finalize(Active& a, DtmfEndReason reason, int64_t now_ms) {
  remember(a.ssrc, a.segment_timestamp, a.event, now_ms);
  DtmfEvent e;
  e.ssrc = a.ssrc;
  e.rtp_timestamp = a.first_timestamp;
  e.event = a.event;
  e.digit = event_to_char(a.event);
  e.volume = a.volume;
  e.duration_samples = a.earlier_segments + a.segment_duration;
  e.duration_ms = samples_to_ms(e.duration_samples);
  e.start_ms = a.start_ms;
  e.end_ms = a.start_ms + e.duration_ms;
  e.segments = a.segments;
  e.end_reason = reason;
  a.in_use = false;

  ++stats_.events;
  if (reason == DtmfEndReason::kTimeout) ++stats_.timeouts;
  if (reason == DtmfEndReason::kSuperseded) ++stats_.superseded;
  if (queue_count_ == kQueueSize) {  // keep the newest: drop the oldest waiting event
    queue_head_ = (queue_head_ + 1) % kQueueSize;
    --queue_count_;
    ++stats_.queue_overflow;
  }
  queue_[(queue_head_ + queue_count_) % kQueueSize] = e;
  ++queue_count_;
}

void Rfc4733Receiver::poll(int64_t now_ms) {
  for (Active& a : active_) {
    if (a.in_use && now_ms - a.last_update_ms >= config_.end_timeout_ms) finalize(a, DtmfEndReason::kTimeout, now_ms);
  }
}

void Rfc4733Receiver::flush(int64_t now_ms) {
  for (Active& a : active_) {
    if (a.in_use) finalize(a, DtmfEndReason::kSuperseded, now_ms);
  }
}

bool Rfc4733Receiver::event_in_progress() const {
  for (const Active& a : active_) {
    if (a.in_use) return true;
  }
  return false;
}

bool Rfc4733Receiver::pop_event(DtmfEvent& out) {
  if (queue_count_ == 0) return false;
  out = queue_[queue_head_];
  queue_head_ = (queue_head_ + 1) % kQueueSize;
  --queue_count_;
  return true;
}

void Rfc4733Receiver::on_packet(std::span<const uint8_t> rtp_bytes, int64_t now_ms) {
  const auto view = rtp::parse_rtp(rtp_bytes);
  if (!view) {
    ++stats_.packets;
    ++stats_.malformed;
    poll(now_ms);
    return;
  }
  on_packet(*view, now_ms);
}

void Rfc4733Receiver::on_packet(const rtp::RtpPacketView& packet, int64_t now_ms) {
  ++stats_.packets;
  poll(now_ms);
  if (packet.payload_type != config_.payload_type) {
    ++stats_.wrong_payload_type;
    return;
  }
  const auto parsed = parse_event_payload(packet.payload);
  if (!parsed) {
    ++stats_.malformed;
    return;
  }
  if (parsed->block_count > 1) ++stats_.multi_block;
  const EventBlock& b = parsed->first;
  if (b.event > kMaxDtmfEvent) {
    ++stats_.ignored_event_code;
    return;
  }
  const uint32_t ssrc = packet.ssrc;
  const uint32_t ts = packet.timestamp;

  // De-duplicate by event key, never by sequence number: retransmitted end
  // packets may reuse one sequence number or take new ones.
  if (in_history(ssrc, ts, b.event, now_ms)) {
    if (b.end) {
      ++stats_.end_retransmits;
    } else {
      ++stats_.late;
    }
    return;
  }

  Active* slot = nullptr;
  for (Active& a : active_) {
    if (a.in_use && a.ssrc == ssrc) slot = &a;
  }
  if (slot != nullptr) {
    if (slot->segment_timestamp == ts && slot->event == b.event) {
      if (b.duration < slot->segment_duration) {
        ++stats_.reordered;
      } else {
        slot->segment_duration = b.duration;
      }
      slot->volume = b.volume;
      slot->last_update_ms = now_ms;
      if (b.end) finalize(*slot, DtmfEndReason::kEndBit, now_ms);
      return;
    }
    if (is_continuation(*slot, ts, b.event)) {
      remember(ssrc, slot->segment_timestamp, slot->event, now_ms);
      slot->earlier_segments += static_cast<uint64_t>(wrap_diff<uint32_t>(ts, slot->segment_timestamp));
      slot->segment_timestamp = ts;
      slot->segment_duration = b.duration;
      slot->volume = b.volume;
      slot->last_update_ms = now_ms;
      ++slot->segments;
      ++stats_.segments_joined;
      if (b.end) finalize(*slot, DtmfEndReason::kEndBit, now_ms);
      return;
    }
    // Older than the event in progress: a straggler of an event we never
    // saw start. Reporting it now would put digits out of order.
    if (is_newer_timestamp(slot->segment_timestamp, ts)) {
      ++stats_.late;
      return;
    }
    finalize(*slot, DtmfEndReason::kSuperseded, now_ms);
  } else {
    for (Active& a : active_) {
      if (!a.in_use) {
        slot = &a;
        break;
      }
    }
    if (slot == nullptr) {  // more concurrent SSRCs than slots: end the stalest
      slot = &active_[0];
      for (Active& a : active_) {
        if (a.last_update_ms < slot->last_update_ms) slot = &a;
      }
      finalize(*slot, DtmfEndReason::kSuperseded, now_ms);
    }
  }

  // A new event. The marker bit is not required: the first packet may be lost.
  Active& a = *slot;
  a = Active{};
  a.in_use = true;
  a.ssrc = ssrc;
  a.event = b.event;
  a.volume = b.volume;
  a.first_timestamp = ts;
  a.segment_timestamp = ts;
  a.segment_duration = b.duration;
  a.start_ms = now_ms - samples_to_ms(b.duration);
  a.last_update_ms = now_ms;
  if (b.end) finalize(a, DtmfEndReason::kEndBit, now_ms);  // E-only: every earlier packet lost
}

}  // namespace sipmix::dtmf
