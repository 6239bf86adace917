// Simulcast publishers (StreamConfig::simulcast): each sends its scene as
// 1280x720, 640x360 and 320x180 VP8, three SSRCs through one stream. A leg's
// grid decodes, per stream, the smallest layer that covers its tile, and the
// tile still matches the ffmpeg-scaled 1280x720 source; a tile that grows
// switches up without going blank. Simulated clock: deterministic.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "compose/layout.h"
#include "rtp/rtcp.h"
#include "rtp/rtp_packet.h"
#include "session/stream.h"
#include "sipmix/session.h"
#include "tests/support/fake_peer.h"
#include "tests/support/signal.h"

namespace sipmix::testing {
namespace {

// In no particular order, as a publisher's SDP may list them.
constexpr struct {
  int w, h, bitrate_bps;
} kLayers[3] = {{320, 180, 150'000}, {1280, 720, 1'500'000}, {640, 360, 500'000}};
constexpr int kSmall = 0, kTop = 1, kMiddle = 2;
constexpr int kPublishers = 7;  // a 3x3 grid

uint32_t layer_ssrc(int who, int layer) { return 0x51000u + static_cast<uint32_t>(who * 16 + layer); }

// Publisher `who`'s scene at the picture's size: smooth patterns of its own,
// the same scene at every size (a camera's one capture, scaled per layer).
void draw_scene(int who, const MutablePictureView& p) {
  constexpr double kTau = 6.283185307179586;
  for (int y = 0; y < p.height; ++y)
    for (int x = 0; x < p.width; ++x) {
      const double u = (x + 0.5) / p.width, v = (y + 0.5) / p.height;
      p.y[static_cast<ptrdiff_t>(y) * p.stride_y + x] =
          static_cast<uint8_t>(128 + 70 * std::sin(kTau * (1.5 * u + 0.11 * who)) * std::cos(kTau * (v + 0.07 * who)) +
                               20 * std::sin(kTau * 24 * u) * std::sin(kTau * 13.5 * v));
    }
  for (int y = 0; y < (p.height + 1) / 2; ++y)
    for (int x = 0; x < (p.width + 1) / 2; ++x) {
      const double u = (x + 0.5) / ((p.width + 1) / 2), v = (y + 0.5) / ((p.height + 1) / 2);
      p.u[static_cast<ptrdiff_t>(y) * p.stride_u + x] = static_cast<uint8_t>(128 + 40 * std::cos(kTau * (u + who / 9.0)));
      p.v[static_cast<ptrdiff_t>(y) * p.stride_v + x] = static_cast<uint8_t>(128 + 40 * std::sin(kTau * (v + who / 9.0)));
    }
}

struct PliCollector : rtp::RtcpVisitor {
  std::vector<uint32_t>* out;
  explicit PliCollector(std::vector<uint32_t>* o) : out(o) {}
  void on_pli(const rtp::Pli& p) override { out->push_back(p.media_ssrc); }
};

struct Sink : SessionSink {
  void on_rtp(const std::string&, Direction, std::span<const uint8_t>) override {}
  void on_rtcp(const std::string&, Direction dir, std::span<const uint8_t> p) override {
    if (dir != Direction::kToStream) return;
    PliCollector c(&plis);
    (void)rtp::parse_rtcp(p, c);
  }
  void on_event(const Event&) override {}
  bool wants_composed_frame(const std::string&, int64_t) override { return true; }
  void on_composed_frame(const std::string&, int64_t, const PictureView& c) override {
    width = c.width;
    height = c.height;
    y.resize(static_cast<size_t>(c.width) * c.height);
    u.resize(y.size() / 4);
    v.resize(y.size() / 4);
    for (int r = 0; r < c.height; ++r) std::copy_n(c.y + static_cast<ptrdiff_t>(r) * c.stride_y, c.width, &y[static_cast<size_t>(r) * c.width]);
    for (int r = 0; r < c.height / 2; ++r) {
      std::copy_n(c.u + static_cast<ptrdiff_t>(r) * c.stride_u, c.width / 2, &u[static_cast<size_t>(r) * c.width / 2]);
      std::copy_n(c.v + static_cast<ptrdiff_t>(r) * c.stride_v, c.width / 2, &v[static_cast<size_t>(r) * c.width / 2]);
    }
    ++frames;
  }
  std::vector<uint32_t> plis;  // media SSRCs of every PLI sent to a stream
  std::vector<uint8_t> y, u, v;  // the leg's last composed canvas
  int width = 0, height = 0;
  int frames = 0;
};

std::vector<SimulcastLayer> layers_of(int who) {
  std::vector<SimulcastLayer> out;
  for (int l = 0; l < 3; ++l) out.push_back({layer_ssrc(who, l), "", kLayers[l].w, kLayers[l].h});
  return out;
}

constexpr uint8_t kRidExtId = 5;
constexpr int kRidPackets = 10;
const char* const kRids[3] = {"q", "f", "h"};  // in kLayers' order: quarter, full, half

// The packet again with an RFC 8852 rtp-stream-id element carrying `rid`.
std::vector<uint8_t> with_rid(std::span<const uint8_t> packet, const std::string& rid) {
  const auto v = rtp::parse_rtp(packet);
  EXPECT_TRUE(v);
  const rtp::RtpHeader h = rtp::header_of(*v);
  const rtp::HeaderExtensionElement e{kRidExtId, {reinterpret_cast<const uint8_t*>(rid.data()), rid.size()}};
  std::vector<uint8_t> out(rtp::kMaxRtpPacketSize + 64);
  out.resize(rtp::write_rtp(h, {&e, 1}, v->payload, out));
  EXPECT_FALSE(out.empty());
  return out;
}

struct RigOptions {
  SessionConfig session;
  // The layers are known by rid ("q", "f", "h") and not by SSRC; each
  // layer's first kRidPackets packets carry the rid (extension 5).
  bool by_rid = false;
  // false: the layers are configured as 0 x 0, for the session to learn (as
  // the gateway configures what Janus forwards).
  bool sizes_known = true;
  VideoCodec codec = VideoCodec::kVp8;  // the publishers'
};

// Publishers p0..pN-1 (video only, three layers each, answering PLIs per
// layer as a browser does) and one VP8 leg of the given size.
class SimulcastRig {
 public:
  SimulcastRig(int publishers, int leg_width, int leg_height, const RigOptions& o = {}) : by_rid_(o.by_rid) {
    session_ = std::move(*Session::create(o.session, &clock_, &sink));
    for (int who = 0; who < publishers; ++who) {
      StreamConfig sc;
      sc.id = "p" + std::to_string(who) + "/video";
      sc.participant = "p" + std::to_string(who);
      sc.kind = MediaKind::kVideo;
      sc.video_codec = o.codec;
      sc.payload_type = 96;
      sc.clock_rate_hz = 90000;
      sc.simulcast = layers_of(who);
      if (o.by_rid) {
        sc.rid_ext_id = kRidExtId;
        for (int l = 0; l < 3; ++l) sc.simulcast[static_cast<size_t>(l)] = {0, kRids[l], kLayers[l].w, kLayers[l].h};
      }
      if (!o.sizes_known)
        for (SimulcastLayer& l : sc.simulcast) l.width = l.height = 0;
      Publisher pub;
      pub.id = sc.id;
      auto h = session_->add_stream(sc);
      EXPECT_TRUE(h.ok()) << h.status().message();
      pub.handle = *h;
      for (int l = 0; l < 3; ++l) {
        FakePeerConfig pc;
        pc.kind = MediaKind::kVideo;
        pc.video_codec = o.codec;
        pc.width = kLayers[l].w;
        pc.height = kLayers[l].h;
        pc.video_bitrate_bps = kLayers[l].bitrate_bps;
        pc.payload_type = 96;
        pc.ssrc = layer_ssrc(who, l);
        pub.layers[l] = std::move(*FakePeer::create(pc));
        draw_scene(who, pub.layers[l]->picture());
      }
      publishers_.push_back(std::move(pub));
    }
    LegConfig leg;
    leg.id = "sip";
    leg.participant = "caller";
    leg.video = true;
    leg.video_codec = VideoCodec::kVp8;
    leg.width = leg_width;
    leg.height = leg_height;
    leg.video_bitrate_bps = 1'500'000;
    EXPECT_TRUE(session_->add_leg(leg).ok());
  }

  void run_ms(int ms) {
    for (int step = 0; step < ms / 20; ++step) {
      const int64_t next_us = media_us_ + 20000;
      while (frame_ * 1'000'000 / 30 < next_us) {
        for (Publisher& p : publishers_)
          for (int l = 0; l < 3; ++l) {
            if (p.stopped[l]) continue;
            for (std::span<const uint8_t> pkt : p.layers[l]->video_packets(frame_ * 1'000'000 / 30)) {
              if (by_rid_ && p.sent[l]++ < kRidPackets) {
                session_->push_rtp(p.handle, with_rid(pkt, kRids[l]));
                continue;
              }
              session_->push_rtp(p.handle, pkt);
            }
          }
        ++frame_;
      }
      media_us_ = next_us;
      clock_.advance_us(20000);
      session_->tick();
      for (; plis_answered_ < sink.plis.size(); ++plis_answered_)
        for (Publisher& p : publishers_)
          for (auto& layer : p.layers)
            if (layer->header().ssrc == sink.plis[plis_answered_]) layer->request_keyframe();
    }
  }

  // Publisher `who` stops sending one of its layers (as a browser drops its
  // upper layers when its bandwidth falls).
  void stop_layer(int who, int layer) { publishers_[static_cast<size_t>(who)].stopped[layer] = true; }

  // Stops sending all but the first `keep` publishers and removes them.
  void keep_publishers(size_t keep) {
    while (publishers_.size() > keep) {
      EXPECT_TRUE(session_->remove_stream(publishers_.back().id).ok());
      publishers_.pop_back();
    }
  }

  StreamStats stats(int who) const {
    for (const StreamStats& s : session_->stats().streams)
      if (s.id == "p" + std::to_string(who) + "/video") return s;
    ADD_FAILURE() << "no stream p" << who;
    return {};
  }

  Session& session() { return *session_; }
  Sink sink;

 private:
  struct Publisher {
    std::string id;
    PushHandle handle;
    std::unique_ptr<FakePeer> layers[3];
    bool stopped[3] = {false, false, false};
    int sent[3] = {0, 0, 0};
  };
  bool by_rid_ = false;
  SimulatedClock clock_{1'000'000};
  std::unique_ptr<Session> session_;
  std::vector<Publisher> publishers_;
  int64_t media_us_ = 0;
  int64_t frame_ = 0;
  size_t plis_answered_ = 0;
};

TEST(ChooseSimulcastLayer, SmallestThatCoversTheTileElseTheLargest) {
  const std::vector<SimulcastLayer> l = layers_of(0);
  EXPECT_EQ(session::choose_simulcast_layer(l, 426, 240), kMiddle);  // 3x3 of 1280x720
  EXPECT_EQ(session::choose_simulcast_layer(l, 213, 120), kSmall);   // 3x3 of 640x360
  EXPECT_EQ(session::choose_simulcast_layer(l, 640, 360), kMiddle);
  EXPECT_EQ(session::choose_simulcast_layer(l, 641, 360), kTop);
  EXPECT_EQ(session::choose_simulcast_layer(l, 1920, 1080), kTop);  // none covers it
  EXPECT_EQ(session::choose_simulcast_layer(l, 0, 0), kTop);        // on no canvas
  EXPECT_EQ(session::choose_simulcast_layer(l, 320, 240), kMiddle);  // 4:3 tile: the height decides
  // Only the flowing layers count; with none flowing, all do.
  const unsigned no_middle = (1u << kSmall) | (1u << kTop);
  EXPECT_EQ(session::choose_simulcast_layer(l, 426, 240, no_middle), kTop);
  EXPECT_EQ(session::choose_simulcast_layer(l, 1920, 1080, 1u << kSmall), kSmall);
  EXPECT_EQ(session::choose_simulcast_layer(l, 426, 240, 0), kMiddle);
}

// Layers of unknown size (0 x 0) cover no tile and rank above the known
// ones, the last first: the session decodes one to learn its size.
TEST(ChooseSimulcastLayer, AnUnknownSizeCoversNothingAndRanksOnTop) {
  std::vector<SimulcastLayer> l = layers_of(0);
  for (SimulcastLayer& x : l) x.width = x.height = 0;
  EXPECT_EQ(session::choose_simulcast_layer(l, 426, 240), 2);  // all unknown: the last
  EXPECT_EQ(session::choose_simulcast_layer(l, 0, 0), 2);
  EXPECT_EQ(session::choose_simulcast_layer(l, 426, 240, 1u << 1), 1);  // the last flowing one
  l[kSmall] = {l[kSmall].ssrc, "", 320, 180};
  EXPECT_EQ(session::choose_simulcast_layer(l, 213, 120), kSmall);  // known and covers
  EXPECT_EQ(session::choose_simulcast_layer(l, 426, 240), 2);       // none known covers: an unknown one
  l[kTop] = {l[kTop].ssrc, "", 1280, 720};
  EXPECT_EQ(session::choose_simulcast_layer(l, 426, 240), kTop);  // the known top covers it
  EXPECT_EQ(session::choose_simulcast_layer(l, 1920, 1080), 2);   // none covers: the unknown one
}

struct GridCase {
  int leg_width, leg_height;
  int layer;  // the one each 3x3 tile needs
  bool sizes_known;
  VideoCodec codec = VideoCodec::kVp8;
};

class SessionSimulcastGrid : public ::testing::TestWithParam<GridCase> {};

// 7 publishers in a 3x3 grid: every stream decodes only the layer that fits
// the tile (426x240 -> 640x360; 213x120 -> 320x180), never the top one.
// With the layers' sizes left for the session to learn (from the VP8
// keyframe headers, or the SPS before H.264 keyframes, of layers it does
// not decode), the choice is the same once the first keyframes have come;
// before, the last layer is decoded.
TEST_P(SessionSimulcastGrid, EachStreamDecodesOnlyTheLayerThatFitsItsTile) {
  const GridCase c = GetParam();
  RigOptions o;
  o.sizes_known = c.sizes_known;
  o.codec = c.codec;
  SimulcastRig rig(kPublishers, c.leg_width, c.leg_height, o);
  rig.run_ms(1000);
  for (int who = 0; who < kPublishers; ++who) {
    SCOPED_TRACE("p" + std::to_string(who));
    const StreamStats s = rig.stats(who);
    EXPECT_EQ(s.layer_width, kLayers[c.layer].w);
    EXPECT_EQ(s.layer_height, kLayers[c.layer].h);
    for (int l = 0; l < 3; ++l) {
      const uint64_t frames = s.layer_decoded_frames[static_cast<size_t>(l)];
      if (l == c.layer) {
        EXPECT_GE(frames, 20u);  // 30 fps for 1 s
      } else if (c.sizes_known || l == kTop) {
        EXPECT_EQ(frames, 0u) << "layer " << l;
      }
    }
    EXPECT_GT(s.received, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Legs, SessionSimulcastGrid,
                         ::testing::Values(GridCase{1280, 720, kMiddle, true}, GridCase{640, 360, kSmall, true},
                                           GridCase{1280, 720, kMiddle, false}, GridCase{640, 360, kSmall, false},
                                           GridCase{640, 360, kSmall, false, VideoCodec::kH264}),
                         [](const auto& info) {
                           return std::to_string(info.param.leg_width) + "x" + std::to_string(info.param.leg_height) +
                                  (info.param.sizes_known ? "" : "_sizes_learned") +
                                  (info.param.codec == VideoCodec::kH264 ? "_h264" : "");
                         });

// Layers known by rid only (as a browser negotiates simulcast with
// a=rid): the session learns each layer's SSRC from the first packets that
// carry its rid and goes on routing by SSRC after the rid stops coming.
TEST(SessionSimulcast, LayersKnownByRidAreLearnedFromTheirFirstPackets) {
  RigOptions o;
  o.by_rid = true;
  SimulcastRig rig(kPublishers, 1280, 720, o);
  rig.run_ms(1000);
  for (int who = 0; who < kPublishers; ++who) {
    SCOPED_TRACE("p" + std::to_string(who));
    const StreamStats s = rig.stats(who);
    EXPECT_EQ(s.layer_width, 640);
    EXPECT_GE(s.layer_decoded_frames[kMiddle], 20u);  // 30 fps for 1 s, most of it without the rid
    EXPECT_EQ(s.layer_decoded_frames[kTop], 0u);
    EXPECT_EQ(s.layer_decoded_frames[kSmall], 0u);
    EXPECT_GE(s.received, 3u * 30u);  // every layer's packets were taken, not only those with the rid
  }
}

TEST(SessionSimulcast, SwitchedOffTheTopLayerIsDecoded) {
  SessionConfig cfg;
  cfg.choose_simulcast_layer = false;
  SimulcastRig rig(kPublishers, 1280, 720, {cfg});
  rig.run_ms(600);
  const StreamStats s = rig.stats(0);
  EXPECT_EQ(s.layer_width, 1280);
  EXPECT_GE(s.layer_decoded_frames[kTop], 10u);
  EXPECT_EQ(s.layer_decoded_frames[kMiddle], 0u);
  EXPECT_EQ(s.layer_decoded_frames[kSmall], 0u);
}

bool have_ffmpeg() { return std::system("ffmpeg -hide_banner -version > /dev/null 2>&1") == 0; }

// Each of the 7 tiles of the 1280x720 leg's 3x3 grid (decoded from the 640x360 layer)
// against ffmpeg's area scaling of the publisher's 1280x720 scene to the
// tile: at least 35 dB in every plane. The tile of cell i is publisher i's
// (join order).
TEST(SessionSimulcast, TilesMatchTheFfmpegScaledTopLayerAt35dB) {
  if (!have_ffmpeg()) GTEST_SKIP() << "ffmpeg not found";
  SimulcastRig rig(kPublishers, 1280, 720);
  rig.run_ms(1500);
  ASSERT_EQ(rig.sink.width, 1280);
  ASSERT_EQ(rig.stats(0).layer_width, 640);
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("sipmix_simulcast_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  video::LayoutOptions lo;
  lo.canvas_width = 1280;
  lo.canvas_height = 720;
  for (int who = 0; who < kPublishers; ++who) {
    SCOPED_TRACE("p" + std::to_string(who));
    const video::Rect cell = video::grid_cell(lo, video::grid_for_count(kPublishers), who);
    const video::Placement pl = video::place(cell, 1280, 720, video::FitMode::kLetterbox);
    const video::Rect d = pl.dst;
    // The publisher's 1280x720 scene, scaled by ffmpeg to the tile's picture.
    Picture src(1280, 720);
    draw_scene(who, src.mutable_view());
    const std::filesystem::path in = dir / "src.yuv", out = dir / "ref.yuv";
    {
      std::ofstream o(in, std::ios::binary);
      const PictureView v = src.view();
      for (int r = 0; r < 720; ++r) o.write(reinterpret_cast<const char*>(v.y + r * v.stride_y), 1280);
      for (int r = 0; r < 360; ++r) o.write(reinterpret_cast<const char*>(v.u + r * v.stride_u), 640);
      for (int r = 0; r < 360; ++r) o.write(reinterpret_cast<const char*>(v.v + r * v.stride_v), 640);
    }
    const std::string cmd = "ffmpeg -hide_banner -loglevel error -y -f rawvideo -pix_fmt yuv420p -s 1280x720 -i " +
                            in.string() + " -vf scale=" + std::to_string(d.w) + ":" + std::to_string(d.h) +
                            ":flags=area -f rawvideo -pix_fmt yuv420p " + out.string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream is(out, std::ios::binary);
    std::vector<uint8_t> ref(static_cast<size_t>(d.w) * d.h * 3 / 2);
    is.read(reinterpret_cast<char*>(ref.data()), static_cast<std::streamsize>(ref.size()));
    ASSERT_EQ(static_cast<size_t>(is.gcount()), ref.size());
    const uint8_t* cy = &rig.sink.y[static_cast<size_t>(d.y) * 1280 + d.x];
    const uint8_t* cu = &rig.sink.u[static_cast<size_t>(d.y / 2) * 640 + d.x / 2];
    const uint8_t* cv = &rig.sink.v[static_cast<size_t>(d.y / 2) * 640 + d.x / 2];
    const uint8_t* ry = ref.data();
    const uint8_t* ru = ry + static_cast<size_t>(d.w) * d.h;
    const uint8_t* rv = ru + static_cast<size_t>(d.w / 2) * (d.h / 2);
    const double py = psnr(cy, 1280, ry, d.w, d.w, d.h);
    const double pu = psnr(cu, 640, ru, d.w / 2, d.w / 2, d.h / 2);
    const double pv = psnr(cv, 640, rv, d.w / 2, d.w / 2, d.h / 2);
    std::printf("p%d tile %dx%d from the 640x360 layer: psnr Y %.1f U %.1f V %.1f dB\n", who, d.w, d.h, py, pu, pv);
    EXPECT_GE(py, 35.0);
    EXPECT_GE(pu, 35.0);
    EXPECT_GE(pv, 35.0);
  }
  std::filesystem::remove_all(dir);
}

// The grid shrinks to one publisher: its tile becomes the whole 1280x720
// canvas, so the top layer is asked for (a PLI to its SSRC) and decoded
// beside the 640x360 one, which stays on screen until the top layer's first
// picture; then only the top layer is decoded.
TEST(SessionSimulcast, AGrowingTileSwitchesUpWithoutGoingBlank) {
  SimulcastRig rig(kPublishers, 1280, 720);
  rig.run_ms(600);
  ASSERT_EQ(rig.stats(0).layer_width, 640);
  rig.keep_publishers(1);
  const size_t plis_before = rig.sink.plis.size();
  // Every canvas from now on shows p0's scene over the whole of it: first
  // from the 640x360 layer (scaled up), then from the top layer.
  Picture scene(1280, 720);
  draw_scene(0, scene.mutable_view());
  const PictureView sv = scene.view();
  double worst_db = 1000;
  int frames_checked = 0;
  for (int step = 0; step < 30; ++step) {  // 600 ms
    const int frames = rig.sink.frames;
    rig.run_ms(20);
    if (rig.sink.frames == frames || step == 0) continue;  // the frame composed with the removal may be the old grid
    worst_db = std::min(worst_db, psnr(rig.sink.y.data(), 1280, sv.y, sv.stride_y, 1280, 720));
    ++frames_checked;
  }
  std::printf("switch up: worst canvas psnr against p0's scene %.1f dB over %d frames\n", worst_db, frames_checked);
  EXPECT_GE(frames_checked, 15);
  EXPECT_GE(worst_db, 30.0) << "the tile did not show p0's scene on every frame of the switch";
  const StreamStats s = rig.stats(0);
  EXPECT_EQ(s.layer_width, 1280);
  EXPECT_EQ(s.layer_switches, 1u);
  bool asked_top = false;
  for (size_t i = plis_before; i < rig.sink.plis.size(); ++i) asked_top |= rig.sink.plis[i] == layer_ssrc(0, kTop);
  EXPECT_TRUE(asked_top) << "no PLI to the top layer's SSRC";
  const uint64_t middle_frames = s.layer_decoded_frames[kMiddle];
  rig.run_ms(300);
  EXPECT_EQ(rig.stats(0).layer_decoded_frames[kMiddle], middle_frames) << "the old layer is still decoded";
  EXPECT_GE(rig.stats(0).layer_decoded_frames[kTop], 10u);
}

// p0 stops sending the 640x360 layer its tile shows. Within the silence
// limit (1 s) the session passes over that layer and takes the smallest
// flowing one that covers the tile (1280x720), so p0's tile goes on showing
// its scene; without that, the frozen tile would turn into the "no video"
// placeholder after no_video_timeout_ms (3 s).
TEST(SessionSimulcast, ALayerThatStopsIsReplacedByOneThatFlows) {
  SimulcastRig rig(kPublishers, 1280, 720);
  rig.run_ms(600);
  ASSERT_EQ(rig.stats(0).layer_width, 640);
  rig.stop_layer(0, kMiddle);
  rig.run_ms(4000);
  const StreamStats s = rig.stats(0);
  EXPECT_EQ(s.layer_width, 1280);
  EXPECT_EQ(s.layer_switches, 1u);
  EXPECT_GE(s.layer_decoded_frames[kTop], 60u);  // the top layer has been on screen for seconds
  // Cell 0 shows p0's scene, not a placeholder: its middle row against the
  // scene drawn at the tile's size.
  video::LayoutOptions lo;
  lo.canvas_width = 1280;
  lo.canvas_height = 720;
  const video::Rect d =
      video::place(video::grid_cell(lo, video::grid_for_count(kPublishers), 0), 1280, 720, video::FitMode::kLetterbox).dst;
  Picture scene(d.w, d.h);
  draw_scene(0, scene.mutable_view());
  const PictureView sv = scene.view();
  const double db = psnr(&rig.sink.y[static_cast<size_t>(d.y) * 1280 + d.x], 1280, sv.y, sv.stride_y, d.w, d.h);
  std::printf("p0's tile after its 640x360 layer stopped: psnr %.1f dB against its scene\n", db);
  EXPECT_GE(db, 30.0);
  // The other publishers keep their 640x360 layer.
  EXPECT_EQ(rig.stats(1).layer_width, 640);
}

TEST(SessionSimulcast, BadLayersAreRejectedNamingTheField) {
  SimulatedClock clock(0);
  Sink sink;
  auto session = std::move(*Session::create({}, &clock, &sink));
  StreamConfig sc;
  sc.id = "v";
  sc.kind = MediaKind::kVideo;
  sc.payload_type = 96;
  sc.clock_rate_hz = 90000;
  auto message = [&](std::vector<SimulcastLayer> layers) {
    sc.simulcast = std::move(layers);
    auto h = session->add_stream(sc);
    return h.ok() ? std::string("accepted") : h.status().message();
  };
  EXPECT_NE(message({{1, "", 640, 360}}).find("stream.simulcast"), std::string::npos);
  EXPECT_NE(message({{1, "", 320, 180}, {2, "", 640, 360}, {3, "", 1280, 720}, {4, "", 1920, 1080}}).find("stream.simulcast"),
            std::string::npos);
  EXPECT_NE(message({{1, "", 320, 180}, {0, "", 640, 360}}).find("stream.simulcast[1]: needs an ssrc or a rid"), std::string::npos);
  EXPECT_NE(message({{7, "", 320, 180}, {7, "", 640, 360}}).find("stream.simulcast[1].ssrc"), std::string::npos);
  EXPECT_NE(message({{1, "", 320, 180}, {2, "", 8, 360}}).find("stream.simulcast[1]"), std::string::npos);
  EXPECT_NE(message({{1, "", 320, 180}, {2, "", 0, 360}}).find("stream.simulcast[1]"), std::string::npos);
  // By rid: the extension id is needed, rids are short tokens and distinct.
  EXPECT_NE(message({{0, "q", 320, 180}, {0, "h", 640, 360}}).find("stream.rid_ext_id"), std::string::npos);
  sc.rid_ext_id = kRidExtId;
  EXPECT_NE(message({{0, "q", 320, 180}, {0, "q", 640, 360}}).find("stream.simulcast[1].rid"), std::string::npos);
  EXPECT_NE(message({{0, "q", 320, 180}, {0, "h h", 640, 360}}).find("stream.simulcast[1].rid"), std::string::npos);
  EXPECT_EQ(message({{0, "q", 320, 180}, {0, "h", 640, 360}}), "accepted");
  sc.id = "v2";
  sc.kind = MediaKind::kAudio;
  sc.payload_type = 111;
  sc.clock_rate_hz = 48000;
  EXPECT_NE(message({{1, "", 320, 180}, {2, "", 640, 360}}).find("only a video stream"), std::string::npos);
  sc.kind = MediaKind::kVideo;
  sc.payload_type = 96;
  sc.clock_rate_hz = 90000;
  EXPECT_EQ(message({{1, "", 320, 180}, {2, "", 640, 360}}), "accepted");
  sc.id = "v3";
  EXPECT_EQ(message({{1, "", 0, 0}, {2, "", 0, 0}}), "accepted");  // sizes learned from the stream
}

}  // namespace
}  // namespace sipmix::testing
