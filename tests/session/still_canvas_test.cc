// A leg whose canvas does not change costs almost nothing: its encoder skips
// the frames (SessionConfig::skip_unchanged_video), a PLI still gets a
// keyframe on the next frame, and the picture the SIP side decodes stays
// right, also when one tile changes on a VP8 leg coded with an active map.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "compose/layout.h"
#include "rtp/rtp_packet.h"
#include "rtp_payload/frame_assembler.h"
#include "session_harness.h"
#include "video_codec/video_decoder.h"

namespace sipmix::testing {
namespace {

// The leg's video as the SIP side decodes it: frames sent in [from_us, to_us)
// of clock time, and the last picture (luma, 640x360).
struct LegVideo {
  int frames = 0, keyframes = 0, decode_errors = 0;
  std::vector<uint8_t> last_luma;
};

LegVideo decode_leg(const SessionHarness& h, VideoCodec codec, int64_t from_us, int64_t to_us) {
  const auto vc = codec == VideoCodec::kVp8 ? video::VideoCodec::kVp8 : video::VideoCodec::kH264;
  video::FrameAssembler fa(vc);
  auto dec = std::move(*video::VideoDecoder::create(vc));
  LegVideo out;
  for (const auto& p : h.sink.rtp) {
    if (p.dir != Direction::kToLeg || p.time_us >= to_us) continue;
    auto v = rtp::parse_rtp(p.data);
    if (!v || v->payload_type != 96) continue;
    const video::AssembledFrame* f = fa.push(*v);
    if (!f) continue;
    const auto r = dec->decode(f->data);
    if (r == video::VideoDecoder::Result::kError || r == video::VideoDecoder::Result::kSkipped) ++out.decode_errors;
    if (p.time_us < from_us) continue;
    ++out.frames;
    out.keyframes += f->keyframe;
  }
  const video::I420View pic = dec->frame();
  if (!pic.empty())
    for (int y = 0; y < pic.height; ++y) out.last_luma.insert(out.last_luma.end(), pic.y + y * pic.stride_y, pic.y + y * pic.stride_y + pic.width);
  return out;
}

double mean_luma(const std::vector<uint8_t>& y, const video::Rect& r) {
  double sum = 0;
  int n = 0;
  for (int j = r.y + r.h / 4; j < r.y + r.h * 3 / 4; ++j)
    for (int i = r.x + r.w / 4; i < r.x + r.w * 3 / 4; ++i, ++n) sum += y[static_cast<size_t>(j) * 640 + i];
  return sum / n;
}

video::Rect cell_of(int index, int count) {
  video::LayoutOptions lo;
  lo.canvas_width = 640;
  lo.canvas_height = 360;
  return video::grid_cell(lo, video::grid_for_count(count), index);
}

int64_t at_ms(const SessionHarness& h, int ms) { return h.start_us + int64_t{ms} * 1000; }

class SessionStillCanvas : public ::testing::TestWithParam<VideoCodec> {};

TEST_P(SessionStillCanvas, SkipsAlmostEveryFrameYetSendsOneASecond) {
  SessionHarness h;
  const uint8_t colors[] = {50, 100, 150, 200};
  for (int i = 0; i < 4; ++i) h.add_participant("p" + std::to_string(i), 0, colors[i]);
  h.add_leg(video_leg(GetParam()), 0);
  h.run_ms(6000);
  const LegStats st = h.session->stats().legs[0];
  // 181 frames are due in 6 s (one at 0 s, then every 33.3 ms). The pictures
  // settle within the first second; after that only the one-a-second repeat
  // is encoded.
  EXPECT_GE(st.video_frames_skipped, 140u);
  EXPECT_EQ(st.video_frames_encoded + st.video_frames_skipped, 181u);
  const LegVideo last3 = decode_leg(h, GetParam(), at_ms(h, 3000), at_ms(h, 6000));
  EXPECT_GE(last3.frames, 2);
  EXPECT_LE(last3.frames, 5);
  EXPECT_EQ(last3.decode_errors, 0);
  // What the SIP side shows is still the four participants.
  ASSERT_EQ(last3.last_luma.size(), 640u * 360u);
  for (int cell = 0; cell < 4; ++cell) EXPECT_NEAR(mean_luma(last3.last_luma, cell_of(cell, 4)), colors[cell], 6) << cell;
}

TEST_P(SessionStillCanvas, KeyframeWithinOneFrameOfAPli) {
  SessionHarness h;
  h.add_participant("p0", 0, 120);
  h.add_leg(video_leg(GetParam()), 0);
  h.run_ms(4000);
  const LegStats before = h.session->stats().legs[0];
  ASSERT_GT(before.video_frames_skipped, 0u);  // the canvas is still: frames are being skipped
  ASSERT_TRUE(h.session->request_keyframe("sip").ok());
  const size_t sent_before = h.sink.rtp.size();
  h.run_ms(40);  // the next video frame (33 ms) falls in here
  const LegStats after = h.session->stats().legs[0];
  EXPECT_EQ(after.video_keyframes, before.video_keyframes + 1);
  // ...and it went out in that window, as RTP to the leg.
  int video_packets = 0;
  for (size_t i = sent_before; i < h.sink.rtp.size(); ++i) {
    auto v = rtp::parse_rtp(h.sink.rtp[i].data);
    video_packets += v && v->payload_type == 96;
  }
  EXPECT_GT(video_packets, 0);
}

// One participant's picture changes while the others stay still: the frames
// that code it (VP8: with only that tile's macroblocks active) decode to the
// new picture, and the still tiles stay as they were.
TEST_P(SessionStillCanvas, OneTileChangingIsShownAndTheStillTilesStay) {
  SessionHarness h;
  const uint8_t colors[] = {50, 100, 150, 200};
  for (int i = 0; i < 4; ++i) h.add_participant("p" + std::to_string(i), 0, colors[i]);
  h.add_leg(video_leg(GetParam()), 0);
  h.run_ms(3000);
  const uint64_t skipped = h.session->stats().legs[0].video_frames_skipped;
  ASSERT_GT(skipped, 0u);
  h.participants[2]->vp8->fill_picture(230, 100, 160);
  h.run_ms(2000);
  const LegVideo v = decode_leg(h, GetParam(), at_ms(h, 0), at_ms(h, 5000));
  EXPECT_EQ(v.decode_errors, 0);
  ASSERT_EQ(v.last_luma.size(), 640u * 360u);
  EXPECT_NEAR(mean_luma(v.last_luma, cell_of(2, 4)), 230, 6);
  for (int cell : {0, 1, 3}) EXPECT_NEAR(mean_luma(v.last_luma, cell_of(cell, 4)), colors[cell], 6) << cell;
  // After the change the canvas settled again and skipping resumed.
  EXPECT_GT(h.session->stats().legs[0].video_frames_skipped, skipped + 10);
}

INSTANTIATE_TEST_SUITE_P(Codecs, SessionStillCanvas, ::testing::Values(VideoCodec::kH264, VideoCodec::kVp8),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(SessionStillCanvas, SwitchedOffEveryFrameIsEncoded) {
  SessionConfig cfg;
  cfg.skip_unchanged_video = false;
  SessionHarness h(cfg);
  h.add_participant("p0", 0, 120);
  h.add_leg(video_leg(VideoCodec::kH264), 0);
  h.run_ms(3000);
  const LegStats st = h.session->stats().legs[0];
  EXPECT_EQ(st.video_frames_skipped, 0u);
  EXPECT_EQ(st.video_frames_encoded, 91u);  // 0 s, then every 33.3 ms up to 3 s
}

}  // namespace
}  // namespace sipmix::testing
