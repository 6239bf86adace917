// G.711 mu-law / A-law and G.722 through libavcodec: code words, round-trip
// SNR, the G.722 RTP clock quirk, concealment without clicks, bad payloads.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <vector>

#include "audio_codec/codec.h"
#include "audio_codec/g7xx_codec.h"
#include "tests/audio_codec/codec_test_signals.h"
#include "tests/support/signal.h"

namespace sipmix::audio {
namespace {

using sipmix::testing::rms_dbfs;
using sipmix::testing::sine;
using sipmix::testing::snr_db;
using sipmix::testing::tone_dbfs;
using testing::max_step;

std::unique_ptr<AudioEncoder> encoder(AudioCodec c) {
  EncoderConfig cfg;
  cfg.codec = c;
  auto e = make_audio_encoder(cfg);
  EXPECT_TRUE(e.ok()) << e.status().message();
  return e.ok() ? std::move(e).value() : nullptr;
}

std::unique_ptr<AudioDecoder> decoder(AudioCodec c) {
  auto d = make_audio_decoder(c);
  EXPECT_TRUE(d.ok()) << d.status().message();
  return d.ok() ? std::move(d).value() : nullptr;
}

// Encodes and decodes `x` frame by frame; lost[k] frames are concealed.
std::vector<int16_t> round_trip(AudioCodec c, const std::vector<int16_t>& x, const std::vector<bool>& lost = {}) {
  auto enc = encoder(c);
  auto dec = decoder(c);
  const size_t frame = enc->frame_samples();
  std::vector<uint8_t> payload(enc->max_payload_bytes());
  std::vector<int16_t> buf(kMaxDecodedSamples), y;
  for (size_t i = 0, k = 0; i + frame <= x.size(); i += frame, ++k) {
    const size_t bytes = enc->encode(std::span(x).subspan(i, frame), payload);
    EXPECT_EQ(bytes, enc->max_payload_bytes());
    const bool drop = k < lost.size() && lost[k];
    const size_t n = drop ? dec->conceal(buf) : dec->decode(std::span(payload).first(bytes), buf);
    EXPECT_EQ(n, frame);
    y.insert(y.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
  EXPECT_EQ(dec->stats().decode_errors, 0u);
  EXPECT_EQ(enc->stats().encode_errors, 0u);
  return y;
}

TEST(CodecG7xx, RatesAndTheG722RtpClockQuirk) {
  EXPECT_EQ(codec_info(AudioCodec::kPcmu).sample_rate_hz, 8000);
  EXPECT_EQ(codec_info(AudioCodec::kPcmu).static_payload_type, 0);
  EXPECT_EQ(codec_info(AudioCodec::kPcma).static_payload_type, 8);
  const CodecInfo& g722 = codec_info(AudioCodec::kG722);
  EXPECT_EQ(g722.sample_rate_hz, 16000);
  EXPECT_EQ(g722.rtp_clock_hz, 8000);  // RFC 3551 4.5.2
  EXPECT_EQ(g722.static_payload_type, 9);
  auto enc = encoder(AudioCodec::kG722);
  EXPECT_EQ(enc->frame_samples(), 320u);      // 20 ms of 16 kHz audio
  EXPECT_EQ(enc->max_payload_bytes(), 160u);  // 64 kbit/s; RTP timestamp += 160
  EXPECT_EQ(codec_from_name("g722").value(), AudioCodec::kG722);
  EXPECT_EQ(codec_from_name("pcma").value(), AudioCodec::kPcma);
  auto bad = codec_from_name("GSM");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("GSM"), std::string::npos);
}

// ITU-T G.711 code words: silence is 0xFF in mu-law and 0xD5 in A-law.
TEST(CodecG7xx, G711CodeWordsMatchTheStandard) {
  std::vector<int16_t> zeros(160, 0);
  std::vector<uint8_t> out(160);
  ASSERT_EQ(encoder(AudioCodec::kPcmu)->encode(zeros, out), 160u);
  EXPECT_EQ(out[0], 0xFF);
  ASSERT_EQ(encoder(AudioCodec::kPcma)->encode(zeros, out), 160u);
  EXPECT_EQ(out[0], 0xD5);
  std::vector<int16_t> pcm(kMaxDecodedSamples);
  const uint8_t mu_min[] = {0x00}, a_small[] = {0xD5, 0x55};
  ASSERT_EQ(decoder(AudioCodec::kPcmu)->decode(mu_min, pcm), 1u);
  EXPECT_EQ(pcm[0], -32124);
  ASSERT_EQ(decoder(AudioCodec::kPcma)->decode(a_small, pcm), 2u);
  EXPECT_EQ(pcm[0], 8);
  EXPECT_EQ(pcm[1], -8);
}

// The factory's G.711 path looks samples up in tables that libavcodec filled;
// it must give exactly what a live libavcodec context gives, both directions.
TEST(CodecG7xx, G711TablesAreBitExactWithLibavcodec) {
  std::mt19937 rng(42);
  for (AudioCodec c : {AudioCodec::kPcmu, AudioCodec::kPcma}) {
    EncoderConfig cfg;
    cfg.codec = c;
    auto lavc_enc = LavcAudioEncoder::create(cfg);
    auto lavc_dec = LavcAudioDecoder::create(c);
    ASSERT_TRUE(lavc_enc.ok() && lavc_dec.ok());
    auto table_enc = encoder(c);
    auto table_dec = decoder(c);
    std::vector<int16_t> pcm(160), a(kMaxDecodedSamples), b(kMaxDecodedSamples);
    std::vector<uint8_t> x(160), y(160);
    for (int k = 0; k < 200; ++k) {
      for (auto& v : pcm) v = static_cast<int16_t>(rng());
      ASSERT_EQ((*lavc_enc)->encode(pcm, x), 160u);
      ASSERT_EQ(table_enc->encode(pcm, y), 160u);
      ASSERT_EQ(x, y) << codec_info(c).name;
      ASSERT_EQ((*lavc_dec)->decode(x, a), 160u);
      ASSERT_EQ(table_dec->decode(x, b), 160u);
      ASSERT_TRUE(std::equal(a.begin(), a.begin() + 160, b.begin())) << codec_info(c).name;
    }
  }
}

TEST(CodecG7xx, G711ToneSnrAbove33dB) {
  for (AudioCodec c : {AudioCodec::kPcmu, AudioCodec::kPcma}) {
    for (double level : {-3.0, -20.0}) {
      const auto x = sine(1020.0, level, 8000, 8000);
      const auto y = round_trip(c, x);
      const double snr = snr_db(x, y);
      std::printf("%s 1020 Hz at %.0f dBFS: SNR %.1f dB\n", codec_info(c).name, level, snr);
      EXPECT_GE(snr, 33.0) << codec_info(c).name << " at " << level;
    }
  }
}

TEST(CodecG7xx, G711SpeechSnr) {
  const auto x = testing::speech(8000, 4.0);
  for (AudioCodec c : {AudioCodec::kPcmu, AudioCodec::kPcma}) {
    const double snr = snr_db(x, round_trip(c, x));
    std::printf("%s speech: SNR %.1f dB\n", codec_info(c).name, snr);
    EXPECT_GE(snr, 30.0);
  }
}

TEST(CodecG7xx, G722ToneAndSpeechRoundTrip) {
  // The upper sub-band (4-8 kHz) has 2-bit ADPCM, the lower one 6 bits.
  for (auto [f, bound] : {std::pair{1000.0, 40.0}, std::pair{5000.0, 18.0}}) {
    const auto x = sine(f, -6.0, 16000, 16000);
    size_t delay = 0;
    const auto y = round_trip(AudioCodec::kG722, x);
    const double snr = snr_db(x, y, 128, &delay);
    std::printf("G722 %.0f Hz: SNR %.1f dB at delay %zu\n", f, snr, delay);
    EXPECT_GE(snr, bound) << f;
    EXPECT_NEAR(tone_dbfs(std::span(y).subspan(1600), f, 16000), -6.0, 0.5);
  }
  const auto x = testing::speech(16000, 4.0);
  const double snr = snr_db(x, round_trip(AudioCodec::kG722, x), 128);
  std::printf("G722 speech: SNR %.1f dB\n", snr);
  EXPECT_GE(snr, 30.0);
}

// A lost frame continues the tone (same level) and neither its start nor the
// return to real audio steps harder than the tone itself does.
TEST(CodecG7xx, ConcealmentContinuesWithoutClicks) {
  for (AudioCodec c : {AudioCodec::kPcmu, AudioCodec::kPcma, AudioCodec::kG722}) {
    const int rate = codec_info(c).sample_rate_hz;
    const size_t frame = static_cast<size_t>(codec_info(c).samples_per_20ms);
    const auto x = sine(440.0, -10.0, rate, frame * 40);
    std::vector<bool> lost(40);
    lost[10] = true;
    lost[20] = lost[21] = lost[22] = lost[23] = true;
    const auto clean = round_trip(c, x);
    const auto y = round_trip(c, x, lost);
    const int clean_max = max_step(clean, 0, clean.size());
    int worst = 0;
    for (size_t k : {10, 11, 20, 24}) worst = std::max(worst, max_step(y, k * frame - 8, k * frame + 8));
    std::printf("%s concealment: max step at boundaries %d, tone's max step %d\n", codec_info(c).name, worst,
                clean_max);
    EXPECT_LE(worst, clean_max * 5 / 4) << codec_info(c).name;
    // The first lost frame carries the tone at its level; a long loss fades out.
    const auto f10 = std::span(y).subspan(10 * frame, frame);
    EXPECT_NEAR(tone_dbfs(f10, 440.0, rate), -10.0, 2.0) << codec_info(c).name;
    EXPECT_LT(rms_dbfs(std::span(y).subspan(23 * frame, frame)), -60.0) << codec_info(c).name;
  }
}

TEST(CodecG7xx, BadPayloadsAreCountedAndConcealed) {
  for (AudioCodec c : {AudioCodec::kPcmu, AudioCodec::kPcma, AudioCodec::kG722}) {
    auto dec = decoder(c);
    std::vector<int16_t> out(kMaxDecodedSamples);
    std::mt19937 rng(11);
    uint64_t expected_errors = 0;
    for (int i = 0; i < 400; ++i) {
      std::vector<uint8_t> p(rng() % 1800);
      for (auto& b : p) b = static_cast<uint8_t>(rng());
      expected_errors += p.empty() || p.size() > kMaxPayloadBytes;
      const size_t n = dec->decode(p, out);
      ASSERT_GT(n, 0u);
      ASSERT_LE(n, out.size());
    }
    EXPECT_EQ(dec->stats().decode_errors, expected_errors) << codec_info(c).name;
    EXPECT_GT(expected_errors, 0u);
    // Payload that decodes to more audio than `out` holds: counted, concealed.
    std::vector<int16_t> small(100);
    std::vector<uint8_t> p(160, 0x55);
    EXPECT_EQ(dec->decode(p, small), 100u);
    EXPECT_EQ(dec->stats().decode_errors, expected_errors + 1);
    // Encoder: a wrong frame length is counted, not encoded.
    auto enc = encoder(c);
    std::vector<int16_t> pcm(17);
    std::vector<uint8_t> bytes(enc->max_payload_bytes());
    EXPECT_EQ(enc->encode(pcm, bytes), 0u);
    EXPECT_EQ(enc->stats().encode_errors, 1u);
    std::vector<uint8_t> tiny(3);
    pcm.assign(enc->frame_samples(), 0);
    EXPECT_EQ(enc->encode(pcm, tiny), 0u);
    EXPECT_EQ(enc->stats().encode_errors, 2u);
  }
}

}  // namespace
}  // namespace sipmix::audio
