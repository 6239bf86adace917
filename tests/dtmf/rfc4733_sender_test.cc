// RFC 4733 sender: packet timing, sharing the leg's SSRC/sequence/timestamps
// with audio, a round trip through our receiver, and an independent decode by
// tshark.
#include "dtmf/rfc4733_sender.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>

#include "dtmf/rfc4733_receiver.h"
#include "tests/support/alloc_counter.h"
#include "tests/dtmf/dtmf_test_util.h"
#include "tests/support/pcap.h"

namespace sipmix::dtmf {
namespace {

constexpr uint32_t kSsrc = 0x5EED1234;

struct SentPacket {
  int64_t send_ms = 0;  // end of the tick the packet covers
  bool is_event = false;
  std::vector<uint8_t> bytes;
  rtp::RtpPacketView view() const { return *rtp::parse_rtp(bytes); }
};

// What a session does: every tick ask the sender first, else send audio.
std::vector<SentPacket> run_leg(Rfc4733Sender& sender, int ticks, uint32_t start_ts = 0xFFFFF000u,
                                uint16_t start_seq = 65500) {
  const uint32_t spt = sender.config().clock_rate_hz * sender.config().tick_ms / 1000;
  std::vector<SentPacket> out;
  uint32_t ts = start_ts;
  uint16_t seq = start_seq;
  for (int t = 0; t < ticks; ++t) {
    uint8_t buf[64];
    const int64_t send_ms = static_cast<int64_t>(t + 1) * sender.config().tick_ms;
    const size_t n = sender.on_audio_tick(ts, seq, buf);
    if (n > 0) {
      out.push_back({send_ms, true, std::vector<uint8_t>(buf, buf + n)});
    } else {
      auto a = testing::audio_packet(kSsrc, seq++, ts);
      a[1] = static_cast<uint8_t>(a[1] & 0x80);  // PT 0 (PCMU)
      out.push_back({send_ms, false, a});
    }
    ts += spt;
  }
  return out;
}

Rfc4733Sender make_sender(uint32_t clock_hz = 8000, uint8_t pt = 101) {
  Rfc4733SenderConfig c;
  c.payload_type = pt;
  c.clock_rate_hz = clock_hz;
  c.ssrc = kSsrc;
  auto s = Rfc4733Sender::create(c);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return std::move(s).value();
}

std::vector<DtmfEvent> receive(const std::vector<SentPacket>& packets, uint8_t pt, uint32_t clock_hz) {
  auto r = Rfc4733Receiver::create({.payload_type = pt, .clock_rate_hz = clock_hz}).value();
  for (const auto& p : packets) r.on_packet(std::span<const uint8_t>(p.bytes), p.send_ms);
  r.poll(packets.back().send_ms + 1000);
  return testing::drain(r);
}

TEST(Rfc4733Sender, OneDigitPacketLayout) {
  auto s = make_sender();
  ASSERT_TRUE(s.play("5").ok());
  const auto pk = run_leg(s, 20, 16000, 100);
  // 100 ms tone at 20 ms ticks: 4 updates + the final packet sent 3 times.
  std::vector<rtp::RtpPacketView> ev;
  for (const auto& p : pk)
    if (p.is_event) ev.push_back(p.view());
  ASSERT_EQ(ev.size(), 7u);
  for (size_t i = 0; i < ev.size(); ++i) {
    EXPECT_EQ(ev[i].payload_type, 101);
    EXPECT_EQ(ev[i].ssrc, kSsrc);
    EXPECT_EQ(ev[i].timestamp, 16000u) << "every packet of an event carries its start timestamp";
    EXPECT_EQ(ev[i].marker, i == 0);
    const auto b = parse_event_payload(ev[i].payload)->first;
    EXPECT_EQ(b.event, 5);
    EXPECT_EQ(b.volume, 10);
    EXPECT_EQ(b.end, i >= 4);
    EXPECT_EQ(b.duration, std::min<size_t>(i + 1, 5) * 160);
  }
  EXPECT_TRUE(s.idle());
  EXPECT_EQ(s.digits_sent(), 1u);
}

TEST(Rfc4733Sender, SharesSsrcSequenceAndTimestampsWithAudio) {
  auto s = make_sender();
  const auto pk = [&] {
    std::vector<SentPacket> v = run_leg(s, 3, 0xFFFFF000u, 65530);  // audio first
    EXPECT_TRUE(s.play("1#").ok());
    auto more = run_leg(s, 40, 0xFFFFF000u + 3 * 160, static_cast<uint16_t>(65533));
    v.insert(v.end(), more.begin(), more.end());
    return v;
  }();
  uint16_t expect_seq = 65530;
  uint32_t tick_ts = 0xFFFFF000u;
  uint32_t event_start_ts = 0;
  bool in_event = false;
  for (const auto& p : pk) {
    const auto v = p.view();
    EXPECT_EQ(v.ssrc, kSsrc);
    EXPECT_EQ(v.sequence_number, expect_seq) << "one sequence space, no gaps";
    ++expect_seq;
    if (p.is_event) {
      if (!in_event) event_start_ts = tick_ts;
      in_event = !parse_event_payload(v.payload)->first.end || in_event;
      EXPECT_EQ(v.timestamp, event_start_ts) << "event timestamp is the audio timestamp of its first tick";
    } else {
      in_event = false;
      EXPECT_EQ(v.timestamp, tick_ts);
    }
    tick_ts += 160;
  }
}

TEST(Rfc4733Sender, RoundTripDigitsAndDurations8k) {
  auto s = make_sender(8000);
  ASSERT_TRUE(s.play("0123456789*#").ok());
  const auto ev = receive(run_leg(s, 200), 101, 8000);
  EXPECT_EQ(testing::digits_of(ev), "0123456789*#");
  for (size_t i = 0; i < ev.size(); ++i) {
    EXPECT_EQ(ev[i].duration_ms, 100);
    EXPECT_EQ(ev[i].end_reason, DtmfEndReason::kEndBit);
    if (i > 0) {
      EXPECT_EQ(ev[i].start_ms - ev[i - 1].end_ms, 100) << "inter-digit gap";
    }
  }
}

TEST(Rfc4733Sender, RoundTrip48kWithCustomToneAndGap) {
  Rfc4733SenderConfig c{.payload_type = 96, .clock_rate_hz = 48000, .ssrc = kSsrc, .tone_ms = 160, .gap_ms = 60};
  auto s = Rfc4733Sender::create(c).value();
  ASSERT_TRUE(s.play("*6").ok());
  const auto ev = receive(run_leg(s, 60), 96, 48000);
  ASSERT_EQ(testing::digits_of(ev), "*6");
  EXPECT_EQ(ev[0].duration_samples, 160u * 48);
  EXPECT_EQ(ev[1].duration_ms, 160);
  EXPECT_EQ(ev[1].start_ms - ev[0].end_ms, 60);
}

TEST(Rfc4733Sender, PauseWaits500ms) {
  auto s = make_sender();
  ASSERT_TRUE(s.play("1p2").ok());
  const auto pk = run_leg(s, 80);
  const auto ev = receive(pk, 101, 8000);
  ASSERT_EQ(testing::digits_of(ev), "12");
  EXPECT_EQ(ev[1].start_ms - ev[0].end_ms, 100 + 500);
  // Audio flows during the gap and the pause.
  size_t audio_between = 0;
  for (const auto& p : pk)
    if (!p.is_event && p.send_ms > ev[0].end_ms && p.send_ms <= ev[1].start_ms) ++audio_between;
  EXPECT_EQ(audio_between, (100 + 500) / 20 - 2);  // minus the two end retransmit ticks
}

TEST(Rfc4733Sender, ValidatesDigitsAtTheBoundary) {
  auto s = make_sender();
  const Status bad = s.play("12x4");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("'x' at position 2"), std::string::npos) << bad.message();
  EXPECT_FALSE(s.play("").ok());
  EXPECT_FALSE(s.play("A").ok());
  EXPECT_TRUE(s.idle()) << "a rejected string queues nothing";
  EXPECT_FALSE(s.play(std::string(300, '1')).ok());
}

TEST(Rfc4733Sender, ValidatesConfiguration) {
  auto too_long = Rfc4733Sender::create({.clock_rate_hz = 48000, .tone_ms = 2000});
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.status().message().find("tone_ms"), std::string::npos);
  EXPECT_FALSE(Rfc4733Sender::create({.payload_type = 128}).ok());
  EXPECT_FALSE(Rfc4733Sender::create({.clock_rate_hz = 44100, .tick_ms = 15}).ok());
  EXPECT_FALSE(Rfc4733Sender::create({.end_packets = 0}).ok());
}

TEST(Rfc4733Sender, ClearQueueFinishesCurrentTone) {
  auto s = make_sender();
  ASSERT_TRUE(s.play("123").ok());
  auto pk = run_leg(s, 2);
  s.clear_queue();
  auto more = run_leg(s, 30, 320, static_cast<uint16_t>(65502));
  pk.insert(pk.end(), more.begin(), more.end());
  EXPECT_EQ(testing::digits_of(receive(pk, 101, 8000)), "1");
  EXPECT_TRUE(s.idle());
}

TEST(Rfc4733Sender, NoAllocationPerTick) {
  auto s = make_sender();
  ASSERT_TRUE(s.play("123p456").ok());
  uint8_t buf[64];
  uint16_t seq = 0;
  const uint64_t before = sipmix::testing::allocation_count();
  size_t event_packets = 0;
  for (uint32_t t = 0; t < 200; ++t) event_packets += s.on_audio_tick(t * 160, seq, buf) > 0;
  EXPECT_EQ(sipmix::testing::allocation_count(), before);
  EXPECT_EQ(event_packets, 6u * 7u);
}

// tshark decodes our output independently as RTP events.
std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[512];
  while (fgets(buf, sizeof buf, f) != nullptr) out += buf;
  pclose(f);
  return out;
}

struct TsharkCase {
  uint32_t clock_hz;
  uint8_t pt;
  uint16_t port;
  std::string digits;
};

// Writes every case's leg output into one pcap (one UDP port per case) and
// has tshark decode the event packets.
void check_with_tshark(const std::vector<TsharkCase>& cases) {
  if (std::system("command -v tshark >/dev/null 2>&1") != 0) GTEST_SKIP() << "tshark not installed";
  std::vector<pcap::UdpPacket> dgrams;
  std::string decode_as;
  for (const TsharkCase& c : cases) {
    auto s = make_sender(c.clock_hz, c.pt);
    ASSERT_TRUE(s.play(c.digits).ok());
    for (const auto& p : run_leg(s, 150))
      dgrams.push_back({1700000000LL * 1000000 + p.send_ms * 1000, pcap::IpEndpoint::v4(192, 0, 2, 1, 40000),
                        pcap::IpEndpoint::v4(192, 0, 2, 2, c.port), p.bytes});
    decode_as += " -d udp.port==" + std::to_string(c.port) + ",rtp -d rtp.pt==" + std::to_string(c.pt) + ",rtpevent";
  }
  std::stable_sort(dgrams.begin(), dgrams.end(), [](const auto& a, const auto& b) { return a.timestamp_us < b.timestamp_us; });
  const std::string path = ::testing::TempDir() + "sipmix_dtmf_" + std::to_string(getpid()) + ".pcap";
  const Status written = pcap::write_pcap_udp(path, dgrams);
  ASSERT_TRUE(written.ok()) << written.message();
  const std::string out = run_command("tshark -r " + path + decode_as +
                                      " -Y rtpevent -T fields -e udp.dstport -e rtp.p_type -e rtp.ssrc -e "
                                      "rtpevent.event_id -e rtpevent.end_of_event -e rtpevent.duration 2>/dev/null");
  std::remove(path.c_str());
  for (const TsharkCase& c : cases) {
    // One line per event packet; a digit ends at its first E packet.
    std::string decoded;
    int lines = 0;
    bool previous_end = true;
    size_t pos = 0;
    while (pos < out.size()) {
      const size_t nl = out.find('\n', pos);
      const std::string line = out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? out.size() : nl + 1;
      unsigned port = 0, p_type = 0, event = 0, end = 0, duration = 0;
      char ssrc[32] = {};
      if (std::sscanf(line.c_str(), "%u %u %31s %u %u %u", &port, &p_type, ssrc, &event, &end, &duration) != 6) continue;
      if (port != c.port) continue;
      ++lines;
      EXPECT_EQ(p_type, c.pt);
      EXPECT_EQ(std::strtoul(ssrc, nullptr, 16), kSsrc);
      if (end && !previous_end) decoded += event_to_char(static_cast<uint8_t>(event));
      if (end) {
        EXPECT_EQ(duration, c.clock_hz / 10) << "100 ms at " << c.clock_hz << " Hz";
      }
      previous_end = end != 0;
    }
    EXPECT_EQ(lines, static_cast<int>(c.digits.size()) * 7) << out;
    EXPECT_EQ(decoded, c.digits) << "PT " << int{c.pt} << " at " << c.clock_hz << " Hz";
  }
}

TEST(Rfc4733Sender, TsharkDecodesEvents8kAnd48k) {
  check_with_tshark({{8000, 101, 40002, "159*#0"}, {48000, 110, 40004, "*6"}});
}

}  // namespace
}  // namespace sipmix::dtmf
