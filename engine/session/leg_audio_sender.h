// LegAudioSender: the audio a session sends for its legs. Each audio tick it
// publishes every leg's own audio into the session as Opus, then, after the
// mix, sends each leg its N-1 mix in the leg's codec (or RFC 4733 while a
// digit plays), encoding once per distinct (mix, codec) and sharing that
// payload with the legs that would encode the same. Tick thread only; the
// per-tick path allocates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/stage_timer.h"
#include "mix/mixer.h"
#include "session/leg.h"
#include "session/packet_output.h"

namespace sipmix::session {

class LegAudioSender {
 public:
  LegAudioSender(audio::NMinus1Mixer* mixer, StageTimer* timer, PacketOutput* out)
      : mixer_(mixer), timer_(timer), out_(out) {}

  // The leg's own audio (silence while muted or absent) into the session.
  void send_to_session(Leg& leg);
  // Mixes, then sends each leg (in slot order) its mix.
  void mix_and_send(const std::vector<std::unique_ptr<Leg>>& legs);

  uint64_t distinct_encodes() const { return distinct_encodes_; }

 private:
  // `shared`: an earlier leg whose payload this tick is the same mix in the
  // same codec, or nullptr to encode.
  void send_mix_to_leg(Leg& leg, const Leg* shared);

  audio::NMinus1Mixer* mixer_;
  StageTimer* timer_;
  PacketOutput* out_;
  uint64_t distinct_encodes_ = 0;
};

}  // namespace sipmix::session
