#include "video_codec/video_decoder.h"

namespace sipmix::video {

StatusOr<std::unique_ptr<VideoDecoder>> VideoDecoder::create(VideoCodec codec) {
  auto backend = codec == VideoCodec::kVp8 ? create_vp8_decoder_backend() : create_h264_decoder_backend();
  if (!backend.ok()) return backend.status();
  return std::unique_ptr<VideoDecoder>(new VideoDecoder(codec, std::move(backend).value()));
}

VideoDecoder::VideoDecoder(VideoCodec codec, std::unique_ptr<DecoderBackend> backend)
    : codec_(codec), backend_(std::move(backend)) {}

VideoDecoder::~VideoDecoder() = default;

VideoDecoder::Result VideoDecoder::decode(std::span<const uint8_t> frame) {
  ++stats_.frames_in;
  const bool key = is_keyframe(codec_, frame);
  if (waiting_keyframe_ && !key) {
    ++stats_.skipped_waiting_keyframe;
    return Result::kSkipped;
  }
  I420View out;
  switch (backend_->decode(frame, key, &out)) {
    case DecoderBackend::Result::kFrame:
      if (!frame_.empty() && (out.width != frame_.width || out.height != frame_.height))
        ++stats_.resolution_changes;
      if (backend_->converted_last()) ++stats_.converted_frames;
      unchanged_ = !frame_.empty() && out.width == frame_.width && out.height == frame_.height &&
                   backend_->unchanged_last();
      if (unchanged_) ++stats_.unchanged_frames;
      frame_ = out;
      ++stats_.frames_decoded;
      if (key) waiting_keyframe_ = false;
      return Result::kFrame;
    case DecoderBackend::Result::kNoFrame:
      if (key) waiting_keyframe_ = false;
      return Result::kNoFrame;
    case DecoderBackend::Result::kError:
      break;
  }
  ++stats_.decode_errors;
  backend_->flush();
  waiting_keyframe_ = true;
  request_ = true;
  return Result::kError;
}

}  // namespace sipmix::video
