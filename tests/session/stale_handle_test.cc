// The threading contract of session.h in code: a handle kept past its
// stream's or leg's removal is refused and counted, never delivered to the
// stream or leg that reuses its slot; and (debug builds) the session-thread
// methods refuse to run on another thread.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "rtp/rtp_packet.h"
#include "session_harness.h"

namespace sipmix::testing {
namespace {

std::vector<uint8_t> rtp_packet(uint8_t pt, uint16_t seq, uint32_t ts) {
  std::vector<uint8_t> pkt(12 + 160);
  rtp::RtpHeader h;
  h.payload_type = pt;
  h.sequence_number = seq;
  h.timestamp = ts;
  h.ssrc = 0x5107E;
  const std::vector<uint8_t> payload(160, 0xFF);
  pkt.resize(rtp::write_rtp(h, {}, payload, pkt));
  return pkt;
}

const StreamStats* find(const SessionStats& st, const std::string& id) {
  for (const auto& s : st.streams)
    if (s.id == id) return &s;
  return nullptr;
}

TEST(SessionThreads, StaleHandleIsRefusedAndCounted) {
  SimulatedClock clock(1'000'000);
  RecordingSink sink;
  auto session = std::move(*Session::create({}, &clock, &sink));
  StreamConfig c;
  c.id = "old";
  const PushHandle stale = *session->add_stream(c);
  ASSERT_TRUE(session->remove_stream("old").ok());
  c.id = "new";
  const PushHandle fresh = *session->add_stream(c);
  ASSERT_EQ(fresh.slot, stale.slot) << "the new stream reuses the slot";
  ASSERT_NE(fresh.generation, stale.generation);

  // Pushed through the old handle: refused and counted, RTP and RTCP alike.
  for (uint16_t i = 0; i < 5; ++i) session->push_rtp(stale, rtp_packet(111, i, i * 960u));
  const std::vector<uint8_t> rtcp = {0x80, 201, 0, 1, 0, 0, 0, 1};
  session->push_rtcp(stale, rtcp);
  SessionStats st = session->stats();
  EXPECT_EQ(st.stale_pushes, 6u);
  ASSERT_NE(find(st, "new"), nullptr);
  EXPECT_EQ(find(st, "new")->received, 0u) << "the new stream got packets from the old handle";

  // Its own handle delivers.
  for (uint16_t i = 0; i < 3; ++i) session->push_rtp(fresh, rtp_packet(111, i, i * 960u));
  st = session->stats();
  EXPECT_EQ(find(st, "new")->received, 3u);
  EXPECT_EQ(st.stale_pushes, 6u);
}

TEST(SessionThreads, StaleLegHandleIsRefusedAndCounted) {
  SimulatedClock clock(1'000'000);
  RecordingSink sink;
  auto session = std::move(*Session::create({}, &clock, &sink));
  const PushHandle stale = *session->add_leg(pcmu_leg());
  ASSERT_TRUE(session->remove_leg("sip").ok());
  const PushHandle fresh = *session->add_leg(pcmu_leg());
  ASSERT_EQ(fresh.slot, stale.slot);
  session->push_rtp(stale, rtp_packet(0, 1, 160));
  EXPECT_EQ(session->stats().stale_pushes, 1u);
  session->push_rtp(fresh, rtp_packet(0, 2, 320));
  EXPECT_EQ(session->stats().stale_pushes, 1u);
}

TEST(SessionThreads, HandleOfARemovedStreamIsRefusedWhileItsSlotIsEmpty) {
  SimulatedClock clock(1'000'000);
  RecordingSink sink;
  auto session = std::move(*Session::create({}, &clock, &sink));
  StreamConfig c;
  c.id = "gone";
  const PushHandle h = *session->add_stream(c);
  ASSERT_TRUE(session->remove_stream("gone").ok());
  session->push_rtp(h, rtp_packet(111, 1, 960));
  session->push_rtp(PushHandle{h.slot}, rtp_packet(111, 2, 1920));  // no generation: not a handle we gave out
  EXPECT_EQ(session->stats().stale_pushes, 2u);
  EXPECT_TRUE(session->stats().streams.empty());
}

// Debug builds only: in a build with NDEBUG the checks are compiled out and
// EXPECT_DEBUG_DEATH just runs the call.
TEST(SessionThreadsDeathTest, SessionThreadMethodFromAnotherThreadTripsTheCheck) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  SimulatedClock clock(1'000'000);
  RecordingSink sink;
  auto session = std::move(*Session::create({}, &clock, &sink));
  StreamConfig c;
  c.id = "p";
  ASSERT_TRUE(session->add_stream(c).ok());  // this thread is the session thread now
  session->tick();
  EXPECT_DEBUG_DEATH(
      {
        std::thread other([&] { session->tick(); });
        other.join();
      },
      "thread other than");
  EXPECT_DEBUG_DEATH(
      {
        std::thread other([&] { (void)session->stats(); });
        other.join();
      },
      "thread other than");
  // Still fine on its own thread.
  session->tick();
  EXPECT_EQ(session->stats().streams.size(), 1u);
}

}  // namespace
}  // namespace sipmix::testing
