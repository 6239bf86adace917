// Video codec costs on the shipped settings: encoding one 1280x720 frame
// (libx264 veryfast zerolatency CBR 1.5 Mb/s; libvpx VP8 realtime CBR) and
// decoding one 640x360 frame (VP8 through libvpx, H.264 through libavcodec).
// Baseline beside the VP8 decode: libavcodec's native VP8 decoder on the
// same bitstream. Inputs are a smooth moving pattern, encoded in steady state.
#include <benchmark/benchmark.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
}

#include <cmath>
#include <memory>
#include <vector>

#include "video_codec/video_decoder.h"
#include "video_codec/video_encoder.h"
#include "interleave.h"

namespace sipmix::video {
namespace {

void fill_pattern(I420Buffer& b, int i) {
  I420MutableView v = b.mutable_view();
  const int sq = v.width / 6, sx = (i * 7) % (v.width - sq), sy = (i * 3) % (v.height - sq);
  for (int y = 0; y < v.height; ++y)
    for (int x = 0; x < v.width; ++x) {
      int val = 110 + static_cast<int>(60 * std::sin(x / 23.0 + i * 0.15) * std::cos(y / 17.0 - i * 0.05));
      if (x >= sx && x < sx + sq && y >= sy && y < sy + sq) val = 220 - ((x ^ y) & 15);
      v.y[y * v.stride_y + x] = static_cast<uint8_t>(val);
    }
  for (int y = 0; y < (v.height + 1) / 2; ++y)
    for (int x = 0; x < (v.width + 1) / 2; ++x) {
      v.u[y * v.stride_u + x] = static_cast<uint8_t>(128 + 40 * std::sin((x + i) / 31.0));
      v.v[y * v.stride_v + x] = static_cast<uint8_t>(128 + 40 * std::cos((y - i) / 29.0));
    }
}

constexpr int kPatternFrames = 30;

std::vector<I420Buffer>& pictures(int w, int h) {
  static std::vector<I420Buffer> p720, p360;
  std::vector<I420Buffer>& p = w == 1280 ? p720 : p360;
  if (p.empty()) {
    p.resize(kPatternFrames);
    for (int i = 0; i < kPatternFrames; ++i) {
      p[i].reset(w, h);
      fill_pattern(p[i], i);
    }
  }
  return p;
}

void BM_EncodeFrame720p(benchmark::State& state, VideoCodec codec) {
  av_log_set_level(AV_LOG_QUIET);
  VideoEncoderConfig c;  // shipped defaults: 1280x720@30, 1.5 Mb/s, veryfast / cpu-used -6, 1 thread
  c.codec = codec;
  auto enc = VideoEncoder::create(c);
  if (!enc.ok()) {
    state.SkipWithError(enc.status().message().c_str());
    return;
  }
  auto& pics = pictures(1280, 720);
  int64_t i = 0;
  EncodedFrame f;
  for (int k = 0; k < 10; ++k, ++i) (*enc)->encode(pics[i % kPatternFrames].view(), i * 33'333, &f);  // warm up
  size_t bytes = 0;
  for (auto _ : state) {
    (*enc)->encode(pics[i % kPatternFrames].view(), i * 33'333, &f);
    bytes += f.data.size();
    ++i;
  }
  state.counters["bytes_per_frame"] = benchmark::Counter(static_cast<double>(bytes) / state.iterations());
  state.counters["fps"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_EncodeFrame720p, h264_veryfast, VideoCodec::kH264)->Name("BM_EncodeFrame720p/h264_veryfast")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeFrame720p, vp8_realtime, VideoCodec::kVp8)->Name("BM_EncodeFrame720p/vp8_realtime")->Unit(benchmark::kMillisecond);

// 150 frames of 640x360 at 1 Mb/s, keyframe first and on frame 75.
std::vector<std::vector<uint8_t>>& stream360(VideoCodec codec) {
  static std::vector<std::vector<uint8_t>> s[2];
  auto& out = s[codec == VideoCodec::kH264];
  if (!out.empty()) return out;
  VideoEncoderConfig c;
  c.codec = codec;
  c.width = 640;
  c.height = 360;
  c.bitrate_bps = 1'000'000;
  auto enc = std::move(VideoEncoder::create(c)).value();
  auto& pics = pictures(640, 360);
  for (int i = 0; i < 150; ++i) {
    if (i == 75) enc->request_keyframe();
    EncodedFrame f;
    enc->encode(pics[i % kPatternFrames].view(), i * 33'333, &f);
    out.emplace_back(f.data.begin(), f.data.end());
  }
  return out;
}

void BM_DecodeFrame360p(benchmark::State& state, VideoCodec codec) {
  av_log_set_level(AV_LOG_QUIET);
  auto& s = stream360(codec);
  auto dec = VideoDecoder::create(codec);
  if (!dec.ok()) {
    state.SkipWithError(dec.status().message().c_str());
    return;
  }
  size_t i = 0;
  for (auto _ : state) {
    if ((*dec)->decode(s[i]) != VideoDecoder::Result::kFrame) {
      state.SkipWithError("decode failed");
      return;
    }
    benchmark::DoNotOptimize((*dec)->frame().y);
    i = (i + 1) % s.size();  // wraps onto the first keyframe
  }
}
BENCHMARK_CAPTURE(BM_DecodeFrame360p, vp8, VideoCodec::kVp8)->Name("BM_DecodeFrame360p/vp8");
BENCHMARK_CAPTURE(BM_DecodeFrame360p, h264, VideoCodec::kH264)->Name("BM_DecodeFrame360p/h264");

// Baseline: libavcodec's own VP8 decoder (ffvp8), one thread, same stream.
void BM_DecodeFrame360pFfvp8(benchmark::State& state) {
  av_log_set_level(AV_LOG_QUIET);
  auto& s = stream360(VideoCodec::kVp8);
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_VP8);
  AVCodecContext* ctx = avcodec_alloc_context3(codec);
  ctx->thread_count = 1;
  AVFrame* frame = av_frame_alloc();
  AVPacket* pkt = av_packet_alloc();
  if (avcodec_open2(ctx, codec, nullptr) < 0) {
    state.SkipWithError("ffvp8 unavailable");
  } else {
    size_t i = 0;
    for (auto _ : state) {
      pkt->data = s[i].data();
      pkt->size = static_cast<int>(s[i].size());
      avcodec_send_packet(ctx, pkt);
      if (avcodec_receive_frame(ctx, frame) < 0) {
        state.SkipWithError("decode failed");
        break;
      }
      benchmark::DoNotOptimize(frame->data[0]);
      av_frame_unref(frame);
      i = (i + 1) % s.size();
    }
  }
  pkt->data = nullptr;
  pkt->size = 0;
  av_packet_free(&pkt);
  av_frame_free(&frame);
  avcodec_free_context(&ctx);
}
BENCHMARK(BM_DecodeFrame360pFfvp8)->Name("BM_DecodeFrame360p/vp8_ffvp8_baseline");

// BM_DecodeFrame360p/vp8/interleaved: sipmix's VP8 decoder (libvpx) and
// ffvp8, each as above, alternately in one run; each keeps its place in
// the stream from batch to batch.
struct Ffvp8Side {
  AVCodecContext* ctx = nullptr;
  AVFrame* frame = av_frame_alloc();
  AVPacket* pkt = av_packet_alloc();
  bool ok = false;
  Ffvp8Side() {
    const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_VP8);
    ctx = avcodec_alloc_context3(codec);
    ctx->thread_count = 1;
    ok = avcodec_open2(ctx, codec, nullptr) >= 0;
  }
  ~Ffvp8Side() {
    pkt->data = nullptr;
    pkt->size = 0;
    av_packet_free(&pkt);
    av_frame_free(&frame);
    avcodec_free_context(&ctx);
  }
  Ffvp8Side(const Ffvp8Side&) = delete;
  Ffvp8Side& operator=(const Ffvp8Side&) = delete;
};

const bool kDecodeInterleaved = [] {
  bench::InterleavedBenchmark(
      "BM_DecodeFrame360p/vp8/interleaved", [](benchmark::State& state, std::vector<bench::Side>* sides) {
        av_log_set_level(AV_LOG_QUIET);
        auto& s = stream360(VideoCodec::kVp8);
        auto created = VideoDecoder::create(VideoCodec::kVp8);
        auto ff = std::make_shared<Ffvp8Side>();
        if (!created.ok() || !ff->ok) {
          state.SkipWithError("decoder unavailable");
          return;
        }
        std::shared_ptr<VideoDecoder> dec = std::move(created).value();
        auto bad = std::make_shared<bool>(false);
        sides->push_back(bench::Side::whole("sipmix", [&s, dec, bad, i = size_t{0}](int64_t n) mutable {
          for (int64_t k = 0; k < n; ++k) {
            if (dec->decode(s[i]) != VideoDecoder::Result::kFrame) *bad = true;
            benchmark::DoNotOptimize(dec->frame().y);
            i = (i + 1) % s.size();
          }
        }));
        sides->push_back(bench::Side::whole("ffvp8", [&s, ff, bad, i = size_t{0}](int64_t n) mutable {
          for (int64_t k = 0; k < n; ++k) {
            ff->pkt->data = s[i].data();
            ff->pkt->size = static_cast<int>(s[i].size());
            avcodec_send_packet(ff->ctx, ff->pkt);
            if (avcodec_receive_frame(ff->ctx, ff->frame) < 0) *bad = true;
            benchmark::DoNotOptimize(ff->frame->data[0]);
            av_frame_unref(ff->frame);
            i = (i + 1) % s.size();
          }
        }));
      });
  return true;
}();

}  // namespace
}  // namespace sipmix::video
