// The public peer API (sipmix/peer.h) end to end: what a PeerSender encodes
// and stamps, a PeerReceiver decodes back to the same tone or picture, through
// SRTP when asked; RFC 4733 events as a phone sends them; and bad settings
// refused with errors that name the field.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

extern "C" {
#include <libavutil/log.h>
}

#include "sipmix/peer.h"
#include "tests/support/signal.h"

namespace sipmix {
namespace {

using testing::psnr;
using testing::sine;
using testing::tone_dbfs;

const bool kQuietCodecs = (av_log_set_level(AV_LOG_QUIET), true);

// 30-byte SDES keys (RFC 4568), base64.
constexpr const char* kKeyA = "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
constexpr const char* kKeyB = "inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk";

std::unique_ptr<PeerSender> make_sender(const PeerSenderConfig& c) {
  auto s = PeerSender::create(c);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? std::move(*s) : nullptr;
}

std::unique_ptr<PeerReceiver> make_receiver(const PeerReceiverConfig& c) {
  auto r = PeerReceiver::create(c);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(*r) : nullptr;
}

// Sends `seconds` of a 1 kHz tone at -12 dBFS and returns what the receiver
// decodes from the packets.
std::vector<int16_t> tone_round_trip(AudioCodec codec, int input_rate_hz, double seconds, int* decoded_rate_hz) {
  PeerSenderConfig sc;
  sc.audio_codec = codec;
  sc.input_sample_rate_hz = input_rate_hz;
  sc.payload_type = 0;
  auto tx = make_sender(sc);
  PeerReceiverConfig rc;
  rc.audio_codec = codec;
  auto rx = make_receiver(rc);
  if (!tx || !rx) return {};
  *decoded_rate_hz = rx->sample_rate_hz();
  const int in_rate = input_rate_hz ? input_rate_hz : tx->sample_rate_hz();
  const size_t frames = static_cast<size_t>(seconds * 50);
  const std::vector<int16_t> pcm = sine(1000, -12, in_rate, frames * tx->input_frame_samples());
  std::vector<int16_t> out;
  std::vector<int16_t> frame(PeerReceiver::kMaxDecodedSamples);
  for (size_t f = 0; f < frames; ++f) {
    const std::vector<uint8_t> packet =
        tx->audio_packet({pcm.data() + f * tx->input_frame_samples(), tx->input_frame_samples()});
    const auto info = parse_rtp_packet(packet);
    if (!info) {
      ADD_FAILURE() << "frame " << f << " gave no RTP packet";
      return {};
    }
    const size_t n = rx->decode_audio(info->payload, frame);
    out.insert(out.end(), frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

class PeerAudioRoundTrip : public ::testing::TestWithParam<AudioCodec> {};

TEST_P(PeerAudioRoundTrip, ToneKeepsItsFrequencyAndLevel) {
  int rate = 0;
  const std::vector<int16_t> out = tone_round_trip(GetParam(), 0, 1.0, &rate);
  ASSERT_GE(out.size(), static_cast<size_t>(rate) / 2);
  const std::span<const int16_t> tail(out.data() + out.size() / 2, out.size() / 2);  // past the codec's start-up
  EXPECT_NEAR(tone_dbfs(tail, 1000, rate), -12, 1.5) << to_string(GetParam());
  EXPECT_LT(tone_dbfs(tail, 1500, rate), -40) << to_string(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Codecs, PeerAudioRoundTrip,
                         ::testing::Values(AudioCodec::kOpus, AudioCodec::kPcmu, AudioCodec::kPcma, AudioCodec::kG722),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(PeerAudio, PcmAtAnotherRateIsResampledToTheCodecsRateKeepingTheTone) {
  int rate = 0;
  const std::vector<int16_t> out = tone_round_trip(AudioCodec::kPcmu, 48000, 1.0, &rate);
  ASSERT_EQ(rate, 8000);
  ASSERT_GE(out.size(), 4000u);
  const std::span<const int16_t> tail(out.data() + out.size() / 2, out.size() / 2);
  EXPECT_NEAR(tone_dbfs(tail, 1000, rate), -12, 1.5);
  EXPECT_LT(tone_dbfs(tail, 1500, rate), -40);
}

TEST(PeerAudio, PacketsCarryTheHeaderFieldsAndAdvanceByOneFrame) {
  PeerSenderConfig sc;
  sc.audio_codec = AudioCodec::kPcma;
  sc.payload_type = 8;
  sc.ssrc = 0x01020304;
  sc.first_sequence_number = 0xFFFF;
  sc.first_timestamp = 1000;
  auto tx = make_sender(sc);
  ASSERT_TRUE(tx);
  const std::vector<int16_t> pcm(tx->frame_samples());
  for (int i = 0; i < 2; ++i) {
    const std::vector<uint8_t> p = tx->audio_packet(pcm);
    const auto info = parse_rtp_packet(p);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->payload_type, 8);
    EXPECT_EQ(info->ssrc, 0x01020304u);
    EXPECT_EQ(info->sequence_number, static_cast<uint16_t>(0xFFFF + i));  // wraps
    EXPECT_EQ(info->timestamp, 1000u + 160u * i);
    EXPECT_EQ(info->payload.size(), 160u);  // G.711: one byte a sample
  }
}

// A picture with a label: a smooth pattern and, top left, a white card with
// black bars, as a participant's name is drawn on its tile.
void draw_labelled(const MutablePictureView& v, int i) {
  for (int y = 0; y < v.height; ++y)
    for (int x = 0; x < v.width; ++x) {
      int val = 110 + static_cast<int>(50 * std::sin(x / 23.0 + i * 0.1) * std::cos(y / 17.0));
      if (x >= 16 && x < 112 && y >= 16 && y < 48) val = (x / 8) % 3 == 0 && y >= 22 && y < 42 ? 16 : 235;
      v.y[y * v.stride_y + x] = static_cast<uint8_t>(val);
    }
  for (int y = 0; y < (v.height + 1) / 2; ++y)
    for (int x = 0; x < (v.width + 1) / 2; ++x) {
      v.u[y * v.stride_u + x] = static_cast<uint8_t>(128 + 30 * std::sin(x / 31.0));
      v.v[y * v.stride_v + x] = static_cast<uint8_t>(128 + 30 * std::cos(y / 29.0));
    }
}

class PeerVideoRoundTrip : public ::testing::TestWithParam<VideoCodec> {};

TEST_P(PeerVideoRoundTrip, LabelledPictureSurvivesWithItsLabelReadable) {
  PeerSenderConfig sc;
  sc.kind = MediaKind::kVideo;
  sc.video_codec = GetParam();
  sc.width = 320;
  sc.height = 240;
  sc.video_bitrate_bps = 800'000;
  sc.payload_type = 96;
  sc.ssrc = 7;
  auto tx = make_sender(sc);
  PeerReceiverConfig rc;
  rc.kind = MediaKind::kVideo;
  rc.video_codec = GetParam();
  auto rx = make_receiver(rc);
  ASSERT_TRUE(tx && rx);

  Picture source(320, 240);
  int pictures = 0;
  double worst = 99, worst_label = 99;
  for (int i = 0; i < 30; ++i) {
    draw_labelled(source.mutable_view(), i);
    const PictureView src = source.view();
    for (std::span<const uint8_t> packet : tx->video_packets(src, i * 33'333)) {
      const auto info = parse_rtp_packet(packet);
      ASSERT_TRUE(info);
      EXPECT_EQ(info->payload_type, 96);
      EXPECT_EQ(info->ssrc, 7u);
      const ReceivedFrame* f = rx->push_video(packet);
      if (!f) continue;
      EXPECT_EQ(f->keyframe, i == 0) << "frame " << i;
      PictureView got;
      ASSERT_TRUE(rx->decode_video(f->data, &got)) << "frame " << i;
      ASSERT_EQ(got.width, 320);
      ASSERT_EQ(got.height, 240);
      ++pictures;
      worst = std::min(worst, psnr(got.y, got.stride_y, src.y, src.stride_y, 320, 240));
      // The label alone: its bars must stay sharp, not just the smooth pattern.
      worst_label = std::min(worst_label, psnr(got.y + 16 * got.stride_y + 16, got.stride_y,
                                               src.y + 16 * src.stride_y + 16, src.stride_y, 96, 32));
    }
  }
  EXPECT_EQ(pictures, 30);
  EXPECT_GE(worst, 32.0) << to_string(GetParam());
  EXPECT_GE(worst_label, 28.0) << to_string(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Codecs, PeerVideoRoundTrip, ::testing::Values(VideoCodec::kVp8, VideoCodec::kH264),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(PeerVideo, AfterALostPacketNoFrameIsShownUntilTheRequestedKeyframe) {
  PeerSenderConfig sc;
  sc.kind = MediaKind::kVideo;
  sc.video_codec = VideoCodec::kVp8;
  auto tx = make_sender(sc);
  PeerReceiverConfig rc;
  rc.kind = MediaKind::kVideo;
  rc.decode_video = false;
  auto rx = make_receiver(rc);
  ASSERT_TRUE(tx && rx);
  int frames = 0, keyframes = 0;
  for (int i = 0; i < 10; ++i) {
    draw_labelled(tx->picture(), i);
    if (i == 8) tx->request_keyframe();  // past the encoder's 250 ms keyframe spacing
    auto packets = tx->video_packets(i * 33'333);
    ASSERT_FALSE(packets.empty());
    for (size_t k = 0; k < packets.size(); ++k) {
      if (i == 3 && k == 0) continue;  // lost
      if (const ReceivedFrame* f = rx->push_video(packets[k])) {
        ++frames;
        keyframes += f->keyframe;
        EXPECT_TRUE(i < 3 || i >= 8) << "frame " << i << " shown after the loss";
      }
    }
  }
  EXPECT_EQ(frames, 3 + 2);
  EXPECT_EQ(keyframes, 2);
}

TEST(PeerSrtpTest, ProtectedPacketsDecryptToTheSameBytesAndTamperingIsRefused) {
  auto phone = PeerSrtp::create(SrtpSuite::kAesCm128HmacSha1_80, kKeyA, kKeyB);
  auto gateway = PeerSrtp::create(SrtpSuite::kAesCm128HmacSha1_80, kKeyB, kKeyA);
  ASSERT_TRUE(phone.ok()) << phone.status().message();
  ASSERT_TRUE(gateway.ok()) << gateway.status().message();
  PeerSenderConfig sc;
  sc.audio_codec = AudioCodec::kPcmu;
  sc.payload_type = 0;
  auto tx = make_sender(sc);
  ASSERT_TRUE(tx);
  const std::vector<int16_t> pcm = sine(440, -6, 8000, 160);
  for (int i = 0; i < 5; ++i) {
    const std::vector<uint8_t> clear = tx->audio_packet(pcm);
    std::vector<uint8_t> wire = clear;
    ASSERT_TRUE((*phone)->protect_rtp(wire));
    EXPECT_EQ(wire.size(), clear.size() + 10);  // the 80-bit tag
    EXPECT_NE(std::vector<uint8_t>(wire.begin() + 12, wire.begin() + 172),
              std::vector<uint8_t>(clear.begin() + 12, clear.end()));  // the payload is encrypted
    std::vector<uint8_t> tampered = wire;
    tampered[20] ^= 1;
    EXPECT_FALSE((*gateway)->unprotect_rtp(tampered));
    std::vector<uint8_t> got = wire;
    ASSERT_TRUE((*gateway)->unprotect_rtp(got));
    EXPECT_EQ(got, clear);
    std::vector<uint8_t> again = wire;
    EXPECT_FALSE((*gateway)->unprotect_rtp(again)) << "a replayed packet is accepted";
  }
  // The other direction has its own key.
  std::vector<uint8_t> back = tx->audio_packet(pcm), sent = back;
  ASSERT_TRUE((*gateway)->protect_rtp(back));
  std::vector<uint8_t> wrong_key = back;
  EXPECT_FALSE((*gateway)->unprotect_rtp(wrong_key));
  ASSERT_TRUE((*phone)->unprotect_rtp(back));
  EXPECT_EQ(back, sent);
}

TEST(PeerDtmf, DigitsGoOutAsRfc4733EventsWithMarkerAndEndPackets) {
  PeerSenderConfig sc;
  sc.audio_codec = AudioCodec::kPcmu;
  sc.encode = false;
  sc.payload_type = 0;
  sc.telephone_event_payload_type = 101;
  sc.ssrc = 0x5A5A0002;
  sc.first_sequence_number = 3000;
  auto tx = make_sender(sc);
  ASSERT_TRUE(tx);
  ASSERT_TRUE(tx->play_dtmf("1#").ok());
  std::vector<int> events;  // event code at each marker
  int ends = 0, frames = 0;
  uint16_t expect_seq = 3000;
  while (!tx->dtmf_idle() && frames < 200) {
    ++frames;
    const std::vector<uint8_t> p = tx->dtmf_packet();
    if (p.empty()) continue;
    const auto info = parse_rtp_packet(p);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->payload_type, 101);
    EXPECT_EQ(info->ssrc, 0x5A5A0002u);
    EXPECT_EQ(info->sequence_number, expect_seq++);
    ASSERT_EQ(info->payload.size(), 4u);
    if (info->marker) events.push_back(info->payload[0]);
    ends += (info->payload[1] & 0x80) != 0;
  }
  EXPECT_EQ(events, (std::vector<int>{1, 11}));  // RFC 4733: '#' is event 11
  EXPECT_EQ(ends, 2 * 3);                          // three end packets a digit
}

TEST(PeerConfig, BadSettingsAreRefusedNamingTheField) {
  auto refused = [](const PeerSenderConfig& c, const std::string& field) {
    auto s = PeerSender::create(c);
    ASSERT_FALSE(s.ok()) << field;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << field;
    EXPECT_NE(s.status().message().find(field), std::string::npos) << s.status().message();
  };
  PeerSenderConfig c;
  c.payload_type = 200;
  refused(c, "payload_type");
  c = {};
  c.input_sample_rate_hz = 1234;
  refused(c, "input_sample_rate_hz");
  c = {};
  c.telephone_event_payload_type = 300;
  refused(c, "telephone_event_payload_type");
  c = {};
  c.kind = MediaKind::kVideo;
  c.video_codec = VideoCodec::kNone;
  refused(c, "video_codec");
  c = {};
  c.kind = MediaKind::kVideo;
  c.width = 0;
  refused(c, "width");

  PeerReceiverConfig rc;
  rc.kind = MediaKind::kVideo;
  rc.video_codec = VideoCodec::kNone;
  auto r = PeerReceiver::create(rc);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("video_codec"), std::string::npos) << r.status().message();

  auto tx = PeerSender::create({});
  ASSERT_TRUE(tx.ok());
  Status st = (*tx)->play_dtmf("1");
  EXPECT_NE(st.message().find("telephone_event_payload_type"), std::string::npos) << st.message();
  PeerSenderConfig ev;
  ev.telephone_event_payload_type = 101;
  auto etx = PeerSender::create(ev);
  ASSERT_TRUE(etx.ok());
  st = (*etx)->play_dtmf("12x");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find('x'), std::string::npos) << st.message();

  auto bad_send = PeerSrtp::create(SrtpSuite::kAesCm128HmacSha1_80, "inline:short", kKeyA);
  ASSERT_FALSE(bad_send.ok());
  EXPECT_EQ(bad_send.status().message().rfind("send_key: ", 0), 0u) << bad_send.status().message();
  auto bad_receive = PeerSrtp::create(SrtpSuite::kAesCm128HmacSha1_80, kKeyA, "nokey");
  ASSERT_FALSE(bad_receive.ok());
  EXPECT_EQ(bad_receive.status().message().rfind("receive_key: ", 0), 0u) << bad_receive.status().message();
  EXPECT_TRUE(PeerSrtp::check_key(SrtpSuite::kAesCm128HmacSha1_32, kKeyB).ok());
  EXPECT_FALSE(PeerSrtp::check_key(SrtpSuite::kAesCm128HmacSha1_32, "inline:short").ok());
}

}  // namespace
}  // namespace sipmix
