// The far end of a Session, for tools and tests that play a browser or a phone:
// PeerSender encodes PCM or pictures into stamped RTP (RFC 4733 events too),
// PeerReceiver decodes it, PeerSrtp protects it. One thread per object at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sipmix/picture.h"
#include "sipmix/session.h"
#include "sipmix/status.h"

namespace sipmix {

// The fields of an RTP packet (RFC 3550) a peer cares about. `payload` points
// into the parsed buffer (padding removed) and is valid while it is.
struct RtpPacketInfo {
  uint8_t payload_type = 0;
  bool marker = false;
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  std::span<const uint8_t> payload;
};
// nullopt for anything that is not a well-formed RTP packet.
std::optional<RtpPacketInfo> parse_rtp_packet(std::span<const uint8_t> packet);

struct PeerSenderConfig {
  MediaKind kind = MediaKind::kAudio;
  // false: the sender only stamps (and, for video, packetizes) media encoded
  // elsewhere, e.g. encoded once and sent by many senders, or read from a file.
  bool encode = true;

  // Audio: the codec and, for Opus, its bit rate (the engine's defaults).
  AudioCodec audio_codec = AudioCodec::kOpus;
  int audio_bitrate_bps = 32000;
  int audio_max_bandwidth_hz = 20000;  // Opus: 4000 codes narrowband only
  // The rate of the PCM given to encode_audio()/audio_packet(); 0 is the
  // codec's own (sample_rate_hz()). Another rate is resampled to the codec's.
  int input_sample_rate_hz = 0;
  // RFC 4733 telephone-event payload type (dtmf_packet()); -1: none. Events
  // run on clock_rate_hz and carry `ssrc`.
  int telephone_event_payload_type = -1;

  // Video: the encoder's settings (the engine's defaults but the size).
  VideoCodec video_codec = VideoCodec::kVp8;
  int width = 320;
  int height = 240;
  int fps = 30;
  int video_bitrate_bps = 300'000;
  int keyframe_interval_s = 10;
  std::string h264_preset = "veryfast";
  size_t max_packets_per_frame = 256;  // of 1200 bytes at most

  // RTP: the first packet's fields. clock_rate_hz 0 is the payload format's
  // clock: 48000 for Opus, 8000 for G.711 and G.722 (RFC 3551), 90000 for video.
  uint8_t payload_type = 111;
  int clock_rate_hz = 0;
  uint32_t ssrc = 0;
  uint16_t first_sequence_number = 0;
  uint32_t first_timestamp = 0;
};

// The header fields the next packet gets. A caller may change them between
// packets: set the timestamp from its media clock, jump the sequence number,
// start a new SSRC.
struct RtpFields {
  uint8_t payload_type = 0;
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
};

// What one packet adds to, or changes in, the sender's header fields.
struct PacketOptions {
  bool marker = false;
  std::optional<uint8_t> payload_type;  // this packet only
  std::optional<uint32_t> ssrc;         // this packet only
  // Audio: the timestamp stays (e.g. RFC 4733 events of one digit) instead
  // of advancing by one frame.
  bool keep_timestamp = false;
  // RFC 6464 client-to-mixer audio level as RFC 8285 element `audio_level_ext_id`
  // (1..14); 0 sends none.
  uint8_t audio_level_ext_id = 0;
  bool voice_activity = false;
  uint8_t audio_level_dbov = 127;  // 0 loudest .. 127 silence
};

class PeerSender {
 public:
  // Errors name the field (kInvalidArgument), or the codec library refuses
  // the settings (kUnavailable).
  static StatusOr<std::unique_ptr<PeerSender>> create(const PeerSenderConfig& config);
  ~PeerSender();
  PeerSender(const PeerSender&) = delete;
  PeerSender& operator=(const PeerSender&) = delete;

  const PeerSenderConfig& config() const { return config_; }
  RtpFields& header() { return header_; }

  // ---- audio, 20 ms frames
  // The codec's rate: 48000 for Opus, 8000 for G.711, 16000 for G.722.
  int sample_rate_hz() const;
  // Samples per frame at sample_rate_hz(), and at the input rate.
  size_t frame_samples() const;
  size_t input_frame_samples() const;
  // RTP timestamp ticks per frame: 20 ms at the clock rate.
  uint32_t frame_ticks() const { return frame_ticks_; }
  // Encodes one frame (input_frame_samples() samples) into its payload;
  // empty on an encoder error or when the resampler gave a short frame.
  std::vector<uint8_t> encode_audio(std::span<const int16_t> pcm);
  // Encodes one frame and stamps it: the next audio packet (empty as above).
  std::vector<uint8_t> audio_packet(std::span<const int16_t> pcm, const PacketOptions& options = {});

  // ---- RFC 4733 events (telephone_event_payload_type set)
  // Queues digits "0-9 * #" and 'p' (a 500 ms pause); the error names the
  // offending character.
  Status play_dtmf(std::string_view digits);
  // True when no digit is queued or playing.
  bool dtmf_idle() const;
  // Call once per 20 ms frame: this frame's event packet, with the
  // timestamp and sequence number of header() (both then advance as for an
  // audio packet), or empty when the frame carries audio.
  std::vector<uint8_t> dtmf_packet();

  // ---- stamping, any kind
  // Writes header() (with `options`) and `payload` into `out`, allocating
  // nothing; returns the packet's size, 0 when `out` is too small. The
  // sequence number advances by one; an audio sender's timestamp by
  // frame_ticks() unless options.keep_timestamp, a video sender's not at all.
  size_t write_packet(std::span<const uint8_t> payload, std::span<uint8_t> out, const PacketOptions& options = {});
  std::vector<uint8_t> packet(std::span<const uint8_t> payload, const PacketOptions& options = {});

  // ---- video
  // The sender's own picture (width x height); draw into it before encoding.
  MutablePictureView picture();
  void fill_picture(uint8_t y, uint8_t u, uint8_t v);
  // Encodes picture(), or `picture` (any size the encoder was made for),
  // taken at `t_us` (non-decreasing); returns the frame (empty when the
  // encoder gives none). *keyframe tells whether it is one.
  std::vector<uint8_t> encode_video(int64_t t_us, bool* keyframe = nullptr);
  std::vector<uint8_t> encode_video(const PictureView& picture, int64_t t_us, bool* keyframe = nullptr);
  // Encodes as above and packetizes the frame with RTP timestamp t_us at
  // 90 kHz (VP8: RFC 7741, H.264: RFC 6184). The packets are valid until the
  // next call on this sender; none when the encoder gives no frame.
  std::span<const std::span<const uint8_t>> video_packets(int64_t t_us);
  std::span<const std::span<const uint8_t>> video_packets(const PictureView& picture, int64_t t_us);
  // Packetizes a frame encoded elsewhere with `rtp_timestamp`.
  std::span<const std::span<const uint8_t>> packetize_video(std::span<const uint8_t> frame, uint32_t rtp_timestamp);
  // The next frame is a keyframe (PLI/FIR).
  void request_keyframe();
  // A new encoder of this size and rate (a camera that switches resolution);
  // the picture is reallocated (contents undefined), the RTP stream goes on.
  Status reconfigure_video(int width, int height, int bitrate_bps);

 private:
  struct Impl;
  explicit PeerSender(const PeerSenderConfig& config);
  size_t encode_audio_frame(std::span<const int16_t> pcm);

  PeerSenderConfig config_;
  RtpFields header_;
  uint32_t frame_ticks_ = 0;
  std::unique_ptr<Impl> impl_;
};

struct PeerReceiverConfig {
  MediaKind kind = MediaKind::kAudio;
  AudioCodec audio_codec = AudioCodec::kOpus;
  VideoCodec video_codec = VideoCodec::kVp8;
  // Video: false assembles frames but makes no decoder (decode_video() fails).
  bool decode_video = true;
  size_t max_frame_bytes = 2 << 20;
};

// A video frame put together from its RTP packets.
struct ReceivedFrame {
  std::span<const uint8_t> data;  // VP8 frame, or H.264 Annex-B access unit
  uint32_t rtp_timestamp = 0;
  bool keyframe = false;
};

class PeerReceiver {
 public:
  // Largest decode_audio() output: 120 ms at 48 kHz.
  static constexpr size_t kMaxDecodedSamples = 5760;

  // Errors name the field (kInvalidArgument), or the codec library lacks
  // the decoder (kUnavailable).
  static StatusOr<std::unique_ptr<PeerReceiver>> create(const PeerReceiverConfig& config);
  ~PeerReceiver();
  PeerReceiver(const PeerReceiver&) = delete;
  PeerReceiver& operator=(const PeerReceiver&) = delete;

  const PeerReceiverConfig& config() const { return config_; }

  // ---- audio
  int sample_rate_hz() const;   // the codec's decoded rate
  size_t frame_samples() const;  // per 20 ms at that rate
  // Decodes one RTP payload into `pcm` (kMaxDecodedSamples always suffices);
  // returns the samples written, 0 on a decode error.
  size_t decode_audio(std::span<const uint8_t> payload, std::span<int16_t> pcm);

  // ---- video
  // One RTP packet, in sequence order. Returns the frame it completes (valid
  // until the next push), or nullptr. After a loss, frames are dropped until
  // a keyframe.
  const ReceivedFrame* push_video(std::span<const uint8_t> packet);
  // Decodes one frame; true and *picture (valid until the next decode) when
  // it gives a picture.
  bool decode_video(std::span<const uint8_t> frame, PictureView* picture);

 private:
  struct Impl;
  explicit PeerReceiver(const PeerReceiverConfig& config);

  PeerReceiverConfig config_;
  ReceivedFrame frame_;
  std::unique_ptr<Impl> impl_;
};

// SRTP (RFC 3711) with SDES keys (RFC 4568) for one peer: what it sends is
// protected with `send_key`, what it receives is checked and decrypted with
// `receive_key`. The two directions may be used by two threads.
class PeerSrtp {
 public:
  // Most bytes a protect adds to a packet.
  static constexpr size_t kMaxOverhead = 142;

  // Whether `key` ("inline:<base64>[|lifetime][|MKI:length]") is a valid key
  // of `suite`; the error names the part that is wrong.
  static Status check_key(SrtpSuite suite, std::string_view key);
  // Errors start with the key they are about ("send_key: ...").
  static StatusOr<std::unique_ptr<PeerSrtp>> create(SrtpSuite suite, std::string_view send_key,
                                                    std::string_view receive_key);
  ~PeerSrtp();
  PeerSrtp(const PeerSrtp&) = delete;
  PeerSrtp& operator=(const PeerSrtp&) = delete;

  // Protects an RTP packet in place (it grows by its tag); false when it
  // cannot be protected: then drop it.
  bool protect_rtp(std::vector<uint8_t>& packet);
  // Authenticates and decrypts in place (it shrinks); false when the packet
  // fails authentication, is a replay or is malformed: then drop it.
  bool unprotect_rtp(std::vector<uint8_t>& packet);

 private:
  struct Impl;
  explicit PeerSrtp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sipmix
