// End-to-end properties of a Session on a simulated clock: N-1 audio, the
// mute gate and announcements, *6 and force mute, DTMF to the leg, SRTP.
#include <gtest/gtest.h>

#include <algorithm>

#include "audio_codec/codec.h"
#include "dtmf/rfc4733_receiver.h"
#include "dtmf/rfc4733_sender.h"
#include "session_harness.h"
#include "rtp/rtp_packet.h"
#include "srtp/srtp_session.h"
#include "tests/support/signal.h"

namespace sipmix::testing {
namespace {



// Pushes the RFC 4733 packets of `digits` into the leg, as a phone would.
void press(SessionHarness& h, const std::string& digits) {
  dtmf::Rfc4733SenderConfig sc;
  sc.payload_type = 101;
  sc.clock_rate_hz = 8000;
  sc.ssrc = 0xAB5;
  auto tx = dtmf::Rfc4733Sender::create(sc);
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE(tx->play(digits).ok());
  uint8_t buf[64];
  h.leg_sending_audio = false;  // like most phones: events replace audio
  while (!tx->idle()) {
    const size_t n = tx->on_audio_tick(h.leg_rtp().timestamp, h.leg_rtp().sequence_number, buf);
    h.leg_rtp().timestamp += 160;
    if (n) h.push_leg({buf, n});
    h.run_ms(20);
  }
  h.leg_sending_audio = true;
}

TEST(Session, LegHearsEveryOtherParticipantButNotItself) {
  SessionHarness h;
  h.add_participant("alice", 400);
  h.add_participant("bob", 700);
  h.add_participant("carol", 1000);
  h.add_leg(pcmu_leg(), 1700);
  h.run_ms(2000);
  const auto out = h.leg_audio("sip", 1000, 2000);
  ASSERT_GE(out.size(), 7000u);
  // Each participant sends 6000/32767 peak = -14.7 dBFS.
  for (double f : {400.0, 700.0, 1000.0}) EXPECT_NEAR(tone_dbfs(out, f, 8000), -14.7, 2.0) << f << " Hz";
  EXPECT_LT(tone_dbfs(out, 1700, 8000), -14.7 - 40) << "the leg's own voice";

  // The leg's voice goes into the session, and only its voice.
  const auto pub = h.session_audio("sip", 1000, 2000);
  EXPECT_NEAR(tone_dbfs(pub, 1700, 48000), -14.7, 2.0);
  for (double f : {400.0, 700.0, 1000.0}) EXPECT_LT(tone_dbfs(pub, f, 48000), -60) << f << " Hz";
}

TEST(Session, ForceMutedParticipantLeavesTheMix) {
  SessionHarness h;
  h.add_participant("alice", 400);
  h.add_participant("bob", 700);
  h.add_leg(pcmu_leg(), 0);
  h.run_ms(1000);
  ASSERT_TRUE(h.session->force_mute("bob/audio", true).ok());
  h.run_ms(1000);
  const auto before = h.leg_audio("sip", 500, 1000);
  const auto after = h.leg_audio("sip", 1200, 2000);
  EXPECT_NEAR(tone_dbfs(before, 700, 8000), -14.7, 2.0);
  EXPECT_LT(tone_dbfs(after, 700, 8000), -60);
  EXPECT_NEAR(tone_dbfs(after, 400, 8000), -14.7, 2.0);
}

TEST(Session, MutedLegIsSilentInTheSessionExactlyWhileMutedAndHearsAnnouncements) {
  SessionHarness h;
  h.add_participant("alice", 0);  // silent room: only announcements are heard
  h.add_leg(pcmu_leg(), 1700);
  LegConfig other = pcmu_leg();
  other.id = "sip2";
  ASSERT_TRUE(h.session->add_leg(other).ok());
  h.run_ms(1000);
  ASSERT_TRUE(h.session->force_mute("sip", true).ok());
  h.run_ms(3000);
  ASSERT_TRUE(h.session->force_mute("sip", false).ok());
  h.run_ms(3000);

  // 20 ms granularity: the change takes effect at the next tick.
  const auto pub_before = h.session_audio("sip", 200, 1000);
  const auto pub_muted = h.session_audio("sip", 1040, 4000);
  const auto pub_after = h.session_audio("sip", 4100, 7000);
  EXPECT_NEAR(tone_dbfs(pub_before, 1700, 48000), -14.7, 2.0);
  EXPECT_LT(rms_dbfs(pub_muted), -60) << "muted leg must publish silence";
  EXPECT_NEAR(tone_dbfs(pub_after, 1700, 48000), -14.7, 2.0);

  ASSERT_EQ(count_events(h.sink, Event::Type::kMuteChanged, "sip"), 2);
  ASSERT_EQ(count_events(h.sink, Event::Type::kAnnouncement, "sip"), 2);
  for (const Event& e : h.sink.events) {
    if (e.type == Event::Type::kMuteChanged) {
      EXPECT_EQ(e.cause, "moderator");
    }
  }

  // The announcement (Allison's "you are muted" / "unmuted") is in this
  // leg's output after each change, and in no other leg's. sip2 does hear
  // sip's voice (N-1 across legs) until sip is muted, so compare windows.
  const auto quiet = h.leg_audio("sip", 200, 1000);
  const auto prompt1 = h.leg_audio("sip", 1000, 2500);
  const auto prompt2 = h.leg_audio("sip", 4000, 5500);
  EXPECT_LT(rms_dbfs(quiet), -60);
  EXPECT_GT(rms_dbfs(prompt1), -35) << "muted announcement";
  EXPECT_GT(rms_dbfs(prompt2), -35) << "unmuted announcement";
  const auto other_muted = h.leg_audio("sip2", 1200, 4000);
  EXPECT_LT(rms_dbfs(other_muted), -60) << "no announcement in another leg";
}

TEST(Session, StarSixTogglesMuteOncePerPress) {
  SessionHarness h;
  h.add_participant("alice", 400);
  h.add_leg(pcmu_leg(), 1700);
  h.run_ms(500);
  press(h, "*6");
  h.run_ms(400);
  ASSERT_EQ(count_events(h.sink, Event::Type::kMuteChanged, "sip"), 1);
  press(h, "**6");
  h.run_ms(400);
  press(h, "*7");
  press(h, "66");
  h.run_ms(400);
  ASSERT_EQ(count_events(h.sink, Event::Type::kMuteChanged, "sip"), 2);
  std::vector<bool> states;
  for (const Event& e : h.sink.events)
    if (e.type == Event::Type::kMuteChanged) {
      states.push_back(e.muted);
      EXPECT_EQ(e.cause, "dtmf");
    }
  EXPECT_EQ(states, (std::vector<bool>{true, false}));
  // Digits are events, never audio: the leg's tone is all the session hears.
  EXPECT_EQ(count_events(h.sink, Event::Type::kDigit, "sip"), 9);
}

TEST(Session, ObserveForceMuteOffIgnoresForceMuteAndStarSix) {
  SessionHarness h;
  h.add_participant("alice", 400);
  h.add_leg(pcmu_leg(/*observe=*/false), 1700);
  h.run_ms(400);
  ASSERT_TRUE(h.session->force_mute("sip", true).ok());
  ASSERT_TRUE(h.session->force_mute_session(true, true, {}).ok());
  press(h, "*6");
  h.run_ms(1000);
  EXPECT_EQ(count_events(h.sink, Event::Type::kDigit, "sip"), 2);
  EXPECT_EQ(count_events(h.sink, Event::Type::kMuteChanged, "sip"), 0);
  const int end_ms = static_cast<int>((h.clock.now_us() - h.start_us) / 1000);
  EXPECT_NEAR(tone_dbfs(h.session_audio("sip", end_ms - 600, end_ms), 1700, 48000), -14.7, 2.0);
}

TEST(Session, SessionWideActiveMuteCatchesLateJoinersButSparesExcluded) {
  SessionHarness h;
  h.add_participant("alice", 400);
  h.add_participant("bob", 700);
  h.add_leg(pcmu_leg(), 0);
  h.run_ms(400);
  ASSERT_TRUE(h.session->force_mute_session(true, true, {"alice/audio", "sip"}).ok());
  h.add_participant("carol", 1000);  // joins later: muted too
  h.run_ms(1000);
  const auto out = h.leg_audio("sip", 600, 1400);
  EXPECT_NEAR(tone_dbfs(out, 400, 8000), -14.7, 2.0) << "excluded";
  EXPECT_LT(tone_dbfs(out, 700, 8000), -60);
  EXPECT_LT(tone_dbfs(out, 1000, 8000), -60) << "late joiner";
}

TEST(Session, PlayDtmfReachesTheLegAsRfc4733) {
  SessionHarness h;
  h.add_participant("alice", 400);
  h.add_leg(pcmu_leg(), 0);
  h.run_ms(200);
  ASSERT_TRUE(h.session->play_dtmf("sip", "1#p9").ok());
  EXPECT_FALSE(h.session->play_dtmf("sip", "1x").ok());
  h.run_ms(2000);
  dtmf::Rfc4733ReceiverConfig rc;
  auto rx = dtmf::Rfc4733Receiver::create(rc);
  ASSERT_TRUE(rx.ok());
  std::string got;
  uint32_t audio_ssrc = 0, event_ssrc = 0;
  for (const auto& p : h.sink.rtp) {
    if (p.id != "sip" || p.dir != Direction::kToLeg) continue;
    auto v = rtp::parse_rtp(p.data);
    ASSERT_TRUE(v);
    if (v->payload_type == 101) {
      event_ssrc = v->ssrc;
      rx->on_packet(*v, (p.time_us - h.start_us) / 1000);
    } else {
      audio_ssrc = v->ssrc;
    }
  }
  rx->flush(1'000'000);
  dtmf::DtmfEvent e;
  while (rx->pop_event(e)) {
    got += e.digit;
    EXPECT_NEAR(e.duration_ms, 100, 20);
  }
  EXPECT_EQ(got, "1#9");
  EXPECT_EQ(audio_ssrc, event_ssrc) << "events share the audio SSRC";
}

TEST(Session, SecureLegRoundTripsAndDropsTamperedAndReplayedPackets) {
  const std::string k1 = srtp::generate_sdes_inline_key(), k2 = srtp::generate_sdes_inline_key();
  SessionHarness h;
  h.add_participant("alice", 400);
  LegConfig c = pcmu_leg();
  c.secure = true;
  c.srtp_key_to_leg = k1;
  c.srtp_key_from_leg = k2;
  // The phone: protects with k2, unprotects what it receives with k1.
  auto phone = srtp::SrtpSession::create(*srtp::parse_sdes_key(srtp::SrtpSuite::kAesCm128HmacSha1_80, k2),
                                         *srtp::parse_sdes_key(srtp::SrtpSuite::kAesCm128HmacSha1_80, k1));
  ASSERT_TRUE(phone.ok());
  h.leg_transform = [&](std::vector<uint8_t>& pkt) {
    const size_t n = pkt.size();
    pkt.resize(n + srtp::kSrtpMaxOverhead);
    return (*phone)->protect_rtp(pkt, n).size;
  };
  h.add_leg(c, 1700);
  h.run_ms(1000);
  // The next packet, tampered in transit: dropped, and it changes no state,
  // so the genuine copy that follows is accepted; a replay of it is dropped.
  std::vector<uint8_t> pkt(12 + 160 + srtp::kSrtpMaxOverhead, 0xFF);
  rtp::RtpHeader hd;
  hd.payload_type = 0;
  hd.sequence_number = h.leg_rtp().sequence_number++;
  hd.timestamp = h.leg_rtp().timestamp;
  h.leg_rtp().timestamp += 160;
  hd.ssrc = 0xAB5;
  std::vector<uint8_t> body(160, 0xFF);
  ASSERT_EQ(rtp::write_rtp(hd, {}, body, pkt), 172u);
  const size_t sz = (*phone)->protect_rtp(pkt, 172).size;
  ASSERT_GT(sz, 172u);
  std::vector<uint8_t> genuine(pkt.begin(), pkt.begin() + sz), tampered = genuine;
  tampered[40] ^= 0x10;
  h.push_leg(tampered);
  h.push_leg(genuine);
  h.push_leg(genuine);
  h.run_ms(1000);
  const SessionStats st = h.session->stats();
  ASSERT_EQ(st.legs.size(), 1u);
  EXPECT_EQ(st.legs[0].srtp_auth_failures, 1u);
  EXPECT_EQ(st.legs[0].srtp_replays, 1u);

  // What we sent decrypts with the phone's key and carries the mix.
  auto dec = audio::make_audio_decoder(audio::AudioCodec::kPcmu);
  std::vector<int16_t> pcm, buf(audio::kMaxDecodedSamples);
  int failures = 0;
  for (auto& p : h.sink.rtp) {
    if (p.dir != Direction::kToLeg) continue;
    auto r = (*phone)->unprotect_rtp(p.data);
    if (!r.ok()) {
      ++failures;
      continue;
    }
    auto v = rtp::parse_rtp({p.data.data(), r.size});
    ASSERT_TRUE(v);
    const size_t n = (*dec)->decode(v->payload, buf);
    if ((p.time_us - h.start_us) / 1000 >= 1000) pcm.insert(pcm.end(), buf.begin(), buf.begin() + n);
  }
  EXPECT_EQ(failures, 0);
  EXPECT_NEAR(tone_dbfs(pcm, 400, 8000), -14.7, 2.0);
  // And the leg's voice, authenticated and decrypted, reached the session.
  EXPECT_NEAR(tone_dbfs(h.session_audio("sip", 1200, 2000), 1700, 48000), -14.7, 2.0);
}

TEST(Session, BadConfigurationIsRejectedWithTheField) {
  SessionHarness h;
  LegConfig c = pcmu_leg();
  c.audio_clock_hz = 16000;
  auto r = h.session->add_leg(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("audio_clock_hz"), std::string::npos);
  c = pcmu_leg();
  c.muted_prompt_path = "/nonexistent/muted.wav";
  r = h.session->add_leg(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/muted.wav"), std::string::npos) << r.status().message();
  c = pcmu_leg();
  c.secure = true;
  c.srtp_key_to_leg = "inline:short";
  c.srtp_key_from_leg = "inline:short";
  r = h.session->add_leg(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("srtp_key_to_leg"), std::string::npos) << r.status().message();
}

TEST(Session, GarbageOnOneStreamDoesNotDisturbOthers) {
  SessionHarness h;
  h.add_participant("alice", 400);
  Participant& bob = h.add_participant("bob", 700);
  h.add_leg(pcmu_leg(), 0);
  h.run_ms(400);
  bob.sending = false;
  uint32_t x = 12345;
  for (int step = 0; step < 50; ++step) {
    for (int k = 0; k < 5; ++k) {
      std::vector<uint8_t> junk(1 + (x % 300));
      for (auto& b : junk) b = static_cast<uint8_t>(x = x * 1103515245 + 12345);
      if (k == 0 && junk.size() > 12) junk[0] = 0x80;  // some pass as RTP
      h.session->push_rtp(bob.audio, junk);
    }
    h.run_ms(20);
  }
  const auto out = h.leg_audio("sip", 600, 1400);
  EXPECT_NEAR(tone_dbfs(out, 400, 8000), -14.7, 2.0);
}

}  // namespace
}  // namespace sipmix::testing

namespace sipmix::testing {
namespace {

// The SIP leg's own video goes into the session as it came, beside its audio.
TEST(Session, LegVideoIsForwardedIntoTheSession) {
  SessionHarness h;
  h.add_participant("alice", 400);
  LegConfig c = pcmu_leg();
  c.video = true;
  c.width = 320;
  c.height = 180;
  c.video_payload_type = 96;
  h.add_leg(c, 0);
  std::vector<std::vector<uint8_t>> sent;
  for (int i = 0; i < 5; ++i) {
    std::vector<uint8_t> payload(100 + i, static_cast<uint8_t>(i));
    std::vector<uint8_t> pkt(12 + payload.size());
    rtp::RtpHeader hd;
    hd.payload_type = 96;
    hd.sequence_number = static_cast<uint16_t>(700 + i);
    hd.timestamp = 9000u * i;
    hd.ssrc = 0xCAFE;
    hd.marker = true;
    pkt.resize(rtp::write_rtp(hd, {}, payload, pkt));
    h.push_leg(pkt);
    sent.push_back(pkt);
    h.run_ms(20);
  }
  std::vector<std::vector<uint8_t>> got;
  for (const auto& p : h.sink.rtp)
    if (p.id == "sip" && p.dir == Direction::kToSession && (p.data[1] & 0x7F) == 96) got.push_back(p.data);
  EXPECT_EQ(got, sent);
}

}  // namespace
}  // namespace sipmix::testing
