// Where every packet the session sends leaves: SRTP protect for secure legs,
// then the embedder's SessionSink, with the sink's time counted as its own
// stage. Tick thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "base/stage_timer.h"
#include "sipmix/session.h"

namespace sipmix::session {

struct Leg;

class PacketOutput {
 public:
  PacketOutput(SessionSink* sink, StageTimer* timer) : sink_(sink), timer_(timer) {}

  // Every RTP packet leaves through here, so the embedder's time is counted.
  void emit_rtp(const std::string& id, Direction dir, std::span<const uint8_t> packet);
  // Protects (secure legs) and hands the `size` bytes in leg.send_buffer to the sink.
  void send_to_leg(Leg& leg, size_t size);

 private:
  SessionSink* sink_;
  StageTimer* timer_;
};

}  // namespace sipmix::session
