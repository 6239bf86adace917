// H.264 decoder backend over libavcodec: one thread, low delay, corrupt
// pictures never output. A yuv420p picture is shown in place (we hold a
// reference to it); any other format is converted by libswscale into an
// I420Buffer allocated when the source format or size changes.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <cstring>
#include <string>

#include "video_codec/video_decoder.h"

namespace sipmix::video {
namespace {

bool plane_equal(const uint8_t* a, int a_stride, const uint8_t* b, int b_stride, int width, int height) {
  for (int y = 0; y < height; ++y)
    if (std::memcmp(a + static_cast<ptrdiff_t>(y) * a_stride, b + static_cast<ptrdiff_t>(y) * b_stride,
                    static_cast<size_t>(width)) != 0)
      return false;
  return true;
}

// Same size and pixels (8-bit 4:2:0).
bool same_picture(const AVFrame* a, const AVFrame* b) {
  if (!a->data[0] || !b->data[0] || a->width != b->width || a->height != b->height || a->format != b->format)
    return false;
  const int w = a->width, h = a->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  return plane_equal(a->data[0], a->linesize[0], b->data[0], b->linesize[0], w, h) &&
         plane_equal(a->data[1], a->linesize[1], b->data[1], b->linesize[1], cw, ch) &&
         plane_equal(a->data[2], a->linesize[2], b->data[2], b->linesize[2], cw, ch);
}

class H264DecoderBackend final : public DecoderBackend {
 public:
  ~H264DecoderBackend() override {
    sws_freeContext(sws_);
    av_frame_free(&shown_);
    av_frame_free(&tmp_);
    av_packet_free(&pkt_);
    avcodec_free_context(&ctx_);
  }

  Status open() {
    const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_H264);
    if (!codec) return unavailable("H.264 decoder: libavcodec has no AV_CODEC_ID_H264 decoder");
    ctx_ = avcodec_alloc_context3(codec);
    tmp_ = av_frame_alloc();
    shown_ = av_frame_alloc();
    pkt_ = av_packet_alloc();
    if (!ctx_ || !tmp_ || !shown_ || !pkt_) return unavailable("H.264 decoder: out of memory");
    ctx_->thread_count = 1;
    ctx_->flags |= AV_CODEC_FLAG_LOW_DELAY;
    ctx_->flags &= ~AV_CODEC_FLAG_OUTPUT_CORRUPT;
    ctx_->flags2 &= ~AV_CODEC_FLAG2_SHOW_ALL;
    const int r = avcodec_open2(ctx_, codec, nullptr);
    if (r < 0) {
      char err[AV_ERROR_MAX_STRING_SIZE] = {};
      av_strerror(r, err, sizeof(err));
      return unavailable(std::string("H.264 decoder: avcodec_open2 failed: ") + err);
    }
    return Status::ok_status();
  }

  Result decode(std::span<const uint8_t> frame, bool, I420View* out) override {
    if (frame.empty() || frame.size() > INT32_MAX / 2) return Result::kError;
    // Not reference counted: libavcodec copies it into a padded buffer.
    pkt_->data = const_cast<uint8_t*>(frame.data());
    pkt_->size = static_cast<int>(frame.size());
    const int sent = avcodec_send_packet(ctx_, pkt_);
    pkt_->data = nullptr;
    pkt_->size = 0;
    if (sent < 0) return Result::kError;
    bool got = false;
    for (;;) {
      const int r = avcodec_receive_frame(ctx_, tmp_);
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) break;
      if (r < 0) return Result::kError;
      if (tmp_->decode_error_flags != 0 || (tmp_->flags & AV_FRAME_FLAG_CORRUPT) || tmp_->width <= 0 ||
          tmp_->height <= 0) {
        av_frame_unref(tmp_);
        return Result::kError;
      }
      if (!show(out)) return Result::kError;
      got = true;
    }
    return got ? Result::kFrame : Result::kNoFrame;
  }

  void flush() override { avcodec_flush_buffers(ctx_); }
  bool converted_last() const override { return converted_; }
  bool unchanged_last() const override { return unchanged_; }

 private:
  // Takes tmp_ as the new shown picture, converting when it is not 8-bit I420.
  bool show(I420View* out) {
    const auto fmt = static_cast<AVPixelFormat>(tmp_->format);
    const int w = tmp_->width, h = tmp_->height;
    unchanged_ = false;
    if (fmt == AV_PIX_FMT_YUV420P && tmp_->color_range != AVCOL_RANGE_JPEG) {
      unchanged_ = same_picture(tmp_, shown_);
      av_frame_unref(shown_);
      av_frame_move_ref(shown_, tmp_);
      *out = {shown_->data[0], shown_->data[1], shown_->data[2], shown_->linesize[0], shown_->linesize[1],
              shown_->linesize[2], w, h};
      converted_ = false;
      return true;
    }
    if (!sws_ || fmt != sws_format_ || w != conv_.width() || h != conv_.height() ||
        tmp_->color_range != sws_range_) {
      sws_freeContext(sws_);
      sws_ = sws_getContext(w, h, fmt, w, h, AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr);
      if (!sws_) {
        av_frame_unref(tmp_);
        return false;
      }
      const bool src_full = tmp_->color_range == AVCOL_RANGE_JPEG || fmt == AV_PIX_FMT_YUVJ420P ||
                            fmt == AV_PIX_FMT_YUVJ422P || fmt == AV_PIX_FMT_YUVJ444P;
      const int* coefs = sws_getCoefficients(SWS_CS_ITU601);
      sws_setColorspaceDetails(sws_, coefs, src_full ? 1 : 0, coefs, 0, 0, 1 << 16, 1 << 16);
      sws_format_ = fmt;
      sws_range_ = tmp_->color_range;
      conv_.reset(w, h);
    }
    I420MutableView d = conv_.mutable_view();
    uint8_t* dst[4] = {d.y, d.u, d.v, nullptr};
    const int dst_stride[4] = {d.stride_y, d.stride_u, d.stride_v, 0};
    sws_scale(sws_, tmp_->data, tmp_->linesize, 0, h, dst, dst_stride);
    av_frame_unref(tmp_);
    av_frame_unref(shown_);  // the shown picture is now conv_
    *out = conv_.view();
    converted_ = true;
    return true;
  }

  AVCodecContext* ctx_ = nullptr;
  AVFrame* tmp_ = nullptr;
  AVFrame* shown_ = nullptr;
  AVPacket* pkt_ = nullptr;
  SwsContext* sws_ = nullptr;
  AVPixelFormat sws_format_ = AV_PIX_FMT_NONE;
  AVColorRange sws_range_ = AVCOL_RANGE_UNSPECIFIED;
  I420Buffer conv_;
  bool converted_ = false;
  bool unchanged_ = false;
};

}  // namespace

StatusOr<std::unique_ptr<DecoderBackend>> create_h264_decoder_backend() {
  auto d = std::make_unique<H264DecoderBackend>();
  if (Status s = d->open(); !s.ok()) return s;
  return std::unique_ptr<DecoderBackend>(std::move(d));
}

}  // namespace sipmix::video
