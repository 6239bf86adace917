#include "video_codec/video_encoder.h"

#include <algorithm>

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
  if (c.settle_frames < 0 || c.settle_frames > 250) return invalid_argument("video encoder: settle_frames must be in 0..250");
  if (c.still_repeat_interval_us < 0)
    return invalid_argument("video encoder: still_repeat_interval_us must be >= 0");
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
    : config_(config), backend_(std::move(backend)), keyframes_(config.min_keyframe_spacing_us) {
  reset_still_state();
}

void VideoEncoder::reset_still_state() {
  const size_t n = static_cast<size_t>(mb_cols()) * static_cast<size_t>(mb_rows());
  mb_age_.reset(n);  // age 0: every block counts as just changed
  active_.reset(n);
  frames_since_change_ = 0;
  has_sent_ = false;
}

bool VideoEncoder::age_macroblocks(const uint8_t* changed) {
  const size_t n = mb_age_.size();
  uint8_t* age = mb_age_.data();
  uint8_t* active = active_.data();
  const int settle = config_.settle_frames;
  bool any = false;
  for (size_t i = 0; i < n; ++i) {
    if (changed[i]) {
      age[i] = 0;
      any = true;
    } else if (age[i] < 255) {
      ++age[i];
    }
    active[i] = age[i] <= settle;
  }
  return any;
}

VideoEncoder::~VideoEncoder() = default;

Status VideoEncoder::reconfigure(const VideoEncoderConfig& config) {
  auto b = make_backend(config);
  if (!b.ok()) return b.status();
  backend_ = std::move(b).value();
  config_ = config;
  keyframes_ = KeyframeScheduler(config.min_keyframe_spacing_us);  // a fresh encoder starts with a keyframe
  reset_still_state();
  return Status::ok_status();
}

bool VideoEncoder::encode(const I420View& picture, int64_t timestamp_us, EncodedFrame* out,
                          const uint8_t* changed_mbs) {
  ++stats_.frames_in;
  *out = {};
  if (picture.empty() || picture.width != config_.width || picture.height != config_.height) {
    ++stats_.errors;
    return false;
  }
  const bool force = keyframes_.should_force(timestamp_us);
  const bool track = config_.skip_unchanged && changed_mbs;
  const uint8_t* active = nullptr;
  if (track) {
    frames_since_change_ = age_macroblocks(changed_mbs) ? 0 : std::min(frames_since_change_ + 1, 1 << 20);
    // A keyframe codes every block; so does the first frame.
    if (!force && has_sent_) {
      if (frames_since_change_ > config_.settle_frames) {
        if (timestamp_us - last_sent_us_ < config_.still_repeat_interval_us) {
          ++stats_.frames_skipped;
          return true;
        }
        ++stats_.still_repeats;
      }
      active = active_.data();
      ++stats_.partial_frames;
    }
  } else {
    frames_since_change_ = 0;
  }
  if (!backend_->encode(picture, force, active, out)) {
    ++stats_.errors;
    return false;
  }
  out->timestamp_us = timestamp_us;
  if (out->data.empty()) return true;
  has_sent_ = true;
  last_sent_us_ = timestamp_us;
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
