// The seam between sipmixd's REST tier and its call layer.
//
// The REST tier (gateway/rest/) validates a request, checks its JWT and the
// client token, generates the ids, and then talks to the call layer only
// through `Calls`. The call layer (gateway/sip/, gateway/media/) owns the SIP
// dialogs (sofia-sip, on its own thread), the RTP sockets and the session
// workers that drive each sipmix::Session.
//
// Threads: every `Calls` method may be called from any REST thread and never
// blocks on the network: it validates, posts the work to the owning thread
// and returns. `CallObserver` callbacks arrive on the call layer's threads
// and must not block either (the callback outbox queues and returns).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sipmix/status.h"

namespace sipmix::gw {

// What a validated POST /v2/project/{appId}/dial asks for.
struct DialRequest {
  std::string project_id;
  std::string session_id;
  std::string connection_data;  // from the client token: the SIP connection's data
  std::string uri;              // sip:/sips: URI, ";transport=tls" selects TLS signalling
  std::string from;             // "user@host"; a numeric user is the caller number
  std::vector<std::pair<std::string, std::string>> headers;  // checked: token names, no CR/LF
  std::optional<std::string> auth_username;
  std::optional<std::string> auth_password;
  bool secure = false;              // SRTP (SDES) media
  bool video = false;               // composed grid to the leg, the leg's video into the session
  bool observe_force_mute = false;  // *6 and moderator force mute act on the leg
  std::vector<std::string> streams; // stream ids the leg hears and sees; empty: all
};

// The ids a dial creates; every later request names the call by connection_id.
struct CallIds {
  std::string id;             // the call (SIP leg) id
  std::string connection_id;  // the SIP participant's connection in the session
  std::string stream_id;      // the SIP participant's stream in the session
};

// callUpdated states (docs/gateway.md, "Callbacks").
enum class CallState { kDialing, kRinging, kActive, kOnHold, kHangup };
const char* to_string(CallState s);

// callDestroyed reason codes besides SIP status codes.
inline constexpr int kReasonNormal = 700;
inline constexpr int kReasonUnexpected = 703;
inline constexpr int kReasonMediaTimeout = 704;
inline constexpr int kReasonMaxDuration = 705;
inline constexpr int kReasonMaxInactive = 706;

struct CallInfo {
  CallIds ids;
  std::string session_id;
  std::string project_id;
  std::string connection_data;
  CallState state = CallState::kDialing;
  bool muted = false;
  int64_t created_at_ms = 0;  // Unix time
};

class CallObserver {
 public:
  virtual ~CallObserver() = default;
  virtual void on_call_created(const CallInfo& call) = 0;
  virtual void on_call_updated(const CallInfo& call) = 0;  // call.state changed
  virtual void on_call_destroyed(const CallInfo& call, int reason_code, const std::string& reason_message) = 0;
  virtual void on_mute_forced(const CallInfo& call, bool muted) = 0;
};

class Calls {
 public:
  virtual ~Calls() = default;
  // Starts a call: the leg's connection and stream exist in the session from
  // the moment this returns OK (before the SIP side answers). Errors:
  // kUnavailable (limits, draining), kInvalidArgument (naming the field).
  virtual Status dial(const CallIds& ids, const DialRequest& request) = 0;
  // CANCEL before the answer, BYE after it. kNotFound for an unknown connection.
  virtual Status hang_up(const std::string& session_id, const std::string& connection_id) = 0;
  // Moderator force mute of one SIP leg (acts only with observe_force_mute).
  virtual Status force_mute(const std::string& session_id, const std::string& connection_id, bool muted) = 0;
  // Digits 0-9 * # p, as RFC 4733 events to one leg.
  virtual Status play_dtmf(const std::string& session_id, const std::string& connection_id,
                           const std::string& digits) = 0;
  virtual std::optional<CallInfo> find(const std::string& session_id, const std::string& connection_id) const = 0;
  virtual std::vector<CallInfo> calls_in_session(const std::string& session_id) const = 0;
  // Stops taking dials; live calls continue until they end.
  virtual void drain() = 0;

  // The members below have defaults so that the call layer may adopt them
  // one at a time; override them to reach Janus (rooms, publishers' moderation)
  // and to export media figures.

  // POST /session/create made `session_id` (a routed session) for `project_id`:
  // prepare what it needs (the Janus room). Default: nothing to prepare.
  virtual Status open_session(const std::string& project_id, const std::string& session_id) {
    (void)project_id;
    (void)session_id;
    return Status();
  }
  // Session force mute (POST .../session/{id}/mute). `active`: mute every stream
  // except `excluded_stream_ids`, and streams published later too; `!active`:
  // only ends the session's mute state. Default: the SIP legs only.
  virtual Status mute_session(const std::string& session_id, bool active,
                              const std::vector<std::string>& excluded_stream_ids) {
    if (!active) return Status();
    for (const CallInfo& c : calls_in_session(session_id)) {
      bool excluded = false;
      for (const std::string& s : excluded_stream_ids) excluded = excluded || s == c.ids.stream_id;
      if (excluded) continue;
      if (Status s = force_mute(session_id, c.ids.connection_id, true); !s.ok() && s.code() != StatusCode::kNotFound) {
        return s;
      }
    }
    return Status();
  }
  // Force mute of one stream (POST .../stream/{id}/mute). kNotFound for an
  // unknown stream. Default: SIP legs' streams only.
  virtual Status mute_stream(const std::string& session_id, const std::string& stream_id) {
    for (const CallInfo& c : calls_in_session(session_id)) {
      if (c.ids.stream_id == stream_id) return force_mute(session_id, c.ids.connection_id, true);
    }
    return not_found("stream " + stream_id);
  }
  // Cluster mode: `call` was held by a node that died (the registry's reaper
  // found it). Remove what it left in the session's side, e.g. its Janus
  // remote publisher. Must not block. Default: nothing to remove.
  virtual void remove_dead_leg(const CallInfo& call) { (void)call; }
  // Appends Prometheus text-format lines (packets, loss, jitter, tick time...)
  // to GET /metrics. Default: none.
  virtual void append_metrics(std::string& out) const { (void)out; }
};

}  // namespace sipmix::gw
