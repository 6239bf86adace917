// The public SrtpSuite: its SDP names round-trip, a wrong name is refused
// naming the two there are, and a secure leg set to the 32-bit suite sends
// SRTP with a 4-byte tag that a peer using that suite decrypts.
#include <gtest/gtest.h>

#include "session_harness.h"
#include "srtp/srtp_session.h"

namespace sipmix::testing {
namespace {

TEST(SrtpSuiteApi, NamesRoundTripAndUnknownNameIsRefused) {
  for (SrtpSuite s : {SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAesCm128HmacSha1_32}) {
    auto p = parse_srtp_suite(to_string(s));
    ASSERT_TRUE(p.ok()) << to_string(s);
    EXPECT_EQ(*p, s);
  }
  EXPECT_STREQ(to_string(SrtpSuite::kAesCm128HmacSha1_32), "AES_CM_128_HMAC_SHA1_32");
  auto bad = parse_srtp_suite("AES_CM_128_HMAC_SHA1_33");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("AES_CM_128_HMAC_SHA1_80"), std::string::npos);
  EXPECT_NE(bad.status().message().find("AES_CM_128_HMAC_SHA1_32"), std::string::npos);
  EXPECT_FALSE(parse_srtp_suite("").ok());
  EXPECT_EQ(LegConfig{}.srtp_suite, SrtpSuite::kAesCm128HmacSha1_80);
}

TEST(SrtpSuiteApi, SecureLegWithThe32BitSuiteSendsShortTagsThePeerDecrypts) {
  const std::string k1 = srtp::generate_sdes_inline_key(), k2 = srtp::generate_sdes_inline_key();
  SessionHarness h;
  h.add_participant("alice", 400);
  LegConfig c = pcmu_leg();
  c.secure = true;
  c.srtp_suite = SrtpSuite::kAesCm128HmacSha1_32;
  c.srtp_key_to_leg = k1;
  c.srtp_key_from_leg = k2;
  const auto s32 = srtp::SrtpSuite::kAesCm128HmacSha1_32;
  auto phone = srtp::SrtpSession::create(*srtp::parse_sdes_key(s32, k2), *srtp::parse_sdes_key(s32, k1));
  ASSERT_TRUE(phone.ok());
  h.leg_transform = [&](std::vector<uint8_t>& pkt) {
    const size_t n = pkt.size();
    pkt.resize(n + srtp::kSrtpMaxOverhead);
    return (*phone)->protect_rtp(pkt, n).size;
  };
  h.add_leg(c, 1700);
  h.run_ms(1000);
  const SessionStats st = h.session->stats();
  ASSERT_EQ(st.legs.size(), 1u);
  EXPECT_EQ(st.legs[0].srtp_auth_failures, 0u) << "the leg did not accept the peer's 32-bit tags";
  int audio_packets = 0;
  for (auto& p : h.sink.rtp) {
    if (p.dir != Direction::kToLeg) continue;
    ASSERT_EQ(p.data.size(), 12u + 160u + 4u) << "PCMU 20 ms plus a 4-byte tag";
    auto r = (*phone)->unprotect_rtp(p.data);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.size, 172u);
    ++audio_packets;
  }
  EXPECT_GE(audio_packets, 45);
}

}  // namespace
}  // namespace sipmix::testing
