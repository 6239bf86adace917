// sipmix::Session: one routed media session with its participants' streams
// and the SIP legs that join it (mixed audio, composed video, *6 and force
// mute with announcements, SRTP).
//
// Threads and ownership
// - push_rtp()/push_rtcp(): lock-free, no allocation. Any one network thread
//   per stream (or per leg) at a time. The bytes are copied; the caller keeps
//   its buffer.
// - Everything else, tick() and stats() included, runs on the session's own
//   thread: a gateway posts control calls (add/remove, moderation, play_dtmf)
//   onto the worker that drives tick(). Nothing here locks. Debug builds
//   (no NDEBUG) assert it: the first thread to call one of these methods
//   becomes the session thread, and a call from any other thread aborts.
// - Stop pushing through a handle before remove_stream()/remove_leg() for it
//   returns. After that, pushes through it are refused and counted in
//   SessionStats::stale_pushes, even when a new stream or leg has taken its
//   slot: the new one receives nothing from the old handle.
// - The Clock and the SessionSink are owned by the caller and must outlive
//   the Session. Sink callbacks run on the tick thread, inside tick(); the
//   spans they receive are valid only during the call.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sipmix/clock.h"
#include "sipmix/picture.h"  // PictureView
#include "sipmix/status.h"

namespace sipmix {

enum class AudioCodec { kOpus, kPcmu, kPcma, kG722 };
enum class VideoCodec { kNone, kVp8, kH264 };
enum class MediaKind { kAudio, kVideo };

// SRTP crypto suites of SDES (RFC 4568); to_string() gives the SDP name.
enum class SrtpSuite { kAesCm128HmacSha1_80, kAesCm128HmacSha1_32 };

const char* to_string(AudioCodec c);
const char* to_string(VideoCodec c);
const char* to_string(SrtpSuite s);
// The suite with that SDP name ("AES_CM_128_HMAC_SHA1_80"), or an error that
// lists the names there are.
StatusOr<SrtpSuite> parse_srtp_suite(std::string_view name);

// One encoding of a simulcast video publisher, known by its SSRC (an
// `a=ssrc-group:SIM`, or what an SFU announces) or by its RFC 8851 rid
// (`a=simulcast`/`a=rid`, carried in RFC 8852's rtp-stream-id header
// extension, StreamConfig::rid_ext_id), and its picture size.
struct SimulcastLayer {
  uint32_t ssrc = 0;  // 0: learned from the first packet that carries `rid`
  std::string rid;    // empty: by SSRC only; else 1..16 of [A-Za-z0-9_-]
  // 16..4096 each, or both 0: learned from the layer's keyframes, decoded
  // or not (a VP8 keyframe's header, the SPS before an H.264 one), as when
  // an SFU forwards the layers without saying their sizes. A size learned
  // from the stream wins over a configured one.
  int width = 0;
  int height = 0;
};
inline constexpr int kMaxSimulcastLayers = 3;

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
  // Video: the publisher's simulcast encodings (2..kMaxSimulcastLayers, any
  // order), all pushed through this stream's handle and told apart by SSRC;
  // packets of other SSRCs are dropped. Empty: one encoding, any SSRC.
  // The session decodes one layer at a time (SessionConfig::choose_simulcast_layer).
  std::vector<SimulcastLayer> simulcast;
  // RFC 8285 id (1..255) of urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id,
  // needed when a layer is known by its rid. A packet of an SSRC no layer
  // has yet is matched by its rid, and its layer keeps that SSRC (browsers
  // stop sending the rid once the SSRC is established).
  uint8_t rid_ext_id = 0;
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
  SrtpSuite srtp_suite = SrtpSuite::kAesCm128HmacSha1_80;
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
  // Time each stage of tick() (SessionStats::stages). Costs about 1 µs per
  // 20 ms audio tick of a 10-source session; off by default.
  bool measure_stages = false;
  // Skip decoding Opus packets whose RFC 6464 level says silence (from the
  // second in a row; StreamConfig::audio_level_ext_id must be set): they
  // play as digital silence. See AudioInputConfig::skip_silent_decode.
  bool skip_silent_decode = true;
  // A leg's video encoder skips frames whose canvas did not change (after a
  // few frames that let the picture's quality settle; one frame a second is
  // still sent, and any keyframe asked for), and a VP8 leg codes only the
  // macroblocks that changed. Off: every frame is a full encode.
  bool skip_unchanged_video = true;
  // A video stream on no leg's canvas is received and assembled but not
  // decoded; when it enters a canvas a keyframe is requested (PLI, throttled)
  // and its tile keeps the last good picture (or "no video") until one comes.
  // Off: every video stream is decoded.
  bool decode_shown_only = true;
  // A simulcast stream (StreamConfig::simulcast) is decoded in the smallest
  // layer that covers its largest tile on any leg's canvas (the top layer
  // when none does, or when it is on no canvas). A layer whose size is not
  // known yet covers no tile and counts as the top one (the last such in
  // StreamConfig::simulcast's order), so that it is decoded and learned. On
  // a change the new layer is requested (PLI to its SSRC) and decoded beside
  // the old one, which stays on screen until the new layer's first picture.
  // Off: the top layer always.
  bool choose_simulcast_layer = true;
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
  // A leg's composed canvas, for recording or inspection: asked once per
  // composed frame, just before it is encoded; when the answer is true,
  // on_composed_frame() gets the canvas, valid during that call only.
  virtual bool wants_composed_frame(const std::string& /*leg_id*/, int64_t /*time_us*/) { return false; }
  virtual void on_composed_frame(const std::string& /*leg_id*/, int64_t /*time_us*/, const PictureView& /*canvas*/) {}
};

// Identifies a stream or leg on the push path without a lookup. The
// generation tells this stream or leg from a later one in the same slot, so a
// handle kept past remove_stream()/remove_leg() is refused, not misdelivered.
struct PushHandle {
  int slot = -1;
  uint32_t generation = 0;  // 0: none
  bool valid() const { return slot >= 0; }
};

struct StreamStats {
  std::string id;
  uint64_t received = 0, lost = 0, late = 0, duplicate = 0, reordered = 0, discarded = 0;
  double jitter_ms = 0;
  int current_delay_ms = 0, target_delay_ms = 0;
  uint64_t concealed_frames = 0, decoded_frames = 0, decode_errors = 0;
  uint64_t unchanged_frames = 0;  // video: decoded to the same pixels as the frame before (not redrawn)
  // Video, decode_shown_only: frames not decoded while on no canvas; times it
  // entered a canvas and needed a keyframe; how long the last such switch
  // took from entering the canvas (within a video frame of the active speaker
  // change that put it there) to its first decoded picture (-1: none yet).
  uint64_t frames_not_shown = 0, switches = 0;
  int switch_latency_ms = -1;
  uint64_t keyframe_requests = 0;
  double level_dbfs = -127;
  // Audio: time compression while the delay is above the target
  // (docs/jitter.md), and the delay the listener gets (the jitter buffer's
  // plus the decoded audio queued ahead of it).
  uint64_t accelerate_ops = 0, accelerated_ms = 0;
  int playout_delay_ms = 0;
  uint64_t skipped_silent = 0;  // audio packets not decoded: their RFC 6464 level said silence
  // Simulcast video: the size of the layer on screen (0x0 without simulcast),
  // the times it changed, and the frames decoded per layer (in the order of
  // StreamConfig::simulcast; decoded_frames is their sum).
  int layer_width = 0, layer_height = 0;
  uint64_t layer_switches = 0;
  std::array<uint64_t, kMaxSimulcastLayers> layer_decoded_frames{};
};

struct LegStats {
  std::string id;
  bool muted = false;
  uint64_t audio_packets_sent = 0, video_frames_encoded = 0, video_keyframes = 0;
  uint64_t video_frames_skipped = 0;  // canvas unchanged: nothing encoded or sent (skip_unchanged_video)
  uint64_t video_frames_partial = 0;  // inter frames coded with a macroblock map: unchanged blocks skipped
  uint64_t session_packets_sent = 0, dtmf_events_received = 0, dtmf_packets_sent = 0;
  uint64_t srtp_auth_failures = 0, srtp_replays = 0;
  uint64_t audio_encodes_shared = 0;  // ticks whose encoded packet another leg reused
};

// Where tick() spent its time since the session started, in microseconds of
// steady-clock time on the tick thread (SessionConfig::measure_stages; all
// zero otherwise). On a thread that has its core to itself this is its CPU
// time. The stages do not overlap; their sum plus other_us is total_us.
struct StageTimes {
  int64_t audio_decode_us = 0;  // audio decoders: decode, PLC, FEC
  int64_t audio_in_us = 0;      // audio jitter buffers, resampling to 48 kHz, levels
  int64_t mix_us = 0;           // talkers, N-1 mix, limiter, prompts, resampling to leg rates
  int64_t audio_encode_us = 0;  // the legs' audio codecs and their Opus streams into the session
  int64_t video_decode_us = 0;  // video decoders
  int64_t video_in_us = 0;      // video jitter buffers, depacketizing, frame assembly
  int64_t compose_us = 0;       // layout and composition of the legs' canvases
  int64_t video_encode_us = 0;  // the legs' video encoders
  int64_t send_us = 0;          // RTP packetizing, RFC 4733, SRTP protect
  int64_t sink_us = 0;          // inside SessionSink::on_rtp / on_rtcp: the embedder's time
  int64_t other_us = 0;         // queues, RTCP, DTMF receive, events, bookkeeping
  int64_t total_us = 0;
};

struct SessionStats {
  std::vector<StreamStats> streams;
  std::vector<LegStats> legs;
  uint64_t ticks = 0;
  uint64_t distinct_audio_encodes = 0;
  // Pushes through a handle whose stream or leg was removed: refused.
  uint64_t stale_pushes = 0;
  StageTimes stages;
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
  // A handle from before its stream's or leg's removal is refused (see the
  // threading rules at the top).
  virtual void push_rtp(PushHandle handle, std::span<const uint8_t> packet) = 0;
  virtual void push_rtcp(PushHandle handle, std::span<const uint8_t> packet) = 0;

  // --- session thread -------------------------------------------------------
  // Runs every audio tick (20 ms) and video tick (1/fps) due at clock->now().
  virtual void tick() = 0;
  virtual SessionStats stats() const = 0;
};

}  // namespace sipmix
