// H.264 streams whose decoded format is not 8-bit limited-range I420
// (full-range yuvj420p, 4:2:2, 4:4:4, 10-bit 4:2:0) come out of VideoDecoder
// as 8-bit I420 through libswscale, with the picture intact.
#include <gtest/gtest.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
}

#include <cmath>
#include <vector>

#include "tests/support/signal.h"
#include "video_codec/video_decoder.h"

namespace sipmix::video {
namespace {

constexpr int kW = 320, kH = 240;

uint8_t luma(int x, int y) { return static_cast<uint8_t>(120 + 80 * std::sin(x / 13.0) * std::cos(y / 11.0)); }
uint8_t chroma_u(int x, int) { return static_cast<uint8_t>(128 + 50 * std::sin(x / 19.0)); }

// Encodes 3 frames of the pattern in `fmt` with libx264 (no global header,
// so parameter sets are in-band). Empty when libx264 refuses the format.
std::vector<std::vector<uint8_t>> encode_in(AVPixelFormat fmt) {
  std::vector<std::vector<uint8_t>> out;
  const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
  if (!codec) return out;
  AVCodecContext* ctx = avcodec_alloc_context3(codec);
  ctx->width = kW;
  ctx->height = kH;
  ctx->pix_fmt = fmt;
  ctx->time_base = {1, 30};
  ctx->bit_rate = 2'000'000;
  ctx->max_b_frames = 0;
  ctx->thread_count = 1;
  if (fmt == AV_PIX_FMT_YUVJ420P) ctx->color_range = AVCOL_RANGE_JPEG;
  av_opt_set(ctx->priv_data, "tune", "zerolatency", 0);
  av_opt_set(ctx->priv_data, "preset", "veryfast", 0);
  if (avcodec_open2(ctx, codec, nullptr) < 0) {
    avcodec_free_context(&ctx);
    return out;
  }
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(fmt);
  const bool ten_bit = d->comp[0].depth > 8;
  AVFrame* f = av_frame_alloc();
  f->format = fmt;
  f->width = kW;
  f->height = kH;
  av_frame_get_buffer(f, 32);
  AVPacket* pkt = av_packet_alloc();
  for (int i = 0; i < 3; ++i) {
    av_frame_make_writable(f);
    for (int p = 0; p < 3; ++p) {
      const int pw = p == 0 ? kW : AV_CEIL_RSHIFT(kW, d->log2_chroma_w);
      const int ph = p == 0 ? kH : AV_CEIL_RSHIFT(kH, d->log2_chroma_h);
      for (int y = 0; y < ph; ++y)
        for (int x = 0; x < pw; ++x) {
          const int lx = p == 0 ? x : x << d->log2_chroma_w, ly = p == 0 ? y : y << d->log2_chroma_h;
          const uint8_t v = p == 0 ? luma(lx, ly) : p == 1 ? chroma_u(lx, ly) : 128;
          if (ten_bit)
            reinterpret_cast<uint16_t*>(f->data[p] + y * f->linesize[p])[x] = static_cast<uint16_t>(v << 2);
          else
            f->data[p][y * f->linesize[p] + x] = v;
        }
    }
    f->pts = i;
    avcodec_send_frame(ctx, f);
    while (avcodec_receive_packet(ctx, pkt) == 0) {
      out.emplace_back(pkt->data, pkt->data + pkt->size);
      av_packet_unref(pkt);
    }
  }
  av_packet_free(&pkt);
  av_frame_free(&f);
  avcodec_free_context(&ctx);
  return out;
}

class DecoderConversion : public ::testing::TestWithParam<AVPixelFormat> {};

TEST_P(DecoderConversion, NonI420OutputIsConvertedToI420) {
  av_log_set_level(AV_LOG_QUIET);
  const AVPixelFormat fmt = GetParam();
  const auto stream = encode_in(fmt);
  if (stream.empty()) GTEST_SKIP() << "libx264 cannot encode " << av_get_pix_fmt_name(fmt);
  auto dec = std::move(VideoDecoder::create(VideoCodec::kH264)).value();
  for (const auto& frame : stream) ASSERT_EQ(dec->decode(frame), VideoDecoder::Result::kFrame);
  EXPECT_EQ(dec->stats().converted_frames, stream.size());
  const I420View v = dec->frame();
  ASSERT_EQ(v.width, kW);
  ASSERT_EQ(v.height, kH);
  // Reference in limited range: full-range luma maps to 16 + 219/255 * Y.
  const bool full = fmt == AV_PIX_FMT_YUVJ420P;
  std::vector<uint8_t> ref_y(kW * kH), ref_u((kW / 2) * (kH / 2));
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x)
      ref_y[y * kW + x] = full ? static_cast<uint8_t>(std::lround(16 + luma(x, y) * 219.0 / 255)) : luma(x, y);
  for (int y = 0; y < kH / 2; ++y)
    for (int x = 0; x < kW / 2; ++x) {
      const double u = chroma_u(2 * x, 2 * y);
      ref_u[y * (kW / 2) + x] = static_cast<uint8_t>(std::lround(full ? 128 + (u - 128) * 224.0 / 255 : u));
    }
  EXPECT_GE(testing::psnr(v.y, v.stride_y, ref_y.data(), kW, kW, kH), 35.0);
  EXPECT_GE(testing::psnr(v.u, v.stride_u, ref_u.data(), kW / 2, kW / 2, kH / 2), 30.0);
}

INSTANTIATE_TEST_SUITE_P(Formats, DecoderConversion,
                         ::testing::Values(AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUV422P, AV_PIX_FMT_YUV444P,
                                           AV_PIX_FMT_YUV420P10LE),
                         [](const auto& info) {
                           std::string n = av_get_pix_fmt_name(info.param);
                           return n;
                         });

TEST(DecoderConversion, PlainI420IsShownWithoutConversion) {
  av_log_set_level(AV_LOG_QUIET);
  const auto stream = encode_in(AV_PIX_FMT_YUV420P);
  ASSERT_FALSE(stream.empty());
  auto dec = std::move(VideoDecoder::create(VideoCodec::kH264)).value();
  for (const auto& frame : stream) ASSERT_EQ(dec->decode(frame), VideoDecoder::Result::kFrame);
  EXPECT_EQ(dec->stats().converted_frames, 0u);
}

}  // namespace
}  // namespace sipmix::video
