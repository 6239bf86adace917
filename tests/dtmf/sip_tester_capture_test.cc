// Debian's sip-tester RFC 4733 captures (real packets: marker on the first,
// duration 0 first, three E packets with one sequence number), read with
// libpcap and fed through receiver -> "*6" matcher -> mute controller.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dtmf/feature_code_matcher.h"
#include "dtmf/mute_controller.h"
#include "dtmf/rfc4733_receiver.h"
#include "tests/support/pcap.h"
#include "tests/support/test_paths.h"
#include "tests/dtmf/dtmf_test_util.h"

namespace sipmix::dtmf {
namespace {

using UdpDatagram = pcap::UdpPacket;

std::vector<UdpDatagram> load(const std::string& name) {
  const std::string path = std::string(sipmix::testing::kSipTesterDir) + "/" + name;
  auto out = pcap::read_pcap_udp(path);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? std::move(*out) : std::vector<UdpDatagram>{};
}

bool have_captures() {
  return sipmix::testing::file_exists(std::string(sipmix::testing::kSipTesterDir) + "/dtmf_2833_star.pcap");
}

bool is_end_packet(const UdpDatagram& d) {
  const auto v = rtp::parse_rtp(d.payload);
  return v && v->payload.size() >= 4 && (v->payload[1] & 0x80) != 0;
}

struct Outcome {
  std::string digits;
  int toggles = 0;
  bool muted = false;
  std::vector<std::string> mute_events;
};

// Plays `captures` one after the other on the same leg, each starting
// `spacing_ms` after the previous one began (media time = capture time).
Outcome run_leg(const std::vector<std::vector<UdpDatagram>>& captures, int64_t spacing_ms = 1000) {
  Outcome o;
  auto receiver = Rfc4733Receiver::create({.payload_type = 101, .clock_rate_hz = 8000});
  auto matcher = FeatureCodeMatcher::create({});
  MuteController mc({}, [&](const MuteEvent& e) {
    o.mute_events.push_back(std::string(e.stream_id) + (e.muted ? " muted by " : " unmuted by ") + to_string(e.cause));
  });
  EXPECT_TRUE(mc.add_member("sip-leg", {.kind = MemberKind::kSipLeg, .observe_force_mute = true, .telephone_event = true}).ok());
  int64_t base_ms = 0;
  int64_t last_ms = 0;
  const auto deliver = [&] {
    DtmfEvent e;
    while (receiver->pop_event(e)) {
      o.digits += e.digit;
      if (matcher->on_digit(e.digit, e.start_ms, e.end_ms)) {
        ++o.toggles;
        mc.on_self_mute_toggle("sip-leg");
      }
    }
  };
  for (const auto& capture : captures) {
    if (capture.empty()) continue;
    const int64_t t0 = capture.front().timestamp_us;
    for (const UdpDatagram& d : capture) {
      last_ms = base_ms + (d.timestamp_us - t0) / 1000;
      receiver->on_packet(std::span<const uint8_t>(d.payload), last_ms);
      deliver();
    }
    base_ms += spacing_ms;
  }
  receiver->poll(last_ms + 1000);
  deliver();
  o.muted = mc.is_muted("sip-leg");
  return o;
}

TEST(SipTesterCaptures, ReadWithLibpcapAsRtpEvents) {
  if (!have_captures()) GTEST_SKIP() << "sip-tester captures not installed";
  const auto star = load("dtmf_2833_star.pcap");
  ASSERT_EQ(star.size(), 10u);
  for (const auto& d : star) {
    EXPECT_EQ(d.dst.port, 10000);
    const auto v = rtp::parse_rtp(d.payload);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->payload_type, 101);
  }
}

TEST(SipTesterCaptures, EveryCaptureGivesItsDigitOnce) {
  if (!have_captures()) GTEST_SKIP() << "sip-tester captures not installed";
  const std::vector<std::pair<std::string, char>> files = {
      {"0", '0'}, {"1", '1'}, {"2", '2'}, {"3", '3'}, {"4", '4'},  {"5", '5'},
      {"6", '6'}, {"7", '7'}, {"8", '8'}, {"9", '9'}, {"star", '*'}, {"pound", '#'}};
  for (const auto& [name, digit] : files) {
    const Outcome o = run_leg({load("dtmf_2833_" + name + ".pcap")});
    EXPECT_EQ(o.digits, std::string(1, digit)) << name;
  }
}

TEST(SipTesterCaptures, StarThenSixTogglesExactlyOnce) {
  if (!have_captures()) GTEST_SKIP() << "sip-tester captures not installed";
  const Outcome o = run_leg({load("dtmf_2833_star.pcap"), load("dtmf_2833_6.pcap")});
  EXPECT_EQ(o.digits, "*6");
  EXPECT_EQ(o.toggles, 1);
  EXPECT_TRUE(o.muted);
  ASSERT_EQ(o.mute_events.size(), 1u);
  EXPECT_EQ(o.mute_events[0], "sip-leg muted by dtmf");
}

TEST(SipTesterCaptures, StarThenSixTwiceMutesThenUnmutes) {
  if (!have_captures()) GTEST_SKIP() << "sip-tester captures not installed";
  const auto star = load("dtmf_2833_star.pcap");
  const auto six = load("dtmf_2833_6.pcap");
  // The captures reuse their timestamps: the second "*6" repeats the keys of
  // the first. Renumber it as a real phone would (later timestamps).
  auto shifted = [](std::vector<UdpDatagram> c) {
    for (auto& d : c) {
      uint32_t ts = static_cast<uint32_t>(d.payload[4] << 24 | d.payload[5] << 16 | d.payload[6] << 8 | d.payload[7]);
      ts += 200000;
      for (int i = 0; i < 4; ++i) d.payload[4 + i] = static_cast<uint8_t>(ts >> (24 - 8 * i));
    }
    return c;
  };
  const Outcome o = run_leg({star, six, shifted(star), shifted(six)});
  EXPECT_EQ(o.digits, "*6*6");
  EXPECT_EQ(o.toggles, 2);
  EXPECT_FALSE(o.muted);
  ASSERT_EQ(o.mute_events.size(), 2u);
  EXPECT_EQ(o.mute_events[1], "sip-leg unmuted by dtmf");
}

TEST(SipTesterCaptures, SameCapturesReplayedTwiceMuteThenUnmute) {
  if (!have_captures()) GTEST_SKIP() << "sip-tester captures not installed";
  // As sipp plays them: the same packets again, 1.5 s apart (beyond the
  // receiver's 1 s key memory).
  const auto star = load("dtmf_2833_star.pcap");
  const auto six = load("dtmf_2833_6.pcap");
  const Outcome o = run_leg({star, six, star, six}, /*spacing_ms=*/1500);
  EXPECT_EQ(o.digits, "*6*6");
  EXPECT_EQ(o.toggles, 2);
  EXPECT_FALSE(o.muted);
}

TEST(SipTesterCaptures, OneEndPacketDropped) {
  if (!have_captures()) GTEST_SKIP() << "sip-tester captures not installed";
  auto star = load("dtmf_2833_star.pcap");
  auto six = load("dtmf_2833_6.pcap");
  for (auto* c : {&star, &six}) {
    auto it = std::find_if(c->begin(), c->end(), is_end_packet);
    ASSERT_NE(it, c->end());
    c->erase(it);
  }
  const Outcome o = run_leg({star, six});
  EXPECT_EQ(o.digits, "*6");
  EXPECT_EQ(o.toggles, 1);
  EXPECT_TRUE(o.muted);
}

TEST(SipTesterCaptures, AllEndPacketsDroppedFinalizesByTimeout) {
  if (!have_captures()) GTEST_SKIP() << "sip-tester captures not installed";
  auto star = load("dtmf_2833_star.pcap");
  auto six = load("dtmf_2833_6.pcap");
  for (auto* c : {&star, &six}) c->erase(std::remove_if(c->begin(), c->end(), is_end_packet), c->end());
  const Outcome o = run_leg({star, six});
  EXPECT_EQ(o.digits, "*6");
  EXPECT_EQ(o.toggles, 1);
}

TEST(SipTesterCaptures, Reordered) {
  if (!have_captures()) GTEST_SKIP() << "sip-tester captures not installed";
  auto star = load("dtmf_2833_star.pcap");
  auto six = load("dtmf_2833_6.pcap");
  for (auto* c : {&star, &six}) {
    ASSERT_EQ(c->size(), 10u);
    // Keep arrival times, shuffle contents: two updates swapped, the first
    // end packet before the last update, and the marker packet arriving third.
    std::vector<int64_t> times;
    for (const auto& d : *c) times.push_back(d.timestamp_us);
    std::swap((*c)[3], (*c)[4]);
    std::swap((*c)[6], (*c)[7]);
    std::rotate(c->begin(), c->begin() + 1, c->begin() + 3);
    for (size_t i = 0; i < c->size(); ++i) (*c)[i].timestamp_us = times[i];
  }
  const Outcome o = run_leg({star, six});
  EXPECT_EQ(o.digits, "*6");
  EXPECT_EQ(o.toggles, 1);
  EXPECT_TRUE(o.muted);
}

TEST(SipTesterCaptures, FirstPacketDropped) {
  if (!have_captures()) GTEST_SKIP() << "sip-tester captures not installed";
  auto star = load("dtmf_2833_star.pcap");
  auto six = load("dtmf_2833_6.pcap");
  star.erase(star.begin());
  six.erase(six.begin());
  const Outcome o = run_leg({star, six});
  EXPECT_EQ(o.digits, "*6");
  EXPECT_EQ(o.toggles, 1);
  EXPECT_TRUE(o.muted);
}

TEST(SipTesterCaptures, SixWithoutStarDoesNotToggle) {
  if (!have_captures()) GTEST_SKIP() << "sip-tester captures not installed";
  const Outcome o = run_leg({load("dtmf_2833_6.pcap"), load("dtmf_2833_star.pcap")});
  EXPECT_EQ(o.digits, "6*");
  EXPECT_EQ(o.toggles, 0);
  EXPECT_FALSE(o.muted);
}

TEST(SipTesterCaptures, StarThenSixTooLateDoesNotToggle) {
  if (!have_captures()) GTEST_SKIP() << "sip-tester captures not installed";
  const Outcome o = run_leg({load("dtmf_2833_star.pcap"), load("dtmf_2833_6.pcap")}, /*spacing_ms=*/4000);
  EXPECT_EQ(o.digits, "*6");
  EXPECT_EQ(o.toggles, 0);
}

}  // namespace
}  // namespace sipmix::dtmf
