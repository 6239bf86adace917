// sipmix::Session: one routed media session with its participants' streams
// and the SIP legs that join it (mixed audio, composed video, *6 and force
// mute with announcements, SRTP).
//
// Threads and ownership
// - push_rtp()/push_rtcp(): lock-free, no allocation. Any one network thread
//   per stream (or per leg) at a time. The bytes are copied; the caller keeps
//   its buffer.
// - Everything else, tick() included, runs on the session's own thread: a
//   gateway posts control calls (add/remove, moderation, play_dtmf) onto the
//   worker that drives tick(). Nothing here locks.
// - The Clock and the SessionSink are owned by the caller and must outlive
//   the Session. Sink callbacks run on the tick thread, inside tick(); the
//   spans they receive are valid only during the call.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sipmix/clock.h"
#include "sipmix/status.h"

namespace sipmix {

enum class AudioCodec { kOpus, kPcmu, kPcma, kG722 };
enum class VideoCodec { kNone, kVp8, kH264 };
enum class MediaKind { kAudio, kVideo };

const char* to_string(AudioCodec c);
const char* to_string(VideoCodec c);

// A participant's stream in the session (WebRTC side).
struct StreamConfig {
  std::string id;  // unique in the session; also the stream's name in events
  MediaKind kind = MediaKind::kAudio;
  AudioCodec audio_codec = AudioCodec::kOpus;  // kind == kAudio
  VideoCodec video_codec = VideoCodec::kVp8;   // kind == kVideo
  uint8_t payload_type = 111;
  int clock_rate_hz = 48000;       // 48000 for Opus, 90000 for video
  uint8_t audio_level_ext_id = 0;  // RFC 6464 extension id, 0 = none (measure)
  // Groups the audio and video of one participant so that a leg's own video
  // and active-speaker highlight can be matched. Empty: the stream id.
  std::string participant;
};

// The SIP leg, mirroring the product's dial request.
struct LegConfig {
  std::string id;
  std::string participant;  // its own participant name in the session (N-1)
  bool video = false;
  bool secure = false;
  bool observe_force_mute = false;

  AudioCodec audio_codec = AudioCodec::kPcmu;
  uint8_t audio_payload_type = 0;
  int audio_clock_hz = 8000;
  int telephone_event_payload_type = -1;  // -1: telephone-event not negotiated
  int telephone_event_clock_hz = 8000;    // 8000, or 48000 beside Opus

  VideoCodec video_codec = VideoCodec::kH264;
  uint8_t video_payload_type = 96;
  int width = 1280;
  int height = 720;
  int fps = 30;
  int video_bitrate_bps = 1500000;
  std::string h264_preset = "veryfast";
  bool crop_to_fill = false;

  // SDES "inline:<base64>" keys (RFC 4568), required when secure.
  std::string srtp_suite = "AES_CM_128_HMAC_SHA1_80";
  std::string srtp_key_to_leg;    // protects what we send to the leg
  std::string srtp_key_from_leg;  // authenticates what the leg sends us

  // The leg's audio published into the session as Opus.
  uint8_t session_opus_payload_type = 111;
  bool stop_stream_when_muted = false;  // false: send silence while muted

  // Announcements; empty: the Debian prompt set.
  std::string muted_prompt_path;
  std::string unmuted_prompt_path;
};

struct SessionConfig {
  int resampler_quality = 5;        // SpeexDSP 0..10, >= 3 enforced
  int no_video_timeout_ms = 3000;   // then the tile shows "no video"
  int dtmf_inter_digit_timeout_ms = 3000;
  int jitter_min_delay_ms = 20;
  int jitter_max_delay_ms = 500;
  int max_streams = 32;             // fixed slots, allocated at creation
  int max_legs = 4;
};

enum class Direction {
  kToLeg,      // session -> SIP leg (mixed audio, composed video, DTMF)
  kToSession,  // SIP leg -> session (the leg's audio as an Opus stream)
  kToStream,   // feedback to a participant's stream (PLI/FIR)
};

struct Event {
  enum class Type { kMuteChanged, kDigit, kKeyframeRequest, kJoined, kLeft, kAnnouncement };
  Type type;
  int64_t time_us = 0;
  std::string id;        // leg or stream id
  bool muted = false;    // kMuteChanged
  std::string cause;     // kMuteChanged: "dtmf" or "moderator"
  char digit = 0;        // kDigit
  int duration_ms = 0;   // kDigit
};

class SessionSink {
 public:
  virtual ~SessionSink() = default;
  // `id` is the leg id (kToLeg, kToSession) or the stream id (kToStream).
  virtual void on_rtp(const std::string& id, Direction dir, std::span<const uint8_t> packet) = 0;
  virtual void on_rtcp(const std::string& id, Direction dir, std::span<const uint8_t> packet) = 0;
  virtual void on_event(const Event& event) = 0;
};

// Identifies a stream or leg on the push path without a lookup.
struct PushHandle {
  int slot = -1;
  bool valid() const { return slot >= 0; }
};

struct StreamStats {
  std::string id;
  uint64_t received = 0, lost = 0, late = 0, duplicate = 0, reordered = 0, discarded = 0;
  double jitter_ms = 0;
  int current_delay_ms = 0, target_delay_ms = 0;
  uint64_t concealed_frames = 0, decoded_frames = 0, decode_errors = 0;
  uint64_t keyframe_requests = 0;
  double level_dbfs = -127;
};

struct LegStats {
  std::string id;
  bool muted = false;
  uint64_t audio_packets_sent = 0, video_frames_encoded = 0, video_keyframes = 0;
  uint64_t session_packets_sent = 0, dtmf_events_received = 0, dtmf_packets_sent = 0;
  uint64_t srtp_auth_failures = 0, srtp_replays = 0;
  uint64_t audio_encodes_shared = 0;  // ticks whose encoded packet another leg reused
};

struct SessionStats {
  std::vector<StreamStats> streams;
  std::vector<LegStats> legs;
  uint64_t ticks = 0;
  uint64_t distinct_audio_encodes = 0;
};

class Session {
 public:
  static StatusOr<std::unique_ptr<Session>> create(const SessionConfig& config, Clock* clock,
                                                   SessionSink* sink);
  virtual ~Session() = default;

  // --- control (session thread) -------------------------------------------
  virtual StatusOr<PushHandle> add_stream(const StreamConfig& config) = 0;
  virtual Status remove_stream(const std::string& id) = 0;
  // Legs receive on their own handle: push_rtp(leg_handle, ...) takes the
  // leg's audio, telephone-event and video packets (SRTP-protected if secure).
  virtual StatusOr<PushHandle> add_leg(const LegConfig& config) = 0;
  virtual Status remove_leg(const std::string& id) = 0;

  // Moderator force mute of one stream or leg.
  virtual Status force_mute(const std::string& id, bool muted) = 0;
  // Whole session; `active` also mutes streams that join later.
  virtual Status force_mute_session(bool muted, bool active, const std::vector<std::string>& excluded_ids) = 0;
  // Digits 0-9 * # and 'p' (500 ms pause), sent to the leg as RFC 4733.
  virtual Status play_dtmf(const std::string& leg_id, const std::string& digits) = 0;
  // A keyframe request from the SIP side for the leg's composed video.
  virtual Status request_keyframe(const std::string& leg_id) = 0;

  // --- network threads: lock-free, one producer per handle --------------
  virtual void push_rtp(PushHandle handle, std::span<const uint8_t> packet) = 0;
  virtual void push_rtcp(PushHandle handle, std::span<const uint8_t> packet) = 0;

  // --- session thread -------------------------------------------------------
  // Runs every audio tick (20 ms) and video tick (1/fps) due at clock->now().
  virtual void tick() = 0;
  virtual SessionStats stats() const = 0;
};

}  // namespace sipmix
