// VP8 encoder backend over libvpx: one pass CBR, realtime deadline, error
// resilient, no lag, no frame dropping, one token partition (RFC 7741
// packetization keeps partition 0 only). Keyframes on request via
// VPX_EFLAG_FORCE_KF. The input planes are wrapped, not copied. An active map
// (VP8E_SET_ACTIVEMAP) codes only the changed macroblocks; the others are
// coded as skipped, copied from the reference frame, at almost no cost.
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include <cstring>
#include <string>

#include "video_codec/video_encoder.h"

namespace sipmix::video {
namespace {

class Vp8EncoderBackend final : public EncoderBackend {
 public:
  ~Vp8EncoderBackend() override {
    if (open_) vpx_codec_destroy(&ctx_);
  }

  Status open(const VideoEncoderConfig& c) {
    vpx_codec_enc_cfg_t cfg;
    if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK)
      return unavailable("VP8 encoder: libvpx has no VP8 encoder");
    cfg.g_w = static_cast<unsigned>(c.width);
    cfg.g_h = static_cast<unsigned>(c.height);
    cfg.g_timebase = {1, c.fps};
    cfg.g_threads = static_cast<unsigned>(c.threads);
    cfg.g_pass = VPX_RC_ONE_PASS;
    cfg.g_lag_in_frames = 0;
    cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
    cfg.rc_end_usage = VPX_CBR;
    cfg.rc_target_bitrate = static_cast<unsigned>(c.bitrate_bps / 1000);
    cfg.rc_dropframe_thresh = 0;
    cfg.rc_resize_allowed = 0;
    cfg.rc_min_quantizer = 2;
    cfg.rc_max_quantizer = 56;
    cfg.rc_undershoot_pct = 100;
    cfg.rc_overshoot_pct = 15;
    cfg.rc_buf_initial_sz = 500;
    cfg.rc_buf_optimal_sz = 600;
    cfg.rc_buf_sz = 1000;
    cfg.kf_mode = VPX_KF_AUTO;
    cfg.kf_min_dist = 0;
    cfg.kf_max_dist = static_cast<unsigned>(c.fps * c.keyframe_interval_s);
    if (vpx_codec_enc_init(&ctx_, vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK)
      return unavailable(std::string("VP8 encoder: libvpx refused the settings: ") + vpx_codec_error_detail(&ctx_));
    open_ = true;
    vpx_codec_control(&ctx_, VP8E_SET_CPUUSED, c.vp8_cpu_used);
    vpx_codec_control(&ctx_, VP8E_SET_NOISE_SENSITIVITY, 0);
    vpx_codec_control(&ctx_, VP8E_SET_STATIC_THRESHOLD, 1);
    vpx_codec_control(&ctx_, VP8E_SET_TOKEN_PARTITIONS, static_cast<int>(VP8_ONE_TOKENPARTITION));
    // Cap a keyframe at ~9 average frames so it does not flood the VBV.
    vpx_codec_control(&ctx_, VP8E_SET_MAX_INTRA_BITRATE_PCT, 900u);
    out_.reset(static_cast<size_t>(c.width) * c.height * 2 + 4096);
    width_ = c.width;
    height_ = c.height;
    return Status::ok_status();
  }

  bool encode(const I420View& p, bool force_keyframe, const uint8_t* active_mbs, EncodedFrame* out) override {
    // Set (or cleared) every frame: libvpx keeps the last map.
    if (active_mbs || map_set_) {
      vpx_active_map_t map{const_cast<unsigned char*>(active_mbs), static_cast<unsigned>((height_ + 15) / 16),
                           static_cast<unsigned>((width_ + 15) / 16)};
      if (vpx_codec_control(&ctx_, VP8E_SET_ACTIVEMAP, &map) != VPX_CODEC_OK) return false;
      map_set_ = active_mbs != nullptr;
    }
    vpx_image_t img;
    if (!vpx_img_wrap(&img, VPX_IMG_FMT_I420, static_cast<unsigned>(width_), static_cast<unsigned>(height_), 1,
                      const_cast<uint8_t*>(p.y)))
      return false;
    img.planes[VPX_PLANE_Y] = const_cast<uint8_t*>(p.y);
    img.planes[VPX_PLANE_U] = const_cast<uint8_t*>(p.u);
    img.planes[VPX_PLANE_V] = const_cast<uint8_t*>(p.v);
    img.stride[VPX_PLANE_Y] = p.stride_y;
    img.stride[VPX_PLANE_U] = p.stride_u;
    img.stride[VPX_PLANE_V] = p.stride_v;
    const vpx_enc_frame_flags_t flags = force_keyframe ? VPX_EFLAG_FORCE_KF : 0;
    if (vpx_codec_encode(&ctx_, &img, pts_, 1, flags, VPX_DL_REALTIME) != VPX_CODEC_OK) return false;
    ++pts_;
    size_t size = 0;
    bool key = false;
    vpx_codec_iter_t iter = nullptr;
    while (const vpx_codec_cx_pkt_t* pkt = vpx_codec_get_cx_data(&ctx_, &iter)) {
      if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
      if (pkt->data.frame.sz > out_.size() - size) return false;
      std::memcpy(out_.data() + size, pkt->data.frame.buf, pkt->data.frame.sz);
      size += pkt->data.frame.sz;
      key = key || (pkt->data.frame.flags & VPX_FRAME_IS_KEY);
    }
    if (size > 0) {
      out->data = {out_.data(), size};
      out->keyframe = key;
    }
    return true;
  }

 private:
  vpx_codec_ctx_t ctx_{};
  bool open_ = false;
  bool map_set_ = false;
  int width_ = 0, height_ = 0;
  vpx_codec_pts_t pts_ = 0;
  AlignedBuffer<uint8_t> out_;
};

}  // namespace

StatusOr<std::unique_ptr<EncoderBackend>> create_vp8_encoder_backend(const VideoEncoderConfig& config) {
  auto e = std::make_unique<Vp8EncoderBackend>();
  if (Status s = e->open(config); !s.ok()) return s;
  return std::unique_ptr<EncoderBackend>(std::move(e));
}

}  // namespace sipmix::video
