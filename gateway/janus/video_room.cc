#include "gateway/janus/video_room.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string_view>
#include <thread>

namespace sipmix::gw::janus {
namespace {

Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

constexpr const char* kVideoRoomPlugin = "janus.plugin.videoroom";

std::optional<MediaType> media_type_from(std::string_view s) {
  if (s == "audio") return MediaType::kAudio;
  if (s == "video") return MediaType::kVideo;
  if (s == "data") return MediaType::kData;
  return std::nullopt;
}

// Janus ids are strings with string_ids = true; be lenient with numbers.
std::string id_string(const Json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_unsigned()) return std::to_string(j.get<uint64_t>());
  if (j.is_number_integer()) return std::to_string(j.get<int64_t>());
  return {};
}

Publisher parse_publisher(const Json& p) {
  Publisher out;
  out.id = id_string(p.value("id", Json()));
  out.display = p.value("display", "");
  if (auto s = p.find("streams"); s != p.end() && s->is_array()) {
    for (const Json& st : *s) {
      if (!st.is_object()) continue;
      PublisherStream ps;
      ps.type = media_type_from(st.value("type", "")).value_or(MediaType::kData);
      ps.mindex = st.value("mindex", 0);
      ps.mid = st.value("mid", "");
      ps.codec = st.value("codec", "");
      ps.disabled = st.value("disabled", false);
      ps.moderated = st.value("moderated", false);
      ps.simulcast = st.value("simulcast", false);
      out.streams.push_back(std::move(ps));
    }
  }
  return out;
}

bool is_audio_codec(std::string_view c) { return c == "opus" || c == "pcmu" || c == "pcma" || c == "g722"; }
bool is_video_codec(std::string_view c) { return c == "vp8" || c == "vp9" || c == "h264"; }

}  // namespace

const char* to_string(MediaType t) {
  switch (t) {
    case MediaType::kAudio:
      return "audio";
    case MediaType::kVideo:
      return "video";
    case MediaType::kData:
      return "data";
  }
  return "?";
}

int janus_default_pt(const std::string& codec) {
  if (codec == "opus") return 111;
  if (codec == "pcmu") return 0;
  if (codec == "pcma") return 8;
  if (codec == "g722") return 9;
  if (codec == "vp8") return 96;
  if (codec == "vp9") return 101;
  if (codec == "h264") return 107;
  return -1;
}

// The listener handle's sink: turns VideoRoom events into observer calls.
class VideoRoomSession::Listener : public HandleSink {
 public:
  explicit Listener(VideoRoomObserver* observer) : observer_(observer) {}

  // Waits for the answer to the listener's join: "joined", or an error.
  Status wait_joined(std::chrono::milliseconds timeout, const std::string& room_id) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [this] { return joined_ || !join_error_.empty(); })) {
      return unavailable("janus \"join\" (listener, room " + room_id + "): no answer");
    }
    if (!join_error_.empty()) return internal_error("janus \"join\" (listener, room " + room_id + "): " + join_error_);
    return Status::ok_status();
  }

  void on_plugin_event(const Json& data, const Json& /*message*/) override {
    const std::string kind = data.value("videoroom", "");
    if (kind == "destroyed") {
      observer_->on_room_destroyed();
      return;
    }
    if (kind == "joined" || kind == "event") {
      if (auto p = data.find("publishers"); p != data.end() && p->is_array()) {
        for (const Json& pub : *p) {
          if (pub.is_object()) observer_->on_publisher(parse_publisher(pub));
        }
      }
      for (const char* key : {"leaving", "unpublished", "kicked"}) {
        auto it = data.find(key);
        if (it == data.end()) continue;
        std::string id = id_string(*it);
        // "leaving":"ok" / "unpublished":"ok" are about the listener itself.
        if (!id.empty() && id != "ok") observer_->on_publisher_gone(id);
      }
      if (auto m = data.find("moderation"); m != data.end() && m->is_string()) {
        observer_->on_moderated(id_string(data.value("id", Json())), data.value("mid", ""),
                                m->get<std::string>() == "muted");
      }
    }
    // The answer to the join comes last, so that listen() returns after the
    // publishers already in the room were reported.
    bool answered = false;
    {
      std::lock_guard lock(mu_);
      if (kind == "joined") {
        joined_ = answered = true;
      } else if (!joined_ && data.contains("error_code")) {
        join_error_ = "error " + std::to_string(data.value("error_code", 0)) + ": " + data.value("error", "");
        answered = true;
      }
    }
    if (answered) cv_.notify_all();
  }

  void on_janus_lost(const Status& why) override {
    {
      std::lock_guard lock(mu_);
      if (!joined_ && join_error_.empty()) join_error_ = why.message();
    }
    cv_.notify_all();
    observer_->on_janus_lost(why);
  }

 private:
  VideoRoomObserver* observer_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool joined_ = false;     // guarded by mu_
  std::string join_error_;  // guarded by mu_
};

StatusOr<std::unique_ptr<VideoRoomSession>> VideoRoomSession::open(JanusClient& client, std::string room_id,
                                                                   RoomOptions options) {
  if (room_id.empty()) return invalid_argument("room_id: must not be empty");
  if (options.max_publishers < 1) return invalid_argument("room.max_publishers: must be >= 1");
  // Janus keeps at most 5 codecs per kind and silently drops the rest.
  for (const auto& [field, list] : {std::pair{"room.audiocodec", &options.audiocodec},
                                    std::pair{"room.videocodec", &options.videocodec}}) {
    if (list->empty()) return invalid_argument(std::string(field) + ": must not be empty");
    if (std::count(list->begin(), list->end(), ',') > 4) {
      return invalid_argument(std::string(field) + ": at most 5 codecs (got \"" + *list + "\")");
    }
  }
  auto handle = client.attach(kVideoRoomPlugin, nullptr);
  if (!handle.ok()) return handle.status();
  return std::unique_ptr<VideoRoomSession>(
      new VideoRoomSession(client, std::move(room_id), std::move(options), *handle));
}

VideoRoomSession::VideoRoomSession(JanusClient& client, std::string room_id, RoomOptions options,
                                   uint64_t control_handle)
    : client_(client), room_id_(std::move(room_id)), options_(std::move(options)), control_handle_(control_handle) {}

VideoRoomSession::~VideoRoomSession() {
  if (listener_handle_ != 0) (void)client_.detach(listener_handle_);
  (void)client_.detach(control_handle_);
}

StatusOr<Json> VideoRoomSession::request(Json body, bool with_admin_key) {
  body["room"] = room_id_;
  if (!options_.secret.empty()) body["secret"] = options_.secret;
  if (with_admin_key && !options_.admin_key.empty()) body["admin_key"] = options_.admin_key;
  return client_.message(control_handle_, body);
}

Status VideoRoomSession::validate_id(const std::string& field, const std::string& id) const {
  if (id.empty()) return invalid_argument(field + ": must not be empty");
  return Status::ok_status();
}

Status VideoRoomSession::create_room() {
  Json body{{"request", "create"},
            {"permanent", false},
            {"publishers", options_.max_publishers},
            {"audiocodec", options_.audiocodec},
            {"videocodec", options_.videocodec}};
  if (!options_.description.empty()) body["description"] = options_.description;
  if (options_.bitrate_bps > 0) body["bitrate"] = options_.bitrate_bps;
  auto r = request(std::move(body), /*with_admin_key=*/true);
  if (!r.ok()) return r.status();
  if (r->value("videoroom", "") != "created") {
    return internal_error("janus \"create\": unexpected reply " + r->dump());
  }
  return Status::ok_status();
}

Status VideoRoomSession::destroy_room() {
  auto r = request(Json{{"request", "destroy"}});
  return r.ok() ? Status::ok_status() : r.status();
}

Status VideoRoomSession::listen(VideoRoomObserver* observer, const std::string& display) {
  if (!observer) return invalid_argument("listen.observer: must not be null");
  if (listener_) return invalid_argument("listen: already listening");
  listener_ = std::make_unique<Listener>(observer);
  auto handle = client_.attach(kVideoRoomPlugin, listener_.get());
  if (!handle.ok()) return handle.status();
  listener_handle_ = *handle;
  // join is asynchronous: its answer ("joined" with the publishers already
  // there, or an error) arrives on the listener, and we wait for it. An
  // unknown room is checked first so that it gets a kNotFound of its own.
  auto exists = request(Json{{"request", "exists"}});
  if (!exists.ok()) return exists.status();
  if (!exists->value("exists", false)) return not_found("janus room " + room_id_ + ": does not exist");
  Json join{{"request", "join"}, {"ptype", "publisher"}, {"room", room_id_}, {"display", display}};
  auto r = client_.message(listener_handle_, join);
  if (!r.ok()) return r.status();
  return listener_->wait_joined(client_.options().request_timeout, room_id_);
}

StatusOr<std::vector<Forwarder>> VideoRoomSession::rtp_forward(const std::string& publisher_id,
                                                               const std::string& host,
                                                               const std::vector<ForwardTarget>& streams) {
  if (Status s = validate_id("rtp_forward.publisher_id", publisher_id); !s.ok()) return s;
  if (host.empty()) return invalid_argument("rtp_forward.host: must not be empty");
  if (streams.empty()) return invalid_argument("rtp_forward.streams: must not be empty");
  Json list = Json::array();
  for (size_t i = 0; i < streams.size(); ++i) {
    const ForwardTarget& t = streams[i];
    const std::string field = "rtp_forward.streams[" + std::to_string(i) + "]";
    if (t.mid.empty()) return invalid_argument(field + ".mid: must not be empty");
    if (t.port == 0) return invalid_argument(field + ".port: must be 1..65535");
    if (t.pt > 127) return invalid_argument(field + ".pt: must be 0..127 or -1");
    Json s{{"mid", t.mid}, {"port", t.port}};
    if (t.rtcp_port) s["rtcp_port"] = t.rtcp_port;
    if (t.ssrc) s["ssrc"] = t.ssrc;
    if (t.pt >= 0) s["pt"] = t.pt;
    // Simulcast substreams 1 and 2, each forwarded on its own (Janus's
    // "simulcast": false with port_2/port_3), with the same payload type.
    const std::pair<uint16_t, uint32_t> sub[2] = {{t.port_2, t.ssrc_2}, {t.port_3, t.ssrc_3}};
    for (int k = 0; k < 2; ++k) {
      if (sub[k].first == 0) continue;
      const std::string n = std::to_string(k + 2);
      s["port_" + n] = sub[k].first;
      if (sub[k].second) s["ssrc_" + n] = sub[k].second;
      if (t.pt >= 0) s["pt_" + n] = t.pt;
    }
    list.push_back(std::move(s));
  }
  auto r = request(Json{{"request", "rtp_forward"}, {"publisher_id", publisher_id}, {"host", host}, {"streams", list}},
                   /*with_admin_key=*/true);
  if (!r.ok()) return r.status();
  std::vector<Forwarder> out;
  auto f = r->find("forwarders");
  if (f == r->end() || !f->is_array()) return internal_error("janus \"rtp_forward\": reply has no forwarders");
  for (const Json& j : *f) {
    Forwarder fw;
    fw.stream_id = j.value("stream_id", 0u);
    fw.type = media_type_from(j.value("type", "")).value_or(MediaType::kData);
    fw.mid = j.value("mid", "");
    fw.host = j.value("host", "");
    fw.port = j.value("port", 0);
    fw.local_rtcp_port = j.value("local_rtcp_port", 0);
    out.push_back(std::move(fw));
  }
  return out;
}

Status VideoRoomSession::stop_rtp_forward(const std::string& publisher_id, uint32_t stream_id) {
  if (Status s = validate_id("stop_rtp_forward.publisher_id", publisher_id); !s.ok()) return s;
  auto r = request(Json{{"request", "stop_rtp_forward"}, {"publisher_id", publisher_id}, {"stream_id", stream_id}},
                   /*with_admin_key=*/true);
  return r.ok() ? Status::ok_status() : r.status();
}

StatusOr<RemotePublisher> VideoRoomSession::add_remote_publisher(const RemotePublisherRequest& req) {
  if (req.streams.empty()) return invalid_argument("add_remote_publisher.streams: must not be empty");
  Json list = Json::array();
  RemotePublisher out;
  for (size_t i = 0; i < req.streams.size(); ++i) {
    const RemoteStream& s = req.streams[i];
    const std::string field = "add_remote_publisher.streams[" + std::to_string(i) + "]";
    if (s.type == MediaType::kData) return invalid_argument(field + ".type: must be audio or video");
    if (s.type == MediaType::kAudio ? !is_audio_codec(s.codec) : !is_video_codec(s.codec)) {
      return invalid_argument(field + ".codec: \"" + s.codec + "\" is not a " + to_string(s.type) + " codec");
    }
    const int mindex = static_cast<int>(i);
    Json j{{"type", to_string(s.type)}, {"mindex", mindex}, {"mid", std::to_string(mindex)}, {"codec", s.codec}};
    if (!s.description.empty()) j["description"] = s.description;
    if (s.disabled) j["disabled"] = true;
    if (s.simulcast) {
      if (s.type != MediaType::kVideo) return invalid_argument(field + ".simulcast: only video is sent as simulcast");
      j["simulcast"] = true;
    }
    list.push_back(std::move(j));
    out.streams.push_back({s.type, s.codec, std::to_string(mindex), remote_publisher_ssrc(mindex),
                           janus_default_pt(s.codec)});
  }
  Json body{{"request", "add_remote_publisher"}, {"streams", list}};
  if (!req.id.empty()) body["id"] = req.id;
  if (!req.display.empty()) body["display"] = req.display;
  if (req.port) body["port"] = req.port;
  auto r = request(std::move(body));
  if (!r.ok()) return r.status();
  out.id = id_string(r->value("id", Json()));
  out.ip = r->value("ip", "");
  out.port = r->value("port", 0);
  out.rtcp_port = r->value("rtcp_port", 0);
  if (out.id.empty() || out.port == 0) {
    return internal_error("janus \"add_remote_publisher\": reply has no id or port: " + r->dump());
  }
  // Janus 1.1.2 answers before its remote-publisher thread has put the
  // publisher in the room, and until then rtp_forward, moderate, ... on it
  // fail with 428 "No such feed". Return once the room lists it.
  auto deadline = std::chrono::steady_clock::now() + client_.options().request_timeout;
  auto pause = std::chrono::milliseconds(2);
  while (true) {
    auto list = list_participants();
    if (!list.ok()) return list.status();
    for (const Participant& p : *list) {
      if (p.id == out.id) return out;
    }
    if (std::chrono::steady_clock::now() + pause > deadline) break;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  return unavailable("janus \"add_remote_publisher\": publisher " + out.id + " never appeared in room " + room_id_);
}

Status VideoRoomSession::update_remote_publisher(const std::string& publisher_id,
                                                 const std::optional<std::string>& display,
                                                 const std::vector<RemoteStream>& streams) {
  if (Status s = validate_id("update_remote_publisher.id", publisher_id); !s.ok()) return s;
  Json list = Json::array();
  for (size_t i = 0; i < streams.size(); ++i) {
    const RemoteStream& s = streams[i];
    const int mindex = static_cast<int>(i);
    Json j{{"type", to_string(s.type)}, {"mindex", mindex}, {"mid", std::to_string(mindex)}, {"codec", s.codec},
           {"disabled", s.disabled}};
    if (!s.description.empty()) j["description"] = s.description;
    list.push_back(std::move(j));
  }
  Json body{{"request", "update_remote_publisher"}, {"id", publisher_id}, {"streams", list}};
  if (display) body["display"] = *display;
  auto r = request(std::move(body));
  return r.ok() ? Status::ok_status() : r.status();
}

Status VideoRoomSession::remove_remote_publisher(const std::string& publisher_id) {
  if (Status s = validate_id("remove_remote_publisher.id", publisher_id); !s.ok()) return s;
  auto r = request(Json{{"request", "remove_remote_publisher"}, {"id", publisher_id}});
  return r.ok() ? Status::ok_status() : r.status();
}

Status VideoRoomSession::moderate(const std::string& publisher_id, const std::string& mid, bool mute) {
  if (Status s = validate_id("moderate.id", publisher_id); !s.ok()) return s;
  if (mid.empty()) return invalid_argument("moderate.mid: must not be empty");
  auto r = request(Json{{"request", "moderate"}, {"id", publisher_id}, {"mid", mid}, {"mute", mute}});
  return r.ok() ? Status::ok_status() : r.status();
}

Status VideoRoomSession::kick(const std::string& publisher_id) {
  if (Status s = validate_id("kick.id", publisher_id); !s.ok()) return s;
  auto r = request(Json{{"request", "kick"}, {"id", publisher_id}});
  return r.ok() ? Status::ok_status() : r.status();
}

StatusOr<std::vector<Participant>> VideoRoomSession::list_participants() {
  auto r = request(Json{{"request", "listparticipants"}});
  if (!r.ok()) return r.status();
  std::vector<Participant> out;
  auto ps = r->find("participants");
  if (ps == r->end() || !ps->is_array()) {
    return internal_error("janus \"listparticipants\": reply has no participants");
  }
  for (const Json& p : *ps) {
    if (!p.is_object()) continue;
    out.push_back({id_string(p.value("id", Json())), p.value("display", ""), p.value("publisher", false),
                   p.value("remote", false)});
  }
  return out;
}

}  // namespace sipmix::gw::janus
