// Frame assembly for one received video stream (VP8 or H.264 RTP). Packets
// arrive in sequence order from the jitter buffer, with gaps either signalled
// (on_loss) or seen in the sequence numbers. A frame is emitted only when its
// timestamp's packets are contiguous from a codec-level frame start up to the
// marker. After any loss, frames are dropped until a keyframe arrives and a
// keyframe request is raised. One per stream, called from the tick thread
// only. The frame buffer is allocated once at construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/aligned_buffer.h"
#include "rtp/rtp_packet.h"
#include "rtp_payload/h264_depacketizer.h"
#include "rtp_payload/video_format.h"

namespace sipmix::video {

inline constexpr size_t kDefaultMaxFrameBytes = 2 << 20;

struct AssembledFrame {
  std::span<const uint8_t> data;  // VP8 frame, or H.264 Annex-B access unit. Valid until the next push.
  uint32_t rtp_timestamp = 0;
  uint16_t first_sequence_number = 0;
  uint16_t last_sequence_number = 0;
  bool keyframe = false;
  // Keyframes only, else 0: VP8 from the frame header, H.264 from the last
  // SPS (in this access unit or before it) that gave a size.
  int width = 0;
  int height = 0;
  int picture_id = -1;  // VP8 PictureID when present
};

struct FrameAssemblerStats {
  uint64_t packets = 0;
  uint64_t duplicate_or_old = 0;      // sequence number not newer than the last one
  uint64_t lost_packets = 0;          // gaps seen or signalled
  uint64_t malformed_packets = 0;     // payload failed to parse
  uint64_t unsupported_packets = 0;   // H.264 STAP-B/MTAP/FU-B
  uint64_t frames_emitted = 0;
  uint64_t keyframes_emitted = 0;
  uint64_t frames_incomplete = 0;     // gap, missing start or marker, or malformed packet
  uint64_t frames_oversize = 0;       // larger than the frame buffer
  uint64_t frames_waiting_keyframe = 0;  // complete, but dropped while waiting for a keyframe
  uint64_t keyframe_requests = 0;     // times a request was raised (before throttling)
  uint64_t keyframes_broken = 0;      // a keyframe's start arrived, the whole of it did not
};

class FrameAssembler {
 public:
  explicit FrameAssembler(VideoCodec codec, size_t max_frame_bytes = kDefaultMaxFrameBytes);

  // One RTP packet in sequence order. Returns the frame this packet
  // completed, or nullptr.
  const AssembledFrame* push(uint16_t sequence_number, uint32_t rtp_timestamp, bool marker,
                             std::span<const uint8_t> payload);
  const AssembledFrame* push(const rtp::RtpPacketView& p) {
    return push(p.sequence_number, p.timestamp, p.marker, p.payload);
  }
  // The jitter buffer gave up on `count` packets; the next packet pushed is
  // expected `count` sequence numbers further on.
  void on_loss(int count);
  // SSRC change or a large jump: forget everything and wait for a keyframe.
  void reset();

  // True from a loss until a keyframe is emitted.
  bool waiting_for_keyframe() const { return waiting_keyframe_; }
  // True once per raised need; the caller passes it to its KeyframeRequester.
  bool take_keyframe_request() {
    const bool r = request_;
    request_ = false;
    return r;
  }
  // True once after a keyframe started but could not be emitted (a packet of
  // it was lost): the sender answered a request and the answer was damaged,
  // so asking again soon is not a flood (KeyframeRequester::on_broken_keyframe).
  bool take_broken_keyframe() {
    const bool r = broken_keyframe_;
    broken_keyframe_ = false;
    return r;
  }
  const FrameAssemblerStats& stats() const { return stats_; }
  VideoCodec codec() const { return codec_; }

 private:
  void note_loss();
  void drop_current();
  void raise_request();
  void note_if_broken_keyframe();
  bool start_frame(uint32_t ts, uint16_t seq, std::span<const uint8_t> payload);
  bool append(std::span<const uint8_t> payload);
  const AssembledFrame* finish(uint16_t seq);

  VideoCodec codec_;
  size_t capacity_;
  AlignedBuffer<uint8_t> buffer_;
  h264::Depacketizer h264_;
  bool h264_parameter_sets_seen_ = false;
  int h264_sps_width_ = 0, h264_sps_height_ = 0;  // the last SPS that gave a size

  bool has_last_seq_ = false;
  uint16_t last_seq_ = 0;
  bool active_ = false;   // collecting a frame
  bool corrupt_ = false;  // ... that can no longer be emitted
  size_t size_ = 0;
  AssembledFrame frame_;
  bool waiting_keyframe_ = true;
  bool request_ = false;
  bool broken_keyframe_ = false;
  FrameAssemblerStats stats_;
};

}  // namespace sipmix::video
