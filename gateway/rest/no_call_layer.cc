// Linked into sipmixd ONLY when the build has no call layer library
// (gateway/media's CallManager). It is not a call layer: make_calls returns
// a null one, /healthz answers 503 and every dial gets 503 "call layer not
// available". See gateway/rest/CMakeLists.txt for where the real one plugs in.
#include "gateway/core/log.h"
#include "gateway/core/make_calls.h"

namespace sipmix::gw {

StatusOr<std::unique_ptr<Calls>> make_calls(const Config&, CallObserver*) {
  log_event(LogLevel::kWarn, "call_layer.absent", "", {{"effect", "dials answer 503"}});
  return std::unique_ptr<Calls>();
}

}  // namespace sipmix::gw
