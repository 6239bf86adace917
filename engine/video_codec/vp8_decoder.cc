// VP8 decoder backend over libvpx. The decoded picture is copied into an
// I420Buffer we own, so the last good picture survives any later decode
// error, whatever libvpx does with its internal frame buffers.
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>

#include <cstring>

#include "video_codec/video_decoder.h"
#include "rtp_payload/vp8_payload.h"

namespace sipmix::video {
namespace {

// Copies only the rows that differ; returns whether any did. A still picture
// costs a compare instead of a copy, and tells the compositor it need not
// redraw the tile.
bool copy_plane_changes(const uint8_t* src, int src_stride, uint8_t* dst, int dst_stride, int width, int height) {
  bool changed = false;
  for (int y = 0; y < height; ++y) {
    uint8_t* d = dst + static_cast<ptrdiff_t>(y) * dst_stride;
    const uint8_t* s = src + static_cast<ptrdiff_t>(y) * src_stride;
    if (std::memcmp(d, s, static_cast<size_t>(width)) == 0) continue;
    std::memcpy(d, s, static_cast<size_t>(width));
    changed = true;
  }
  return changed;
}

class Vp8DecoderBackend final : public DecoderBackend {
 public:
  ~Vp8DecoderBackend() override {
    if (open_) vpx_codec_destroy(&ctx_);
  }

  bool open() {
    vpx_codec_dec_cfg_t cfg{};
    cfg.threads = 1;
    open_ = vpx_codec_dec_init(&ctx_, vpx_codec_vp8_dx(), &cfg, 0) == VPX_CODEC_OK;
    return open_;
  }

  Result decode(std::span<const uint8_t> frame, bool keyframe, I420View* out) override {
    if (frame.empty() || frame.size() > UINT32_MAX) return Result::kError;
    if (keyframe) {
      // A keyframe at a new size: start from a fresh decoder instance.
      const auto h = vp8::parse_frame_header(frame);
      if (!h) return Result::kError;
      if (stream_width_ != 0 && (h->width != stream_width_ || h->height != stream_height_)) {
        if (open_) vpx_codec_destroy(&ctx_);
        if (!open()) return Result::kError;
      }
      stream_width_ = h->width;
      stream_height_ = h->height;
    }
    if (!open_) return Result::kError;
    if (vpx_codec_decode(&ctx_, frame.data(), static_cast<unsigned>(frame.size()), nullptr, 0) != VPX_CODEC_OK)
      return Result::kError;
    int corrupted = 0;
    if (vpx_codec_control(&ctx_, VP8D_GET_FRAME_CORRUPTED, &corrupted) == VPX_CODEC_OK && corrupted)
      return Result::kError;
    vpx_codec_iter_t iter = nullptr;
    const vpx_image_t* img = vpx_codec_get_frame(&ctx_, &iter);
    if (!img) return Result::kNoFrame;
    if (img->fmt != VPX_IMG_FMT_I420 || img->d_w == 0 || img->d_h == 0) return Result::kError;
    const int w = static_cast<int>(img->d_w), h = static_cast<int>(img->d_h);
    bool fresh = false;
    if (buf_.width() != w || buf_.height() != h) {  // size change: configuration event
      buf_.reset(w, h);
      fresh = true;
    }
    I420MutableView d = buf_.mutable_view();
    bool changed = copy_plane_changes(img->planes[VPX_PLANE_Y], img->stride[VPX_PLANE_Y], d.y, d.stride_y, w, h);
    changed = copy_plane_changes(img->planes[VPX_PLANE_U], img->stride[VPX_PLANE_U], d.u, d.stride_u, (w + 1) / 2,
                                 (h + 1) / 2) || changed;
    changed = copy_plane_changes(img->planes[VPX_PLANE_V], img->stride[VPX_PLANE_V], d.v, d.stride_v, (w + 1) / 2,
                                 (h + 1) / 2) || changed;
    unchanged_ = !fresh && has_picture_ && !changed;
    has_picture_ = true;
    *out = buf_.view();
    return Result::kFrame;
  }

  bool unchanged_last() const override { return unchanged_; }

 private:
  vpx_codec_ctx_t ctx_{};
  bool open_ = false;
  bool has_picture_ = false;
  bool unchanged_ = false;
  int stream_width_ = 0, stream_height_ = 0;
  I420Buffer buf_;
};

}  // namespace

StatusOr<std::unique_ptr<DecoderBackend>> create_vp8_decoder_backend() {
  auto d = std::make_unique<Vp8DecoderBackend>();
  if (!d->open()) return unavailable("VP8 decoder: vpx_codec_dec_init failed");
  return std::unique_ptr<DecoderBackend>(std::move(d));
}

}  // namespace sipmix::video
