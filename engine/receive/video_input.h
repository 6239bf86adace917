// The receive side of one participant's video: jitter buffer -> frame
// assembly -> decode, holding the last good picture for the compositor, and
// throttled keyframe requests back to the sender. insert() runs on the
// stream's network thread, everything else on the session's tick thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "jitter/jitter_buffer.h"
#include "base/stage_timer.h"
#include "sipmix/status.h"
#include "rtp_payload/frame_assembler.h"
#include "video_codec/keyframe_policy.h"
#include "video_codec/video_decoder.h"

namespace sipmix::session {

class VideoInput {
 public:
  static StatusOr<std::unique_ptr<VideoInput>> create(video::VideoCodec codec, uint8_t payload_type,
                                                      int max_delay_ms);

  InsertResult insert(std::span<const uint8_t> packet, int64_t arrival_us) { return jitter_->insert(packet, arrival_us); }

  // Tick thread: assembles and decodes everything due. Returns true when a
  // keyframe request (PLI) should go to the sender now. With a `timer`, the
  // decoder's time moves from Stage::kVideoIn to Stage::kVideoDecode.
  // With `decode` false (the stream is on no canvas) the frames are still
  // received and assembled, but not decoded. When decoding resumes after
  // frames were left out, the decoder waits for a keyframe, which is
  // requested at once (throttled); frame() keeps the last good picture.
  bool process(int64_t now_us, StageTimer* timer = nullptr, bool decode = true);

  // The last good picture (empty before the first) and a counter that
  // changes with every decode that changed its pixels.
  video::I420View frame() const { return decoder_->frame(); }
  uint64_t generation() const { return generation_; }
  // Media time of the last decoded frame; -1 before the first.
  int64_t last_frame_us() const { return last_frame_us_; }
  // Time (process()'s now_us) a packet last came out of the jitter buffer,
  // decoded or not; -1 before the first.
  int64_t last_packet_us() const { return last_packet_us_; }

  JitterStats jitter_stats() const { return jitter_->stats(); }
  const video::VideoDecoderStats& decoder_stats() const { return decoder_->stats(); }
  const video::FrameAssemblerStats& assembler_stats() const { return assembler_.stats(); }
  // The sender's SSRC, learned from its packets (0 before the first).
  uint32_t ssrc() const { return ssrc_; }
  // The picture size the stream last gave: a keyframe as assembled, decoded
  // or not (VP8 frame header, H.264 SPS), or a decoded picture. 0 x 0
  // before either.
  int picture_width() const { return picture_width_; }
  int picture_height() const { return picture_height_; }
  uint64_t keyframe_requests_sent() const { return requester_.requests_sent(); }
  // Frames assembled but not decoded while the stream was not shown.
  uint64_t frames_not_decoded() const { return frames_not_decoded_; }
  // Times decoding resumed and a keyframe was needed, and how long the
  // last of those took from the resume to the first decoded picture (-1:
  // none yet, or still waiting).
  uint64_t resumes() const { return resumes_; }
  int64_t last_resume_latency_us() const { return last_resume_latency_us_; }

 private:
  VideoInput(uint8_t payload_type, std::unique_ptr<JitterBuffer> jitter, std::unique_ptr<video::VideoDecoder> decoder,
             video::VideoCodec codec);

  uint8_t payload_type_;
  std::unique_ptr<JitterBuffer> jitter_;
  std::unique_ptr<video::VideoDecoder> decoder_;
  video::FrameAssembler assembler_;
  video::KeyframeRequester requester_;
  uint64_t generation_ = 0;
  int64_t last_frame_us_ = -1;
  int64_t last_packet_us_ = -1;
  uint32_t ssrc_ = 0;
  int picture_width_ = 0, picture_height_ = 0;
  bool decoding_ = true;
  bool skipped_since_decoding_ = false;  // frames left out since decoding stopped
  bool resume_pending_ = false;
  int64_t resume_us_ = 0;
  int64_t last_resume_latency_us_ = -1;
  uint64_t resumes_ = 0;
  uint64_t frames_not_decoded_ = 0;
};

}  // namespace sipmix::session
