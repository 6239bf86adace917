// CallManager: sipmixd's call layer behind the Calls seam (gateway/calls.h).
// It owns the SIP user agent, the RTP sockets and receive threads, and the
// session workers; a dial becomes an INVITE plus a leg in the session's
// sipmix::Session, and what happens to the call comes back through
// CallObserver.
//
// Threads: Calls methods from any thread (they post and return). Observer
// calls come from the SIP thread (call progress, hang-up), the janitor thread
// (media timeout, maximum duration) and session workers (mute changes).
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gateway/calls.h"
#include "gateway/media/rtp_transport.h"
#include "gateway/media/session_worker.h"
#include "gateway/sip/sdp.h"
#include "gateway/sip/sip_agent.h"
#include "sipmix/clock.h"
#include "sipmix/session.h"

namespace sipmix::gw {

// The call layer's settings; the daemon maps its configuration onto this.
struct CallManagerConfig {
  SipAgentConfig sip;
  std::string media_ip = "127.0.0.1";  // RTP sockets bind here; written in our SDP
  int rtp_port_min = 20000;
  int rtp_port_max = 29999;
  int receive_threads = 1;
  int session_workers = 2;
  int tick_interval_ms = 5;
  int max_calls = 500;                 // more dials get kUnavailable
  int media_timeout_ms = 5 * 60 * 1000;       // no RTP from an active call: BYE, reason 704
  int64_t max_duration_ms = 6LL * 3600 * 1000;  // from the answer: BYE, reason 705
  SessionConfig session;
  // The leg's audio/video toward the session (kToSession) and feedback to
  // participants' streams (kToStream); the Janus side connects here.
  MediaHook media_hook;
  // Every session event (mute changes, digits, keyframe requests, ...),
  // after the call manager has handled it.
  EventHook event_hook;
};

// A participant's stream fed into a session by the WebRTC side (Janus
// forwarders). push_rtp/push_rtcp are lock-free and allocation-free; one
// producer thread at a time; stop pushing before remove_stream().
class SessionStream {
 public:
  void push_rtp(std::span<const uint8_t> packet) { host_->session->push_rtp(handle_, packet); }
  void push_rtcp(std::span<const uint8_t> packet) { host_->session->push_rtcp(handle_, packet); }
  const std::string& id() const { return id_; }

 private:
  friend class CallManager;
  std::shared_ptr<SessionHost> host_;  // keeps the session's host (not the session) alive
  PushHandle handle_;
  std::string id_;
};

// A participant's stream received on a socket pair of the gateway's own (a
// Janus rtp_forward target) and fed into a session by the receive threads:
// the per-packet path is the same as a SIP leg's (latch on the source IP,
// push_rtp/push_rtcp, no locks). Its PLI/FIR goes back from the RTCP socket.
class ForwardedStream {
 public:
  uint16_t rtp_port() const { return transport_->audio_port(); }
  uint16_t rtcp_port() const { return static_cast<uint16_t>(transport_->audio_port() + 1); }
  const std::string& id() const { return id_; }
  const std::string& session_id() const { return session_id_; }
  uint64_t received() const { return transport_->received(); }

 private:
  friend class CallManager;
  std::shared_ptr<SessionHost> host_;
  std::shared_ptr<LegTransport> transport_;
  std::string id_, session_id_;
};

// Where a leg's media into the session goes (a Janus remote publisher).
struct SessionOutputConfig {
  std::string ip;  // IPv4
  uint16_t port = 0;
  uint32_t audio_ssrc = 0;
  uint8_t audio_pt = 111;
  uint32_t video_ssrc = 0;  // 0: do not publish the leg's video
  uint8_t video_pt = 96;
};

// Per-call media counters, for /metrics and tests.
struct CallMediaStats {
  uint64_t rtp_received = 0;   // packets admitted (RTP and RTCP)
  uint64_t strangers = 0;      // packets from other addresses, dropped
  uint64_t sent = 0;           // packets sent to the endpoint
  bool latched = false;
  uint16_t local_audio_port = 0;  // our RTP port for the call
  std::string negotiated_codec;  // "pcmu", "opus", ...
  std::string negotiated_video_codec;  // "vp8", "h264", or "" without video
  bool secure = false;
  uint64_t sent_to_session = 0;  // packets sent to the session output (remote publisher)
};

class CallManager final : public Calls, private SipListener {
 public:
  static StatusOr<std::unique_ptr<CallManager>> create(const CallManagerConfig& config, CallObserver* observer);
  ~CallManager() override;  // ends every call (BYE/CANCEL) and stops its threads

  Status dial(const CallIds& ids, const DialRequest& request) override;
  Status hang_up(const std::string& session_id, const std::string& connection_id) override;
  Status force_mute(const std::string& session_id, const std::string& connection_id, bool muted) override;
  Status play_dtmf(const std::string& session_id, const std::string& connection_id,
                   const std::string& digits) override;
  std::optional<CallInfo> find(const std::string& session_id, const std::string& connection_id) const override;
  std::vector<CallInfo> calls_in_session(const std::string& session_id) const override;
  void drain() override;

  // Adds a participant's stream to a session (created if needed; it lives
  // while it has calls or streams). Waits for the session's worker.
  StatusOr<std::shared_ptr<SessionStream>> add_stream(const std::string& session_id, const StreamConfig& config,
                                                      int timeout_ms = 2000);
  Status remove_stream(const std::shared_ptr<SessionStream>& stream, int timeout_ms = 2000);

  // A stream received on a new socket pair, latched on the first packet from
  // `source_ip` (empty: from any address); packets from elsewhere are dropped.
  // Waits for the session's worker.
  StatusOr<std::shared_ptr<ForwardedStream>> add_forwarded_stream(const std::string& session_id,
                                                                  const StreamConfig& config,
                                                                  const std::string& source_ip, int timeout_ms = 2000);
  // Sends the stream's keyframe requests (PLI/FIR) to ip:rtcp_port, whatever
  // RTCP arrives from elsewhere.
  Status set_stream_feedback(const ForwardedStream& stream, const std::string& ip, uint16_t rtcp_port);
  // Stops receiving, then removes the stream from its session.
  Status remove_forwarded_stream(const std::shared_ptr<ForwardedStream>& stream, int timeout_ms = 2000);
  // From now on the call's media into the session (its Opus stream, its video)
  // goes to `output`; its socket pair comes from the RTP port range.
  Status set_session_output(const std::string& connection_id, const SessionOutputConfig& output);
  // Ends a call with a reason of the gateway's (BYE/CANCEL; callDestroyed `code`).
  Status end_call(const std::string& connection_id, int code, const std::string& reason);

  // The session's engine stats, fetched on its worker (waits at most timeout_ms).
  std::optional<SessionStats> session_stats(const std::string& session_id, int timeout_ms = 2000);
  std::optional<CallMediaStats> media_stats(const std::string& connection_id) const;
  size_t call_count() const;
  int sip_port() const { return sip_->bound_port(); }

 private:
  struct Call;
  struct SessionRef {
    std::shared_ptr<SessionHost> host;
    SessionWorker* worker = nullptr;
    int calls = 0;
    int streams = 0;
  };
  SessionRef& session_locked(const std::string& session_id);
  // Drops one user of the session; the last one destroys it on its worker.
  void release_session_locked(const std::string& session_id, bool stream);

  CallManager(const CallManagerConfig& config, CallObserver* observer);
  // Adds `config` to the session's engine on its worker; when `transport` is
  // set, it becomes the stream's receive path (attached to the receiver).
  StatusOr<std::pair<std::shared_ptr<SessionHost>, PushHandle>> add_stream_to_session(
      const std::string& session_id, const StreamConfig& config, const std::shared_ptr<LegTransport>& transport,
      int timeout_ms);
  // Removes the stream on its worker (after `transport`, if any, stopped
  // receiving) and drops the stream's hold on the session.
  Status remove_stream_from_session(const std::shared_ptr<SessionHost>& host, const std::string& id,
                                    const std::shared_ptr<LegTransport>& transport, int timeout_ms);

  // SipListener (SIP thread).
  void on_sip_ringing(const std::string& call_id) override;
  void on_sip_answered(const std::string& call_id, const std::string& sdp_answer) override;
  void on_sip_ended(const std::string& call_id, int code, const std::string& reason) override;
  StatusOr<std::string> on_sip_offer(const std::string& call_id, const std::string& sdp_offer) override;

  void on_session_event(const std::string& session_id, const Event& event);
  void set_state_locked(Call& call, CallState state, std::vector<CallInfo>& updates);
  void apply_media_locked(Call& call, const Negotiated& n, bool reconfigure);
  void janitor();
  // Worker threads: hands a leg to the receive threads unless they are gone.
  void attach_leg(const std::shared_ptr<LegTransport>& t);

  CallManagerConfig config_;
  CallObserver* observer_;
  RealClock clock_;
  PortAllocator ports_;
  // Teardown runs receiver -> worker: the receiver goes first (destructor).
  std::vector<std::unique_ptr<SessionWorker>> workers_;
  std::unique_ptr<RtpReceiver> receiver_;  // reset under rx_mu_ at shutdown
  std::mutex rx_mu_;
  std::unique_ptr<SipAgent> sip_;
  MediaHook media_hook_;
  EventHook event_hook_;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Call>> calls_;           // by call id; guarded by mu_
  std::map<std::string, std::string> call_by_connection_;         // connection id -> call id; guarded by mu_
  std::map<std::string, SessionRef> sessions_;                    // guarded by mu_
  size_t next_worker_ = 0;                                        // guarded by mu_
  bool draining_ = false;                                         // guarded by mu_
  std::condition_variable calls_gone_;

  std::atomic<bool> stop_janitor_{false};
  std::thread janitor_;
};

}  // namespace sipmix::gw
