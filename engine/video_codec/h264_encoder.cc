// H.264 encoder backend: libx264, called directly. Constrained Baseline
// (profile_idc 66, constraint_set1) level 3.1, so the SDP profile-level-id
// 42e01f describes it; tune zerolatency (no lookahead, no frame delay: each
// call returns its own frame), no B-frames, CBR-like VBV, long keyint without
// scenecut, SPS/PPS repeated before every IDR, Annex-B output, IDR on request.
//
// libx264 is used without libavcodec's wrapper so that each picture can carry
// x264's per-macroblock info: a macroblock the session did not redraw is
// flagged X264_MBINFO_CONSTANT, and x264 codes it as a skip without analysing
// it, as long as the previous frame is its reference and coded it at a
// quantiser no coarser than this frame's (x264's own condition). That is the
// H.264 counterpart of libvpx's active map.
#include <cstdint>  // x264.h needs the fixed-width types first
#include <string>

extern "C" {
#include <x264.h>
}

#include "base/aligned_buffer.h"
#include "video_codec/video_encoder.h"

namespace sipmix::video {
namespace {

class H264EncoderBackend final : public EncoderBackend {
 public:
  ~H264EncoderBackend() override {
    if (enc_) x264_encoder_close(enc_);
  }

  Status open(const VideoEncoderConfig& c) {
    x264_param_t p;
    if (x264_param_default_preset(&p, c.h264_preset.c_str(), "zerolatency") < 0)
      return unavailable("H.264 encoder: libx264 does not know the preset '" + c.h264_preset + "'");
    p.i_log_level = X264_LOG_NONE;
    p.i_csp = X264_CSP_I420;
    p.i_width = c.width;
    p.i_height = c.height;
    p.i_fps_num = static_cast<uint32_t>(c.fps);
    p.i_fps_den = 1;
    p.i_timebase_num = 1;
    p.i_timebase_den = static_cast<uint32_t>(c.fps);
    p.b_vfr_input = 0;  // rate control by frame count: skipped still frames are not seen
    p.i_threads = c.threads;
    p.i_level_idc = 31;
    p.i_bframe = 0;
    const int keyint = c.fps * c.keyframe_interval_s;
    p.i_keyint_max = keyint;
    p.i_keyint_min = keyint;
    p.i_scenecut_threshold = 0;
    p.b_repeat_headers = 1;  // SPS/PPS in-band before each IDR
    p.b_annexb = 1;
    p.rc.i_rc_method = X264_RC_ABR;
    p.rc.i_bitrate = c.bitrate_bps / 1000;
    p.rc.i_vbv_max_bitrate = c.bitrate_bps / 1000;
    p.rc.i_vbv_buffer_size = c.bitrate_bps / 1000;  // 1 s VBV: CBR-like without starving keyframes
    p.analyse.b_mb_info = 1;
    if (x264_param_apply_profile(&p, "baseline") < 0) return unavailable("H.264 encoder: libx264 refused profile baseline");
    enc_ = x264_encoder_open(&p);
    if (!enc_) return unavailable("H.264 encoder: libx264 refused the settings (h264_preset '" + c.h264_preset + "'?)");
    mb_info_.reset(static_cast<size_t>((c.width + 15) / 16) * static_cast<size_t>((c.height + 15) / 16));
    return Status::ok_status();
  }

  bool encode(const I420View& p, bool force_keyframe, const uint8_t* active_mbs, EncodedFrame* out) override {
    x264_picture_t in;
    x264_picture_init(&in);
    in.img.i_csp = X264_CSP_I420;
    in.img.i_plane = 3;
    in.img.plane[0] = const_cast<uint8_t*>(p.y);
    in.img.plane[1] = const_cast<uint8_t*>(p.u);
    in.img.plane[2] = const_cast<uint8_t*>(p.v);
    in.img.i_stride[0] = p.stride_y;
    in.img.i_stride[1] = p.stride_u;
    in.img.i_stride[2] = p.stride_v;
    in.i_pts = pts_++;
    in.i_type = force_keyframe ? X264_TYPE_IDR : X264_TYPE_AUTO;
    if (active_mbs && !force_keyframe) {
      // x264 keeps the pointer with the frame; zerolatency encodes the frame
      // within this call, so one buffer serves every frame.
      const size_t n = mb_info_.size();
      uint8_t* info = mb_info_.data();
      for (size_t i = 0; i < n; ++i) info[i] = active_mbs[i] ? 0 : X264_MBINFO_CONSTANT;
      in.prop.mb_info = info;
    }
    x264_nal_t* nals = nullptr;
    int n_nals = 0;
    x264_picture_t pic_out;
    const int size = x264_encoder_encode(enc_, &nals, &n_nals, &in, &pic_out);
    if (size < 0) return false;
    if (size == 0) return true;
    // The NALs of one call are contiguous in x264's buffer, each with its start code.
    out->data = {nals[0].p_payload, static_cast<size_t>(size)};
    out->keyframe = pic_out.b_keyframe != 0;
    return true;
  }

 private:
  x264_t* enc_ = nullptr;
  int64_t pts_ = 0;
  AlignedBuffer<uint8_t> mb_info_;
};

}  // namespace

StatusOr<std::unique_ptr<EncoderBackend>> create_h264_encoder_backend(const VideoEncoderConfig& config) {
  auto e = std::make_unique<H264EncoderBackend>();
  if (Status s = e->open(config); !s.ok()) return s;
  return std::unique_ptr<EncoderBackend>(std::move(e));
}

}  // namespace sipmix::video
