// JanusBridge: sipmixd's call layer with a Janus 1.1.2 VideoRoom as the
// session side. It wraps the CallManager (SIP, RTP, the engine's sessions)
// behind the same Calls seam and adds what a session is in Janus:
// - a session is a room with the session id as its string id (open_session
//   creates it; a dial creates it too if nobody did);
// - while a session has SIP legs, a listener handle learns its publishers,
//   and each one's audio and video is rtp_forward-ed to sockets of the
//   gateway and fed into the session (the leg's mix and grid);
// - each SIP leg is a remote publisher, added before the INVITE leaves, and
//   the leg's Opus (and video) goes there with the SSRCs and payload types
//   Janus expects; it is removed when the call ends;
// - force mutes reach WebRTC publishers as `moderate`, SIP legs through the
//   engine (observeForceMute); a session mute with `active` also mutes
//   publishers that join later;
// - when Janus is lost, the calls of its sessions end (reason 703) and the
//   next dial connects again.
//
// Threads: Calls methods run on REST threads and make at most a few Janus
// requests (each bounded by the client's request_timeout). What Janus and the
// call layer report (publishers joining, calls ending) is handled on the
// bridge's own control thread, so no observer callback ever blocks.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gateway/calls.h"
#include "gateway/janus/janus_client.h"
#include "gateway/janus/video_room.h"
#include "gateway/media/call_manager.h"

namespace sipmix::gw {

struct JanusBridgeConfig {
  janus::JanusClientOptions janus;  // url, api_secret, timeouts
  janus::RoomOptions room;          // rooms the bridge creates (codecs, secret, admin_key)
  // Where Janus receives remote publishers' RTP. Empty: the Janus URL's host.
  std::string janus_media_ip;
  // Where Janus forwards publishers to (Janus must reach it): the call layer's media_ip.
  std::string gateway_media_ip = "127.0.0.1";
};

// Counters for /metrics and tests.
struct JanusBridgeStats {
  bool janus_connected = false;
  size_t rooms_listening = 0;
  size_t forwarded_streams = 0;
  size_t remote_publishers = 0;
  uint64_t janus_losses = 0;
  uint64_t forward_failures = 0;
};

class JanusBridge final : public Calls, private CallObserver {
 public:
  // Starts the call layer with `calls` (its observer is the bridge, which
  // passes every event on to `observer`). Janus is reached on first use.
  static StatusOr<std::unique_ptr<JanusBridge>> create(const JanusBridgeConfig& config,
                                                       const CallManagerConfig& calls, CallObserver* observer);
  ~JanusBridge() override;  // ends every call, stops forwards, leaves the rooms

  Status dial(const CallIds& ids, const DialRequest& request) override;
  Status hang_up(const std::string& session_id, const std::string& connection_id) override;
  Status force_mute(const std::string& session_id, const std::string& connection_id, bool muted) override;
  Status play_dtmf(const std::string& session_id, const std::string& connection_id,
                   const std::string& digits) override;
  std::optional<CallInfo> find(const std::string& session_id, const std::string& connection_id) const override;
  std::vector<CallInfo> calls_in_session(const std::string& session_id) const override;
  void drain() override;
  Status open_session(const std::string& project_id, const std::string& session_id) override;
  Status mute_session(const std::string& session_id, bool active,
                      const std::vector<std::string>& excluded_stream_ids) override;
  Status mute_stream(const std::string& session_id, const std::string& stream_id) override;
  void append_metrics(std::string& out) const override;
  void remove_dead_leg(const CallInfo& call) override;

  CallManager& call_manager() { return *manager_; }
  JanusBridgeStats stats() const;

 private:
  struct Feed;
  struct Room;
  class RoomObserver;

  JanusBridge(const JanusBridgeConfig& config, CallObserver* observer);

  // CallObserver (call layer threads): passed on, Janus work posted.
  void on_call_created(const CallInfo& call) override;
  void on_call_updated(const CallInfo& call) override;
  void on_call_destroyed(const CallInfo& call, int reason_code, const std::string& reason_message) override;
  void on_mute_forced(const CallInfo& call, bool muted) override;

  void post(std::function<void()> job);
  void control_loop();

  // Everything below runs with mu_ held.
  StatusOr<janus::JanusClient*> client_locked();
  // The session's room, listened to; `create`: open (and create) it if needed.
  StatusOr<Room*> room_locked(const std::string& session_id, bool create);
  void forward_locked(Room& room, const janus::Publisher& publisher);
  void unforward_locked(Room& room, const std::string& publisher_id, bool stop_forwarders);
  void close_room_locked(const std::string& session_id);
  void sync_video_locked(const std::string& session_id, const std::string& connection_id);
  // `generation` names the client that was lost (a later one is left alone).
  void janus_lost_locked(uint64_t generation, const Status& why);
  bool excluded(const Room& room, const std::string& stream_id) const;

  const JanusBridgeConfig config_;
  CallObserver* const observer_;
  std::unique_ptr<CallManager> manager_;

  // Guards the Janus client, the rooms and everything in them. Held across
  // Janus requests (bounded by request_timeout); never taken by a callback
  // of Janus's event thread or of the call layer.
  mutable std::mutex mu_;
  std::unique_ptr<janus::JanusClient> client_;
  uint64_t client_generation_ = 0;  // counts connects
  std::map<std::string, std::unique_ptr<Room>> rooms_;  // by session id
  bool closing_ = false;
  uint64_t janus_losses_ = 0, forward_failures_ = 0;

  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::deque<std::function<void()>> jobs_;  // guarded by jobs_mu_
  bool stop_ = false;                        // guarded by jobs_mu_
  std::thread control_;
};

}  // namespace sipmix::gw
