// Real encode -> packetize -> depacketize -> decode loops for H.264 and VP8:
// picture quality, loss without garbage, resolution change, keyframe policy,
// MTU and the H.264 SPS profile.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

extern "C" {
#include <libavutil/log.h>
}

#include "rtp/rtp_packet.h"
#include "tests/support/signal.h"
#include "tests/support/test_env.h"
#include "rtp_payload/frame_assembler.h"
#include "rtp_payload/h264_depacketizer.h"
#include "rtp_payload/h264_packetizer.h"
#include "video_codec/keyframe_policy.h"
#include "video_codec/video_decoder.h"
#include "video_codec/video_encoder.h"
#include "rtp_payload/vp8_packetizer.h"

namespace sipmix::video {
namespace {

using testing::ci_scale;
using testing::psnr;

// libx264's per-encoder statistics and the deliberate corrupt-frame errors
// are noise in test output.
const bool kQuietCodecs = (av_log_set_level(AV_LOG_QUIET), true);

// A smooth moving pattern with a moving bright square: easy to code well,
// and every frame differs.
void fill_pattern(I420Buffer& b, int i) {
  I420MutableView v = b.mutable_view();
  const int sq = v.width / 6, sx = (i * 7) % (v.width - sq), sy = (i * 3) % (v.height - sq);
  for (int y = 0; y < v.height; ++y)
    for (int x = 0; x < v.width; ++x) {
      int val = 110 + static_cast<int>(60 * std::sin(x / 23.0 + i * 0.15) * std::cos(y / 17.0 - i * 0.05));
      if (x >= sx && x < sx + sq && y >= sy && y < sy + sq) val = 220;
      v.y[y * v.stride_y + x] = static_cast<uint8_t>(val);
    }
  for (int y = 0; y < (v.height + 1) / 2; ++y)
    for (int x = 0; x < (v.width + 1) / 2; ++x) {
      v.u[y * v.stride_u + x] = static_cast<uint8_t>(128 + 40 * std::sin((x + i) / 31.0));
      v.v[y * v.stride_v + x] = static_cast<uint8_t>(128 + 40 * std::cos((y - i) / 29.0));
    }
}

double psnr_y(const I420View& a, const I420View& b) {
  if (a.width != b.width || a.height != b.height) return 0;
  return psnr(a.y, a.stride_y, b.y, b.stride_y, a.width, a.height);
}

// Owns a deep copy of a picture (the tests keep "last good" snapshots).
struct Snapshot {
  I420Buffer buf;
  void take(const I420View& v) {
    buf.reset(v.width, v.height);
    I420MutableView d = buf.mutable_view();
    for (int y = 0; y < v.height; ++y) std::memcpy(d.y + y * d.stride_y, v.y + y * v.stride_y, v.width);
    for (int y = 0; y < (v.height + 1) / 2; ++y) {
      std::memcpy(d.u + y * d.stride_u, v.u + y * v.stride_u, (v.width + 1) / 2);
      std::memcpy(d.v + y * d.stride_v, v.v + y * v.stride_v, (v.width + 1) / 2);
    }
  }
  I420View view() const { return buf.view(); }
};

// Encoder + packetizer of one codec, sending at 90 kHz.
class Sender {
 public:
  explicit Sender(const VideoEncoderConfig& c) {
    auto e = VideoEncoder::create(c);
    EXPECT_TRUE(e.ok()) << e.status().message();
    enc_ = std::move(e).value();
    PacketizerConfig pc;
    pc.payload_type = 96;
    pc.ssrc = 0x1234;
    pc.first_sequence_number = 65500;  // crosses the wrap early
    if (c.codec == VideoCodec::kH264) {
      h264_.emplace(std::move(h264::Packetizer::create(pc)).value());
    } else {
      vp8_.emplace(std::move(vp8::Packetizer::create(pc)).value());
    }
  }
  // Encodes picture at t_us; `packets` receives this frame's RTP packets.
  EncodedFrame send(const I420View& pic, int64_t t_us) {
    EncodedFrame f;
    EXPECT_TRUE(enc_->encode(pic, t_us, &f));
    packets.clear();
    if (!f.data.empty()) {
      const uint32_t ts = static_cast<uint32_t>(t_us * 90 / 1000);
      const bool ok = h264_ ? h264_->packetize(f.data, ts, packets) : vp8_->packetize(f.data, ts, packets);
      EXPECT_TRUE(ok);
    }
    for (size_t i = 0; i < packets.size(); ++i) {
      EXPECT_LE(packets[i].size(), 1200u);
      max_packet = std::max(max_packet, packets[i].size());
    }
    return f;
  }
  VideoEncoder& encoder() { return *enc_; }

  RtpPacketList packets;
  size_t max_packet = 0;

 private:
  std::unique_ptr<VideoEncoder> enc_;
  std::optional<h264::Packetizer> h264_;
  std::optional<vp8::Packetizer> vp8_;
};

// Assembler + decoder of one stream.
struct Receiver {
  explicit Receiver(VideoCodec c) : assembler(c) {
    auto d = VideoDecoder::create(c);
    EXPECT_TRUE(d.ok()) << d.status().message();
    decoder = std::move(d).value();
  }
  // Returns the number of fresh decodes this packet caused (0 or 1).
  int push(std::span<const uint8_t> packet) {
    const auto p = rtp::parse_rtp(packet);
    EXPECT_TRUE(p.has_value());
    const AssembledFrame* f = assembler.push(*p);
    if (!f) return 0;
    return decoder->decode(f->data) == VideoDecoder::Result::kFrame ? 1 : 0;
  }
  FrameAssembler assembler;
  std::unique_ptr<VideoDecoder> decoder;
};

class CodecRoundTrip : public ::testing::TestWithParam<VideoCodec> {};

VideoEncoderConfig config_for(VideoCodec codec, int w, int h) {
  VideoEncoderConfig c;
  c.codec = codec;
  c.width = w;
  c.height = h;
  c.bitrate_bps = 1'000'000;
  return c;
}

constexpr int64_t kFrameUs = 33'333;

TEST_P(CodecRoundTrip, DecodedPictureMatchesSourceAndPacketsFitMtu) {
  const VideoCodec codec = GetParam();
  const int frames = ci_scale() ? 10 : 40;
  Sender tx(config_for(codec, 640, 360));
  Receiver rx(codec);
  I420Buffer src(640, 360);
  double worst = 99;
  for (int i = 0; i < frames; ++i) {
    fill_pattern(src, i);
    const EncodedFrame f = tx.send(src.view(), i * kFrameUs);
    ASSERT_FALSE(f.data.empty());
    EXPECT_EQ(f.keyframe, i == 0) << "frame " << i;
    int fresh = 0;
    for (size_t k = 0; k < tx.packets.size(); ++k) fresh += rx.push(tx.packets[k]);
    ASSERT_EQ(fresh, 1) << "frame " << i;
    worst = std::min(worst, psnr_y(rx.decoder->frame(), src.view()));
  }
  EXPECT_GE(worst, 30.0);
  EXPECT_LE(tx.max_packet, 1200u);
  EXPECT_GT(tx.max_packet, 1000u);  // the keyframe needed full-size packets
  EXPECT_EQ(rx.assembler.stats().frames_emitted, static_cast<uint64_t>(frames));
  EXPECT_EQ(rx.decoder->stats().decode_errors, 0u);
}

// Loss with the keyframe loop closed through KeyframeRequester: every shown
// picture is either the unchanged last good picture or a fresh decode that
// matches the clean decode of the same frame.
TEST_P(CodecRoundTrip, LossShowsLastGoodFrameOrCleanDecode) {
  const VideoCodec codec = GetParam();
  const int frames = ci_scale() ? 90 : 120;
  Sender tx(config_for(codec, 640, 360));
  Receiver clean(codec), lossy(codec);
  KeyframeRequester requester;
  I420Buffer src(640, 360);
  Snapshot last_good;
  bool have_good = false;
  int held = 0, fresh_tail = 0;
  uint64_t packet_index = 0;
  for (int i = 0; i < frames; ++i) {
    const int64_t now = i * kFrameUs;
    fill_pattern(src, i);
    tx.send(src.view(), now);
    int clean_fresh = 0, lossy_fresh = 0;
    for (size_t k = 0; k < tx.packets.size(); ++k, ++packet_index) {
      clean_fresh += clean.push(tx.packets[k]);
      // Lose the 2nd packet of frames 10, 11 (recovery inside the PLI
      // throttle window), 40 and 70, and a marker packet at frame 55.
      const bool lose = ((i == 10 || i == 11 || i == 40 || i == 70) && k == 1) ||
                        (i == 55 && k + 1 == tx.packets.size());
      if (!lose) lossy_fresh += lossy.push(tx.packets[k]);
    }
    ASSERT_EQ(clean_fresh, 1) << "frame " << i;
    bool send_pli = false;
    if (lossy.assembler.take_keyframe_request()) send_pli |= requester.need_keyframe(now);
    if (lossy.decoder->take_keyframe_request()) send_pli |= requester.need_keyframe(now);
    send_pli |= requester.poll(now);
    if (send_pli) tx.encoder().request_keyframe();
    const I420View shown = lossy.decoder->frame();
    if (lossy_fresh) {
      const double q = psnr_y(shown, clean.decoder->frame());
      EXPECT_GE(q, 30.0) << "fresh decode of frame " << i << " differs from the clean decode";
      last_good.take(shown);
      have_good = true;
      if (i >= 75) ++fresh_tail;
    } else if (have_good) {
      EXPECT_EQ(psnr_y(shown, last_good.view()), 99.0) << "held picture changed at frame " << i;
      ++held;
    }
  }
  // Requests: at frame 11 (loss seen when frame 11 arrives), about 1 s
  // later for frame 40, and about 1 s after that for frames 55 and 70; the
  // throttle holds the rest.
  EXPECT_EQ(requester.requests_sent(), 3u);
  EXPECT_GE(requester.requests_throttled(), 10u);
  EXPECT_GT(held, 20);
  EXPECT_EQ(fresh_tail, frames - 75);  // recovered for good after the last loss
  EXPECT_GE(lossy.assembler.stats().frames_incomplete, 5u);
  EXPECT_EQ(lossy.decoder->stats().decode_errors, 0u);  // nothing broken reached the decoder
}

TEST_P(CodecRoundTrip, ResolutionChangeMidStream) {
  const VideoCodec codec = GetParam();
  const int per_size = ci_scale() ? 8 : 20;
  VideoEncoderConfig c = config_for(codec, 640, 360);
  Sender tx(c);
  Receiver rx(codec);
  I420Buffer big(640, 360), small(320, 240);
  Snapshot last_good;
  int fresh_small = 0;
  for (int i = 0; i < 2 * per_size; ++i) {
    if (i == per_size) {
      c.width = 320;
      c.height = 240;
      ASSERT_TRUE(tx.encoder().reconfigure(c).ok());
    }
    I420Buffer& src = i < per_size ? big : small;
    fill_pattern(src, i);
    const EncodedFrame f = tx.send(src.view(), i * kFrameUs);
    if (i == per_size) {
      EXPECT_TRUE(f.keyframe);
    }
    int fresh = 0;
    for (size_t k = 0; k < tx.packets.size(); ++k) fresh += rx.push(tx.packets[k]);
    ASSERT_EQ(fresh, 1) << "frame " << i;
    const I420View shown = rx.decoder->frame();
    ASSERT_EQ(shown.width, src.width());
    ASSERT_EQ(shown.height, src.height());
    EXPECT_GE(psnr_y(shown, src.view()), 30.0) << "frame " << i;
    if (i >= per_size) ++fresh_small;
  }
  EXPECT_EQ(fresh_small, per_size);
  EXPECT_EQ(rx.decoder->stats().resolution_changes, 1u);
  EXPECT_EQ(rx.decoder->stats().decode_errors, 0u);
}

TEST_P(CodecRoundTrip, KeyframeOnRequestSpacedAtLeast250ms) {
  const VideoCodec codec = GetParam();
  Sender tx(config_for(codec, 320, 240));
  I420Buffer src(320, 240);
  std::vector<int64_t> key_times;
  for (int i = 0; i < 90; ++i) {
    const int64_t now = i * kFrameUs;
    if (i == 30) tx.encoder().request_keyframe();  // 1.0 s: far from the last keyframe
    if (i == 60 || i == 63) tx.encoder().request_keyframe();  // 2.0 s and 2.1 s
    fill_pattern(src, i);
    const EncodedFrame f = tx.send(src.view(), now);
    if (f.keyframe) key_times.push_back(now);
  }
  // 0 (first), 30 (next frame after request), 60, then the 2.1 s request
  // deferred to the first frame at >= 2.0 s + 250 ms: frame 68 (2.267 s).
  ASSERT_EQ(key_times.size(), 4u);
  EXPECT_EQ(key_times[0], 0);
  EXPECT_EQ(key_times[1], 30 * kFrameUs);
  EXPECT_EQ(key_times[2], 60 * kFrameUs);
  EXPECT_EQ(key_times[3], 68 * kFrameUs);
  EXPECT_EQ(tx.encoder().stats().forced_keyframes, 3u);
}

INSTANTIATE_TEST_SUITE_P(Codecs, CodecRoundTrip, ::testing::Values(VideoCodec::kH264, VideoCodec::kVp8),
                         [](const auto& info) { return std::string(codec_name(info.param)); });

// --- H.264 specifics on real x264 output -----------------------------------

TEST(H264Stream, SpsIsConstrainedBaselineLevel31InStapAWithPps) {
  Sender tx(config_for(VideoCodec::kH264, 640, 360));
  I420Buffer src(640, 360);
  fill_pattern(src, 0);
  const EncodedFrame f = tx.send(src.view(), 0);
  ASSERT_TRUE(f.keyframe);
  // SPS: profile_idc 66, constraint_set1 set (Constrained Baseline), level 3.1.
  size_t pos = 0;
  bool found = false;
  while (pos < f.data.size()) {
    const auto nal = h264::next_annexb_nal(f.data, &pos);
    if (nal.size() >= 4 && h264::nal_type(nal[0]) == h264::kNalSps) {
      EXPECT_EQ(nal[1], 66);
      EXPECT_TRUE(nal[2] & 0x40) << "constraint_set1_flag";
      EXPECT_EQ(nal[3], 31);
      found = true;
      break;
    }
  }
  EXPECT_TRUE(found);
  // The first packet is a STAP-A holding SPS then PPS; then FU-A fragments
  // of the IDR slice with S on the first and E on the last only.
  ASSERT_GE(tx.packets.size(), 3u);
  const auto first = rtp::parse_rtp(tx.packets[0]);
  ASSERT_TRUE(first);
  ASSERT_EQ(h264::nal_type(first->payload[0]), h264::kNalStapA);
  EXPECT_EQ(h264::nal_type(first->payload[3]), h264::kNalSps);
  const size_t sps_len = rtp::read_u16(&first->payload[1]);
  EXPECT_EQ(h264::nal_type(first->payload[3 + sps_len + 2]), h264::kNalPps);
  int starts = 0, ends = 0, fu = 0;
  for (size_t k = 0; k < tx.packets.size(); ++k) {
    const auto p = rtp::parse_rtp(tx.packets[k]);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->marker, k + 1 == tx.packets.size());
    if (h264::nal_type(p->payload[0]) != h264::kNalFuA) continue;
    ++fu;
    const bool s = p->payload[1] & 0x80, e = p->payload[1] & 0x40;
    EXPECT_EQ(h264::nal_type(p->payload[1]), h264::kNalIdr);
    starts += s;
    ends += e;
    if (s) {
      EXPECT_EQ(fu, 1);
    }
    if (e) {
      EXPECT_EQ(k + 1, tx.packets.size());
    }
  }
  EXPECT_GE(fu, 2);
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(ends, 1);
}

TEST(H264Stream, ParameterSetsRepeatedOnEveryIdr) {
  Sender tx(config_for(VideoCodec::kH264, 320, 240));
  I420Buffer src(320, 240);
  int idr = 0;
  for (int i = 0; i < 30; ++i) {
    if (i == 15) tx.encoder().request_keyframe();
    fill_pattern(src, i);
    const EncodedFrame f = tx.send(src.view(), i * kFrameUs);
    if (!f.keyframe) continue;
    ++idr;
    bool sps = false, pps = false, is_idr = false;
    size_t pos = 0;
    while (pos < f.data.size()) {
      const auto nal = h264::next_annexb_nal(f.data, &pos);
      if (nal.empty()) continue;
      sps |= h264::nal_type(nal[0]) == h264::kNalSps;
      pps |= h264::nal_type(nal[0]) == h264::kNalPps;
      is_idr |= h264::nal_type(nal[0]) == h264::kNalIdr;
    }
    EXPECT_TRUE(sps && pps && is_idr) << "frame " << i;
  }
  EXPECT_EQ(idr, 2);
}

// A frame that passes assembly but is garbage to the codec: counted, the
// last good picture stays, a keyframe is requested, and inter frames are
// skipped until a keyframe decodes.
TEST_P(CodecRoundTrip, CorruptFrameKeepsLastGoodPicture) {
  const VideoCodec codec = GetParam();
  Sender tx(config_for(codec, 320, 240));
  auto dec = std::move(VideoDecoder::create(codec)).value();
  I420Buffer src(320, 240);
  std::vector<std::vector<uint8_t>> stream;
  for (int i = 0; i < 12; ++i) {
    if (i == 8) tx.encoder().request_keyframe();
    fill_pattern(src, i);
    const EncodedFrame f = tx.send(src.view(), i * kFrameUs);
    stream.emplace_back(f.data.begin(), f.data.end());
  }
  for (int i = 0; i < 4; ++i) ASSERT_EQ(dec->decode(stream[i]), VideoDecoder::Result::kFrame);
  Snapshot good;
  good.take(dec->frame());
  // Frame 4 with its payload scrambled after the first 20 bytes.
  std::vector<uint8_t> bad = stream[4];
  uint32_t x = 12345;
  for (size_t k = 20; k < bad.size(); ++k) {
    x = x * 1103515245u + 12345u;
    bad[k] = static_cast<uint8_t>(x >> 16);
  }
  const auto r = dec->decode(bad);
  if (r == VideoDecoder::Result::kError) {
    EXPECT_TRUE(dec->take_keyframe_request());
    EXPECT_EQ(dec->stats().decode_errors, 1u);
    EXPECT_EQ(psnr_y(dec->frame(), good.view()), 99.0);
    EXPECT_EQ(dec->decode(stream[5]), VideoDecoder::Result::kSkipped);
    EXPECT_EQ(psnr_y(dec->frame(), good.view()), 99.0);
  } else {
    // The codec could not tell: the decoder accepted it, nothing to assert
    // about the picture beyond it being a full frame.
    ASSERT_EQ(r, VideoDecoder::Result::kFrame);
  }
  ASSERT_TRUE(is_keyframe(codec, stream[8]));
  ASSERT_EQ(dec->decode(stream[8]), VideoDecoder::Result::kFrame);
  fill_pattern(src, 8);
  EXPECT_GE(psnr_y(dec->frame(), src.view()), 30.0);
}

// The encoder's macroblock map reaches the codec (libvpx's active map for
// VP8, x264's X264_MBINFO_CONSTANT for H.264): a block marked as unchanged is
// not coded again. So when the picture changes everywhere but only the left
// half is marked, the decoded frame shows the new picture on the left and the
// old one on the right; with no map, the new picture everywhere.
double mean_y(const I420View& v, int x0, int x1) {
  double sum = 0;
  for (int y = 0; y < v.height; ++y)
    for (int x = x0; x < x1; ++x) sum += v.y[y * v.stride_y + x];
  return sum / (static_cast<double>(v.height) * (x1 - x0));
}

TEST_P(CodecRoundTrip, BlocksTheMapMarksUnchangedAreNotCodedAgain) {
  const VideoCodec codec = GetParam();
  const VideoEncoderConfig c = config_for(codec, 640, 352);
  const int mb_cols = 640 / 16, mb_rows = 352 / 16;
  std::vector<uint8_t> left_half(static_cast<size_t>(mb_cols * mb_rows));
  for (int r = 0; r < mb_rows; ++r)
    for (int k = 0; k < mb_cols / 2; ++k) left_half[static_cast<size_t>(r * mb_cols + k)] = 1;
  I420Buffer before(640, 352), after(640, 352);
  fill_pattern(before, 0);
  fill_pattern(after, 0);
  I420MutableView a = after.mutable_view();
  for (int y = 0; y < a.height; ++y)
    for (int x = 0; x < a.width; ++x) a.y[y * a.stride_y + x] = static_cast<uint8_t>(255 - a.y[y * a.stride_y + x]);
  for (const bool with_map : {true, false}) {
    SCOPED_TRACE(with_map ? "left half marked" : "no map");
    auto backend = std::move(codec == VideoCodec::kH264 ? create_h264_encoder_backend(c)
                                                        : create_vp8_encoder_backend(c))
                       .value();
    auto dec = std::move(VideoDecoder::create(codec)).value();
    EncodedFrame f;
    // The old picture, coded until it has converged.
    for (int i = 0; i < 15; ++i) {
      ASSERT_TRUE(backend->encode(before.view(), i == 0, nullptr, &f));
      ASSERT_EQ(dec->decode(f.data), VideoDecoder::Result::kFrame);
    }
    const double old_right = mean_y(dec->frame(), 336, 640);
    ASSERT_TRUE(backend->encode(after.view(), false, with_map ? left_half.data() : nullptr, &f));
    ASSERT_FALSE(f.keyframe);
    ASSERT_EQ(dec->decode(f.data), VideoDecoder::Result::kFrame);
    const double want_left = mean_y(after.view(), 0, 304), want_right = mean_y(after.view(), 336, 640);
    ASSERT_GT(std::abs(want_right - old_right), 20);  // the two pictures differ where it matters
    EXPECT_NEAR(mean_y(dec->frame(), 0, 304), want_left, 4);
    EXPECT_NEAR(mean_y(dec->frame(), 336, 640), with_map ? old_right : want_right, 4);
  }
}

}  // namespace
}  // namespace sipmix::video
