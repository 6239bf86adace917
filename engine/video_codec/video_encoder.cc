#include "video_codec/video_encoder.h"

namespace sipmix::video {

Status validate(const VideoEncoderConfig& c) {
  if (c.width < 16 || c.width > 4096 || (c.width & 1))
    return invalid_argument("video encoder: width must be even and in 16..4096");
  if (c.height < 16 || c.height > 4096 || (c.height & 1))
    return invalid_argument("video encoder: height must be even and in 16..4096");
  if (c.fps < 1 || c.fps > 120) return invalid_argument("video encoder: fps must be in 1..120");
  if (c.bitrate_bps < 50'000 || c.bitrate_bps > 50'000'000)
    return invalid_argument("video encoder: bitrate_bps must be in 50000..50000000");
  if (c.keyframe_interval_s < 1 || c.keyframe_interval_s > 3600)
    return invalid_argument("video encoder: keyframe_interval_s must be in 1..3600");
  if (c.min_keyframe_spacing_us < 0) return invalid_argument("video encoder: min_keyframe_spacing_us must be >= 0");
  if (c.threads < 1 || c.threads > 16) return invalid_argument("video encoder: threads must be in 1..16");
  if (c.codec == VideoCodec::kH264 && c.h264_preset.empty())
    return invalid_argument("video encoder: h264_preset must name an x264 preset");
  if (c.codec == VideoCodec::kVp8 && (c.vp8_cpu_used < -16 || c.vp8_cpu_used > 16))
    return invalid_argument("video encoder: vp8_cpu_used must be in -16..16");
  return Status::ok_status();
}

namespace {
StatusOr<std::unique_ptr<EncoderBackend>> make_backend(const VideoEncoderConfig& c) {
  if (Status s = validate(c); !s.ok()) return s;
  return c.codec == VideoCodec::kH264 ? create_h264_encoder_backend(c) : create_vp8_encoder_backend(c);
}
}  // namespace

StatusOr<std::unique_ptr<VideoEncoder>> VideoEncoder::create(const VideoEncoderConfig& config) {
  auto b = make_backend(config);
  if (!b.ok()) return b.status();
  return std::unique_ptr<VideoEncoder>(new VideoEncoder(config, std::move(b).value()));
}

VideoEncoder::VideoEncoder(const VideoEncoderConfig& config, std::unique_ptr<EncoderBackend> backend)
    : config_(config), backend_(std::move(backend)), keyframes_(config.min_keyframe_spacing_us) {}

VideoEncoder::~VideoEncoder() = default;

Status VideoEncoder::reconfigure(const VideoEncoderConfig& config) {
  auto b = make_backend(config);
  if (!b.ok()) return b.status();
  backend_ = std::move(b).value();
  config_ = config;
  keyframes_ = KeyframeScheduler(config.min_keyframe_spacing_us);  // a fresh encoder starts with a keyframe
  return Status::ok_status();
}

bool VideoEncoder::encode(const I420View& picture, int64_t timestamp_us, EncodedFrame* out) {
  ++stats_.frames_in;
  *out = {};
  if (picture.empty() || picture.width != config_.width || picture.height != config_.height) {
    ++stats_.errors;
    return false;
  }
  const bool force = keyframes_.should_force(timestamp_us);
  if (!backend_->encode(picture, force, out)) {
    ++stats_.errors;
    return false;
  }
  out->timestamp_us = timestamp_us;
  if (out->data.empty()) return true;
  ++stats_.frames_out;
  stats_.bytes_out += out->data.size();
  if (out->keyframe) {
    ++stats_.keyframes;
    if (force) ++stats_.forced_keyframes;
    keyframes_.on_keyframe(timestamp_us);
  }
  return true;
}

}  // namespace sipmix::video
