// Cost of one 20 ms frame through each audio codec and the resampler, on real
// speech (the muted prompt) when it is installed, else a multi-tone. Baselines
// in the same binary: libopus called directly (our wrapper's overhead); for
// PCMU a plain computed mu-law encoder and a live libavcodec context per frame
// (what the libavcodec-built tables save); the resampler at quality 3 and 10
// beside the default 5; Opus encode at complexity 0, 3 and 10 beside 5.
#include <benchmark/benchmark.h>

#include <opus/opus.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "audio_codec/codec.h"
#include "audio_codec/g7xx_codec.h"
#include "audio_dsp/prompt.h"
#include "audio_dsp/resampler.h"

namespace sipmix::audio {
namespace {

// Speech at `rate_hz`, a whole number of 20 ms frames.
std::vector<int16_t> material(int rate_hz) {
  std::vector<int16_t> x;
  auto p = Prompt::load(kDefaultMutedPromptPath);
  if (p.ok()) {
    x.assign(p->samples().begin(), p->samples().end());
  } else {
    x.resize(48000);
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = static_cast<int16_t>(6000 * (std::sin(2 * std::numbers::pi * 330 * i / 48000.0) +
                                          std::sin(2 * std::numbers::pi * 1230 * i / 48000.0)));
  }
  if (rate_hz != 48000) {
    auto rs = Resampler::create(48000, rate_hz, Resampler::kDefaultQuality, 960);
    std::vector<int16_t> y, buf(rs->max_output_samples());
    for (size_t i = 0; i + 960 <= x.size(); i += 960) {
      const size_t n = rs->process(std::span(x).subspan(i, 960), buf);
      y.insert(y.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    }
    x = std::move(y);
  }
  const size_t frame = static_cast<size_t>(rate_hz / 50);
  x.resize(x.size() / frame * frame);
  return x;
}

std::vector<std::vector<uint8_t>> encode_all(AudioCodec codec, const std::vector<int16_t>& x) {
  EncoderConfig cfg;
  cfg.codec = codec;
  auto enc = make_audio_encoder(cfg);
  std::vector<std::vector<uint8_t>> packets;
  std::vector<uint8_t> buf((*enc)->max_payload_bytes());
  const size_t frame = (*enc)->frame_samples();
  for (size_t i = 0; i + frame <= x.size(); i += frame) {
    const size_t n = (*enc)->encode(std::span(x).subspan(i, frame), buf);
    packets.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return packets;
}

void BM_Encode20ms(benchmark::State& state, AudioCodec codec) {
  const auto x = material(codec_info(codec).sample_rate_hz);
  EncoderConfig cfg;
  cfg.codec = codec;
  auto enc = make_audio_encoder(cfg);
  if (!enc.ok()) {
    state.SkipWithError(enc.status().message().c_str());
    return;
  }
  const size_t frame = (*enc)->frame_samples();
  std::vector<uint8_t> out((*enc)->max_payload_bytes());
  size_t pos = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize((*enc)->encode(std::span(x).subspan(pos, frame), out));
    pos = pos + 2 * frame > x.size() ? 0 : pos + frame;
  }
  state.SetItemsProcessed(state.iterations());  // frames
}

// Opus encode cost by setting: complexity (default 5 is BM_OpusEncode20ms),
// and the band cap the session uses
// for a leg's stream into the session (4000 Hz for PCMU/PCMA legs against the
// default fullband), on the same material.
void BM_OpusEncodeWith20ms(benchmark::State& state, EncoderConfig cfg) {
  const auto x = material(48000);
  auto enc = make_audio_encoder(cfg);
  std::vector<uint8_t> out((*enc)->max_payload_bytes());
  size_t pos = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize((*enc)->encode(std::span(x).subspan(pos, 960), out));
    pos = pos + 2 * 960 > x.size() ? 0 : pos + 960;
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_OpusEncodeComplexity20ms(benchmark::State& state, int complexity) {
  EncoderConfig cfg;
  cfg.complexity = complexity;
  BM_OpusEncodeWith20ms(state, cfg);
}
void BM_OpusEncodeBand20ms(benchmark::State& state, int max_audio_bandwidth_hz) {
  EncoderConfig cfg;
  cfg.max_audio_bandwidth_hz = max_audio_bandwidth_hz;
  BM_OpusEncodeWith20ms(state, cfg);
}

void BM_Decode20ms(benchmark::State& state, AudioCodec codec) {
  const auto packets = encode_all(codec, material(codec_info(codec).sample_rate_hz));
  auto dec = make_audio_decoder(codec);
  if (!dec.ok()) {
    state.SkipWithError(dec.status().message().c_str());
    return;
  }
  std::vector<int16_t> out(kMaxDecodedSamples);
  size_t k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize((*dec)->decode(packets[k], out));
    if (++k == packets.size()) k = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_Encode20ms, opus, AudioCodec::kOpus)->Name("BM_OpusEncode20ms");
BENCHMARK_CAPTURE(BM_OpusEncodeComplexity20ms, c0, 0)->Name("BM_OpusEncode20ms_complexity0");
BENCHMARK_CAPTURE(BM_OpusEncodeComplexity20ms, c3, 3)->Name("BM_OpusEncode20ms_complexity3");
BENCHMARK_CAPTURE(BM_OpusEncodeComplexity20ms, c10, 10)->Name("BM_OpusEncode20ms_complexity10");
BENCHMARK_CAPTURE(BM_OpusEncodeBand20ms, fullband, 20000)->Name("BM_OpusEncode20ms_band/fullband");
BENCHMARK_CAPTURE(BM_OpusEncodeBand20ms, narrowband, 4000)->Name("BM_OpusEncode20ms_band/narrowband");
BENCHMARK_CAPTURE(BM_Decode20ms, opus, AudioCodec::kOpus)->Name("BM_OpusDecode20ms");
BENCHMARK_CAPTURE(BM_Encode20ms, pcmu, AudioCodec::kPcmu)->Name("BM_PcmuEncode20ms");
BENCHMARK_CAPTURE(BM_Decode20ms, pcmu, AudioCodec::kPcmu)->Name("BM_PcmuDecode20ms");
BENCHMARK_CAPTURE(BM_Encode20ms, pcma, AudioCodec::kPcma)->Name("BM_PcmaEncode20ms");
BENCHMARK_CAPTURE(BM_Decode20ms, pcma, AudioCodec::kPcma)->Name("BM_PcmaDecode20ms");
BENCHMARK_CAPTURE(BM_Encode20ms, g722, AudioCodec::kG722)->Name("BM_G722Encode20ms");
BENCHMARK_CAPTURE(BM_Decode20ms, g722, AudioCodec::kG722)->Name("BM_G722Decode20ms");

void BM_OpusPlc20ms(benchmark::State& state) {
  const auto packets = encode_all(AudioCodec::kOpus, material(48000));
  auto dec = make_audio_decoder(AudioCodec::kOpus);
  std::vector<int16_t> out(kMaxDecodedSamples);
  size_t k = 0;
  for (auto _ : state) {  // every 4th frame lost: PLC cost is measured from a live state
    if (k % 4 == 3) {
      benchmark::DoNotOptimize((*dec)->conceal(out));
    } else {
      benchmark::DoNotOptimize((*dec)->decode(packets[k], out));
    }
    if (++k == packets.size()) k = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OpusPlc20ms);

// Baseline: libopus without our wrapper.
void BM_OpusDecode20ms_libopus(benchmark::State& state) {
  const auto packets = encode_all(AudioCodec::kOpus, material(48000));
  int err = 0;
  OpusDecoder* dec = opus_decoder_create(48000, 1, &err);
  std::vector<int16_t> out(kMaxDecodedSamples);
  size_t k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(opus_decode(dec, packets[k].data(), static_cast<int>(packets[k].size()), out.data(),
                                         static_cast<int>(out.size()), 0));
    if (++k == packets.size()) k = 0;
  }
  opus_decoder_destroy(dec);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OpusDecode20ms_libopus);

// Baseline: G.711 mu-law computed directly (bias, segment, mantissa on the
// 14-bit sample). It differs from libavcodec's table only at 512 of the
// 65536 decision boundaries, by one step: the same work.
uint8_t mulaw_encode(int16_t pcm) {
  int v = pcm >> 2;
  int mask = 0xFF;
  if (v < 0) {
    v = -v;
    mask = 0x7F;
  }
  v = std::min(v, 8159) + 33;
  int seg = 0;
  for (int t = v >> 6; t != 0; t >>= 1) ++seg;
  if (seg > 7) return static_cast<uint8_t>(0x7F ^ mask);
  return static_cast<uint8_t>(((seg << 4) | ((v >> (seg + 1)) & 0x0F)) ^ mask);
}

void BM_PcmuEncode20ms_direct(benchmark::State& state) {
  const auto x = material(8000);
  std::vector<uint8_t> out(160);
  size_t pos = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < 160; ++i) out[i] = mulaw_encode(x[pos + i]);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    pos = pos + 320 > x.size() ? 0 : pos + 160;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PcmuEncode20ms_direct);

// Baseline: a live libavcodec context per frame (send/receive API).
void BM_PcmuEncode20ms_lavc(benchmark::State& state) {
  const auto x = material(8000);
  EncoderConfig cfg;
  cfg.codec = AudioCodec::kPcmu;
  auto enc = LavcAudioEncoder::create(cfg);
  std::vector<uint8_t> out(160);
  size_t pos = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize((*enc)->encode(std::span(x).subspan(pos, 160), out));
    pos = pos + 320 > x.size() ? 0 : pos + 160;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PcmuEncode20ms_lavc);

void BM_PcmuDecode20ms_lavc(benchmark::State& state) {
  const auto packets = encode_all(AudioCodec::kPcmu, material(8000));
  auto dec = LavcAudioDecoder::create(AudioCodec::kPcmu);
  std::vector<int16_t> out(kMaxDecodedSamples);
  size_t k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize((*dec)->decode(packets[k], out));
    if (++k == packets.size()) k = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PcmuDecode20ms_lavc);

void BM_Resample20ms(benchmark::State& state, int in_hz, int out_hz, int quality) {
  const auto x = material(in_hz);
  auto rs = Resampler::create(in_hz, out_hz, quality, static_cast<size_t>(in_hz / 50));
  std::vector<int16_t> out(rs->max_output_samples());
  const size_t frame = static_cast<size_t>(in_hz / 50);
  size_t pos = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(rs->process(std::span(x).subspan(pos, frame), out));
    pos = pos + 2 * frame > x.size() ? 0 : pos + frame;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Resample20ms, a, 48000, 8000, 5)->Name("BM_Resample48kTo8k20ms");
BENCHMARK_CAPTURE(BM_Resample20ms, b, 48000, 8000, 3)->Name("BM_Resample48kTo8k20ms_q3");
BENCHMARK_CAPTURE(BM_Resample20ms, c, 48000, 8000, 10)->Name("BM_Resample48kTo8k20ms_q10");
BENCHMARK_CAPTURE(BM_Resample20ms, d, 8000, 48000, 5)->Name("BM_Resample8kTo48k20ms");
BENCHMARK_CAPTURE(BM_Resample20ms, e, 48000, 16000, 5)->Name("BM_Resample48kTo16k20ms");
BENCHMARK_CAPTURE(BM_Resample20ms, f, 16000, 48000, 5)->Name("BM_Resample16kTo48k20ms");

}  // namespace
}  // namespace sipmix::audio
