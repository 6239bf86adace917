// One 20 ms audio tick of a 10-source session (10 Opus participants -> one
// PCMU SIP leg, which also publishes its own audio as Opus), beside the bare
// codec work such a tick cannot avoid: 10 Opus decodes, 1 PCMU encode and
// 1 Opus encode. The difference is what the session adds (jitter buffers,
// resampling, N-1 mix, limiter, RTP). Counter `sessions_per_core` is
// 20 ms / CPU time per tick.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "audio/codec.h"
#include "audio/resampler.h"
#include "rtp/rtp_packet.h"
#include "sipmix/session.h"

namespace sipmix {
namespace {

constexpr int kSources = 10;

struct NullSink : SessionSink {
  void on_rtp(const std::string&, Direction, std::span<const uint8_t>) override {}
  void on_rtcp(const std::string&, Direction, std::span<const uint8_t>) override {}
  void on_event(const Event&) override {}
};

// 50 distinct 20 ms Opus frames per source (a tone each), looped.
std::vector<std::vector<std::vector<uint8_t>>> opus_frames() {
  audio::EncoderConfig ec;
  auto enc = std::move(*audio::make_audio_encoder(ec));
  std::vector<std::vector<std::vector<uint8_t>>> out(kSources);
  std::vector<int16_t> pcm(960);
  std::vector<uint8_t> buf(1500);
  for (int s = 0; s < kSources; ++s) {
    double ph = 0;
    for (int f = 0; f < 50; ++f) {
      for (auto& v : pcm) {
        v = static_cast<int16_t>(3000 * std::sin(ph));
        ph += 2 * M_PI * (300 + 100 * s) / 48000;
      }
      const size_t n = enc->encode(pcm, buf);
      out[s].emplace_back(buf.begin(), buf.begin() + n);
    }
  }
  return out;
}

void set_sessions_per_core(benchmark::State& state) {
  state.counters["sessions_per_core"] =
      benchmark::Counter(0.020 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_AudioTick10Sources_sipmix(benchmark::State& state) {
  const auto frames = opus_frames();
  SimulatedClock clock(1'000'000);
  NullSink sink;
  auto session = std::move(*Session::create({}, &clock, &sink));
  std::vector<PushHandle> h;
  for (int s = 0; s < kSources; ++s) {
    StreamConfig c;
    c.id = "p" + std::to_string(s);
    h.push_back(*session->add_stream(c));
  }
  LegConfig leg;
  leg.id = "sip";
  (void)session->add_leg(leg);
  uint8_t pkt[1500];
  uint16_t seq = 0;
  uint32_t ts = 0;
  for (auto _ : state) {
    for (int s = 0; s < kSources; ++s) {
      rtp::RtpHeader hd;
      hd.payload_type = 111;
      hd.sequence_number = seq;
      hd.timestamp = ts;
      hd.ssrc = 100 + s;
      const auto& f = frames[s][seq % 50];
      const size_t n = rtp::write_rtp(hd, {}, f, pkt);
      session->push_rtp(h[s], {pkt, n});
    }
    ++seq;
    ts += 960;
    clock.advance_us(20000);
    session->tick();
  }
  set_sessions_per_core(state);
}
BENCHMARK(BM_AudioTick10Sources_sipmix)->Name("BM_AudioTick10Sources/sipmix");

void BM_AudioTick10Sources_codecs_only(benchmark::State& state) {
  const auto frames = opus_frames();
  std::vector<std::unique_ptr<audio::AudioDecoder>> dec;
  for (int s = 0; s < kSources; ++s) dec.push_back(std::move(*audio::make_audio_decoder(audio::AudioCodec::kOpus)));
  audio::EncoderConfig pc;
  pc.codec = audio::AudioCodec::kPcmu;
  auto pcmu = std::move(*audio::make_audio_encoder(pc));
  auto opus = std::move(*audio::make_audio_encoder({}));
  std::vector<int16_t> pcm(audio::kMaxDecodedSamples), low(160);
  std::vector<uint8_t> out(1500);
  int f = 0;
  for (auto _ : state) {
    for (int s = 0; s < kSources; ++s) dec[s]->decode(frames[s][f % 50], pcm);
    std::copy_n(pcm.begin(), 160, low.begin());  // any 160 samples: only the encode cost counts
    benchmark::DoNotOptimize(pcmu->encode(low, out));
    benchmark::DoNotOptimize(opus->encode({pcm.data(), 960}, out));
    ++f;
  }
  set_sessions_per_core(state);
}
BENCHMARK(BM_AudioTick10Sources_codecs_only)->Name("BM_AudioTick10Sources/codecs_only");

}  // namespace
}  // namespace sipmix
