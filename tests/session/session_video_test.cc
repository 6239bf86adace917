// The composed video a SIP leg receives, judged by ffmpeg's own H.264
// decoder: each grid cell shows the right participant, never the leg's own.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "rtp/rtp_packet.h"
#include "session_harness.h"
#include "rtp_payload/frame_assembler.h"
#include "compose/layout.h"

namespace sipmix::testing {
namespace {

namespace fs = std::filesystem;

bool have_ffmpeg() { return std::system("ffmpeg -version >/dev/null 2>&1") == 0; }

// Depacketizes the leg's H.264 RTP and decodes the last frame with ffmpeg.
std::vector<uint8_t> last_leg_frame(const SessionHarness& h, int w, int ht, int* frames) {
  video::FrameAssembler fa(video::VideoCodec::kH264);
  const fs::path dir = fs::temp_directory_path() / ("sipmix_video_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream es(dir / "leg.h264", std::ios::binary);
    for (const auto& p : h.sink.rtp) {
      if (p.dir != Direction::kToLeg) continue;
      auto v = rtp::parse_rtp(p.data);
      if (!v || v->payload_type != 96) continue;
      if (const video::AssembledFrame* f = fa.push(*v)) {
        es.write(reinterpret_cast<const char*>(f->data.data()), static_cast<std::streamsize>(f->data.size()));
        ++*frames;
      }
    }
  }
  const std::string cmd = "ffmpeg -v error -y -f h264 -i " + (dir / "leg.h264").string() +
                          " -f rawvideo -pix_fmt yuv420p " + (dir / "leg.yuv").string();
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(dir / "leg.yuv", std::ios::binary);
  std::vector<uint8_t> all((std::istreambuf_iterator<char>(in)), {});
  fs::remove_all(dir);
  const size_t frame = static_cast<size_t>(w) * ht * 3 / 2;
  if (all.size() < frame) return {};
  return {all.end() - static_cast<std::ptrdiff_t>(frame), all.end()};
}

double mean_luma(const std::vector<uint8_t>& y, int stride, const video::Rect& r) {
  double sum = 0;
  int n = 0;
  for (int j = r.y + r.h / 4; j < r.y + r.h * 3 / 4; ++j)
    for (int i = r.x + r.w / 4; i < r.x + r.w * 3 / 4; ++i, ++n) sum += y[static_cast<size_t>(j) * stride + i];
  return sum / n;
}

TEST(SessionVideo, EachTileShowsTheRightParticipantAndNeverTheLeg) {
  if (!have_ffmpeg()) GTEST_SKIP() << "ffmpeg not installed";
  SessionHarness h;
  const uint8_t colors[] = {40, 90, 140, 190};
  const char* names[] = {"p0", "p1", "p2", "p3"};
  for (int i = 0; i < 4; ++i) h.add_participant(names[i], 300 + 100 * i, colors[i]);
  // The leg's own participant also has video in the session: it must not be shown.
  h.add_participant("caller", 0, 235);
  h.add_leg(video_leg(VideoCodec::kH264), 0);
  h.run_ms(2000);
  int frames = 0;
  const auto img = last_leg_frame(h, 640, 360, &frames);
  ASSERT_FALSE(img.empty());
  // 61 frames are due in 2 s at 30 fps; once the still pictures have settled
  // most are skipped (SessionConfig::skip_unchanged_video), none is lost.
  const LegStats ls = h.session->stats().legs[0];
  EXPECT_EQ(ls.video_frames_encoded + ls.video_frames_skipped, 61u);
  EXPECT_EQ(static_cast<uint64_t>(frames), ls.video_frames_encoded);
  EXPECT_GE(frames, 10);

  video::LayoutOptions lo;
  lo.canvas_width = 640;
  lo.canvas_height = 360;
  const video::GridShape shape = video::grid_for_count(4);
  ASSERT_EQ(shape.cols, 2);
  ASSERT_EQ(shape.rows, 2);
  for (int cell = 0; cell < 4; ++cell) {
    const video::Rect r = video::grid_cell(lo, shape, cell);
    // Participants joined in order p0..p3 and fill the cells in that order.
    EXPECT_NEAR(mean_luma(img, 640, r), colors[cell], 6) << "cell " << cell;
  }
  // Nowhere on the canvas is the caller's own colour.
  int own = 0;
  for (size_t i = 0; i < 640u * 360u; ++i) own += img[i] > 225;
  EXPECT_EQ(own, 0);
}

TEST(SessionVideo, KeyframeRequestFromTheLegYieldsAnIdr) {
  SessionHarness h;
  h.add_participant("p0", 300, 100);
  LegConfig c;
  c.id = "sip";
  c.video = true;
  c.width = 320;
  c.height = 180;
  c.fps = 30;
  h.add_leg(c, 0);
  h.run_ms(1000);
  const auto before = h.session->stats().legs[0].video_keyframes;
  ASSERT_TRUE(h.session->request_keyframe("sip").ok());
  h.run_ms(100);
  EXPECT_EQ(h.session->stats().legs[0].video_keyframes, before + 1);
}

}  // namespace
}  // namespace sipmix::testing
