// Constants and helpers the session's objects share (private to the engine).
// Pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "sipmix/session.h"

namespace sipmix::session {

constexpr size_t kMaxPacket = 1500;  // largest RTP/RTCP packet queued or sent, before SRTP

// Deterministic SSRCs (FNV-1a of the id and a role), so replays are
// bit-identical run to run.
inline uint32_t make_ssrc(const std::string& id, uint32_t role) {
  uint32_t h = 2166136261u ^ role;
  for (unsigned char c : id) h = (h ^ c) * 16777619u;
  return h == 0 ? 1 : h;
}

// SessionConfig's limits; errors name the field.
Status validate(const SessionConfig& config);

}  // namespace sipmix::session
