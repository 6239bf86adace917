// The one place where sipmixd picks its call layer (the `Calls` implementation).
// Called once from main, before the REST server starts.
#pragma once

#include <memory>

#include "gateway/calls.h"
#include "gateway/core/config.h"
#include "sipmix/status.h"

namespace sipmix::gw {

// Defined by the call layer's library (gateway/media's CallManager). When that
// library is not part of the build, sipmixd links gateway/rest/no_call_layer.cc
// instead, whose make_calls returns a null call layer: the REST API then
// answers dials with 503 "call layer not available". An error means the call
// layer exists but cannot start (e.g. its SIP port is taken): the daemon
// exits. `observer` outlives the returned object.
StatusOr<std::unique_ptr<Calls>> make_calls(const Config& config, CallObserver* observer);

}  // namespace sipmix::gw
