// Network impairments on one participant's packets, through the Session API
// on a simulated clock with seeded profiles. Each profile asserts: the other
// participants' tones reach the SIP leg at their level; the impaired
// stream's jitter-buffer delay is back within its target + 20 ms no more
// than 5 s after the impairment ends (and stays there); and "*6" pressed on
// the leg during the impairment toggles mute exactly once even though one
// of each digit's three end packets is lost. The impaired participant talks
// in spurts (tone with pauses). SIPMIX_SCALE=ci shortens it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <numbers>
#include <string>

#include "dtmf/rfc4733_sender.h"
#include "rtp/rtp_packet.h"
#include "session_harness.h"
#include "srtp/srtp_session.h"
#include "tests/support/signal.h"
#include "tests/support/test_env.h"
#include "rtp_payload/frame_assembler.h"
#include "compose/layout.h"
#include "video_codec/video_decoder.h"

namespace sipmix::testing {
namespace {


struct Profile {
  const char* name = "";
  double loss = 0;
  int jitter_ms = 0;
  double reorder = 0;    // held back behind the next packet
  double duplicate = 0;
  int burst_ms = 0;      // drop everything for burst_ms every burst_every_ms
  int burst_every_ms = 0;
  bool ssrc_change = false;  // new SSRC, sequence and timestamp at the start and the middle
  bool garbage = false;      // the peer sends only garbage
  uint64_t seed = 1;
};

// One participant's Opus tone, sent through `profile` while impaired.
class ImpairedSender {
 public:
  ImpairedSender(Session* session, PushHandle handle, double tone_hz, const Profile& profile)
      : session_(session),
        handle_(handle),
        tone_(tone_hz, 0xE7E, 4000, 90000),
        profile_(profile),
        rng_(profile.seed * 0x9E3779B97F4A7C15ull + 1) {}

  // One 20 ms step at session time t_ms; `impaired_ms` >= 0 while the
  // impairment is on (time since it started).
  void step(int t_ms, int impaired_ms) {
    const bool on = impaired_ms >= 0;
    if (on && profile_.ssrc_change && (impaired_ms == 0 || impaired_ms == impairment_half_ms_)) {
      tone_.header().ssrc = rng_.next() | 1;
      tone_.header().sequence_number = static_cast<uint16_t>(rng_.next());
      tone_.header().timestamp = rng_.next();
    }
    // Talk spurts: 1.0 s of tone, 0.4 s of silence, like speech: the jitter
    // buffer brings its delay down in the pauses (a never-silent stream is
    // accelerated instead: accelerate_test.cc).
    const double amp = (packets_++ % 70) < 50 ? 6000 : 0;
    std::vector<uint8_t> pkt = tone_.next(amp);

    if (on && profile_.garbage) {
      for (int k = 0; k < 3; ++k) {
        std::vector<uint8_t> junk(1 + rng_.next() % 400);
        for (auto& b : junk) b = static_cast<uint8_t>(rng_.next());
        if (k == 0 && junk.size() > 12) junk[0] = 0x80;                            // passes as RTP v2
        if (k == 1 && junk.size() > 12) junk[0] = 0x80, junk[1] = 111;             // ... with our payload type
        session_->push_rtp(handle_, junk);
      }
      return;
    }
    if (on) {
      bool drop = rng_.chance(profile_.loss);
      if (profile_.burst_ms > 0 && impaired_ms % profile_.burst_every_ms < profile_.burst_ms) drop = true;
      if (drop) {
        ++dropped_;
        return deliver_due(t_ms);
      }
      const int delay = profile_.jitter_ms > 0 ? static_cast<int>(rng_.next() % (profile_.jitter_ms + 1)) : 0;
      const bool dup = rng_.chance(profile_.duplicate);
      const bool hold = rng_.chance(profile_.reorder);
      queue_.push_back({t_ms + delay, hold, pkt});
      if (dup) queue_.push_back({t_ms + delay, false, pkt});
    } else {
      queue_.push_back({t_ms, false, pkt});
    }
    deliver_due(t_ms);
  }

  void set_impairment_ms(int ms) { impairment_half_ms_ = (ms / 2) / 20 * 20; }
  int dropped() const { return dropped_; }

 private:
  struct Pending {
    int due_ms;
    bool hold;  // reordered: goes out after the next packet
    std::vector<uint8_t> data;
  };

  void deliver_due(int t_ms) {
    std::stable_sort(queue_.begin(), queue_.end(), [](const Pending& a, const Pending& b) { return a.due_ms < b.due_ms; });
    while (!queue_.empty() && queue_.front().due_ms <= t_ms) {
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      if (p.hold && !held_) {
        held_ = std::move(p.data);
        continue;
      }
      session_->push_rtp(handle_, p.data);
      if (held_) {
        session_->push_rtp(handle_, *held_);
        held_.reset();
      }
    }
  }

  Session* session_;
  PushHandle handle_;
  OpusToneStream tone_;
  Profile profile_;
  XorShift64 rng_;
  std::deque<Pending> queue_;
  std::optional<std::vector<uint8_t>> held_;
  int impairment_half_ms_ = -1;
  int dropped_ = 0;
  uint64_t packets_ = 0;
};



const StreamStats* find_stats(const SessionStats& st, const std::string& id) {
  for (const auto& s : st.streams)
    if (s.id == id) return &s;
  return nullptr;
}

// Drives the harness 20 ms at a time, with the impaired sender and the leg's
// key presses in lockstep. Key presses lose one end packet per digit: the
// first digit its 1st end packet, the next its 2nd, and so on.
class Runner {
 public:
  explicit Runner(SessionHarness& h) : h_(h) {}

  void press(const std::string& digits) {
    dtmf::Rfc4733SenderConfig sc;
    sc.payload_type = 101;
    sc.clock_rate_hz = 8000;
    sc.ssrc = 0xAB5;
    auto tx = dtmf::Rfc4733Sender::create(sc);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(tx->play(digits).ok());
    dtmf_.emplace(std::move(*tx));
    end_index_ = 0;
    in_event_end_ = false;
  }
  bool pressing() const { return dtmf_.has_value(); }

  // One 20 ms step. `impaired_ms` as in ImpairedSender::step.
  void step(ImpairedSender* sender, int impaired_ms) {
    const int t_ms = static_cast<int>((h_.clock.now_us() - h_.start_us) / 1000);
    if (sender) sender->step(t_ms, impaired_ms);
    if (dtmf_) {
      h_.leg_sending_audio = false;
      uint8_t buf[64];
      const size_t n = dtmf_->on_audio_tick(h_.leg_rtp().timestamp, h_.leg_rtp().sequence_number, buf);
      h_.leg_rtp().timestamp += 160;
      if (n >= 16) {
        const bool end = buf[13] & 0x80;
        if (end && !in_event_end_) {
          in_event_end_ = true;
          ends_seen_ = 0;
        }
        if (!end) in_event_end_ = false;
        bool push = true;
        if (end) {
          push = ends_seen_ != end_index_ % 3;
          if (++ends_seen_ == 3) ++end_index_;
          if (!push) ++end_packets_dropped_;
        }
        if (push) h_.push_leg({buf, n});
      }
      if (dtmf_->idle()) {
        dtmf_.reset();
        h_.leg_sending_audio = true;
      }
    }
    h_.run_ms(20);
  }

  int end_packets_dropped() const { return end_packets_dropped_; }

 private:
  SessionHarness& h_;
  std::optional<dtmf::Rfc4733Sender> dtmf_;
  int end_index_ = 0;
  int ends_seen_ = 0;
  bool in_event_end_ = false;
  int end_packets_dropped_ = 0;
};

struct Timing {
  int warmup_ms, impaired_ms, recovery_ms = 5000, check_ms;
};

Timing timing() {
  return ci_scale() ? Timing{1500, 3000, 5000, 1000} : Timing{2000, 6000, 5000, 2000};
}

// The whole scenario for one audio profile: alice (400 Hz) and bob (700 Hz)
// clean, eve (1000 Hz) impaired; the leg is silent apart from its "*6".
void run_audio_profile(const Profile& profile) {
  SCOPED_TRACE(std::string(profile.name) + " seed " + std::to_string(profile.seed));
  const Timing tm = timing();
  SessionHarness h;
  h.add_participant("alice", 400);
  h.add_participant("bob", 700);
  Participant& eve = h.add_participant("eve", 1000);
  eve.sending = false;  // its packets come from the impaired sender
  h.add_leg(pcmu_leg(), 0);
  ImpairedSender sender(h.session.get(), eve.audio, 1000, profile);
  sender.set_impairment_ms(tm.impaired_ms);
  Runner r(h);

  int t = 0;
  auto run_until = [&](int end_ms, bool impaired, int impaired_from) {
    for (; t < end_ms; t += 20) r.step(&sender, impaired ? t - impaired_from : -1);
  };
  run_until(tm.warmup_ms, false, 0);
  const int imp_start = t, imp_end = tm.warmup_ms + tm.impaired_ms, press_at = imp_end - 2000;
  run_until(press_at, true, imp_start);
  r.press("*6");
  run_until(imp_end, true, imp_start);
  ASSERT_FALSE(r.pressing());

  // Other participants unaffected during the impairment (before the
  // announcement that follows the toggle).
  const auto out = h.leg_audio("sip", imp_start, press_at);
  ASSERT_GE(out.size(), static_cast<size_t>((press_at - imp_start) * 8 * 9 / 10));
  EXPECT_NEAR(tone_dbfs(out, 400, 8000), -14.7, 2.0) << "alice";
  EXPECT_NEAR(tone_dbfs(out, 700, 8000), -14.7, 2.0) << "bob";

  // *6 toggled exactly once although one end packet of each digit was lost.
  EXPECT_EQ(r.end_packets_dropped(), 2);
  EXPECT_EQ(count_events(h.sink, Event::Type::kMuteChanged, "sip"), 1);
  EXPECT_EQ(h.session->stats().legs[0].muted, true);

  // Recovery: the impaired stream's delay back within target + 20 ms no
  // more than 5 s after the impairment ends, and still there at the end.
  // (The target itself keeps falling slowly after a jitter spike, and the
  // delay follows it in the next silence, so it may lag a moment in between.)
  int recovered_at = -1, last_target = 0, last_delay = 0;
  for (; t < imp_end + tm.recovery_ms + tm.check_ms; t += 20) {
    r.step(&sender, -1);
    const SessionStats st = h.session->stats();
    const StreamStats* e = find_stats(st, "eve/audio");
    ASSERT_NE(e, nullptr);
    if (recovered_at < 0 && e->current_delay_ms <= e->target_delay_ms + 20) recovered_at = t + 20 - imp_end;
    last_target = e->target_delay_ms;
    last_delay = e->current_delay_ms;
  }
  EXPECT_LE(last_delay, last_target + 20);
  EXPECT_GE(recovered_at, 0);
  EXPECT_LE(recovered_at, tm.recovery_ms);
  // After recovery eve is heard again, and the others still are. Two whole
  // spurt periods (2 x 1.4 s), so that eve's share of the window is 2.0 of
  // 2.8 s wherever her pauses fall: -14.7 + 20 log10(2.0 / 2.8) = -17.6 dBFS.
  const int end = t;
  const auto after = h.leg_audio("sip", end - 2800, end);
  EXPECT_NEAR(tone_dbfs(after, 400, 8000), -14.7, 2.0) << "alice after";
  EXPECT_NEAR(tone_dbfs(after, 1000, 8000), -17.6, 2.0) << "eve after recovery (talk spurts)";

  const SessionStats st = h.session->stats();
  const StreamStats* e = find_stats(st, "eve/audio");
  const StreamStats* a = find_stats(st, "alice/audio");
  ASSERT_TRUE(e && a);
  EXPECT_EQ(a->lost, 0u);
  EXPECT_EQ(a->late, 0u);
  std::printf("impairment %-12s seed %llu: dropped %d, received %llu lost %llu late %llu dup %llu reord %llu "
              "concealed %llu; delay within target+20 ms %d ms after the end; at the end delay %d target %d ms\n",
              profile.name, static_cast<unsigned long long>(profile.seed), sender.dropped(),
              static_cast<unsigned long long>(e->received), static_cast<unsigned long long>(e->lost),
              static_cast<unsigned long long>(e->late), static_cast<unsigned long long>(e->duplicate),
              static_cast<unsigned long long>(e->reordered), static_cast<unsigned long long>(e->concealed_frames),
              recovered_at, last_delay, last_target);
  // The profile really hit the stream.
  if (profile.loss > 0 || profile.burst_ms > 0) {
    EXPECT_GT(e->lost + e->concealed_frames, 0u);
  }
  if (profile.duplicate > 0) {
    EXPECT_GT(e->duplicate, 0u);
  }
  if (profile.reorder > 0) {
    EXPECT_GT(e->reordered + e->late, 0u);
  }
}

TEST(Impairment, TwentyPercentLoss) {
  Profile p;
  p.name = "loss20";
  p.loss = 0.20;
  p.seed = 11;
  run_audio_profile(p);
}

TEST(Impairment, Jitter200ms) {
  Profile p;
  p.name = "jitter200";
  p.jitter_ms = 200;
  p.seed = 12;
  run_audio_profile(p);
}

TEST(Impairment, TenPercentReordering) {
  Profile p;
  p.name = "reorder10";
  p.reorder = 0.10;
  p.seed = 13;
  run_audio_profile(p);
}

TEST(Impairment, FivePercentDuplication) {
  Profile p;
  p.name = "dup5";
  p.duplicate = 0.05;
  p.seed = 14;
  run_audio_profile(p);
}

TEST(Impairment, BurstsOf500msLoss) {
  Profile p;
  p.name = "burst500";
  p.burst_ms = 500;
  p.burst_every_ms = 1500;
  p.seed = 15;
  run_audio_profile(p);
}

TEST(Impairment, SsrcChangeMidCall) {
  Profile p;
  p.name = "ssrc";
  p.ssrc_change = true;
  p.seed = 16;
  run_audio_profile(p);
}

TEST(Impairment, PeerSendingOnlyGarbage) {
  Profile p;
  p.name = "garbage";
  p.garbage = true;
  p.seed = 17;
  run_audio_profile(p);
}

// ---- resolution change ------------------------------------------------------

double tile_luma(const video::I420View& f, const video::Rect& r) {
  double sum = 0;
  int n = 0;
  for (int j = r.y + r.h / 4; j < r.y + r.h * 3 / 4; ++j)
    for (int i = r.x + r.w / 4; i < r.x + r.w * 3 / 4; ++i, ++n) sum += f.y[static_cast<size_t>(j) * f.stride_y + i];
  return n ? sum / n : 0;
}

// alice's VP8 encoder is reconfigured mid-call from 320x240 to 176x144 (and
// her picture changes colour). Her tile follows with the new picture, bob's
// tile and everyone's audio are unaffected, and *6 still works.
TEST(Impairment, ResolutionChangeMidCall) {
  const Timing tm = timing();
  SessionHarness h;
  Participant& alice = h.add_participant("alice", 400, 60);
  h.add_participant("bob", 700, 200);
  LegConfig c = pcmu_leg();
  c.video = true;
  c.video_codec = VideoCodec::kVp8;
  c.video_payload_type = 96;
  c.width = 320;
  c.height = 180;
  c.fps = 15;
  c.video_bitrate_bps = 300000;
  h.add_leg(c, 0);
  Runner r(h);
  int t = 0;
  for (; t < tm.warmup_ms; t += 20) r.step(nullptr, -1);
  const uint64_t decoded_before = find_stats(h.session->stats(), "alice/video")->decoded_frames;

  const Status reconfigured = alice.vp8->reconfigure_video(176, 144, 200000);
  ASSERT_TRUE(reconfigured.ok()) << reconfigured.message();
  alice.vp8->fill_picture(150, 128, 128);
  const int change_at = t, press_at = change_at + 500;
  for (; t < press_at; t += 20) r.step(nullptr, -1);
  r.press("*6");
  for (; t < change_at + tm.impaired_ms; t += 20) r.step(nullptr, -1);
  ASSERT_FALSE(r.pressing());

  const SessionStats st = h.session->stats();
  const StreamStats* av = find_stats(st, "alice/video");
  const StreamStats* bv = find_stats(st, "bob/video");
  ASSERT_TRUE(av && bv);
  // 30 fps over the window, give or take start-up after the keyframe.
  const uint64_t expected = static_cast<uint64_t>(tm.impaired_ms) * 30 / 1000;
  EXPECT_GE(av->decoded_frames - decoded_before, expected * 8 / 10);
  EXPECT_EQ(av->lost, 0u);
  EXPECT_EQ(bv->decode_errors, 0u);
  EXPECT_EQ(count_events(h.sink, Event::Type::kMuteChanged, "sip"), 1);
  EXPECT_EQ(r.end_packets_dropped(), 2);
  const auto out = h.leg_audio("sip", change_at, press_at);
  EXPECT_NEAR(tone_dbfs(out, 400, 8000), -14.7, 2.0) << "alice";
  EXPECT_NEAR(tone_dbfs(out, 700, 8000), -14.7, 2.0) << "bob";
  for (const StreamStats& s : st.streams)
    EXPECT_LE(s.current_delay_ms, s.target_delay_ms + 20) << s.id;

  // Decode what the leg received: alice's tile (cell 0) shows her new
  // picture, bob's (cell 1) his unchanged one.
  video::FrameAssembler fa(video::VideoCodec::kVp8);
  auto dec = video::VideoDecoder::create(video::VideoCodec::kVp8);
  ASSERT_TRUE(dec.ok());
  int frames = 0;
  for (const auto& p : h.sink.rtp) {
    if (p.dir != Direction::kToLeg) continue;
    auto v = rtp::parse_rtp(p.data);
    if (!v || v->payload_type != 96) continue;
    if (const video::AssembledFrame* f = fa.push(*v))
      frames += (*dec)->decode(f->data) == video::VideoDecoder::Result::kFrame;
  }
  ASSERT_GT(frames, 0);
  const video::I420View img = (*dec)->frame();
  ASSERT_EQ(img.width, 320);
  ASSERT_EQ(img.height, 180);
  video::LayoutOptions lo;
  lo.canvas_width = 320;
  lo.canvas_height = 180;
  const video::GridShape shape = video::grid_for_count(2);
  EXPECT_NEAR(tile_luma(img, video::grid_cell(lo, shape, 0)), 150, 8) << "alice's new picture";
  EXPECT_NEAR(tile_luma(img, video::grid_cell(lo, shape, 1)), 200, 8) << "bob unchanged";
}

// ---- regressions found by fuzz_session ----------------------------------------

// The smallest canvas add_leg validates (64x64) used to fail in the layout
// ("highlight_px is too wide for a 3x3 cell"); it must work, with 9 tiles.
TEST(FuzzRegression, SmallestLegalVideoCanvasIsAccepted) {
  SessionHarness h;
  const char* names[] = {"p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"};
  for (int i = 0; i < 9; ++i) h.add_participant(names[i], 300 + 50 * i, static_cast<uint8_t>(40 + 20 * i));
  LegConfig c = pcmu_leg();
  c.video = true;
  c.video_codec = VideoCodec::kVp8;
  c.width = 64;
  c.height = 64;
  c.fps = 10;
  c.video_bitrate_bps = 50000;
  auto leg = h.session->add_leg(c);
  ASSERT_TRUE(leg.ok()) << leg.status().message();
  h.run_ms(600);
  EXPECT_GE(h.session->stats().legs[0].video_frames_encoded, 5u);
}

// An empty RTCP packet on a stream or a leg used to reach memcpy with a null
// source (UBSan) and would read as "queue empty"; it is dropped, and the
// session goes on.
TEST(FuzzRegression, EmptyRtcpPacketIsDropped) {
  SessionHarness h;
  Participant& a = h.add_participant("alice", 400);
  h.add_leg(pcmu_leg(), 0);
  h.run_ms(200);
  for (int i = 0; i < 40; ++i) {
    h.session->push_rtcp(a.audio, {});
    h.session->push_rtcp(h.leg_handle, {});
    h.run_ms(20);
  }
  h.run_ms(400);
  EXPECT_NEAR(tone_dbfs(h.leg_audio("sip", 600, 1400), 400, 8000), -14.7, 2.0);
}

// An empty packet on a secure leg used to reach memcpy with a null source
// before SRTP unprotect (UBSan). It is dropped; short packets fail
// authentication; the leg keeps sending.
TEST(FuzzRegression, EmptyPacketOnSecureLegIsDropped) {
  SessionHarness h;
  h.add_participant("alice", 400);
  LegConfig c = pcmu_leg();
  c.secure = true;
  c.srtp_key_to_leg = srtp::generate_sdes_inline_key();
  c.srtp_key_from_leg = srtp::generate_sdes_inline_key();
  h.leg_sending_audio = false;
  h.add_leg(c, 0);
  h.run_ms(200);
  const uint8_t short_packet[5] = {0x80, 0, 0, 1, 2};
  for (int i = 0; i < 20; ++i) {
    h.push_leg({});
    h.push_leg(short_packet);
    h.run_ms(20);
  }
  const SessionStats st = h.session->stats();
  ASSERT_EQ(st.legs.size(), 1u);
  EXPECT_LE(st.legs[0].srtp_auth_failures, 20u);
  EXPECT_EQ(st.legs[0].audio_packets_sent, st.ticks);
}

}  // namespace
}  // namespace sipmix::testing
