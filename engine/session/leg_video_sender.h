// LegVideoSender: one composed video frame for one leg. Picks the layout
// (re-run only when who is there or who spoke last changed), composes the
// participants' latest decoded pictures, encodes (telling the encoder which
// macroblocks changed, so that a still canvas costs almost nothing),
// packetizes, protects (secure legs) and hands the packets to the sink. The
// participants' video is decoded by the Session before this runs. Tick
// thread only; the per-frame path allocates nothing once the layout is settled.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/stage_timer.h"
#include "session/leg.h"
#include "session/packet_output.h"
#include "session/stream.h"

namespace sipmix::session {

class LegVideoSender {
 public:
  LegVideoSender(SessionSink* sink, StageTimer* timer, PacketOutput* out, int no_video_timeout_ms)
      : sink_(sink), timer_(timer), out_(out), no_video_timeout_ms_(no_video_timeout_ms) {}

  // `streams` is the session's stream table, indexed by slot.
  void send_frame(Leg& leg, const std::vector<std::unique_ptr<Stream>>& streams, int64_t t_us);

  // Re-runs the layout when its candidates changed. send_frame() does it;
  // the session also does it before decoding, to know which streams are shown.
  void update_layout(Leg& leg, const std::vector<std::unique_ptr<Stream>>& streams);

 private:

  SessionSink* sink_;
  StageTimer* timer_;
  PacketOutput* out_;
  int no_video_timeout_ms_;
};

}  // namespace sipmix::session
