// Opus: round-trip quality, PLC without clicks under 10 % seeded loss, FEC
// better than PLC alone, corrupt payloads counted and concealed.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <vector>

#include "audio_codec/codec.h"
#include "audio_codec/opus_codec.h"
#include "tests/audio_codec/codec_test_signals.h"
#include "tests/support/signal.h"

namespace sipmix::audio {
namespace {

using testing::max_step;
using testing::multitone;
using testing::speech;
using sipmix::testing::snr_db;

constexpr size_t kFrame = 960;

std::vector<std::vector<uint8_t>> encode_all(const std::vector<int16_t>& x, const EncoderConfig& cfg) {
  auto enc = make_audio_encoder(cfg);
  EXPECT_TRUE(enc.ok()) << enc.status().message();
  std::vector<std::vector<uint8_t>> packets;
  std::vector<uint8_t> buf((*enc)->max_payload_bytes());
  for (size_t i = 0; i + kFrame <= x.size(); i += kFrame) {
    const size_t n = (*enc)->encode(std::span(x).subspan(i, kFrame), buf);
    EXPECT_GT(n, 0u);
    packets.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
  EXPECT_EQ((*enc)->stats().encode_errors, 0u);
  return packets;
}

enum class LossMode { kPlc, kFec, kZeroFill };

// Decodes `packets`, replacing lost[k] ones according to `mode`.
std::vector<int16_t> decode_all(const std::vector<std::vector<uint8_t>>& packets, const std::vector<bool>& lost,
                                LossMode mode, CodecStats* stats = nullptr) {
  auto dec = make_audio_decoder(AudioCodec::kOpus);
  EXPECT_TRUE(dec.ok());
  std::vector<int16_t> out;
  std::vector<int16_t> buf(kMaxDecodedSamples);
  for (size_t k = 0; k < packets.size(); ++k) {
    size_t n = 0;
    if (!lost[k]) {
      n = (*dec)->decode(packets[k], buf);
    } else if (mode == LossMode::kZeroFill) {
      n = kFrame;
      std::fill_n(buf.begin(), n, int16_t{0});
    } else if (mode == LossMode::kFec && k + 1 < packets.size() && !lost[k + 1]) {
      n = (*dec)->decode_fec(packets[k + 1], buf);
    } else {
      n = (*dec)->conceal(buf);
    }
    EXPECT_EQ(n, kFrame);
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
  if (stats) *stats = (*dec)->stats();
  return out;
}

// 10 % independent loss from a fixed seed; the first frames always arrive.
std::vector<bool> seeded_loss(size_t n, uint32_t seed = 20261126) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution drop(0.10);
  std::vector<bool> lost(n);
  for (size_t k = 5; k < n; ++k) lost[k] = drop(rng);
  return lost;
}

// The largest sample step within 1 ms of every start or end of a loss.
int boundary_click(const std::vector<int16_t>& y, const std::vector<bool>& lost) {
  int worst = 0;
  for (size_t k = 1; k < lost.size(); ++k) {
    if (lost[k] == lost[k - 1]) continue;
    const size_t b = k * kFrame;
    worst = std::max(worst, max_step(y, b - 48, b + 48));
  }
  return worst;
}

TEST(CodecOpus, InfoIs48kMono) {
  const CodecInfo& i = codec_info(AudioCodec::kOpus);
  EXPECT_EQ(i.sample_rate_hz, 48000);
  EXPECT_EQ(i.rtp_clock_hz, 48000);
  EXPECT_EQ(i.samples_per_20ms, 960);
  EXPECT_EQ(codec_from_name("OPUS").value(), AudioCodec::kOpus);
}

TEST(CodecOpus, RoundTripSpeechKeepsWaveform) {
  const auto x = speech(48000, testing::ci_scale() ? 2.0 : 5.0);
  ASSERT_GT(x.size(), 48000u);
  EncoderConfig cfg;
  cfg.bitrate_bps = 32000;
  const auto packets = encode_all(x, cfg);
  const auto y = decode_all(packets, std::vector<bool>(packets.size()), LossMode::kPlc);
  size_t delay = 0;
  const double snr = snr_db(x, y, 400, &delay);
  std::printf("opus 32 kb/s speech: SNR %.1f dB at delay %zu samples\n", snr, delay);
  EXPECT_GE(snr, 8.0);  // a perceptual codec: waveform match of speech, not transparency
  EXPECT_LE(delay, 500u);
}

TEST(CodecOpus, RoundTripMultitoneSnr) {
  const auto x = multitone(48000, 48000 * 2);
  EncoderConfig cfg;
  cfg.bitrate_bps = 64000;
  const auto packets = encode_all(x, cfg);
  const auto y = decode_all(packets, std::vector<bool>(packets.size()), LossMode::kPlc);
  const double snr = snr_db(x, y, 400);
  std::printf("opus 64 kb/s multitone: SNR %.1f dB\n", snr);
  EXPECT_GE(snr, 12.0);
  // Each tone comes out at its level (Goertzel over the steady part).
  const std::span<const int16_t> steady = std::span(y).subspan(4800, 48000);
  for (double f : {330.0, 770.0, 1230.0}) {
    EXPECT_NEAR(sipmix::testing::tone_dbfs(steady, f, 48000), -14.0, 1.0) << f << " Hz";
  }
}

// Under 10 % seeded loss the decoded stream must not step harder at a loss
// boundary than the clean decode ever steps: no click. Zero-filling the same
// losses does click, which shows the metric sees one.
TEST(CodecOpus, PlcUnderTenPercentLossHasNoClicks) {
  const auto x = multitone(48000, 48000 * (testing::ci_scale() ? 2 : 6));
  EncoderConfig cfg;
  const auto packets = encode_all(x, cfg);
  const auto lost = seeded_loss(packets.size());
  const size_t n_lost = static_cast<size_t>(std::count(lost.begin(), lost.end(), true));
  ASSERT_GT(n_lost, packets.size() / 20);

  const auto clean = decode_all(packets, std::vector<bool>(packets.size()), LossMode::kPlc);
  CodecStats st;
  const auto plc = decode_all(packets, lost, LossMode::kPlc, &st);
  const auto zero = decode_all(packets, lost, LossMode::kZeroFill);
  EXPECT_EQ(st.frames_concealed, n_lost);
  EXPECT_EQ(st.decode_errors, 0u);

  const int clean_max = max_step(clean, 0, clean.size());
  const int plc_click = boundary_click(plc, lost);
  const int zero_click = boundary_click(zero, lost);
  std::printf("opus PLC, %zu of %zu frames lost: max step at boundaries %d (clean max step %d, zero-fill %d)\n",
              n_lost, packets.size(), plc_click, clean_max, zero_click);
  EXPECT_LE(plc_click, clean_max * 5 / 4);  // stated bound: 1.25 x the largest clean step
  EXPECT_GT(zero_click, clean_max * 3 / 2);  // the metric detects a real click
}

TEST(CodecOpus, PlcOnSpeechHasNoClicks) {
  const auto x = speech(48000, testing::ci_scale() ? 2.0 : 5.0);
  EncoderConfig cfg;
  const auto packets = encode_all(x, cfg);
  const auto lost = seeded_loss(packets.size(), 7);
  const auto clean = decode_all(packets, std::vector<bool>(packets.size()), LossMode::kPlc);
  const auto plc = decode_all(packets, lost, LossMode::kPlc);
  const int clean_max = max_step(clean, 0, clean.size());
  const int plc_click = boundary_click(plc, lost);
  std::printf("opus PLC speech: max step at boundaries %d (clean max step %d)\n", plc_click, clean_max);
  EXPECT_LE(plc_click, clean_max);
}

// With the next packet present, decode_fec() rebuilds the lost frame from its
// LBRR copy: closer to the clean decode than PLC's extrapolation.
TEST(CodecOpus, FecRecoversLostFramesBetterThanPlc) {
  const auto x = speech(48000, testing::ci_scale() ? 3.0 : 8.0);
  EncoderConfig cfg;
  cfg.bitrate_bps = 24000;
  cfg.inband_fec = true;
  cfg.packet_loss_perc = 10;
  const auto packets = encode_all(x, cfg);
  size_t silk_or_hybrid = 0;
  for (const auto& p : packets) silk_or_hybrid += (p[0] >> 3) < 16;  // TOC config 0-15 carries LBRR
  EXPECT_GT(silk_or_hybrid, packets.size() / 2);

  const auto lost = seeded_loss(packets.size(), 99);
  const auto clean = decode_all(packets, std::vector<bool>(packets.size()), LossMode::kPlc);
  CodecStats plc_st, fec_st;
  const auto plc = decode_all(packets, lost, LossMode::kPlc, &plc_st);
  const auto fec = decode_all(packets, lost, LossMode::kFec, &fec_st);
  EXPECT_GT(fec_st.frames_fec, 0u);
  EXPECT_EQ(plc_st.frames_fec, 0u);

  // Error energy over the lost frames only, against the clean decode.
  double sig = 0, e_plc = 0, e_fec = 0;
  for (size_t k = 0; k < lost.size(); ++k) {
    if (!lost[k]) continue;
    for (size_t i = k * kFrame; i < (k + 1) * kFrame; ++i) {
      sig += static_cast<double>(clean[i]) * clean[i];
      e_plc += (static_cast<double>(plc[i]) - clean[i]) * (static_cast<double>(plc[i]) - clean[i]);
      e_fec += (static_cast<double>(fec[i]) - clean[i]) * (static_cast<double>(fec[i]) - clean[i]);
    }
  }
  const double snr_plc = 10 * std::log10(sig / e_plc);
  const double snr_fec = 10 * std::log10(sig / e_fec);
  std::printf("opus lost frames vs clean: PLC %.1f dB, FEC %.1f dB (%llu FEC frames)\n", snr_plc, snr_fec,
              static_cast<unsigned long long>(fec_st.frames_fec));
  EXPECT_GT(snr_fec, snr_plc + 3.0);
}

TEST(CodecOpus, CorruptPayloadsAreCountedAndConcealed) {
  auto dec = make_audio_decoder(AudioCodec::kOpus);
  ASSERT_TRUE(dec.ok());
  std::vector<int16_t> out(kMaxDecodedSamples);
  std::mt19937 rng(5);
  const int iterations = testing::ci_scale() ? 500 : 5000;
  for (int i = 0; i < iterations; ++i) {
    std::vector<uint8_t> p(rng() % 1700);
    for (auto& b : p) b = static_cast<uint8_t>(rng());
    const size_t n = (*dec)->decode(p, out);
    ASSERT_GT(n, 0u);
    ASSERT_LE(n, out.size());
  }
  const uint64_t errors_before = (*dec)->stats().decode_errors;
  EXPECT_GT(errors_before, 0u);
  EXPECT_EQ((*dec)->stats().frames_decoded + errors_before, static_cast<uint64_t>(iterations));

  EXPECT_EQ((*dec)->decode({}, out), (*dec)->frame_samples());  // empty: counted, concealed
  EXPECT_EQ((*dec)->stats().decode_errors, errors_before + 1);

  // The decoder still works after the garbage.
  (*dec)->reset();
  const auto x = multitone(48000, kFrame * 4);
  const auto packets = encode_all(x, EncoderConfig{});
  EXPECT_EQ((*dec)->decode(packets[0], out), kFrame);
  // Output too short for the packet: counted, concealed into what fits.
  std::vector<int16_t> small(480);
  EXPECT_EQ((*dec)->decode(packets[1], small), 480u);
  EXPECT_EQ((*dec)->stats().decode_errors, errors_before + 2);
  EXPECT_EQ((*dec)->decode(packets[2], out), kFrame);
}

TEST(CodecOpus, EncoderRejectsBadConfigWithTheField) {
  EncoderConfig cfg;
  cfg.bitrate_bps = 1000;
  auto e = make_audio_encoder(cfg);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("bitrate_bps"), std::string::npos) << e.status().message();
  cfg = {};
  cfg.frame_ms = 25;
  e = make_audio_encoder(cfg);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("frame_ms"), std::string::npos);
  cfg = {};
  cfg.complexity = 11;
  EXPECT_FALSE(make_audio_encoder(cfg).ok());
  cfg = {};
  cfg.packet_loss_perc = -1;
  EXPECT_FALSE(make_audio_encoder(cfg).ok());
  cfg = {};
  cfg.max_audio_bandwidth_hz = 16000;
  e = make_audio_encoder(cfg);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("max_audio_bandwidth_hz"), std::string::npos);
}

// A narrowband cap (what the session uses for an 8 kHz leg's stream) keeps
// telephone-band tones at their level and codes nothing above 4 kHz.
TEST(CodecOpus, NarrowbandCapKeepsTheTelephoneBand) {
  const size_t n = 48000 * 2;
  std::vector<int16_t> x = sipmix::testing::sine(440, -16, 48000, n);
  const std::vector<int16_t> hi = sipmix::testing::sine(2400, -16, 48000, n);
  const std::vector<int16_t> top = sipmix::testing::sine(9000, -16, 48000, n);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<int16_t>(x[i] + hi[i] + top[i]);
  EncoderConfig cfg;
  cfg.max_audio_bandwidth_hz = 4000;
  const auto packets = encode_all(x, cfg);
  const auto y = decode_all(packets, std::vector<bool>(packets.size()), LossMode::kPlc);
  const std::span<const int16_t> steady = std::span(y).subspan(9600, 48000);
  const double l440 = sipmix::testing::tone_dbfs(steady, 440, 48000);
  const double l2400 = sipmix::testing::tone_dbfs(steady, 2400, 48000);
  const double l9000 = sipmix::testing::tone_dbfs(steady, 9000, 48000);
  std::printf("opus narrowband: 440 Hz %.1f, 2400 Hz %.1f, 9000 Hz %.1f dBFS\n", l440, l2400, l9000);
  EXPECT_NEAR(l440, -16.0, 1.5);
  EXPECT_NEAR(l2400, -16.0, 1.5);
  EXPECT_LT(l9000, -50.0);
}

TEST(CodecOpus, EncoderCountsWrongFrameSize) {
  auto e = OpusAudioEncoder::create(EncoderConfig{});
  ASSERT_TRUE(e.ok());
  std::vector<int16_t> pcm(480);
  std::vector<uint8_t> out(1500);
  EXPECT_EQ((*e)->encode(pcm, out), 0u);
  EXPECT_EQ((*e)->stats().encode_errors, 1u);
  pcm.resize(960);
  EXPECT_GT((*e)->encode(pcm, out), 0u);
  EXPECT_EQ((*e)->stats().frames_encoded, 1u);
  EXPECT_TRUE((*e)->set_bitrate_bps(16000).ok());
  EXPECT_FALSE((*e)->set_packet_loss_perc(101).ok());
}

}  // namespace
}  // namespace sipmix::audio
