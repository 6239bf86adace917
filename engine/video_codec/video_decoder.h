// Video decoding for one received stream: VP8 through libvpx, H.264 through
// libavcodec. Output is always 8-bit I420; other decoder formats are converted
// with libswscale into a buffer allocated when the format or size changes.
// One decoder per stream, called from the session's tick thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "sipmix/status.h"
#include "base/i420.h"
#include "rtp_payload/video_format.h"

namespace sipmix::video {


struct VideoDecoderStats {
  uint64_t frames_in = 0;
  uint64_t frames_decoded = 0;
  uint64_t decode_errors = 0;           // rejected by the codec, or flagged corrupt
  uint64_t skipped_waiting_keyframe = 0;  // inter frames after an error, before a keyframe
  uint64_t resolution_changes = 0;
  uint64_t converted_frames = 0;        // went through libswscale
  uint64_t unchanged_frames = 0;        // decoded to the same pixels as the picture before
};

// Implemented per codec in vp8_decoder.cc / h264_decoder.cc.
class DecoderBackend {
 public:
  enum class Result { kFrame, kNoFrame, kError };
  virtual ~DecoderBackend() = default;
  // On kFrame sets *out. On any other result the view last returned stays valid.
  virtual Result decode(std::span<const uint8_t> frame, bool keyframe, I420View* out) = 0;
  // Drop reference state after an error.
  virtual void flush() {}
  virtual bool converted_last() const { return false; }
  // The last kFrame has exactly the pixels of the picture before it (a still
  // camera, a shared slide). False when the backend cannot tell.
  virtual bool unchanged_last() const { return false; }
};

class VideoDecoder {
 public:
  enum class Result {
    kFrame,    // frame() is a fresh decode
    kNoFrame,  // accepted, nothing to show yet
    kError,    // rejected; frame() still shows the last good picture; a keyframe is needed
    kSkipped,  // an inter frame while waiting for a keyframe; dropped
  };

  // Errors: kUnavailable when the codec library lacks the decoder.
  static StatusOr<std::unique_ptr<VideoDecoder>> create(VideoCodec codec);
  ~VideoDecoder();
  VideoDecoder(const VideoDecoder&) = delete;
  VideoDecoder& operator=(const VideoDecoder&) = delete;

  // Decodes one complete frame (as emitted by FrameAssembler).
  Result decode(std::span<const uint8_t> frame);

  // The last good picture, or an empty view before the first. It points into
  // decoder-owned memory and stays valid until the next decode() that
  // returns kFrame.
  I420View frame() const { return frame_; }
  VideoCodec codec() const { return codec_; }
  // The last kFrame's pixels equal the picture's before it: nothing to redraw.
  bool unchanged() const { return unchanged_; }
  // True from a decode error until a keyframe decodes.
  bool keyframe_needed() const { return waiting_keyframe_; }
  // Frames were not given to the decoder (the stream was not shown): its
  // reference state is stale, so it decodes nothing until a keyframe. The
  // last good picture stays.
  void wait_for_keyframe() { waiting_keyframe_ = true; }
  // True once per error: the caller raises one keyframe request (throttled by
  // KeyframeRequester).
  bool take_keyframe_request() {
    const bool r = request_;
    request_ = false;
    return r;
  }
  const VideoDecoderStats& stats() const { return stats_; }

 private:
  VideoDecoder(VideoCodec codec, std::unique_ptr<DecoderBackend> backend);

  VideoCodec codec_;
  std::unique_ptr<DecoderBackend> backend_;
  I420View frame_;
  bool waiting_keyframe_ = true;
  bool request_ = false;
  bool unchanged_ = false;
  VideoDecoderStats stats_;
};

// Backend factories (vp8_decoder.cc, h264_decoder.cc).
StatusOr<std::unique_ptr<DecoderBackend>> create_vp8_decoder_backend();
StatusOr<std::unique_ptr<DecoderBackend>> create_h264_decoder_backend();

}  // namespace sipmix::video
