#include "tests/replay/replay_io_test_util.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

namespace sipmix::replay::testing {

ScratchDir::ScratchDir(const std::string& name) {
  path_ = (std::filesystem::temp_directory_path() /
           ("sipmix_replayio_" + name + "_" + std::to_string(getpid())))
              .string();
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}
ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}
std::vector<std::string> ScratchDir::list() const {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(path_)) names.push_back(e.path().filename().string());
  return names;
}

std::string run(const std::string& command, int* exit_code, bool merge_stderr) {
  const std::string cmd = command + (merge_stderr ? " 2>&1" : "");
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + command);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int rc = pclose(p);
  if (exit_code) *exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

bool have_program(const std::string& name) {
  int rc = 0;
  run("command -v " + name + " >/dev/null", &rc);
  return rc == 0;
}

namespace {

void drain(AVCodecContext* ctx, AVPacket* pkt, std::vector<EncodedFrame>& out, AVRational tb, int samples) {
  while (avcodec_receive_packet(ctx, pkt) == 0) {
    EncodedFrame f;
    f.data.assign(pkt->data, pkt->data + pkt->size);
    f.pts_us = av_rescale_q(pkt->pts, tb, {1, 1'000'000});
    f.keyframe = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
    f.samples = pkt->duration > 0 ? static_cast<int>(pkt->duration) : samples;
    out.push_back(std::move(f));
    av_packet_unref(pkt);
  }
}

}  // namespace

std::vector<EncodedFrame> encode_video(const std::string& encoder, const std::vector<PictureView>& pictures,
                                       int fps) {
  std::vector<EncodedFrame> out;
  const AVCodec* codec = avcodec_find_encoder_by_name(encoder.c_str());
  if (!codec || pictures.empty()) throw std::runtime_error("no encoder " + encoder);
  AVCodecContext* ctx = avcodec_alloc_context3(codec);
  ctx->width = pictures[0].width;
  ctx->height = pictures[0].height;
  ctx->pix_fmt = AV_PIX_FMT_YUV420P;
  ctx->time_base = {1, fps};
  ctx->framerate = {fps, 1};
  ctx->gop_size = fps;
  ctx->max_b_frames = 0;
  ctx->bit_rate = 300'000;
  ctx->thread_count = 1;
  AVDictionary* opts = nullptr;
  if (encoder == "libx264") {
    av_dict_set(&opts, "preset", "ultrafast", 0);
    av_dict_set(&opts, "tune", "zerolatency", 0);
    av_dict_set(&opts, "profile", "baseline", 0);
  } else if (encoder == "libvpx") {
    av_dict_set(&opts, "deadline", "realtime", 0);
    av_dict_set(&opts, "cpu-used", "8", 0);
  }
  if (avcodec_open2(ctx, codec, &opts) < 0) throw std::runtime_error("cannot open " + encoder);
  av_dict_free(&opts);
  AVFrame* frame = av_frame_alloc();
  AVPacket* pkt = av_packet_alloc();
  for (size_t i = 0; i < pictures.size(); ++i) {
    const PictureView& p = pictures[i];
    frame->format = AV_PIX_FMT_YUV420P;
    frame->width = p.width;
    frame->height = p.height;
    frame->data[0] = const_cast<uint8_t*>(p.y);
    frame->data[1] = const_cast<uint8_t*>(p.u);
    frame->data[2] = const_cast<uint8_t*>(p.v);
    frame->linesize[0] = p.stride_y;
    frame->linesize[1] = p.stride_u;
    frame->linesize[2] = p.stride_v;
    frame->pts = static_cast<int64_t>(i);
    avcodec_send_frame(ctx, frame);
    drain(ctx, pkt, out, ctx->time_base, 0);
  }
  avcodec_send_frame(ctx, nullptr);
  drain(ctx, pkt, out, ctx->time_base, 0);
  av_packet_free(&pkt);
  av_frame_free(&frame);
  avcodec_free_context(&ctx);
  return out;
}

std::vector<EncodedFrame> encode_audio(const std::string& encoder, std::span<const int16_t> pcm, int rate_hz) {
  std::vector<EncodedFrame> out;
  const AVCodec* codec = avcodec_find_encoder_by_name(encoder.c_str());
  if (!codec) throw std::runtime_error("no encoder " + encoder);
  AVCodecContext* ctx = avcodec_alloc_context3(codec);
  ctx->sample_rate = rate_hz;
  ctx->sample_fmt = AV_SAMPLE_FMT_S16;
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  av_channel_layout_copy(&ctx->ch_layout, &mono);
  ctx->time_base = {1, rate_hz};
  ctx->bit_rate = encoder == "libopus" ? 32000 : 0;
  if (encoder == "g722") ctx->bit_rate = 64000;
  if (avcodec_open2(ctx, codec, nullptr) < 0) throw std::runtime_error("cannot open " + encoder);
  const int frame_samples = ctx->frame_size > 0 ? ctx->frame_size : rate_hz / 50;
  AVFrame* frame = av_frame_alloc();
  AVPacket* pkt = av_packet_alloc();
  for (size_t pos = 0; pos + frame_samples <= pcm.size(); pos += frame_samples) {
    frame->format = AV_SAMPLE_FMT_S16;
    frame->nb_samples = frame_samples;
    frame->sample_rate = rate_hz;
    av_channel_layout_copy(&frame->ch_layout, &mono);
    av_frame_get_buffer(frame, 0);
    std::memcpy(frame->data[0], pcm.data() + pos, frame_samples * sizeof(int16_t));
    frame->pts = static_cast<int64_t>(pos);
    avcodec_send_frame(ctx, frame);
    av_frame_unref(frame);
    drain(ctx, pkt, out, ctx->time_base, frame_samples);
  }
  avcodec_send_frame(ctx, nullptr);
  drain(ctx, pkt, out, ctx->time_base, frame_samples);
  av_packet_free(&pkt);
  av_frame_free(&frame);
  avcodec_free_context(&ctx);
  return out;
}

}  // namespace sipmix::replay::testing
