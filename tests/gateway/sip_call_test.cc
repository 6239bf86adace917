// The call layer against a real sipp UAS: call set-up and tear-down from each
// side, the INVITE's headers as sipp sees them, digest challenges, failure
// reasons, hold and resume, and media both ways.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <memory>

#include "gateway/media/call_manager.h"
#include "tests/gateway/sip_test_support.h"

namespace sipmix::gw {
namespace {

using testing::RecordingObserver;
using testing::Sipp;

class SipCallTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(CallManagerConfig config) {
    manager_.reset();
    config.sip.bind_ip = "127.0.0.1";
    config.sip.port = 0;
    config.sip.user_agent = "sipmixd-test";
    if (config.sip.ring_timeout_ms == SipAgentConfig{}.ring_timeout_ms) config.sip.ring_timeout_ms = 20000;
    config.media_ip = "127.0.0.1";
    // A range of our own, so parallel test binaries rarely meet.
    config.rtp_port_min = 30000 + (getpid() % 300) * 100;
    config.rtp_port_max = config.rtp_port_min + 99;
    config.session_workers = 1;
    config.media_hook = [this](const std::string&, const std::string&, Direction dir, bool rtcp,
                               std::span<const uint8_t>) {
      if (dir == Direction::kToSession && !rtcp) to_session_packets_.fetch_add(1);
    };
    auto m = CallManager::create(config, &observer_);
    ASSERT_TRUE(m.ok()) << m.status().message();
    manager_ = std::move(*m);
  }

  void TearDown() override { manager_.reset(); }

  CallIds ids(const std::string& tag) {
    return CallIds{"call-" + tag, "conn-" + tag, "stream-" + tag};
  }

  DialRequest request(const Sipp& sipp) {
    DialRequest r;
    r.project_id = "p1";
    r.session_id = "session-1";
    r.uri = sipp.uri();
    return r;
  }

  RecordingObserver observer_;
  std::unique_ptr<CallManager> manager_;
  std::atomic<uint64_t> to_session_packets_{0};
};

TEST_F(SipCallTest, AnsweredCallCarriesOurHeadersAndEndsWithOurBye) {
  Sipp sipp("uas_answer.xml",
            {{"SESSION", "session-1"}, {"FROM", "14155550101@example.com"}, {"CONNECTION", "conn-a"}},
            {"-rtp_echo"});
  DialRequest r = request(sipp);
  r.from = "14155550101@example.com";
  r.headers = {{"X-Custom-Tag", "blue-42"}};
  ASSERT_TRUE(manager_->dial(ids("a"), r).ok());
  ASSERT_TRUE(observer_.wait_event("conn-a", "ACTIVE", 5000)) << sipp.errors();
  auto info = manager_->find("session-1", "conn-a");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->state, CallState::kActive);

  // Media both ways: our mix goes out, sipp echoes it, it comes back in and
  // the session turns the leg's audio into its stream toward the session.
  std::optional<CallMediaStats> ms;
  for (int i = 0; i < 100; ++i) {
    ms = manager_->media_stats("conn-a");
    if (ms && ms->rtp_received >= 25) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(ms);
  EXPECT_GE(ms->sent, 25u);
  EXPECT_GE(ms->rtp_received, 25u) << "strangers " << ms->strangers << " sent " << ms->sent;
  EXPECT_TRUE(ms->latched);
  EXPECT_EQ(ms->strangers, 0u);
  EXPECT_EQ(ms->negotiated_codec, "pcmu");
  auto stats = manager_->session_stats("session-1");
  ASSERT_TRUE(stats);
  ASSERT_EQ(stats->legs.size(), 1u);
  EXPECT_GE(stats->legs[0].audio_packets_sent, 25u);
  EXPECT_GT(stats->legs[0].session_packets_sent, 0u);
  EXPECT_GT(to_session_packets_.load(), 0u);

  ASSERT_TRUE(manager_->hang_up("session-1", "conn-a").ok());
  auto d = observer_.wait_destroyed("conn-a", 5000);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->code, kReasonNormal);
  EXPECT_EQ(sipp.wait_exit(5000), 0) << sipp.errors();
  const std::vector<std::string> expected = {"created", "DIALING", "RINGING", "ACTIVE", "HANGUP", "destroyed"};
  EXPECT_EQ(observer_.events("conn-a"), expected);
  EXPECT_FALSE(manager_->find("session-1", "conn-a"));
}

TEST_F(SipCallTest, NonNumericFromShowsTheAnonymousCallerNumber) {
  Sipp sipp("uas_answer.xml", {{"SESSION", "session-1"}, {"FROM", "\\+00000000@example.com"}, {"CONNECTION", "conn-f"}});
  DialRequest r = request(sipp);
  r.from = "alice@example.com";
  r.headers = {{"X-Custom-Tag", "blue-42"}};
  ASSERT_TRUE(manager_->dial(ids("f"), r).ok());
  ASSERT_TRUE(observer_.wait_event("conn-f", "ACTIVE", 5000)) << sipp.errors();
  ASSERT_TRUE(manager_->hang_up("session-1", "conn-f").ok());
  ASSERT_TRUE(observer_.wait_destroyed("conn-f", 5000));
  EXPECT_EQ(sipp.wait_exit(5000), 0) << sipp.errors();
}

TEST_F(SipCallTest, EndpointByeEndsTheCallNormally) {
  Sipp sipp("uas_answer_bye.xml", {{"HOLD_MS", "800"}});
  ASSERT_TRUE(manager_->dial(ids("b"), request(sipp)).ok());
  ASSERT_TRUE(observer_.wait_event("conn-b", "ACTIVE", 5000)) << sipp.errors();
  auto d = observer_.wait_destroyed("conn-b", 5000);
  ASSERT_TRUE(d) << sipp.errors();
  EXPECT_EQ(d->code, kReasonNormal);
  EXPECT_NE(d->reason.find("BYE"), std::string::npos) << d->reason;
  EXPECT_EQ(sipp.wait_exit(5000), 0) << sipp.errors();
}

void run_digest(RecordingObserver& observer, CallManager& m, const std::string& scenario, const std::string& password,
                int expected_reason) {
  Sipp sipp(scenario, {{"CODE", "401"}, {"PHRASE", "Unauthorized"}, {"HEADER", "WWW-Authenticate"}});
  DialRequest r;
  r.project_id = "p1";
  r.session_id = "session-1";
  r.uri = sipp.uri();
  r.auth_username = "alice";
  r.auth_password = password;
  const std::string tag = scenario + password;
  ASSERT_TRUE(m.dial(CallIds{"call-" + tag, "conn-" + tag, "stream-" + tag}, r).ok());
  if (expected_reason == kReasonNormal) {
    ASSERT_TRUE(observer.wait_event("conn-" + tag, "ACTIVE", 5000)) << sipp.errors();
    ASSERT_TRUE(m.hang_up("session-1", "conn-" + tag).ok());
  }
  auto d = observer.wait_destroyed("conn-" + tag, 5000);
  ASSERT_TRUE(d) << sipp.errors();
  EXPECT_EQ(d->code, expected_reason) << d->reason;
  EXPECT_EQ(sipp.wait_exit(5000), 0) << sipp.errors();
}

TEST_F(SipCallTest, WwwAuthenticateChallengeIsAnsweredWithTheDialsCredentials) {
  run_digest(observer_, *manager_, "uas_digest.xml", "s3cret", kReasonNormal);
}

TEST_F(SipCallTest, ChainedProxyAndWwwChallengesAreAnsweredWithTheDialsCredentials) {
  run_digest(observer_, *manager_, "uas_digest_chain.xml", "s3cret", kReasonNormal);
}

TEST_F(SipCallTest, WrongPasswordEndsTheCallWithTheEndpointsReason) {
  run_digest(observer_, *manager_, "uas_digest.xml", "wrong", 403);
}

TEST_F(SipCallTest, BusyAndUnavailableBecomeTheirSipCodes) {
  for (const auto& [code, phrase] : {std::pair<std::string, std::string>{"486", "Busy Here"},
                                     std::pair<std::string, std::string>{"503", "Service Unavailable"}}) {
    Sipp sipp("uas_reject.xml", {{"CODE", code}, {"PHRASE", phrase}});
    ASSERT_TRUE(manager_->dial(ids(code), request(sipp)).ok());
    auto d = observer_.wait_destroyed("conn-" + code, 5000);
    ASSERT_TRUE(d) << sipp.errors();
    EXPECT_EQ(d->code, std::stoi(code));
    EXPECT_EQ(d->reason, phrase);
    EXPECT_TRUE(observer_.wait_event("conn-" + code, "RINGING", 0));
    EXPECT_EQ(sipp.wait_exit(5000), 0) << sipp.errors();
  }
}

TEST_F(SipCallTest, UnansweredCallIsCancelledAfterTheRingTimeout) {
  CallManagerConfig c;
  c.sip.ring_timeout_ms = 1500;
  start(c);
  Sipp sipp("uas_no_answer.xml", {});
  ASSERT_TRUE(manager_->dial(ids("n"), request(sipp)).ok());
  ASSERT_TRUE(observer_.wait_event("conn-n", "RINGING", 3000)) << sipp.errors();
  auto d = observer_.wait_destroyed("conn-n", 5000);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->code, 408);
  EXPECT_NE(d->reason.find("no answer"), std::string::npos) << d->reason;
  EXPECT_EQ(sipp.wait_exit(5000), 0) << sipp.errors();  // sipp got its CANCEL
}

TEST_F(SipCallTest, HangUpBeforeTheAnswerSendsCancel) {
  Sipp sipp("uas_no_answer.xml", {});
  ASSERT_TRUE(manager_->dial(ids("c"), request(sipp)).ok());
  ASSERT_TRUE(observer_.wait_event("conn-c", "RINGING", 3000)) << sipp.errors();
  ASSERT_TRUE(manager_->hang_up("session-1", "conn-c").ok());
  auto d = observer_.wait_destroyed("conn-c", 5000);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->code, kReasonNormal);
  EXPECT_EQ(sipp.wait_exit(5000), 0) << sipp.errors();
}

TEST_F(SipCallTest, ReInviteToSendonlyHoldsTheCallAndSendrecvResumesIt) {
  Sipp sipp("uas_hold.xml", {{"PAUSE_MS", "500"}});
  ASSERT_TRUE(manager_->dial(ids("h"), request(sipp)).ok());
  ASSERT_TRUE(observer_.wait_event("conn-h", "ON_HOLD", 5000)) << sipp.errors();
  ASSERT_TRUE(observer_.wait_event("conn-h", "ACTIVE", 5000, 2)) << sipp.errors();
  ASSERT_TRUE(manager_->hang_up("session-1", "conn-h").ok());
  ASSERT_TRUE(observer_.wait_destroyed("conn-h", 5000));
  EXPECT_EQ(sipp.wait_exit(5000), 0) << sipp.errors();
  const std::vector<std::string> expected = {"created", "DIALING", "ACTIVE", "ON_HOLD", "ACTIVE", "HANGUP",
                                             "destroyed"};
  EXPECT_EQ(observer_.events("conn-h"), expected);
}

TEST_F(SipCallTest, DialRejectsHeaderInjection) {
  DialRequest r;
  r.session_id = "session-1";
  r.uri = "sip:bob@127.0.0.1:5999";
  r.headers = {{"X-Ok", "fine\r\nBYE sip:x SIP/2.0"}};
  Status s = manager_->dial(ids("x"), r);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("sip.headers.X-Ok"), std::string::npos) << s.message();
  r.headers = {{"Bad Name", "v"}};
  EXPECT_EQ(manager_->dial(ids("y"), r).code(), StatusCode::kInvalidArgument);
  r.headers = {{"Via", "SIP/2.0/UDP 1.2.3.4"}};
  EXPECT_EQ(manager_->dial(ids("z"), r).code(), StatusCode::kInvalidArgument);
  r.headers = {};
  r.uri = "http://example.com";
  EXPECT_EQ(manager_->dial(ids("u"), r).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(manager_->call_count(), 0u);
}

}  // namespace
}  // namespace sipmix::gw

namespace sipmix::gw {
namespace {

TEST_F(SipCallTest, SecureCallAnsweredWithoutCryptoEndsWith488AndSaysWhy) {
  Sipp sipp("uas_savp_no_crypto.xml", {});
  DialRequest r = request(sipp);
  r.secure = true;
  r.headers = {{"X-Custom-Tag", "nocrypto"}};
  ASSERT_TRUE(manager_->dial(ids("k"), r).ok());
  auto d = observer_.wait_destroyed("conn-k", 5000);
  ASSERT_TRUE(d) << sipp.errors();
  EXPECT_EQ(d->code, 488);
  EXPECT_NE(d->reason.find("no acceptable crypto"), std::string::npos) << d->reason;
  EXPECT_FALSE(observer_.wait_event("conn-k", "ACTIVE", 0));
  EXPECT_EQ(sipp.wait_exit(5000), 0) << sipp.errors();  // the answered dialog was closed with BYE
}

}  // namespace
}  // namespace sipmix::gw

namespace sipmix::gw {
namespace {

TEST_F(SipCallTest, UpdateToInactiveHoldsTheCallAndSendrecvResumesIt) {
  Sipp sipp("uas_update_hold.xml", {{"PAUSE_MS", "400"}});
  ASSERT_TRUE(manager_->dial(ids("u"), request(sipp)).ok());
  ASSERT_TRUE(observer_.wait_event("conn-u", "ON_HOLD", 5000)) << sipp.errors();
  ASSERT_TRUE(observer_.wait_event("conn-u", "ACTIVE", 5000, 2)) << sipp.errors();
  ASSERT_TRUE(manager_->hang_up("session-1", "conn-u").ok());
  ASSERT_TRUE(observer_.wait_destroyed("conn-u", 5000));
  EXPECT_EQ(sipp.wait_exit(5000), 0) << sipp.errors();
}

TEST_F(SipCallTest, PlayDtmfSendsRfc4733EventsThatTheEchoBringsBack) {
  Sipp sipp("uas_answer.xml", {{"SESSION", "session-1"}, {"FROM", "\\+00000000@127.0.0.1"}, {"CONNECTION", "conn-d"}},
            {"-rtp_echo"});
  DialRequest r = request(sipp);
  r.headers = {{"X-Custom-Tag", "blue-42"}};
  ASSERT_TRUE(manager_->dial(ids("d"), r).ok());
  ASSERT_TRUE(observer_.wait_event("conn-d", "ACTIVE", 5000)) << sipp.errors();
  EXPECT_EQ(manager_->play_dtmf("session-1", "conn-d", "12x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(manager_->play_dtmf("session-1", "nope", "1").code(), StatusCode::kNotFound);
  ASSERT_TRUE(manager_->play_dtmf("session-1", "conn-d", "1#").ok());
  std::optional<SessionStats> stats;
  for (int i = 0; i < 100; ++i) {
    stats = manager_->session_stats("session-1");
    if (stats && !stats->legs.empty() && stats->legs[0].dtmf_events_received >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  ASSERT_TRUE(stats && !stats->legs.empty());
  EXPECT_GE(stats->legs[0].dtmf_packets_sent, 6u);  // two digits, each at least 3 end packets
  EXPECT_EQ(stats->legs[0].dtmf_events_received, 2u);  // sipp echoed both events back to the leg
  ASSERT_TRUE(manager_->hang_up("session-1", "conn-d").ok());
  ASSERT_TRUE(observer_.wait_destroyed("conn-d", 5000));
  EXPECT_EQ(sipp.wait_exit(5000), 0) << sipp.errors();
}

TEST_F(SipCallTest, ForceMuteReachesOnlyLegsThatObserveIt) {
  Sipp sipp("uas_answer.xml", {{"SESSION", "session-1"}, {"FROM", "\\+00000000@127.0.0.1"}, {"CONNECTION", "conn-o"}},
            {"-rtp_echo"});
  DialRequest r = request(sipp);
  r.headers = {{"X-Custom-Tag", "blue-42"}};
  r.observe_force_mute = true;
  ASSERT_TRUE(manager_->dial(ids("o"), r).ok());
  ASSERT_TRUE(observer_.wait_event("conn-o", "ACTIVE", 5000)) << sipp.errors();
  ASSERT_TRUE(manager_->force_mute("session-1", "conn-o", true).ok());
  ASSERT_TRUE(observer_.wait_event("conn-o", "mute_forced", 3000));
  EXPECT_TRUE(manager_->find("session-1", "conn-o")->muted);
  ASSERT_TRUE(manager_->force_mute("session-1", "conn-o", false).ok());
  ASSERT_TRUE(observer_.wait_event("conn-o", "unmute_forced", 3000));
  EXPECT_FALSE(manager_->find("session-1", "conn-o")->muted);
  ASSERT_TRUE(manager_->hang_up("session-1", "conn-o").ok());
  ASSERT_TRUE(observer_.wait_destroyed("conn-o", 5000));
  EXPECT_EQ(sipp.wait_exit(5000), 0) << sipp.errors();

  Sipp sipp2("uas_answer.xml", {{"SESSION", "session-1"}, {"FROM", "\\+00000000@127.0.0.1"}, {"CONNECTION", "conn-q"}});
  DialRequest r2 = request(sipp2);
  r2.headers = {{"X-Custom-Tag", "blue-42"}};
  ASSERT_TRUE(manager_->dial(ids("q"), r2).ok());
  ASSERT_TRUE(observer_.wait_event("conn-q", "ACTIVE", 5000)) << sipp2.errors();
  ASSERT_TRUE(manager_->force_mute("session-1", "conn-q", true).ok());
  EXPECT_FALSE(observer_.wait_event("conn-q", "mute_forced", 500));
  EXPECT_FALSE(manager_->find("session-1", "conn-q")->muted);
  ASSERT_TRUE(manager_->hang_up("session-1", "conn-q").ok());
  ASSERT_TRUE(observer_.wait_destroyed("conn-q", 5000));
  EXPECT_EQ(sipp2.wait_exit(5000), 0) << sipp2.errors();
}

}  // namespace
}  // namespace sipmix::gw
