// A Session on a simulated clock with synthetic participants: each sends a
// distinct tone as Opus (and optionally a distinct colour as VP8), the SIP
// leg sends its own tone in its codec, all through the one fake peer
// (tests/support/fake_peer.h). Records everything the sink gets.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sipmix/session.h"
#include "tests/support/fake_peer.h"

namespace sipmix::testing {

struct RecordingSink : SessionSink {
  struct Packet {
    std::string id;
    Direction dir;
    std::vector<uint8_t> data;
    int64_t time_us;
  };
  void on_rtp(const std::string& id, Direction dir, std::span<const uint8_t> p) override {
    rtp.push_back({id, dir, {p.begin(), p.end()}, clock ? clock->now_us() : 0});
  }
  void on_rtcp(const std::string& id, Direction dir, std::span<const uint8_t> p) override {
    rtcp.push_back({id, dir, {p.begin(), p.end()}, clock ? clock->now_us() : 0});
  }
  void on_event(const Event& e) override { events.push_back(e); }

  const Clock* clock = nullptr;
  std::vector<Packet> rtp, rtcp;
  std::vector<Event> events;
};

struct Participant {
  std::string id;
  double tone_hz = 0;
  uint8_t color_y = 0;  // 0 = no video
  PushHandle audio, video;
  std::unique_ptr<FakePeer> opus;  // PT 111, 48 kbit/s, SSRC 0x1000 + slot
  std::unique_ptr<FakePeer> vp8;   // 320x240 @ 30, PT 100; null without video
  double phase = 0;
  bool sending = true;
  double video_loss = 0;  // fraction of its video packets dropped (the harness's seeded RNG)
};

class SessionHarness {
 public:
  explicit SessionHarness(SessionConfig cfg = {});

  // Adds a participant with an Opus tone stream and, if color_y != 0, a VP8
  // stream whose whole picture has luma color_y.
  Participant& add_participant(const std::string& id, double tone_hz, uint8_t color_y = 0);
  // Adds the SIP leg; its caller speaks `tone_hz` (0: silence).
  PushHandle add_leg(const LegConfig& config, double tone_hz);

  // Advances the session by `ms` (a multiple of 20), sending 20 ms of media
  // from every participant and the leg each step, 30 fps video.
  void run_ms(int ms);

  // The leg's mixed audio, decoded back to PCM at the codec rate, from
  // packets sent in [from_ms, to_ms) of session time.
  std::vector<int16_t> leg_audio(const std::string& leg_id, int from_ms, int to_ms) const;
  // The leg's own audio published into the session (Opus -> 48 kHz), per
  // 20 ms packet time, in [from_ms, to_ms). Missing packets become silence.
  std::vector<int16_t> session_audio(const std::string& leg_id, int from_ms, int to_ms) const;
  // Pushes raw packets into the leg (telephone events, tampered SRTP...).
  void push_leg(std::span<const uint8_t> packet) { session->push_rtp(leg_handle, packet); }
  // The leg's next RTP header fields, shared with what a test sends itself.
  RtpFields& leg_rtp() { return leg_peer->header(); }

  SimulatedClock clock{1'000'000};
  RecordingSink sink;
  std::unique_ptr<Session> session;
  std::vector<std::unique_ptr<Participant>> participants;
  PushHandle leg_handle;
  LegConfig leg;
  double leg_tone_hz = 0;
  double leg_phase = 0;
  std::unique_ptr<FakePeer> leg_peer;  // the leg's codec, SSRC 0xAB5, from seq 100 / ts 800
  bool leg_sending_audio = true;
  // Optional: transforms each leg packet before it is pushed (SRTP protect).
  std::function<size_t(std::vector<uint8_t>&)> leg_transform;
  int64_t start_us = 1'000'000;
  int video_phase_ms = 0;
  // Participants answer the session's PLIs with a keyframe on their next
  // frame, as a browser does.
  bool answer_keyframe_requests = false;
  size_t rtcp_answered = 0;  // sink.rtcp entries already looked at
  std::mt19937 loss_rng{20261203};
};

// A tone as 20 ms Opus packets (PT 111, 48 kbit/s), phase-continuous across
// packets. header() is the fake peer's, so a test can jump seq/ts/ssrc.
class OpusToneStream {
 public:
  OpusToneStream(double tone_hz, uint32_t ssrc, uint16_t seq, uint32_t ts);
  // The next packet, the tone at peak `amplitude` (0: silence).
  std::vector<uint8_t> next(double amplitude);
  RtpFields& header() { return peer_->header(); }

 private:
  double tone_hz_;
  double phase_ = 0;
  std::unique_ptr<FakePeer> peer_;
};

// A PCMU leg (PT 0, 8 kHz) with telephone-event 101 and observeForceMute on.
LegConfig pcmu_leg(bool observe_force_mute = true);
// Leg "sip" of participant "caller" with 640x360 video at 30 fps, 800 kb/s, PT 96.
LegConfig video_leg(VideoCodec codec);
// How many events of type `t` the sink got for `id`.
int count_events(const RecordingSink& s, Event::Type t, const std::string& id);

}  // namespace sipmix::testing
