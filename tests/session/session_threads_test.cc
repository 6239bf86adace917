// Network threads push while the session thread ticks: the contract of
// session.h, checked under TSan in CI. Every packet pushed is received by its
// stream's jitter buffer (nothing lost in the hand-over), and the mix goes on.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "session_harness.h"
#include "tests/support/test_env.h"

namespace sipmix::testing {
namespace {

TEST(SessionThreads, PushFromNetworkThreadsWhileTicking) {
  const int frames = ci_scale() ? 150 : 500;
  constexpr int kStreams = 3;
  SimulatedClock clock(1'000'000);
  RecordingSink sink;
  auto session = std::move(*Session::create({}, &clock, &sink));
  std::vector<PushHandle> handles;
  for (int s = 0; s < kStreams; ++s) {
    StreamConfig c;
    c.id = "p" + std::to_string(s);
    handles.push_back(*session->add_stream(c));
  }
  LegConfig leg;
  leg.id = "sip";
  const PushHandle leg_handle = *session->add_leg(leg);

  // Payloads are prepared up front; the threads only stamp and push, each
  // with its own peer (sequence numbers from 65000 cross 0xFFFF).
  std::vector<int16_t> pcm(960, 0);
  for (int i = 0; i < 960; ++i) pcm[i] = static_cast<int16_t>((i % 48) * 200 - 4800);
  const std::vector<uint8_t> opus = (*FakePeer::create({}))->encode_audio(pcm);
  const std::vector<uint8_t> pcmu(160, 0xFF);
  std::vector<std::unique_ptr<FakePeer>> peers;
  for (int s = 0; s <= kStreams; ++s) {
    FakePeerConfig c;
    c.encode = false;
    c.audio_codec = s < kStreams ? AudioCodec::kOpus : AudioCodec::kPcmu;
    c.payload_type = s < kStreams ? 111 : 0;
    c.ssrc = 77 + static_cast<uint32_t>(s < kStreams ? handles[s].slot : leg_handle.slot);
    c.first_sequence_number = 65000;
    peers.push_back(std::move(*FakePeer::create(c)));
  }

  std::atomic<bool> go{false};
  auto producer = [&](PushHandle h, FakePeer* peer, std::span<const uint8_t> payload) {
    while (!go.load(std::memory_order_acquire)) {
    }
    std::vector<uint8_t> pkt(12 + payload.size());
    for (int i = 0; i < frames; ++i) {
      // Send each packet when its media time comes, as a real sender would.
      while (clock.now_us() < 1'000'000 + int64_t{i} * 20000) std::this_thread::yield();
      session->push_rtp(h, {pkt.data(), peer->write_packet(payload, pkt)});
    }
  };
  std::vector<std::thread> threads;
  for (int s = 0; s < kStreams; ++s) threads.emplace_back(producer, handles[s], peers[s].get(), opus);
  threads.emplace_back(producer, leg_handle, peers[kStreams].get(), pcmu);
  go.store(true, std::memory_order_release);
  for (int i = 0; i < frames + 10; ++i) {
    std::this_thread::yield();
    clock.advance_us(20000);
    session->tick();
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 10; ++i) {
    clock.advance_us(20000);
    session->tick();
  }
  const SessionStats st = session->stats();
  ASSERT_EQ(st.streams.size(), static_cast<size_t>(kStreams));
  for (const auto& s : st.streams) {
    EXPECT_EQ(s.received, static_cast<uint64_t>(frames)) << s.id;
    EXPECT_EQ(s.duplicate, 0u) << s.id;
  }
  ASSERT_EQ(st.legs.size(), 1u);
  EXPECT_GE(st.legs[0].audio_packets_sent, static_cast<uint64_t>(frames));
  EXPECT_GE(st.legs[0].session_packets_sent, static_cast<uint64_t>(frames));
}

}  // namespace
}  // namespace sipmix::testing
