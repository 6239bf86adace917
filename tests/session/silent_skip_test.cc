// Skipping the decode of silent sources: an Opus stream with RFC 6464 levels
// plays a tone, 2 s of silence, then the tone again. From the second silent
// packet on nothing is decoded and the stream plays digital silence; when
// the tone returns the output matches, frame for frame after the first, that
// of the same stream decoded in full.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "audio_codec/codec.h"
#include "rtp/rtp_packet.h"
#include "receive/audio_input.h"
#include "tests/support/signal.h"

namespace sipmix::session {
namespace {

constexpr uint8_t kLevelExtId = 1;
constexpr int kToneFrames = 50, kSilentFrames = 100;

struct Packet {
  std::vector<uint8_t> bytes;
  bool silent = false;
};

// 1 s of 440 Hz at -20 dBFS, 2 s of digital silence, 1 s of the tone; each
// packet carries its RFC 6464 level (20 or 127).
std::vector<Packet> make_stream(bool with_levels) {
  audio::EncoderConfig ec;
  auto enc = std::move(*audio::make_audio_encoder(ec));
  const std::vector<int16_t> tone = testing::sine(440, -20, 48000, 960 * 2 * kToneFrames);
  const std::vector<int16_t> zeros(960, 0);
  std::vector<Packet> out;
  std::vector<uint8_t> payload(enc->max_payload_bytes());
  for (int f = 0; f < 2 * kToneFrames + kSilentFrames; ++f) {
    const bool silent = f >= kToneFrames && f < kToneFrames + kSilentFrames;
    const int tone_frame = f < kToneFrames ? f : f - kSilentFrames;
    const std::span<const int16_t> pcm =
        silent ? std::span<const int16_t>(zeros) : std::span<const int16_t>(tone).subspan(960 * tone_frame, 960);
    payload.resize(enc->max_payload_bytes());
    payload.resize(enc->encode(pcm, payload));
    rtp::RtpHeader h;
    h.payload_type = 111;
    h.sequence_number = static_cast<uint16_t>(f);
    h.timestamp = static_cast<uint32_t>(f * 960);
    h.ssrc = 77;
    const uint8_t level[1] = {static_cast<uint8_t>(silent ? 127 : 20)};
    const rtp::HeaderExtensionElement ext{kLevelExtId, level};
    Packet p;
    p.bytes.resize(1500);
    p.bytes.resize(rtp::write_rtp(h, with_levels ? std::span(&ext, 1) : std::span<const rtp::HeaderExtensionElement>{},
                                  payload, p.bytes));
    p.silent = silent;
    out.push_back(std::move(p));
  }
  return out;
}

struct Playback {
  std::vector<int16_t> pcm;
  uint64_t skipped = 0, decoded = 0;
};

Playback play(const std::vector<Packet>& stream, bool skip) {
  AudioInputConfig c;
  c.audio_level_ext_id = kLevelExtId;
  c.skip_silent_decode = skip;
  auto in = std::move(*AudioInput::create(c));
  Playback r;
  for (size_t f = 0; f < stream.size() + 5; ++f) {
    const int64_t now = static_cast<int64_t>(f) * 20000;
    if (f < stream.size()) (void)in->insert(stream[f].bytes, now);
    if (in->pull(now)) r.pcm.insert(r.pcm.end(), in->frame(), in->frame() + 960);
  }
  r.skipped = in->skipped_silent();
  r.decoded = in->codec_stats().frames_decoded;
  return r;
}

TEST(SilentSkip, SilentOpusPacketsAreNotDecodedAndSoundReturnsIntact) {
  const auto stream = make_stream(true);
  const Playback full = play(stream, false);
  const Playback skip = play(stream, true);
  ASSERT_EQ(full.pcm.size(), skip.pcm.size());
  // Every silent packet but the first is skipped; the first is decoded, and
  // so is the last skipped one again when the tone returns.
  EXPECT_EQ(skip.skipped, static_cast<uint64_t>(kSilentFrames - 1));
  EXPECT_EQ(full.decoded, stream.size());
  EXPECT_EQ(skip.decoded, stream.size() - (kSilentFrames - 1) + 1);

  // Find where the tone returns in the full decode (both play the same
  // frames at the same ticks).
  const size_t n_frames = full.pcm.size() / 960;
  auto frame = [](const std::vector<int16_t>& x, size_t k) { return std::span<const int16_t>(x).subspan(960 * k, 960); };
  size_t back = 0;
  for (size_t k = n_frames / 2; k < n_frames && !back; ++k)
    if (testing::rms_dbfs(frame(full.pcm, k)) > -40) back = k;
  ASSERT_GT(back, 0u);
  // The skipped stretch is digital silence.
  for (size_t k = back - kSilentFrames + 3; k < back; ++k)
    for (int16_t v : frame(skip.pcm, k)) ASSERT_EQ(v, 0) << "frame " << k;
  // The tone is back at once, at its level, and from the second frame on
  // equal to the full decode.
  EXPECT_NEAR(testing::tone_dbfs(frame(skip.pcm, back), 440, 48000),
              testing::tone_dbfs(frame(full.pcm, back), 440, 48000), 1.0);
  const std::span<const int16_t> rest_full = std::span<const int16_t>(full.pcm).subspan(960 * (back + 1), 960 * 40);
  const std::span<const int16_t> rest_skip = std::span<const int16_t>(skip.pcm).subspan(960 * (back + 1), 960 * 40);
  const double snr = testing::snr_db(rest_full, rest_skip);
  std::printf("silent skip: %llu of %d silent packets skipped; after the return SNR against the full decode %.1f dB\n",
              static_cast<unsigned long long>(skip.skipped), kSilentFrames, snr);
  EXPECT_GE(snr, 40.0);
  EXPECT_NEAR(testing::tone_dbfs(rest_skip, 440, 48000), -20.0, 1.0);
}

TEST(SilentSkip, WithoutLevelsEverythingIsDecoded) {
  const auto stream = make_stream(false);
  const Playback r = play(stream, true);
  EXPECT_EQ(r.skipped, 0u);
  EXPECT_EQ(r.decoded, stream.size());
}

}  // namespace
}  // namespace sipmix::session
