// Video encoding for a SIP leg's composed canvas: H.264 through libx264
// (Constrained Baseline, zerolatency) or VP8 through libvpx (realtime,
// CBR), with keyframes on request spaced >= 250 ms apart in media time. Told
// which macroblocks changed, it skips still frames and tells the codec which
// blocks need no coding (libvpx's active map; x264's X264_MBINFO_CONSTANT).
// One encoder per leg, called from that leg's tick thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sipmix/status.h"
#include "base/aligned_buffer.h"
#include "base/i420.h"
#include "video_codec/keyframe_policy.h"
#include "video_codec/video_decoder.h"

namespace sipmix::video {

struct VideoEncoderConfig {
  VideoCodec codec = VideoCodec::kH264;
  int width = 1280;
  int height = 720;
  int fps = 30;
  int bitrate_bps = 1'500'000;
  std::string h264_preset = "veryfast";  // an x264 preset name
  int vp8_cpu_used = -6;                 // libvpx realtime speed (-16..16; larger magnitude = faster)
  int keyframe_interval_s = 10;          // periodic keyframe; requests come on top
  int64_t min_keyframe_spacing_us = 250'000;
  int threads = 1;
  // Still canvases (encode() told that nothing changed): after `settle_frames`
  // more frames, so that the codec's quality on the new picture converges,
  // nothing is encoded or sent (RTP allows a lower frame rate), except one
  // frame every `still_repeat_interval_us` and any keyframe due. Inter frames
  // code only the macroblocks changed within the last settle_frames frames:
  // the others are skipped blocks without analysis (VP8: libvpx's active
  // map; H.264: x264 skips them when its previous frame coded them at a
  // quantiser no coarser than this one's). Off: every frame is a full encode.
  bool skip_unchanged = true;
  int settle_frames = 10;
  int64_t still_repeat_interval_us = 1'000'000;
};

// Validates ranges; the message names the field.
Status validate(const VideoEncoderConfig& config);

struct EncodedFrame {
  std::span<const uint8_t> data;  // H.264: Annex-B access unit; VP8: one frame. Valid until next encode().
  bool keyframe = false;
  int64_t timestamp_us = 0;
};

struct VideoEncoderStats {
  uint64_t frames_in = 0;
  uint64_t frames_out = 0;
  uint64_t keyframes = 0;
  uint64_t forced_keyframes = 0;
  uint64_t errors = 0;  // wrong input size, or the codec failed
  uint64_t bytes_out = 0;
  uint64_t frames_skipped = 0;   // still canvas: not encoded, nothing sent
  uint64_t still_repeats = 0;    // still canvas re-sent (still_repeat_interval_us)
  uint64_t partial_frames = 0;   // inter frames coded with a macroblock map
};

// Implemented per codec in h264_encoder.cc / vp8_encoder.cc.
class EncoderBackend {
 public:
  virtual ~EncoderBackend() = default;
  // Returns false on a codec error. out->data may be empty (nothing produced).
  // `active_mbs`: one byte per 16x16 macroblock, row-major, nonzero = code
  // it; null = all. Backends without such a map ignore it.
  virtual bool encode(const I420View& picture, bool force_keyframe, const uint8_t* active_mbs,
                      EncodedFrame* out) = 0;
};
StatusOr<std::unique_ptr<EncoderBackend>> create_h264_encoder_backend(const VideoEncoderConfig& config);
StatusOr<std::unique_ptr<EncoderBackend>> create_vp8_encoder_backend(const VideoEncoderConfig& config);

class VideoEncoder {
 public:
  // Errors: kInvalidArgument naming the field; kUnavailable when the codec
  // library (e.g. libx264 in libavcodec) is missing or refuses the settings.
  static StatusOr<std::unique_ptr<VideoEncoder>> create(const VideoEncoderConfig& config);
  ~VideoEncoder();
  VideoEncoder(const VideoEncoder&) = delete;
  VideoEncoder& operator=(const VideoEncoder&) = delete;

  // New size, rate or codec. The next frame is a keyframe. On error the
  // encoder keeps its old configuration.
  Status reconfigure(const VideoEncoderConfig& config);

  // PLI/FIR or a layout change: the next frame is a keyframe, unless the last
  // keyframe is under min_keyframe_spacing_us old; then it is deferred.
  void request_keyframe() { keyframes_.request(); }

  // Encodes one picture of exactly the configured size, taken at media time
  // `timestamp_us` (non-decreasing). Returns false on error (counted).
  // `changed_mbs` (mb_cols() x mb_rows() bytes, row-major, nonzero = changed
  // since the previous call) lets a still picture be skipped (true returned,
  // out->data empty; see VideoEncoderConfig::skip_unchanged); null: all changed.
  bool encode(const I420View& picture, int64_t timestamp_us, EncodedFrame* out,
              const uint8_t* changed_mbs = nullptr);
  int mb_cols() const { return (config_.width + 15) / 16; }
  int mb_rows() const { return (config_.height + 15) / 16; }

  const VideoEncoderConfig& config() const { return config_; }
  const VideoEncoderStats& stats() const { return stats_; }
  bool keyframe_pending() const { return keyframes_.pending(); }

 private:
  VideoEncoder(const VideoEncoderConfig& config, std::unique_ptr<EncoderBackend> backend);
  void reset_still_state();
  // Ages the macroblocks by this frame's changes and fills active_; true when any changed.
  bool age_macroblocks(const uint8_t* changed_mbs);

  VideoEncoderConfig config_;
  std::unique_ptr<EncoderBackend> backend_;
  KeyframeScheduler keyframes_;
  VideoEncoderStats stats_;
  AlignedBuffer<uint8_t> mb_age_;   // frames since each macroblock last changed (saturating)
  AlignedBuffer<uint8_t> active_;   // this frame's active map for the backend
  int frames_since_change_ = 0;
  bool has_sent_ = false;
  int64_t last_sent_us_ = 0;
};

}  // namespace sipmix::video
