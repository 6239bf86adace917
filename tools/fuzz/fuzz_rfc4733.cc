// libFuzzer target for the RFC 4733 path: payload parsing, the receiver's
// state machine and the "*6" matcher. Input: a byte selecting the clock and
// timeout, then records of [length(1) | media-time step in ms(1) | packet].
// Invariants checked: each reported digit is a DTMF character, durations are
// consistent, and no (SSRC, timestamp, event) is reported twice within the
// receiver's key memory.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dtmf/feature_code_matcher.h"
#include "dtmf/rfc4733.h"
#include "dtmf/rfc4733_receiver.h"

using namespace sipmix::dtmf;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  Rfc4733ReceiverConfig config;
  config.payload_type = 101;
  config.clock_rate_hz = (mode & 1) ? 48000 : 8000;
  config.end_timeout_ms = 150 + 50 * ((mode >> 1) & 1);
  auto receiver = Rfc4733Receiver::create(config);
  if (!receiver.ok()) abort();
  auto matcher = FeatureCodeMatcher::create({});
  if (!matcher.ok()) abort();

  struct Reported {
    uint32_t ssrc, timestamp;
    uint8_t event;
    uint32_t segments;
    int64_t at_ms;
  };
  Reported recent[64];
  size_t recent_count = 0;

  int64_t now_ms = 0;
  const auto drain = [&] {
    DtmfEvent e;
    while (receiver->pop_event(e)) {
      if (e.event > kMaxDtmfEvent || e.digit != event_to_char(e.event)) abort();
      if (e.end_ms - e.start_ms != e.duration_ms || e.duration_ms < 0) abort();
      if (e.segments == 1 && e.duration_samples > kMaxEventDuration) abort();
      // Same key reported again while the receiver must still remember it (its
      // history holds the last kHistorySize segment keys): a double report.
      size_t keys = 0;
      for (size_t back = 1; back <= recent_count && back <= 64; ++back) {
        const Reported& r = recent[(recent_count - back) % 64];
        keys += r.segments;
        if (keys >= Rfc4733Receiver::kHistorySize) break;
        if (r.ssrc == e.ssrc && r.timestamp == e.rtp_timestamp && r.event == e.event && e.segments == 1 &&
            r.segments == 1 && now_ms - r.at_ms < config.key_memory_ms)
          abort();
      }
      recent[recent_count % 64] = {e.ssrc, e.rtp_timestamp, e.event, e.segments, now_ms};
      ++recent_count;
      matcher->on_digit(e.digit, e.start_ms, e.end_ms);
    }
  };

  size_t pos = 1;
  while (pos + 2 <= size) {
    const size_t len = data[pos];
    now_ms += data[pos + 1];
    pos += 2;
    const size_t n = len < size - pos ? len : size - pos;
    const std::span<const uint8_t> packet(data + pos, n);
    pos += n;
    (void)parse_event_payload(packet);
    receiver->on_packet(packet, now_ms);
    drain();
  }
  now_ms += 10000;
  receiver->poll(now_ms);
  drain();
  if (receiver->event_in_progress()) abort();
  return 0;
}
