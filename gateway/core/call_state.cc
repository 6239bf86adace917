#include "gateway/calls.h"

namespace sipmix::gw {

const char* to_string(CallState s) {
  switch (s) {
    case CallState::kDialing: return "DIALING";
    case CallState::kRinging: return "RINGING";
    case CallState::kActive: return "ACTIVE";
    case CallState::kOnHold: return "ON_HOLD";
    case CallState::kHangup: return "HANGUP";
  }
  return "UNKNOWN";
}

}  // namespace sipmix::gw
