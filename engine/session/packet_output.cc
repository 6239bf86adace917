#include "session/packet_output.h"

#include "session/leg.h"

namespace sipmix::session {

void PacketOutput::emit_rtp(const std::string& id, Direction dir, std::span<const uint8_t> packet) {
  const int64_t t0 = timer_->mark();
  sink_->on_rtp(id, dir, packet);
  timer_->add(Stage::kSink, t0);
}

void PacketOutput::send_to_leg(Leg& leg, size_t size) {
  std::span<uint8_t> buf{leg.send_buffer.data(), leg.send_buffer.size()};
  if (leg.srtp) {
    const int64_t t0 = timer_->mark();
    const srtp::SrtpOutput r = leg.srtp->protect_rtp(buf, size);
    timer_->add(Stage::kSend, t0);
    if (!r.ok()) return;
    size = r.size;
  }
  emit_rtp(leg.config.id, Direction::kToLeg, buf.first(size));
}

}  // namespace sipmix::session
