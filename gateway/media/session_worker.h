// The session workers: a small pool of threads, each owning some
// sipmix::Sessions. A worker ticks its sessions on the real clock and runs
// the control closures other threads post to it (add/remove legs, force
// mute, play DTMF, stats); the session's sink sends the leg's RTP from here.
//
// Threads: post() from any thread; everything a closure touches belongs to
// the worker thread that runs it.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gateway/media/rtp_transport.h"
#include "sipmix/session.h"

namespace sipmix::gw {

// Packets the session sends that are not for a SIP leg's socket: the leg's
// audio/video into the session (kToSession) and feedback to participants'
// streams (kToStream). Called on the worker thread, inside tick().
using MediaHook = std::function<void(const std::string& session_id, const std::string& id, Direction dir, bool rtcp,
                                     std::span<const uint8_t> packet)>;
using EventHook = std::function<void(const std::string& session_id, const Event& event)>;

// Where a leg's media into the session goes when the session side is a Janus
// VideoRoom: the leg's remote publisher, which tells its streams apart by SSRC
// and offers subscribers fixed payload types. The sink rewrites each packet's
// payload type and SSRC and sends it from `transport`'s audio RTP socket.
struct SessionOutput {
  std::shared_ptr<LegTransport> transport;  // owns the sending socket pair
  uint64_t destination = 0;                 // pack_addr() of the publisher's RTP port
  uint32_t audio_ssrc = 0;
  uint8_t audio_pt = 111;
  uint32_t video_ssrc = 0;  // 0: the leg's video is not published
  uint8_t video_pt = 96;
};

// One session and its sink; lives on one worker.
class SessionHost final : public SessionSink {
 public:
  SessionHost(std::string session_id, const MediaHook* media_hook, const EventHook* event_hook)
      : id_(std::move(session_id)), media_hook_(media_hook), event_hook_(event_hook) {}

  const std::string& id() const { return id_; }
  std::unique_ptr<Session> session;
  // Legs whose kToLeg packets go to their sockets (worker thread only).
  std::unordered_map<std::string, std::shared_ptr<LegTransport>> legs;
  int pending_legs = 0;  // legs added or about to be: the session stays while > 0
  // Legs whose kToSession packets go to a remote publisher (worker thread only).
  std::unordered_map<std::string, SessionOutput> outputs;
  // Participants' streams received on gateway sockets (Janus forwarders); their
  // kToStream RTCP (PLI/FIR) goes to the transport's RTCP destination.
  std::unordered_map<std::string, std::shared_ptr<LegTransport>> streams;

  void on_rtp(const std::string& id, Direction dir, std::span<const uint8_t> packet) override;
  void on_rtcp(const std::string& id, Direction dir, std::span<const uint8_t> packet) override;
  void on_event(const Event& event) override;

 private:
  void send(LegTransport& leg, LegTransport::Kind kind, std::span<const uint8_t> packet);
  void send_to_session(const std::string& leg_id, SessionOutput& out, std::span<const uint8_t> packet);
  std::string id_;
  const MediaHook* media_hook_;
  const EventHook* event_hook_;
};

class SessionWorker {
 public:
  explicit SessionWorker(int tick_interval_ms);
  ~SessionWorker();  // runs what is queued, destroys its sessions, joins
  void post(std::function<void()> fn);
  // Worker thread only.
  void add_host(SessionHost* host) { hosts_.push_back(host); }
  void remove_host(SessionHost* host);

 private:
  void run();
  int tick_interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stop_ = false;                        // guarded by mu_
  std::vector<SessionHost*> hosts_;          // worker thread only
  std::thread thread_;
};

}  // namespace sipmix::gw
