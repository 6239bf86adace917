// Accelerate: a NEVER-silent tone stream after 3 s of 200 ms jitter (seeded)
// gets its playout delay back within target + 20 ms no more than 5 s after
// the impairment ends (issue 8), with the tone at its level in every 20 ms
// frame and no frame missing. Checked through the Session API on a
// simulated clock, and at AudioInput level (counters, the delay including
// the FIFO, continuity against the same stream without accelerate).
// SIPMIX_SCALE=ci shortens the runs that do not need the target's late fall.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <numbers>
#include <string>

#include "audio_codec/codec.h"
#include "rtp/rtp_packet.h"
#include "receive/audio_input.h"
#include "session_harness.h"
#include "tests/support/signal.h"
#include "tests/support/test_env.h"

namespace sipmix::testing {
namespace {

// The 3 s after the 5 s recovery window cover the target's own fall after
// the jitter spike (about 6 s after it ends), which the delay must follow;
// SIPMIX_SCALE=ci keeps them only where that fall is part of the scenario.
struct Timing {
  int warmup_ms = 2000, impaired_ms = 3000, recovery_ms = 5000, check_ms = 3000;
};

using Rng = XorShift64;

// An Opus tone, never silent unless spurt_ms > 0 (then spurt_ms of tone and
// pause_ms of silence, like speech); each packet is delivered `delay_ms`
// after it is sent, in arrival order.
class DelayedTone {
 public:
  explicit DelayedTone(double tone_hz, int spurt_ms = 0, int pause_ms = 0)
      : tone_(tone_hz, 0xACC, 7000, 123456),
        spurt_packets_(spurt_ms / 20),
        period_packets_((spurt_ms + pause_ms) / 20) {}

  // One 20 ms packet sent at t_ms; delivers the packets arriving by t_ms.
  template <typename Deliver>
  void step(int t_ms, int delay_ms, Deliver&& deliver) {
    const double amp = spurt_packets_ == 0 || packets_++ % period_packets_ < spurt_packets_ ? 6000 : 0;
    std::vector<uint8_t> pkt = tone_.next(amp);
    queue_.push_back({t_ms + delay_ms, std::move(pkt)});
    std::stable_sort(queue_.begin(), queue_.end(), [](const Pending& a, const Pending& b) { return a.due_ms < b.due_ms; });
    while (!queue_.empty() && queue_.front().due_ms <= t_ms) {
      deliver(queue_.front().data);
      queue_.pop_front();
    }
  }

 private:
  struct Pending {
    int due_ms;
    std::vector<uint8_t> data;
  };
  OpusToneStream tone_;
  int spurt_packets_, period_packets_;
  int packets_ = 0;
  std::deque<Pending> queue_;
};

// The criterion: the first time after the end of the impairment
// that the delay is within target + 20 ms. After that, any excursion above
// it (the target itself falls in steps of up to tens of ms after a spike,
// seconds later) must be caught up quickly: the longest one.
struct Recovery {
  int first_within_ms = -1;  // after the end of the impairment
  int longest_excursion_ms = 0;
  int excursion_from_ms = -1;
  // One observation `t_ms` after the end of the impairment.
  void observe(int t_ms, int excess_ms) {
    const bool within = excess_ms <= 20;
    if (within && first_within_ms < 0) first_within_ms = t_ms;
    if (first_within_ms < 0) return;
    if (!within && excursion_from_ms < 0) excursion_from_ms = t_ms;
    if (within && excursion_from_ms >= 0) {
      longest_excursion_ms = std::max(longest_excursion_ms, t_ms - excursion_from_ms);
      excursion_from_ms = -1;
    }
  }
  void finish(int t_ms) {
    if (excursion_from_ms >= 0) longest_excursion_ms = std::max(longest_excursion_ms, t_ms - excursion_from_ms);
    excursion_from_ms = -1;
  }
};

struct Scenario {
  const char* name;
  int impaired_ms;
  bool stall;         // every packet of the impairment held until its end; else 0-200 ms uniform jitter
  bool target_falls;  // the run covers the target's own fall after the spike
  // Speech-like 1.6 s spurts with 0.4 s pauses instead of a never-silent tone.
  bool spurts = false;
  // Without accelerate the same input misses the criterion.
  bool reference_fails = true;
};

// Delay of the packet sent at t_ms.
int delay_ms(const Scenario& sc, Rng& rng, int t_ms, int imp_start, int imp_end) {
  if (t_ms < imp_start || t_ms >= imp_end) return 0;
  return sc.stall ? imp_end - t_ms : static_cast<int>(rng.next() % 201);
}

const StreamStats* find_stats(const SessionStats& st, const std::string& id) {
  for (const auto& s : st.streams)
    if (s.id == id) return &s;
  return nullptr;
}

// alice (400 Hz) clean, eve (1000 Hz, never silent) impaired, then clean; a
// PCMU leg hears both.
void run_session(const Scenario& sc) {
  SCOPED_TRACE(sc.name);
  Timing tm;
  tm.impaired_ms = sc.impaired_ms;
  if (ci_scale()) {
    tm.warmup_ms = 1500;  // still more than accelerate_after_ms of tone before the impairment
    if (!sc.target_falls) tm.check_ms = 1000;
  }
  SessionHarness h;
  h.add_participant("alice", 400);
  Participant& eve = h.add_participant("eve", 1000);
  eve.sending = false;  // its packets come from the jittered sender
  h.add_leg(pcmu_leg(), 0);
  DelayedTone sender(1000);
  Rng rng(0x5EED);
  SCOPED_TRACE(rng.seed_text());
  const PushHandle eve_audio = eve.audio;
  auto deliver = [&](const std::vector<uint8_t>& p) { h.session->push_rtp(eve_audio, p); };

  const int imp_start = tm.warmup_ms, imp_end = imp_start + tm.impaired_ms;
  const int end = imp_end + tm.recovery_ms + tm.check_ms;
  Recovery rec;
  int delay_at_end_of_jitter = 0, target_at_end_of_jitter = 0, last_delay = 0, last_target = 0;
  uint64_t concealed_at = 0;
  for (int t = 0; t < end; t += 20) {
    sender.step(t, delay_ms(sc, rng, t, imp_start, imp_end), deliver);
    h.run_ms(20);
    if (t + 20 < imp_end) continue;  // nothing to look at before
    const SessionStats stats = h.session->stats();
    const StreamStats* e = find_stats(stats, "eve/audio");
    ASSERT_NE(e, nullptr);
    if (t + 20 == imp_end) {
      delay_at_end_of_jitter = e->current_delay_ms;
      target_at_end_of_jitter = e->target_delay_ms;
    }
    // Packets still in flight when the impairment ends arrive within 200 ms.
    if (t + 20 == imp_end + 400) concealed_at = e->concealed_frames;
    if (t >= imp_end) {
      rec.observe(t + 20 - imp_end, e->current_delay_ms - e->target_delay_ms);
      last_delay = e->current_delay_ms;
      last_target = e->target_delay_ms;
    }
  }
  rec.finish(end - imp_end);
  const SessionStats stats = h.session->stats();
  const StreamStats* e = find_stats(stats, "eve/audio");
  ASSERT_NE(e, nullptr);
  std::printf("accelerate session %s: at the end of the impairment delay %d target %d ms; within target+20 ms %d ms "
              "after the end, later above it for at most %d ms (observed until %d ms after the end); at the end "
              "delay %d target %d ms; late %llu concealed %llu\n",
              sc.name, delay_at_end_of_jitter, target_at_end_of_jitter, rec.first_within_ms, rec.longest_excursion_ms,
              end - imp_end, last_delay, last_target, static_cast<unsigned long long>(e->late),
              static_cast<unsigned long long>(e->concealed_frames));
  if (!sc.stall) {
    EXPECT_GT(e->late + e->reordered, 0u) << "the jitter really hit the stream";
  } else {
    EXPECT_GT(delay_at_end_of_jitter, target_at_end_of_jitter + 200) << "the stall really raised the delay";
  }
  ASSERT_GE(rec.first_within_ms, 0);
  EXPECT_LE(rec.first_within_ms, 5000);
  EXPECT_LE(rec.longest_excursion_ms, 1000);
  EXPECT_LE(last_delay, last_target + 20);
  EXPECT_EQ(e->concealed_frames, concealed_at) << "nothing concealed once the network is clean";

  // After recovery: every 20 ms packet to the leg carries eve's tone at its
  // level (no missing frame, no dip), and alice's.
  const int from = imp_end + std::max(rec.first_within_ms, 400);
  const auto out = h.leg_audio("sip", from, end);
  ASSERT_GE(out.size(), static_cast<size_t>(end - from - 40) * 8);
  int frames = 0;
  for (size_t b = 0; b + 160 <= out.size(); b += 160, ++frames) {
    const std::span<const int16_t> blk(out.data() + b, 160);
    EXPECT_NEAR(tone_dbfs(blk, 1000, 8000), -14.7, 1.5) << "eve, frame at " << from + 20 * frames << " ms";
  }
  EXPECT_NEAR(tone_dbfs(out, 1000, 8000), -14.7, 1.0) << "eve";
  EXPECT_NEAR(tone_dbfs(out, 400, 8000), -14.7, 1.0) << "alice";
  const StreamStats* a = find_stats(stats, "alice/audio");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->lost + a->late + a->concealed_frames, 0u);
}

// The profile: 200 ms uniform jitter for 3 s.
TEST(Accelerate, NeverSilentToneRecoversWithinFiveSecondsOfJitter) { run_session({"jitter200", 3000, false, true}); }

// A 300 ms network stall leaves the delay 300 ms above the target.
TEST(Accelerate, NeverSilentToneRecoversAfterAStall) { run_session({"stall300", 300, true, false}); }

// The same stream straight into two AudioInputs, one with accelerate and one
// without: the counters, the delay including the FIFO, and the waveform.
void run_audio_input(const Scenario& sc) {
  SCOPED_TRACE(sc.name);
  Timing tm;
  tm.impaired_ms = sc.impaired_ms;
  session::AudioInputConfig on, off;
  off.accelerate = false;
  auto in = session::AudioInput::create(on);
  auto ref = session::AudioInput::create(off);
  ASSERT_TRUE(in.ok() && ref.ok());

  DelayedTone sender(1000, sc.spurts ? 1600 : 0, sc.spurts ? 400 : 0);
  Rng rng(0x5EED);
  SCOPED_TRACE(rng.seed_text());
  int64_t now_us = 5'000'000;
  auto deliver = [&](const std::vector<uint8_t>& p) {
    (void)(*in)->insert(p, now_us);
    (void)(*ref)->insert(p, now_us);
  };
  const int imp_start = tm.warmup_ms, imp_end = imp_start + tm.impaired_ms;
  const int end = imp_end + tm.recovery_ms + tm.check_ms;
  std::vector<int16_t> out, out_ref;  // once the network is clean
  Recovery rec;
  int ref_last_violation = -1, missing_frames = 0;
  int target_at_end = 0, target_fell_at = -1, max_excess = -1000, ref_max_excess = -1000, excess_at_end = 0;
  uint64_t ops_at_end = 0;
  for (int t = 0; t < end; t += 20) {
    sender.step(t, delay_ms(sc, rng, t, imp_start, imp_end), deliver);
    const bool got = (*in)->pull(now_us);
    const bool got_ref = (*ref)->pull(now_us);
    now_us += 20000;
    const JitterStats j = (*in)->jitter_stats();
    const JitterStats jr = (*ref)->jitter_stats();
    const int excess = std::max((*in)->accelerate_stats().playout_delay_ms, j.current_delay_ms) - j.target_delay_ms;
    if (t + 20 == imp_end + 20) {  // the first tick with the network clean
      ops_at_end = (*in)->accelerate_stats().ops;
      target_at_end = j.target_delay_ms;
      excess_at_end = excess;
    }
    if (t >= imp_end && target_fell_at < 0 && j.target_delay_ms < target_at_end - 20) target_fell_at = t + 20 - imp_end;
    if (t < imp_end) continue;
    rec.observe(t + 20 - imp_end, excess);
    if (jr.current_delay_ms > jr.target_delay_ms + 20) ref_last_violation = t + 20;
    if (t < imp_end + 400) continue;  // the packets in flight at the end arrive within 200 ms
    missing_frames += !got;
    if (got) out.insert(out.end(), (*in)->frame(), (*in)->frame() + 960);
    if (got_ref) out_ref.insert(out_ref.end(), (*ref)->frame(), (*ref)->frame() + 960);
    max_excess = std::max(max_excess, excess);
    ref_max_excess = std::max(ref_max_excess, jr.current_delay_ms - jr.target_delay_ms);
  }
  const session::AccelerateStats& st = (*in)->accelerate_stats();
  const JitterStats j = (*in)->jitter_stats();
  const JitterStats jr = (*ref)->jitter_stats();
  rec.finish(end - imp_end);
  std::printf("accelerate %s: %llu ops (%llu before the end), %.1f ms removed, %llu periodic, %llu declined; "
              "delay target + %d ms at the end, target %d ms, fell by > 20 ms %d ms after the end; "
              "delay within target+20 ms %d ms after the end, later above it for at most %d ms (at most target + "
              "%d ms from 400 ms on), at the end %d ms (target %d ms). Without accelerate: at most target + %d ms, "
              "at the end delay %d target %d ms, ",
              sc.name, static_cast<unsigned long long>(st.ops), static_cast<unsigned long long>(ops_at_end),
              static_cast<double>(st.removed_samples) / 48.0, static_cast<unsigned long long>(st.periodic_ops),
              static_cast<unsigned long long>(st.declined), excess_at_end, target_at_end, target_fell_at,
              rec.first_within_ms, rec.longest_excursion_ms, max_excess, st.playout_delay_ms, j.target_delay_ms, ref_max_excess,
              jr.current_delay_ms, jr.target_delay_ms);
  if (ref_last_violation < 0)
    std::printf("within target+20 ms throughout\n");
  else
    std::printf("above target+20 ms until %d ms after the end\n", ref_last_violation - imp_end);
  if (sc.target_falls) {
    ASSERT_GE(target_fell_at, 0) << "the scenario must include the target's fall";
  }
  EXPECT_GT(st.ops, 0u);
  if (!sc.spurts) {
    EXPECT_EQ(st.periodic_ops, st.ops) << "a tone is compressed by whole periods";
  }
  ASSERT_GE(rec.first_within_ms, 0) << "the delay including the FIFO";
  EXPECT_LE(rec.first_within_ms, 5000) << "the delay including the FIFO";
  EXPECT_LE(rec.longest_excursion_ms, 1000) << "catching up after the target's own fall";
  EXPECT_LE(st.playout_delay_ms, j.target_delay_ms + 20);
  EXPECT_FALSE(st.active) << "done once back at the target";
  EXPECT_EQ(missing_frames, 0);
  if (sc.reference_fails) {
    EXPECT_GT(ref_last_violation, imp_end + 5000) << "without accelerate the scenario fails the criterion";
  }

  // Same tone, same level, no discontinuity beyond what the codec gives the
  // stream without accelerate.
  ASSERT_GT(out.size(), 48000u);
  auto max_step = [](const std::vector<int16_t>& x) {
    int m = 0;
    for (size_t i = 1; i < x.size(); ++i) m = std::max(m, std::abs(int{x[i]} - int{x[i - 1]}));
    return m;
  };
  EXPECT_LE(max_step(out), max_step(out_ref) * 1.2);
  if (sc.spurts) {
    EXPECT_NEAR(rms_dbfs(out), rms_dbfs(out_ref), 0.5);
    return;
  }
  for (size_t b = 0; b + 960 <= out.size(); b += 960)
    EXPECT_NEAR(tone_dbfs({out.data() + b, 960}, 1000, 48000), -14.7, 0.5) << "frame " << b / 960;
}

TEST(Accelerate, AudioInputFollowsTheTargetDownAfterJitter) { run_audio_input({"jitter200", 3000, false, true}); }

// A 300 ms network stall: the delay grows 300 ms above the target while
// nothing arrives, then everything arrives at once.
TEST(Accelerate, AudioInputCatchesUpAfterAStall) { run_audio_input({"stall300", 300, true, false}); }

// Speech-like talk spurts (1.6 s of tone, 0.4 s pauses): the buffer's
// silence cuts and accelerate within the longer spurts share the work.
TEST(Accelerate, AudioInputWithLongTalkSpurtsFollowsTheTarget) {
  run_audio_input({"spurts-jitter200", 3000, false, true, true});
}

TEST(Accelerate, AudioInputWithLongTalkSpurtsCatchesUpAfterAStall) {
  run_audio_input({"spurts-stall300", 300, true, false, true, false});
}

TEST(Accelerate, AudioInputRejectsBadThresholds) {
  session::AudioInputConfig bad;
  bad.accelerate_start_ms = 5;
  bad.accelerate_stop_ms = 10;
  EXPECT_FALSE(session::AudioInput::create(bad).ok());
  bad.accelerate_start_ms = 20;
  bad.accelerate_stop_ms = -1;
  EXPECT_FALSE(session::AudioInput::create(bad).ok());
}

}  // namespace
}  // namespace sipmix::testing
