#include "gateway/bridge/janus_bridge.h"

#include "gateway/core/log.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace sipmix::gw {
namespace {

using janus::MediaType;

constexpr int kJanusErrorRoomExists = 427;  // JANUS_VIDEOROOM_ERROR_ROOM_EXISTS

void log_line(const std::string& call_id, const std::string& what) {
  log_event(LogLevel::kInfo, "janus", call_id, {{"detail", what}});
}

// "http://10.0.0.5:8088/janus" -> "10.0.0.5".
std::string url_host(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find_first_of(":/", start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

bool supported_audio(const std::string& c) { return c == "opus" || c == "pcmu" || c == "pcma" || c == "g722"; }
bool supported_video(const std::string& c) { return c == "vp8" || c == "h264"; }

AudioCodec audio_codec_of(const std::string& c) {
  if (c == "pcmu") return AudioCodec::kPcmu;
  if (c == "pcma") return AudioCodec::kPcma;
  if (c == "g722") return AudioCodec::kG722;
  return AudioCodec::kOpus;
}

// The streams of a publisher the session can take, with what identifies them.
std::string signature(const janus::Publisher& p) {
  std::string s;
  for (const auto& st : p.streams) {
    if (st.disabled) continue;
    if ((st.type == MediaType::kAudio && supported_audio(st.codec)) ||
        (st.type == MediaType::kVideo && supported_video(st.codec)))
      s += st.mid + ":" + st.codec + (st.simulcast ? "/simulcast;" : ";");
  }
  return s;
}

// The SSRCs a simulcast publisher's substreams 0, 1, 2 are forwarded with
// (one socket per forwarded stream, so one set serves every stream).
constexpr uint32_t kSimulcastSsrc = 0x53494d00;  // "SIM\0"

}  // namespace

// One publisher's streams as received by the gateway.
struct JanusBridge::Feed {
  std::string signature;
  std::vector<std::shared_ptr<ForwardedStream>> streams;
  std::vector<janus::Forwarder> forwarders;
};

// A SIP leg's remote publisher.
struct LegPublisher {
  std::string connection_id;
  std::vector<janus::RemoteStream> streams;
  std::string video_codec;  // the published video stream's codec ("" without video)
  uint16_t port = 0;
};

struct JanusBridge::Room {
  std::unique_ptr<RoomObserver> observer;        // declared first: destroyed after the room's handles
  std::unique_ptr<janus::VideoRoomSession> room;
  std::map<std::string, Feed> feeds;             // forwarded publishers, by publisher id
  std::map<std::string, LegPublisher> legs;      // SIP legs' remote publishers, by stream id
  bool mute_active = false;
  std::vector<std::string> mute_excluded;
};

// Where the leg's media goes: its remote publisher's port, Opus on stream 0,
// video on the enabled video stream (the last one added), each with the SSRC
// and payload type Janus expects there.
static SessionOutputConfig output_of(const LegPublisher& lp, const std::string& janus_ip) {
  SessionOutputConfig out;
  out.ip = janus_ip;
  out.port = lp.port;
  out.audio_ssrc = janus::remote_publisher_ssrc(0);
  out.audio_pt = static_cast<uint8_t>(janus::janus_default_pt("opus"));
  for (size_t i = 0; i < lp.streams.size(); ++i) {
    const janus::RemoteStream& st = lp.streams[i];
    if (st.type != MediaType::kVideo || st.disabled) continue;
    out.video_ssrc = janus::remote_publisher_ssrc(static_cast<int>(i));
    out.video_pt = static_cast<uint8_t>(janus::janus_default_pt(st.codec));
  }
  return out;
}

// Learns the room's publishers on Janus's event thread: keeps a snapshot of
// its own (short lock) and posts the work to the control thread.
class JanusBridge::RoomObserver final : public janus::VideoRoomObserver {
 public:
  RoomObserver(JanusBridge* bridge, std::string session_id, uint64_t client_generation)
      : bridge_(bridge), session_id_(std::move(session_id)), client_generation_(client_generation) {}

  void on_publisher(const janus::Publisher& p) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      publishers_[p.id] = p;
    }
    bridge_->post([b = bridge_, sid = session_id_, self = this, p] {
      std::lock_guard<std::mutex> lock(b->mu_);
      auto it = b->rooms_.find(sid);
      if (it == b->rooms_.end() || it->second->observer.get() != self) return;
      Room& room = *it->second;
      if (room.mute_active && !b->excluded(room, p.id) && !room.legs.count(p.id)) {
        for (const auto& st : p.streams)
          if (st.type == MediaType::kAudio) (void)room.room->moderate(p.id, st.mid, true);
      }
      if (!room.legs.empty()) b->forward_locked(room, p);
    });
  }
  void on_publisher_gone(const std::string& id) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      publishers_.erase(id);
    }
    bridge_->post([b = bridge_, sid = session_id_, self = this, id] {
      std::lock_guard<std::mutex> lock(b->mu_);
      auto it = b->rooms_.find(sid);
      if (it == b->rooms_.end() || it->second->observer.get() != self) return;
      b->unforward_locked(*it->second, id, false);
    });
  }
  void on_janus_lost(const Status& why) override {
    bridge_->post([b = bridge_, g = client_generation_, why] {
      std::lock_guard<std::mutex> lock(b->mu_);
      b->janus_lost_locked(g, why);
    });
  }
  std::vector<janus::Publisher> publishers() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<janus::Publisher> out;
    for (const auto& [id, p] : publishers_) out.push_back(p);
    return out;
  }

 private:
  JanusBridge* const bridge_;
  const std::string session_id_;
  const uint64_t client_generation_;
  mutable std::mutex mu_;
  std::map<std::string, janus::Publisher> publishers_;  // guarded by mu_
};


// ---- lifecycle ------------------------------------------------------------------

JanusBridge::JanusBridge(const JanusBridgeConfig& config, CallObserver* observer)
    : config_(config), observer_(observer) {}

StatusOr<std::unique_ptr<JanusBridge>> JanusBridge::create(const JanusBridgeConfig& config,
                                                           const CallManagerConfig& calls, CallObserver* observer) {
  if (!observer) return invalid_argument("janus bridge: observer must be set");
  JanusBridgeConfig c = config;
  if (c.janus_media_ip.empty()) c.janus_media_ip = url_host(c.janus.url);
  std::unique_ptr<JanusBridge> b(new JanusBridge(c, observer));
  auto m = CallManager::create(calls, b.get());
  if (!m.ok()) return m.status();
  b->manager_ = std::move(*m);
  JanusBridge* raw = b.get();
  b->control_ = std::thread([raw] { raw->control_loop(); });
  return b;
}

JanusBridge::~JanusBridge() {
  manager_->drain();
  {
    // No new forwards; the forwarded streams go while the call layer (and its
    // port range) still exists.
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    for (auto& [sid, room] : rooms_)
      for (auto it = room->feeds.begin(); it != room->feeds.end();) unforward_locked(*room, (it++)->first, true);
  }
  std::unique_ptr<CallManager> manager;
  {
    std::lock_guard<std::mutex> lock(mu_);
    manager = std::move(manager_);  // jobs see no call layer from here on
  }
  manager.reset();  // BYE/CANCEL for every call; on_call_destroyed posts the publishers' removal
  {
    std::lock_guard<std::mutex> lock(jobs_mu_);
    stop_ = true;
  }
  jobs_cv_.notify_all();
  control_.join();  // runs what was posted
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [sid, room] : rooms_)
    for (auto& [id, leg] : room->legs) (void)room->room->remove_remote_publisher(id);
  rooms_.clear();
  client_.reset();
}

void JanusBridge::post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(jobs_mu_);
    jobs_.push_back(std::move(job));
  }
  jobs_cv_.notify_all();
}

void JanusBridge::control_loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(jobs_mu_);
      jobs_cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and everything ran
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

// ---- Janus side (mu_ held) -----------------------------------------------------

StatusOr<janus::JanusClient*> JanusBridge::client_locked() {
  if (client_ && client_->lost()) janus_lost_locked(client_generation_, unavailable("Janus stopped answering"));
  if (!client_) {
    janus::JanusClientOptions o = config_.janus;
    // Reported on Janus's event thread: handled on the control thread.
    const uint64_t generation = client_generation_ + 1;
    o.on_janus_lost = [this, generation](const Status& why) {
      post([this, generation, why] {
        std::lock_guard<std::mutex> lock(mu_);
        janus_lost_locked(generation, why);
      });
    };
    auto c = janus::JanusClient::connect(o);
    if (!c.ok()) return unavailable("Janus at " + config_.janus.url + " is not reachable: " + c.status().message());
    client_ = std::move(*c);
    client_generation_ = generation;
    log_line("", "connected to " + config_.janus.url);
  }
  return client_.get();
}

StatusOr<JanusBridge::Room*> JanusBridge::room_locked(const std::string& session_id, bool create) {
  if (auto it = rooms_.find(session_id); it != rooms_.end()) return it->second.get();
  if (!create) return not_found("session " + session_id + " has no open room");
  if (closing_) return unavailable("gateway is shutting down");
  auto client = client_locked();
  if (!client.ok()) return client.status();
  auto room = std::make_unique<Room>();
  auto vr = janus::VideoRoomSession::open(**client, session_id, config_.room);
  if (!vr.ok()) return vr.status();
  room->room = std::move(*vr);
  if (Status s = room->room->create_room(); !s.ok() && janus::janus_error_code(s) != kJanusErrorRoomExists) return s;
  room->observer = std::make_unique<RoomObserver>(this, session_id, client_generation_);
  if (Status s = room->room->listen(room->observer.get()); !s.ok()) return s;
  Room* raw = room.get();
  rooms_[session_id] = std::move(room);
  return raw;
}

bool JanusBridge::excluded(const Room& room, const std::string& stream_id) const {
  return std::find(room.mute_excluded.begin(), room.mute_excluded.end(), stream_id) != room.mute_excluded.end();
}

void JanusBridge::forward_locked(Room& room, const janus::Publisher& p) {
  if (closing_ || room.legs.count(p.id)) return;  // a SIP leg's own publisher stays out of its session
  const std::string sig = signature(p);
  if (auto it = room.feeds.find(p.id); it != room.feeds.end()) {
    if (it->second.signature == sig) return;  // announced again, same streams
    unforward_locked(room, p.id, true);
  }
  if (sig.empty()) return;
  const std::string& sid = room.room->room_id();
  Feed feed;
  feed.signature = sig;
  std::vector<janus::ForwardTarget> targets;
  for (const auto& st : p.streams) {
    if (st.disabled) continue;
    StreamConfig sc;
    sc.id = p.id + "/" + st.mid;
    sc.participant = p.id;
    if (st.type == MediaType::kAudio && supported_audio(st.codec)) {
      sc.kind = MediaKind::kAudio;
      sc.audio_codec = audio_codec_of(st.codec);
      sc.clock_rate_hz = st.codec == "opus" ? 48000 : 8000;
    } else if (st.type == MediaType::kVideo && supported_video(st.codec)) {
      sc.kind = MediaKind::kVideo;
      sc.video_codec = st.codec == "vp8" ? VideoCodec::kVp8 : VideoCodec::kH264;
      sc.clock_rate_hz = 90000;
      // A simulcast publisher's three substreams all come to this stream's
      // socket, told apart by the SSRCs Janus is asked to write; their sizes
      // are learned from their pictures, and the session decodes the one
      // that fits the tile.
      if (st.simulcast)
        for (uint32_t k = 0; k < 3; ++k) sc.simulcast.push_back({kSimulcastSsrc + k, "", 0, 0});
    } else {
      continue;
    }
    sc.payload_type = static_cast<uint8_t>(janus::janus_default_pt(st.codec));
    // Janus forwards from its host's route to us, which need not be the
    // address of its API: latch on the first packet, from wherever.
    auto fs = manager_->add_forwarded_stream(sid, sc, "", /*timeout_ms=*/5000);
    if (!fs.ok()) {
      log_line("", "session " + sid + ": publisher " + p.id + " stream " + st.mid + ": " + fs.status().message());
      continue;
    }
    janus::ForwardTarget t;
    t.mid = st.mid;
    t.port = (*fs)->rtp_port();
    t.rtcp_port = sc.kind == MediaKind::kVideo ? (*fs)->rtcp_port() : 0;
    t.pt = sc.payload_type;
    if (!sc.simulcast.empty()) {
      t.ssrc = kSimulcastSsrc;
      t.port_2 = t.port_3 = t.port;
      t.ssrc_2 = kSimulcastSsrc + 1;
      t.ssrc_3 = kSimulcastSsrc + 2;
    }
    targets.push_back(t);
    feed.streams.push_back(std::move(*fs));
  }
  if (targets.empty()) return;
  auto fw = room.room->rtp_forward(p.id, config_.gateway_media_ip, targets);
  if (!fw.ok()) {
    ++forward_failures_;
    log_line("", "session " + sid + ": rtp_forward of publisher " + p.id + ": " + fw.status().message());
    for (auto& s : feed.streams) (void)manager_->remove_forwarded_stream(s);
    return;
  }
  for (const auto& f : *fw) {
    if (f.local_rtcp_port == 0) continue;
    // Janus 1.1.2 names a forwarder by its port, not its mid.
    for (size_t i = 0; i < targets.size(); ++i)
      if (targets[i].port == f.port)
        (void)manager_->set_stream_feedback(*feed.streams[i], config_.janus_media_ip, f.local_rtcp_port);
  }
  feed.forwarders = std::move(*fw);
  log_line("", "session " + sid + ": publisher " + p.id + " forwarded (" + sig + ")");
  room.feeds[p.id] = std::move(feed);
}

void JanusBridge::unforward_locked(Room& room, const std::string& publisher_id, bool stop_forwarders) {
  auto it = room.feeds.find(publisher_id);
  if (it == room.feeds.end()) return;
  if (stop_forwarders && client_ && !client_->lost())
    for (const auto& f : it->second.forwarders) (void)room.room->stop_rtp_forward(publisher_id, f.stream_id);
  if (manager_)
    for (auto& s : it->second.streams) (void)manager_->remove_forwarded_stream(s);
  room.feeds.erase(it);
}

void JanusBridge::close_room_locked(const std::string& session_id) {
  auto it = rooms_.find(session_id);
  if (it == rooms_.end()) return;
  Room& room = *it->second;
  while (!room.feeds.empty()) unforward_locked(room, room.feeds.begin()->first, true);
  rooms_.erase(it);  // leaves the room (detaches the handles); the room stays for its other participants
}

void JanusBridge::sync_video_locked(const std::string& session_id, const std::string& connection_id) {
  auto r = rooms_.find(session_id);
  if (r == rooms_.end() || !manager_) return;
  Room& room = *r->second;
  auto leg = std::find_if(room.legs.begin(), room.legs.end(),
                          [&](const auto& l) { return l.second.connection_id == connection_id; });
  if (leg == room.legs.end() || leg->second.video_codec.empty()) return;
  const auto media = manager_->media_stats(connection_id);
  if (!media || media->negotiated_video_codec.empty()) return;
  std::string codec = media->negotiated_video_codec;
  for (char& c : codec) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  LegPublisher& lp = leg->second;
  if (codec == lp.video_codec || !supported_video(codec)) return;
  // Janus 1.1.2 cannot change a stream's codec: disable it, add one at the end.
  for (auto& s : lp.streams)
    if (s.type == MediaType::kVideo) s.disabled = true;
  lp.streams.push_back({MediaType::kVideo, codec, "video", false});
  if (Status s = room.room->update_remote_publisher(leg->first, std::nullopt, lp.streams); !s.ok()) {
    log_line("", "connection " + connection_id + ": video codec " + codec + " not published: " + s.message());
    return;
  }
  lp.video_codec = codec;
  (void)manager_->set_session_output(connection_id, output_of(lp, config_.janus_media_ip));
}

void JanusBridge::janus_lost_locked(uint64_t generation, const Status& why) {
  if (!client_ || client_generation_ != generation) return;  // handled already
  ++janus_losses_;
  log_line("", "lost Janus at " + config_.janus.url + ": " + why.message());
  for (auto& [sid, room] : rooms_) {
    while (!room->feeds.empty()) unforward_locked(*room, room->feeds.begin()->first, false);
    if (manager_)
      for (auto& [id, leg] : room->legs)
        (void)manager_->end_call(leg.connection_id, kReasonUnexpected,
                                 "the session's media server (Janus) was lost: " + why.message());
  }
  rooms_.clear();
  client_.reset();
}

// ---- Calls --------------------------------------------------------------------

Status JanusBridge::open_session(const std::string& project_id, const std::string& session_id) {
  (void)project_id;
  std::lock_guard<std::mutex> lock(mu_);
  if (rooms_.count(session_id)) return {};
  auto client = client_locked();
  if (!client.ok()) return client.status();
  auto vr = janus::VideoRoomSession::open(**client, session_id, config_.room);
  if (!vr.ok()) return vr.status();
  if (Status s = (*vr)->create_room(); !s.ok() && janus::janus_error_code(s) != kJanusErrorRoomExists) return s;
  return {};  // the room exists; the bridge listens once the session has a SIP leg or a mute
}

Status JanusBridge::dial(const CallIds& ids, const DialRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closing_) return unavailable("gateway is shutting down");
  auto room = room_locked(request.session_id, true);
  if (!room.ok()) {
    return Status(room.status().code() == StatusCode::kInvalidArgument ? StatusCode::kInvalidArgument
                                                                       : StatusCode::kUnavailable,
                  "session " + request.session_id + " (Janus): " + room.status().message());
  }
  Room& r = **room;
  const bool first_leg = r.legs.empty();
  LegPublisher lp;
  lp.connection_id = ids.connection_id;
  lp.streams.push_back({MediaType::kAudio, "opus", "audio", false});
  if (request.video) {
    lp.streams.push_back({MediaType::kVideo, "h264", "video", false});  // our offer's first choice
    lp.video_codec = "h264";
  }
  r.legs[ids.stream_id] = lp;  // before Janus announces it, so that it is not forwarded back
  janus::RemotePublisherRequest rq;
  rq.id = ids.stream_id;
  rq.display = request.from.empty() ? request.uri : request.from;
  rq.streams = lp.streams;
  auto rp = r.room->add_remote_publisher(rq);
  auto undo = [&] {
    r.legs.erase(ids.stream_id);
    if (r.legs.empty() && !r.mute_active) close_room_locked(request.session_id);
  };
  if (!rp.ok()) {
    Status why = rp.status();
    undo();
    return unavailable("session " + request.session_id + " (Janus): cannot publish the SIP leg: " + why.message());
  }
  r.legs[ids.stream_id].port = rp->port;
  if (Status s = manager_->dial(ids, request); !s.ok()) {
    (void)r.room->remove_remote_publisher(ids.stream_id);
    undo();
    return s;
  }
  if (Status s = manager_->set_session_output(ids.connection_id, output_of(r.legs[ids.stream_id], config_.janus_media_ip));
      !s.ok())
    log_line(ids.id, "session output: " + s.message());
  if (first_leg) {
    // The session gets the publishers already in the room.
    for (const auto& p : r.observer->publishers()) forward_locked(r, p);
  }
  return {};
}

Status JanusBridge::hang_up(const std::string& session_id, const std::string& connection_id) {
  return manager_->hang_up(session_id, connection_id);
}

Status JanusBridge::force_mute(const std::string& session_id, const std::string& connection_id, bool muted) {
  return manager_->force_mute(session_id, connection_id, muted);
}

Status JanusBridge::play_dtmf(const std::string& session_id, const std::string& connection_id,
                              const std::string& digits) {
  return manager_->play_dtmf(session_id, connection_id, digits);
}

std::optional<CallInfo> JanusBridge::find(const std::string& session_id, const std::string& connection_id) const {
  return manager_->find(session_id, connection_id);
}

std::vector<CallInfo> JanusBridge::calls_in_session(const std::string& session_id) const {
  return manager_->calls_in_session(session_id);
}

void JanusBridge::drain() { manager_->drain(); }

Status JanusBridge::mute_session(const std::string& session_id, bool active,
                                 const std::vector<std::string>& excluded_stream_ids) {
  // SIP legs: through the engine (each leg decides by its observeForceMute).
  if (Status s = Calls::mute_session(session_id, active, excluded_stream_ids); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (!active) {
    if (auto it = rooms_.find(session_id); it != rooms_.end()) {
      it->second->mute_active = false;
      it->second->mute_excluded.clear();
      if (it->second->legs.empty()) close_room_locked(session_id);
    }
    return {};
  }
  auto room = room_locked(session_id, true);
  if (!room.ok()) return room.status();
  Room& r = **room;
  r.mute_active = true;  // keeps the room listening: later publishers are muted as they come
  r.mute_excluded = excluded_stream_ids;
  for (const auto& p : r.observer->publishers()) {
    if (r.legs.count(p.id) || excluded(r, p.id)) continue;
    for (const auto& st : p.streams) {
      if (st.type != MediaType::kAudio) continue;
      if (Status s = r.room->moderate(p.id, st.mid, true); !s.ok()) log_line("", "moderate " + p.id + ": " + s.message());
    }
  }
  return {};
}

Status JanusBridge::mute_stream(const std::string& session_id, const std::string& stream_id) {
  for (const CallInfo& c : manager_->calls_in_session(session_id))
    if (c.ids.stream_id == stream_id) return manager_->force_mute(session_id, c.ids.connection_id, true);
  std::lock_guard<std::mutex> lock(mu_);
  const bool was_open = rooms_.count(session_id) > 0;
  auto room = room_locked(session_id, true);
  if (!room.ok()) return room.status();
  Room& r = **room;
  Status result = not_found("stream " + stream_id);
  for (const auto& p : r.observer->publishers()) {
    if (p.id != stream_id) continue;
    result = Status();
    for (const auto& st : p.streams) {
      if (st.type != MediaType::kAudio) continue;
      if (Status s = r.room->moderate(p.id, st.mid, true); !s.ok()) result = s;
    }
  }
  if (!was_open && r.legs.empty() && !r.mute_active) close_room_locked(session_id);
  return result;
}

void JanusBridge::remove_dead_leg(const CallInfo& call) {
  post([this, sid = call.session_id, stream = call.ids.stream_id] {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) return;
    auto client = client_locked();
    if (!client.ok()) return;
    auto vr = janus::VideoRoomSession::open(**client, sid, config_.room);
    if (!vr.ok()) return;
    Status s = (*vr)->remove_remote_publisher(stream);
    log_line("", "session " + sid + ": dead node's leg " + stream + " removed from Janus: " +
                     (s.ok() ? std::string("ok") : s.message()));
  });
}

void JanusBridge::append_metrics(std::string& out) const {
  const JanusBridgeStats s = stats();
  out += "# HELP sipmix_janus_up Whether the gateway holds a Janus session (1) or not (0).\n";
  out += "# TYPE sipmix_janus_up gauge\n";
  out += "sipmix_janus_up " + std::to_string(s.janus_connected ? 1 : 0) + "\n";
  out += "# HELP sipmix_janus_rooms Rooms the gateway listens to.\n# TYPE sipmix_janus_rooms gauge\n";
  out += "sipmix_janus_rooms " + std::to_string(s.rooms_listening) + "\n";
  out += "# HELP sipmix_janus_forwarded_streams Publishers' streams forwarded into sessions.\n";
  out += "# TYPE sipmix_janus_forwarded_streams gauge\n";
  out += "sipmix_janus_forwarded_streams " + std::to_string(s.forwarded_streams) + "\n";
  out += "# HELP sipmix_janus_remote_publishers SIP legs published into rooms.\n";
  out += "# TYPE sipmix_janus_remote_publishers gauge\n";
  out += "sipmix_janus_remote_publishers " + std::to_string(s.remote_publishers) + "\n";
  out += "# HELP sipmix_janus_losses_total Times the gateway lost Janus.\n# TYPE sipmix_janus_losses_total counter\n";
  out += "sipmix_janus_losses_total " + std::to_string(s.janus_losses) + "\n";
}

JanusBridgeStats JanusBridge::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  JanusBridgeStats s;
  s.janus_connected = client_ && !client_->lost();
  s.rooms_listening = rooms_.size();
  for (const auto& [sid, room] : rooms_) {
    for (const auto& [id, feed] : room->feeds) s.forwarded_streams += feed.streams.size();
    s.remote_publishers += room->legs.size();
  }
  s.janus_losses = janus_losses_;
  s.forward_failures = forward_failures_;
  return s;
}

// ---- call layer events ------------------------------------------------------------

void JanusBridge::on_call_created(const CallInfo& call) { observer_->on_call_created(call); }

void JanusBridge::on_call_updated(const CallInfo& call) {
  observer_->on_call_updated(call);
  if (call.state != CallState::kActive) return;
  post([this, sid = call.session_id, conn = call.ids.connection_id] {
    std::lock_guard<std::mutex> lock(mu_);
    sync_video_locked(sid, conn);
  });
}

void JanusBridge::on_call_destroyed(const CallInfo& call, int reason_code, const std::string& reason_message) {
  observer_->on_call_destroyed(call, reason_code, reason_message);
  post([this, sid = call.session_id, stream = call.ids.stream_id] {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rooms_.find(sid);
    if (it == rooms_.end()) return;
    Room& r = *it->second;
    if (!r.legs.erase(stream)) return;
    if (client_ && !client_->lost()) {
      if (Status s = r.room->remove_remote_publisher(stream); !s.ok())
        log_line("", "remove_remote_publisher " + stream + ": " + s.message());
    }
    if (r.legs.empty() && !r.mute_active) close_room_locked(sid);
  });
}

void JanusBridge::on_mute_forced(const CallInfo& call, bool muted) { observer_->on_mute_forced(call, muted); }

}  // namespace sipmix::gw
