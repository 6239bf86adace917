// Media transport and call timers against a real sipp UAS: strangers are
// dropped by symmetric RTP, silence ends a call with 704, the maximum
// duration with 705.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "gateway/media/call_manager.h"
#include "tests/gateway/sip_test_support.h"

namespace sipmix::gw {
namespace {

using testing::RecordingObserver;
using testing::Sipp;

std::unique_ptr<CallManager> make_manager(CallManagerConfig config, CallObserver* observer) {
  config.sip.bind_ip = "127.0.0.1";
  config.sip.port = 0;
  config.media_ip = "127.0.0.1";
  config.rtp_port_min = 30000 + (getpid() % 300) * 100;
  config.rtp_port_max = config.rtp_port_min + 99;
  config.session_workers = 1;
  auto m = CallManager::create(config, observer);
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? std::move(*m) : nullptr;
}

const std::map<std::string, std::string> kAnswerVars = {
    {"SESSION", "s-media"}, {"FROM", "\\+00000000@127.0.0.1"}, {"CONNECTION", "conn-m"}};

DialRequest request(const Sipp& sipp) {
  DialRequest r;
  r.project_id = "p1";
  r.session_id = "s-media";
  r.uri = sipp.uri();
  r.headers = {{"X-Custom-Tag", "blue-42"}};
  return r;
}

const CallIds kIds{"call-m", "conn-m", "stream-m"};

TEST(MediaTransportTest, PacketsFromAStrangerAreDroppedAndCounted) {
  RecordingObserver observer;
  auto m = make_manager({}, &observer);
  ASSERT_TRUE(m);
  Sipp sipp("uas_answer.xml", kAnswerVars, {"-rtp_echo"});
  ASSERT_TRUE(m->dial(kIds, request(sipp)).ok());
  ASSERT_TRUE(observer.wait_event("conn-m", "ACTIVE", 5000)) << sipp.errors();
  std::optional<CallMediaStats> ms;
  for (int i = 0; i < 100 && !(ms && ms->latched && ms->rtp_received > 10); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ms = m->media_stats("conn-m");
  }
  ASSERT_TRUE(ms && ms->latched);
  const uint64_t before = ms->rtp_received;

  // Valid-looking RTP from another port on the same host: not the latched source.
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(ms->local_audio_port);
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  uint8_t pkt[172] = {0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78};
  for (int i = 0; i < 20; ++i) {
    pkt[3] = static_cast<uint8_t>(i);
    ::sendto(fd, pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  ::close(fd);
  for (int i = 0; i < 100; ++i) {
    ms = m->media_stats("conn-m");
    if (ms->strangers >= 20 && ms->rtp_received > before + 5) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(ms->strangers, 20u);
  EXPECT_GT(ms->rtp_received, before + 5);  // the endpoint's own media still flows
  ASSERT_TRUE(m->hang_up("s-media", "conn-m").ok());
  ASSERT_TRUE(observer.wait_destroyed("conn-m", 5000));
  EXPECT_EQ(sipp.wait_exit(5000), 0) << sipp.errors();
}

TEST(MediaTransportTest, ACallWithoutMediaEndsWithReason704) {
  RecordingObserver observer;
  CallManagerConfig c;
  c.media_timeout_ms = 1500;
  auto m = make_manager(c, &observer);
  ASSERT_TRUE(m);
  Sipp sipp("uas_answer.xml", kAnswerVars);  // answers, never sends RTP
  ASSERT_TRUE(m->dial(kIds, request(sipp)).ok());
  ASSERT_TRUE(observer.wait_event("conn-m", "ACTIVE", 5000)) << sipp.errors();
  auto d = observer.wait_destroyed("conn-m", 6000);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->code, kReasonMediaTimeout) << d->reason;
  EXPECT_EQ(sipp.wait_exit(5000), 0) << sipp.errors();  // it got our BYE
}

TEST(MediaTransportTest, ACallLongerThanTheMaximumEndsWithReason705) {
  RecordingObserver observer;
  CallManagerConfig c;
  c.max_duration_ms = 1500;
  auto m = make_manager(c, &observer);
  ASSERT_TRUE(m);
  Sipp sipp("uas_answer.xml", kAnswerVars, {"-rtp_echo"});
  ASSERT_TRUE(m->dial(kIds, request(sipp)).ok());
  ASSERT_TRUE(observer.wait_event("conn-m", "ACTIVE", 5000)) << sipp.errors();
  auto d = observer.wait_destroyed("conn-m", 6000);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->code, kReasonMaxDuration) << d->reason;
  EXPECT_EQ(sipp.wait_exit(5000), 0) << sipp.errors();
}

TEST(MediaTransportTest, PortsAndSocketsAreReturnedWhenCallsEnd) {
  RecordingObserver observer;
  CallManagerConfig c;
  auto m = make_manager(c, &observer);
  ASSERT_TRUE(m);
  auto count_fds = [] {
    int n = 0;
    for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
  };
  // The first call lets sofia open what it keeps for good (its resolver's
  // sockets); every later call must give back what it took.
  int fds_before = 0;
  for (int i = 0; i < 4; ++i) {
    if (i == 1) {
      for (int k = 0; k < 10; ++k) {
        fds_before = count_fds();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (count_fds() == fds_before) break;
      }
    }
    Sipp sipp("uas_answer.xml", kAnswerVars, {"-rtp_echo"});
    ASSERT_TRUE(m->dial(kIds, request(sipp)).ok());
    ASSERT_TRUE(observer.wait_event("conn-m", "ACTIVE", 5000, i + 1)) << sipp.errors();
    ASSERT_TRUE(m->hang_up("s-media", "conn-m").ok());
    ASSERT_TRUE(observer.wait_event("conn-m", "destroyed", 5000, i + 1));
    EXPECT_EQ(sipp.wait_exit(5000), 0) << sipp.errors();
  }
  // Teardown finishes on the receive and worker threads shortly after the report.
  int fds_after = count_fds();
  for (int i = 0; i < 50 && fds_after > fds_before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    fds_after = count_fds();
  }
  EXPECT_LE(fds_after, fds_before);
  if (fds_after > fds_before)
    for (auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
      ADD_FAILURE() << e.path() << " -> " << std::filesystem::read_symlink(e.path());
  if (fds_after > fds_before) ADD_FAILURE() << testing::read_file("/proc/net/udp") << testing::read_file("/proc/net/tcp");
}

}  // namespace
}  // namespace sipmix::gw
