// One sipmix session as a Janus 1.1.2 VideoRoom room (string ids, room id =
// session id): room lifecycle, a listener handle that learns publishers
// joining and leaving, rtp_forward of publishers to the gateway's sockets,
// the SIP legs as remote publishers, and moderation.
//
// Threads: methods may be called from any thread and block for at most the
// client's request_timeout. `VideoRoomObserver` callbacks run on the
// JanusClient's event thread and must not block.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gateway/janus/janus_client.h"
#include "sipmix/status.h"

namespace sipmix::gw::janus {

enum class MediaType { kAudio, kVideo, kData };
const char* to_string(MediaType t);

struct PublisherStream {
  MediaType type = MediaType::kAudio;
  int mindex = 0;
  std::string mid;
  std::string codec;      // "opus", "vp8", ... (empty for data or disabled)
  bool disabled = false;  // e.g. a codec the room does not allow
  bool moderated = false; // only reported for video in 1.1.2 publisher lists
  bool simulcast = false; // video sent as simulcast (Janus's substreams 0..2, lowest first)
};

struct Publisher {
  std::string id;
  std::string display;
  std::vector<PublisherStream> streams;
};

struct Participant {
  std::string id;
  std::string display;
  bool publisher = false;
  bool remote = false;  // added with add_remote_publisher
};

// Learns what happens in the room, through the listener handle.
class VideoRoomObserver {
 public:
  virtual ~VideoRoomObserver() = default;
  // A publisher is in the room (it was there when the listener joined, it
  // joined, or its streams changed). Remote publishers are reported too,
  // before any of their media.
  virtual void on_publisher(const Publisher& publisher) = 0;
  // A publisher left ("leaving"), stopped publishing ("unpublished") or was
  // kicked. Janus may report one departure more than once.
  virtual void on_publisher_gone(const std::string& publisher_id) = 0;
  // A moderator muted or unmuted one stream of a publisher.
  virtual void on_moderated(const std::string& publisher_id, const std::string& mid, bool muted) {
    (void)publisher_id, (void)mid, (void)muted;
  }
  virtual void on_room_destroyed() {}
  // Janus went away: every publisher, forwarder and remote publisher of this
  // room is gone with it. The session object is unusable from now on.
  virtual void on_janus_lost(const Status& why) = 0;
};

struct RoomOptions {
  std::string description;
  std::string secret;     // room secret, needed by later moderator requests
  std::string admin_key;  // the plugin's admin_key, if janus.plugin.videoroom.jcfg sets one
  int max_publishers = 64;
  std::string audiocodec = "opus,pcmu,pcma,g722";  // at most 5
  std::string videocodec = "vp8,h264";             // at most 5
  int bitrate_bps = 0;                              // 0: Janus's default
};

// One stream of an rtp_forward request.
struct ForwardTarget {
  std::string mid;
  uint16_t port = 0;
  uint16_t rtcp_port = 0;  // video: > 0 makes Janus open local_rtcp_port for PLI/FIR
  uint32_t ssrc = 0;       // 0: keep the publisher's SSRC
  int pt = -1;             // -1: keep the publisher's payload type
  // Video of a simulcast publisher: substream 0 (the lowest) goes to `port`
  // with `ssrc`; substreams 1 and 2 go to these, each its own forwarder
  // (0: not forwarded). `ssrc_2`/`ssrc_3` 0: the publisher's.
  uint16_t port_2 = 0, port_3 = 0;
  uint32_t ssrc_2 = 0, ssrc_3 = 0;
};

struct Forwarder {
  uint32_t stream_id = 0;  // for stop_rtp_forward
  MediaType type = MediaType::kAudio;
  std::string mid;  // empty from Janus 1.1.2, whose reply names no mid: match by port
  std::string host;
  uint16_t port = 0;
  uint16_t local_rtcp_port = 0;  // send PLI/FIR here (video with rtcp_port)
};

struct RemoteStream {
  MediaType type = MediaType::kAudio;  // audio or video
  std::string codec;                   // "opus", "pcmu", "pcma", "g722", "vp8", "h264"
  std::string description;
  bool disabled = false;
  // Video sent as 3 simulcast layers, SSRC remote_publisher_ssrc(mindex)
  // + 0, 1, 2 (lowest first).
  bool simulcast = false;
};

struct RemotePublisherRequest {
  std::string id;  // empty: Janus picks a UUID
  std::string display;
  std::vector<RemoteStream> streams;  // in this order: mindex and mid are the position
  uint16_t port = 0;                  // 0: Janus picks one in 10000-60000
};

struct RemotePublisher {
  std::string id;
  std::string ip;          // what Janus reports, if anything
  uint16_t port = 0;       // send every stream's RTP here
  uint16_t rtcp_port = 0;  // send RTCP here first so Janus learns where PLIs go
  struct Stream {
    MediaType type;
    std::string codec;
    std::string mid;
    uint32_t ssrc;  // the SSRC the media must carry
    int pt;         // the payload type the media must carry
  };
  std::vector<Stream> streams;
};

// Janus demultiplexes a remote publisher's streams by SSRC: 1000 + 10 * mindex.
inline constexpr uint32_t remote_publisher_ssrc(int mindex) { return 1000u + 10u * static_cast<uint32_t>(mindex); }
// Janus's default payload type for a codec name (src/rtp.c in 1.1.2), or -1.
int janus_default_pt(const std::string& codec);

class VideoRoomSession {
 public:
  // Attaches the control handle. Nothing happens to the room yet.
  static StatusOr<std::unique_ptr<VideoRoomSession>> open(JanusClient& client, std::string room_id,
                                                          RoomOptions options);
  // Detaches the handles (best effort). Does not destroy the room.
  ~VideoRoomSession();
  VideoRoomSession(const VideoRoomSession&) = delete;
  VideoRoomSession& operator=(const VideoRoomSession&) = delete;

  const std::string& room_id() const { return room_id_; }

  // Creates the room (string id = room_id). kInvalidArgument with Janus error
  // 427 if it exists already (see janus_error_code).
  Status create_room();
  Status destroy_room();
  // Attaches the listener handle and joins it as a publisher that never
  // publishes. Returns once Janus answered the join, after `observer` got
  // the publishers already there; changes follow. kNotFound for an unknown
  // room. `observer` must outlive this session object.
  Status listen(VideoRoomObserver* observer, const std::string& display = "sipmix-gateway");

  StatusOr<std::vector<Forwarder>> rtp_forward(const std::string& publisher_id, const std::string& host,
                                               const std::vector<ForwardTarget>& streams);
  Status stop_rtp_forward(const std::string& publisher_id, uint32_t stream_id);

  // Returns once the room lists the new publisher, so that requests about it
  // (rtp_forward, moderate, ...) can follow at once.
  StatusOr<RemotePublisher> add_remote_publisher(const RemotePublisherRequest& request);
  // Changes the display name, enables/disables streams, or adds new streams
  // at the end. Janus 1.1.2 cannot change an existing stream's codec.
  Status update_remote_publisher(const std::string& publisher_id, const std::optional<std::string>& display,
                                 const std::vector<RemoteStream>& streams);
  Status remove_remote_publisher(const std::string& publisher_id);

  // Mutes one stream of a publisher for everyone: Janus stops relaying it to
  // subscribers and to its forwarders.
  Status moderate(const std::string& publisher_id, const std::string& mid, bool mute);
  Status kick(const std::string& publisher_id);
  StatusOr<std::vector<Participant>> list_participants();

 private:
  class Listener;

  VideoRoomSession(JanusClient& client, std::string room_id, RoomOptions options, uint64_t control_handle);
  // A moderator request on the control handle, with room, secret and admin_key.
  StatusOr<Json> request(Json body, bool with_admin_key = false);
  Status validate_id(const std::string& field, const std::string& id) const;

  JanusClient& client_;
  const std::string room_id_;
  const RoomOptions options_;
  const uint64_t control_handle_;
  std::unique_ptr<Listener> listener_;
  uint64_t listener_handle_ = 0;
};

}  // namespace sipmix::gw::janus
