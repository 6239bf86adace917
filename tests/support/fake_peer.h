// FakePeer: the one fake RTP sender of the tests, fuzz targets, benchmarks
// and tools. It encodes audio with the engine's codecs (20 ms frames) or
// video with its encoders, packetizes video (VP8 RFC 7741, H.264 RFC 6184),
// and stamps RTP headers: SSRC, sequence number, timestamp, marker, and an
// optional RFC 6464 audio level. One peer per stream, used from one thread.
// This header names only sipmix/ types and its own; the engine's internals
// stay inside fake_peer.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sipmix/session.h"
#include "sipmix/status.h"

namespace sipmix::testing {

struct FakePeerConfig {
  MediaKind kind = MediaKind::kAudio;
  // false: the peer only stamps (and, for video, packetizes) media encoded
  // elsewhere, e.g. encoded once and sent by many peers.
  bool encode = true;

  // Audio: the codec and, for Opus, its bit rate (the engine's defaults).
  AudioCodec audio_codec = AudioCodec::kOpus;
  int audio_bitrate_bps = 32000;
  int audio_max_bandwidth_hz = 20000;  // Opus: 4000 codes narrowband only

  // Video: the encoder's settings (the engine's defaults but the size).
  VideoCodec video_codec = VideoCodec::kVp8;
  int width = 320;
  int height = 240;
  int fps = 30;
  int video_bitrate_bps = 300'000;
  int keyframe_interval_s = 10;
  std::string h264_preset = "veryfast";
  size_t max_packets_per_frame = 256;  // the packetizer's list (1200-byte packets)

  // RTP: the first packet's fields. clock_rate_hz 0 is the payload format's
  // clock: 48000 for Opus, 8000 for G.711 and G.722 (RFC 3551), 90000 for video.
  uint8_t payload_type = 111;
  int clock_rate_hz = 0;
  uint32_t ssrc = 0;
  uint16_t first_sequence_number = 0;
  uint32_t first_timestamp = 0;
};

// The header fields the next packet gets. A test may change them between
// packets: jump the sequence number, start a new SSRC.
struct RtpFields {
  uint8_t payload_type = 0;
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
};

// What one packet adds to, or changes in, the peer's header fields.
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

// The peer's own picture (video peers), I420; draw into it before encoding.
struct PeerPicture {
  uint8_t* y = nullptr;
  uint8_t* u = nullptr;
  uint8_t* v = nullptr;
  int stride_y = 0, stride_u = 0, stride_v = 0;
  int width = 0, height = 0;  // luma; chroma is (width + 1) / 2 by (height + 1) / 2
};

class FakePeer {
 public:
  // Errors name the field (kInvalidArgument), or the codec library refuses
  // the settings (kUnavailable).
  static StatusOr<std::unique_ptr<FakePeer>> create(const FakePeerConfig& config);
  ~FakePeer();
  FakePeer(const FakePeer&) = delete;
  FakePeer& operator=(const FakePeer&) = delete;

  const FakePeerConfig& config() const { return config_; }
  RtpFields& header() { return header_; }

  // ---- audio
  // Samples per 20 ms frame at sample_rate_hz() (the codec's rate: 48000 for
  // Opus, 8000 for G.711, 16000 for G.722).
  int sample_rate_hz() const;
  size_t frame_samples() const;
  // RTP timestamp ticks per frame: 20 ms at the clock rate.
  uint32_t frame_ticks() const { return frame_ticks_; }
  // Encodes one frame (frame_samples() samples) into its payload; empty on
  // an encoder error.
  std::vector<uint8_t> encode_audio(std::span<const int16_t> pcm);
  // Encodes one frame and stamps it: the next audio packet.
  std::vector<uint8_t> audio_packet(std::span<const int16_t> pcm, const PacketOptions& options = {});

  // ---- stamping, any kind
  // Writes header() (with `options`) and `payload` into `out`, allocating
  // nothing; returns the packet's size, 0 when `out` is too small. The
  // sequence number advances by one; an audio peer's timestamp by
  // frame_ticks() unless options.keep_timestamp, a video peer's not at all.
  size_t write_packet(std::span<const uint8_t> payload, std::span<uint8_t> out, const PacketOptions& options = {});
  std::vector<uint8_t> packet(std::span<const uint8_t> payload, const PacketOptions& options = {});

  // ---- video
  PeerPicture picture();
  void fill_picture(uint8_t y, uint8_t u, uint8_t v);
  // Encodes picture() taken at `t_us` (non-decreasing); returns the frame
  // (empty when the encoder gives none). *keyframe tells whether it is one.
  std::vector<uint8_t> encode_video(int64_t t_us, bool* keyframe = nullptr);
  // Encodes picture() taken at `t_us` and packetizes it with RTP timestamp
  // t_us at 90 kHz. The packets are valid until the next call on this peer;
  // none when the encoder gives no frame.
  std::span<const std::span<const uint8_t>> video_packets(int64_t t_us);
  // Packetizes a frame encoded elsewhere with `rtp_timestamp`.
  std::span<const std::span<const uint8_t>> packetize_video(std::span<const uint8_t> frame, uint32_t rtp_timestamp);
  // The next frame is a keyframe (PLI/FIR).
  void request_keyframe();
  // A new encoder of this size and rate (a camera that switches resolution);
  // the picture is reallocated (contents undefined), the RTP stream goes on.
  Status reconfigure_video(int width, int height, int bitrate_bps);

 private:
  struct Impl;
  explicit FakePeer(const FakePeerConfig& config);

  FakePeerConfig config_;
  RtpFields header_;
  uint32_t frame_ticks_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sipmix::testing
