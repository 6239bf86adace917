#include "rtp_payload/video_format.h"

#include "rtp_payload/h264_depacketizer.h"
#include "rtp_payload/vp8_payload.h"

namespace sipmix::video {

const char* codec_name(VideoCodec codec) { return codec == VideoCodec::kVp8 ? "VP8" : "H264"; }

bool is_keyframe(VideoCodec codec, std::span<const uint8_t> frame) {
  if (codec == VideoCodec::kVp8) {
    const auto h = vp8::parse_frame_header(frame);
    return h && h->keyframe;
  }
  return h264::annexb_has_idr(frame);
}

}  // namespace sipmix::video
