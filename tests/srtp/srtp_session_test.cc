// SRTP: SDES key parsing, protect/unprotect round trips for both suites,
// and the reliability contract: tampered, replayed and wrongly keyed packets
// are dropped, counted, and leave the session state unchanged.
#include "srtp/srtp_session.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "rtp/rtcp.h"
#include "rtp/rtp_packet.h"

namespace sipmix::srtp {
namespace {

// RFC 4568 §9.1 style example keys (30 bytes each once decoded).
constexpr const char* kKeyA = "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
constexpr const char* kKeyB = "inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj";

SdesKey key(const char* params, SrtpSuite suite = SrtpSuite::kAesCm128HmacSha1_80) {
  auto k = parse_sdes_key(suite, params);
  EXPECT_TRUE(k.ok()) << k.status().message();
  return k.ok() ? k.value() : SdesKey{};
}

// Two ends of one call: A sends with key A, B sends with key B.
struct Call {
  std::unique_ptr<SrtpSession> a;
  std::unique_ptr<SrtpSession> b;
  explicit Call(SrtpSuite suite, const char* ka = kKeyA, const char* kb = kKeyB) {
    auto sa = SrtpSession::create(key(ka, suite), key(kb, suite));
    auto sb = SrtpSession::create(key(kb, suite), key(ka, suite));
    EXPECT_TRUE(sa.ok() && sb.ok());
    a = std::move(sa.value());
    b = std::move(sb.value());
  }
};

std::vector<uint8_t> rtp_packet(uint16_t seq, size_t payload_size = 160, uint32_t ssrc = 0x11223344) {
  std::vector<uint8_t> payload(payload_size);
  for (size_t i = 0; i < payload_size; ++i) payload[i] = static_cast<uint8_t>(seq * 3 + i);
  rtp::RtpHeader h;
  h.payload_type = 0;
  h.sequence_number = seq;
  h.timestamp = seq * 160u;
  h.ssrc = ssrc;
  std::vector<uint8_t> out(rtp::kMaxRtpPacketSize);
  out.resize(rtp::write_rtp(h, {}, payload, out));
  return out;
}

std::vector<uint8_t> rtcp_packet(uint32_t packet_count) {
  rtp::SenderReport sr;
  sr.sender_ssrc = 0x11223344;
  sr.info.packet_count = packet_count;
  sr.report_count = 1;
  sr.reports[0].ssrc = 0x55667788;
  sr.reports[0].jitter = 12;
  std::vector<uint8_t> out(256);
  rtp::RtcpCompoundBuilder b(out);
  b.add_sender_report(sr);
  b.add_sdes_cname(0x11223344, "leg@sipmix");
  out.resize(b.size());
  return out;
}

// Protects into a buffer with exactly the room the session asks for.
std::vector<uint8_t> protect(SrtpSession& s, const std::vector<uint8_t>& clear, bool rtcp = false) {
  std::vector<uint8_t> buf(clear);
  buf.resize(clear.size() + (rtcp ? s.rtcp_overhead() : s.rtp_overhead()));
  const SrtpOutput out = rtcp ? s.protect_rtcp(buf, clear.size()) : s.protect_rtp(buf, clear.size());
  EXPECT_TRUE(out.ok());
  buf.resize(out.size);
  return buf;
}

SrtpResult unprotect(SrtpSession& s, std::vector<uint8_t> packet, std::vector<uint8_t>* clear = nullptr,
                     bool rtcp = false) {
  const SrtpOutput out = rtcp ? s.unprotect_rtcp(packet) : s.unprotect_rtp(packet);
  if (out.ok() && clear) *clear = std::vector<uint8_t>(packet.begin(), packet.begin() + out.size);
  return out.result;
}

class SrtpSuites : public ::testing::TestWithParam<SrtpSuite> {};

TEST_P(SrtpSuites, RtpRoundTripAcrossSequenceWrap) {
  Call call(GetParam());
  const size_t tag = GetParam() == SrtpSuite::kAesCm128HmacSha1_32 ? 4 : 10;
  EXPECT_EQ(call.a->rtp_overhead(), tag);
  for (uint32_t i = 0; i < 600; ++i) {
    const uint16_t seq = static_cast<uint16_t>(0xFF00 + i);  // crosses 0xFFFF: rollover counter moves
    const auto clear = rtp_packet(seq);
    const auto prot = protect(*call.a, clear);
    ASSERT_EQ(prot.size(), clear.size() + tag);
    EXPECT_NE(0, std::memcmp(prot.data() + 12, clear.data() + 12, clear.size() - 12)) << "payload not encrypted";
    EXPECT_EQ(0, std::memcmp(prot.data(), clear.data(), 12)) << "header must stay clear";
    std::vector<uint8_t> got;
    ASSERT_EQ(unprotect(*call.b, prot, &got), SrtpResult::kOk) << "seq " << seq;
    EXPECT_EQ(got, clear);
  }
  const SrtpStats sa = call.a->stats();
  const SrtpStats sb = call.b->stats();
  EXPECT_EQ(sa.rtp_protected, 600u);
  EXPECT_EQ(sb.rtp_unprotected, 600u);
  EXPECT_EQ(sb.auth_failures + sb.replays + sb.other_errors, 0u);
}

TEST_P(SrtpSuites, RtcpRoundTripBothWays) {
  Call call(GetParam());
  EXPECT_EQ(call.a->rtcp_overhead(), 4u + 10u);  // SRTCP always has an 80-bit tag
  for (uint32_t i = 0; i < 5; ++i) {
    const auto clear = rtcp_packet(i);
    std::vector<uint8_t> got;
    ASSERT_EQ(unprotect(*call.b, protect(*call.a, clear, true), &got, true), SrtpResult::kOk);
    EXPECT_EQ(got, clear);
    ASSERT_EQ(unprotect(*call.a, protect(*call.b, clear, true), &got, true), SrtpResult::kOk);
    EXPECT_EQ(got, clear);
    rtp::RtcpVisitor ignore;
    EXPECT_TRUE(rtp::parse_rtcp(got, ignore));
  }
  EXPECT_EQ(call.b->stats().rtcp_unprotected, 5u);
  EXPECT_EQ(call.a->stats().rtcp_protected, 5u);
}

TEST_P(SrtpSuites, TamperedPacketIsDroppedCountedAndChangesNoState) {
  Call call(GetParam());
  std::vector<uint8_t> got;
  ASSERT_EQ(unprotect(*call.b, protect(*call.a, rtp_packet(1)), &got), SrtpResult::kOk);
  const auto clear = rtp_packet(2);
  const auto prot = protect(*call.a, clear);
  // One flipped bit in the payload, in the tag, and in the sequence number.
  std::vector<uint8_t> bad_payload = prot;
  bad_payload[20] ^= 0x01;
  std::vector<uint8_t> bad_tag = prot;
  bad_tag.back() ^= 0x80;
  std::vector<uint8_t> bad_seq = prot;
  bad_seq[2] ^= 0x40;  // jumps the sequence far ahead
  EXPECT_EQ(unprotect(*call.b, bad_payload), SrtpResult::kAuthFailure);
  EXPECT_EQ(unprotect(*call.b, bad_tag), SrtpResult::kAuthFailure);
  EXPECT_EQ(unprotect(*call.b, bad_seq), SrtpResult::kAuthFailure);
  EXPECT_EQ(call.b->stats().auth_failures, 3u);
  // The genuine packet with the same sequence number still decrypts.
  ASSERT_EQ(unprotect(*call.b, prot, &got), SrtpResult::kOk);
  EXPECT_EQ(got, clear);
  ASSERT_EQ(unprotect(*call.b, protect(*call.a, rtp_packet(3)), &got), SrtpResult::kOk);
  EXPECT_EQ(got, rtp_packet(3));

  // Same for SRTCP.
  const auto rclear = rtcp_packet(1);
  const auto rprot = protect(*call.a, rclear, true);
  std::vector<uint8_t> rbad = rprot;
  rbad[10] ^= 0x04;
  EXPECT_EQ(unprotect(*call.b, rbad, nullptr, true), SrtpResult::kAuthFailure);
  rbad = rprot;
  rbad.back() ^= 0x01;
  EXPECT_EQ(unprotect(*call.b, rbad, nullptr, true), SrtpResult::kAuthFailure);
  ASSERT_EQ(unprotect(*call.b, rprot, &got, true), SrtpResult::kOk);
  EXPECT_EQ(got, rclear);
  const SrtpStats s = call.b->stats();
  EXPECT_EQ(s.auth_failures, 5u);
  EXPECT_EQ(s.rtp_unprotected, 3u);
  EXPECT_EQ(s.rtcp_unprotected, 1u);
  EXPECT_EQ(s.replays, 0u);
}

TEST_P(SrtpSuites, ReplayedPacketIsDroppedAndCounted) {
  Call call(GetParam());
  std::vector<std::vector<uint8_t>> sent;
  for (uint16_t seq = 0xFFF0; seq != 0x0010; ++seq) sent.push_back(protect(*call.a, rtp_packet(seq)));
  for (const auto& p : sent) ASSERT_EQ(unprotect(*call.b, p), SrtpResult::kOk);
  EXPECT_EQ(unprotect(*call.b, sent.back()), SrtpResult::kReplay);
  EXPECT_EQ(unprotect(*call.b, sent[3]), SrtpResult::kReplay);
  EXPECT_EQ(call.b->stats().replays, 2u);
  // Reordered but new packets are still accepted after the replays.
  const auto late = protect(*call.a, rtp_packet(0x0010));
  const auto later = protect(*call.a, rtp_packet(0x0011));
  EXPECT_EQ(unprotect(*call.b, later), SrtpResult::kOk);
  EXPECT_EQ(unprotect(*call.b, late), SrtpResult::kOk);

  const auto r = protect(*call.a, rtcp_packet(1), true);
  EXPECT_EQ(unprotect(*call.b, r, nullptr, true), SrtpResult::kOk);
  EXPECT_EQ(unprotect(*call.b, r, nullptr, true), SrtpResult::kReplay);
  const SrtpStats s = call.b->stats();
  EXPECT_EQ(s.replays, 3u);
  EXPECT_EQ(s.auth_failures, 0u);
}

TEST_P(SrtpSuites, PacketOlderThanReplayWindowIsDropped) {
  Call call(GetParam());
  const auto first = protect(*call.a, rtp_packet(100));
  std::vector<uint8_t> held;
  for (uint16_t seq = 101; seq < 101 + 1100; ++seq) {
    auto p = protect(*call.a, rtp_packet(seq, 20));
    if (seq == 101) {
      held = p;  // never delivered until it is too old
      continue;
    }
    ASSERT_EQ(unprotect(*call.b, p), SrtpResult::kOk);
  }
  EXPECT_EQ(unprotect(*call.b, held), SrtpResult::kReplay);
  EXPECT_EQ(unprotect(*call.b, first), SrtpResult::kReplay);
  EXPECT_EQ(call.b->stats().replays, 2u);
}

TEST_P(SrtpSuites, SsrcChangeMidCallIsAccepted) {
  Call call(GetParam());
  std::vector<uint8_t> got;
  for (uint16_t seq = 0; seq < 5; ++seq) {
    ASSERT_EQ(unprotect(*call.b, protect(*call.a, rtp_packet(seq, 160, 0x1111)), &got), SrtpResult::kOk);
  }
  // The peer restarts with a new SSRC and a new random sequence start.
  for (uint16_t seq = 40000; seq < 40005; ++seq) {
    const auto clear = rtp_packet(seq, 160, 0x2222);
    ASSERT_EQ(unprotect(*call.b, protect(*call.a, clear), &got), SrtpResult::kOk);
    EXPECT_EQ(got, clear);
  }
  EXPECT_EQ(call.b->stats().rtp_unprotected, 10u);
}

TEST_P(SrtpSuites, WrongKeyFailsAuthentication) {
  Call right(GetParam());
  auto wrong = SrtpSession::create(key(kKeyB, GetParam()), key(kKeyB, GetParam()));  // inbound key B, sender uses A
  ASSERT_TRUE(wrong.ok());
  for (uint16_t seq = 0; seq < 10; ++seq) {
    EXPECT_EQ(unprotect(*wrong.value(), protect(*right.a, rtp_packet(seq))), SrtpResult::kAuthFailure);
  }
  EXPECT_EQ(unprotect(*wrong.value(), protect(*right.a, rtcp_packet(0), true), nullptr, true),
            SrtpResult::kAuthFailure);
  const SrtpStats s = wrong.value()->stats();
  EXPECT_EQ(s.auth_failures, 11u);
  EXPECT_EQ(s.rtp_unprotected, 0u);
}

TEST_P(SrtpSuites, MkiRoundTrip) {
  const std::string ka = std::string(kKeyA) + "|2^20|7:4";
  const std::string kb = std::string(kKeyB) + "|1:1";
  Call call(GetParam(), ka.c_str(), kb.c_str());
  const size_t tag = GetParam() == SrtpSuite::kAesCm128HmacSha1_32 ? 4 : 10;
  EXPECT_EQ(call.a->rtp_overhead(), tag + 4);
  EXPECT_EQ(call.b->rtp_overhead(), tag + 1);
  const auto clear = rtp_packet(5);
  const auto prot = protect(*call.a, clear);
  ASSERT_EQ(prot.size(), clear.size() + 4 + tag);
  const uint8_t mki[4] = {0, 0, 0, 7};
  EXPECT_EQ(0, std::memcmp(prot.data() + clear.size(), mki, 4));
  std::vector<uint8_t> got;
  ASSERT_EQ(unprotect(*call.b, prot, &got), SrtpResult::kOk);
  EXPECT_EQ(got, clear);
  ASSERT_EQ(unprotect(*call.a, protect(*call.b, clear), &got), SrtpResult::kOk);
  EXPECT_EQ(got, clear);
  ASSERT_EQ(unprotect(*call.b, protect(*call.a, rtcp_packet(3), true), &got, true), SrtpResult::kOk);
  EXPECT_EQ(got, rtcp_packet(3));
}

INSTANTIATE_TEST_SUITE_P(BothSuites, SrtpSuites,
                         ::testing::Values(SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAesCm128HmacSha1_32),
                         [](const auto& info) {
                           return info.param == SrtpSuite::kAesCm128HmacSha1_80 ? std::string("Sha1_80")
                                                                                : std::string("Sha1_32");
                         });

TEST(SrtpSession, MalformedPacketsAreCountedNotCrashing) {
  Call call(SrtpSuite::kAesCm128HmacSha1_80);
  std::vector<uint8_t> tiny = {0x80, 0x00, 0x00};
  EXPECT_EQ(unprotect(*call.b, tiny), SrtpResult::kMalformed);
  EXPECT_EQ(unprotect(*call.b, {}), SrtpResult::kMalformed);
  auto p = protect(*call.a, rtp_packet(1));
  p[0] = 0x40 | (p[0] & 0x3F);  // version 1
  EXPECT_EQ(unprotect(*call.b, p), SrtpResult::kMalformed);
  auto q = rtp_packet(2, 0);
  q.resize(q.size() + 4);  // a tag's worth short of a header + 10-byte tag
  EXPECT_EQ(unprotect(*call.b, q), SrtpResult::kMalformed);
  std::vector<uint8_t> cc15(12 + 20, 0);
  cc15[0] = 0x8F;  // 15 CSRCs announced, 5 present
  EXPECT_EQ(unprotect(*call.b, cc15), SrtpResult::kMalformed);
  EXPECT_EQ(unprotect(*call.b, tiny, nullptr, true), SrtpResult::kMalformed);
  EXPECT_EQ(call.b->stats().other_errors, 6u);
  EXPECT_EQ(call.b->stats().auth_failures, 0u);

  // Protect needs the room for the tag.
  auto clear = rtp_packet(3);
  std::vector<uint8_t> buf = clear;
  buf.resize(clear.size() + call.a->rtp_overhead() - 1);
  EXPECT_EQ(call.a->protect_rtp(buf, clear.size()).result, SrtpResult::kMalformed);
  EXPECT_EQ(call.a->protect_rtp(buf, buf.size() + 1).result, SrtpResult::kMalformed);
  auto rclear = rtcp_packet(0);
  buf = rclear;
  buf.resize(rclear.size() + call.a->rtcp_overhead() - 1);
  EXPECT_EQ(call.a->protect_rtcp(buf, rclear.size()).result, SrtpResult::kMalformed);
  EXPECT_EQ(call.a->stats().other_errors, 3u);
  EXPECT_EQ(call.a->stats().rtp_protected, 1u);  // only the genuine packet above
}

TEST(SrtpSession, RepeatedOutboundSequenceIsRefused) {
  // allow_repeat_tx is off: re-sending a sequence number would reuse keystream.
  Call call(SrtpSuite::kAesCm128HmacSha1_80);
  protect(*call.a, rtp_packet(9));
  std::vector<uint8_t> buf = rtp_packet(9);
  const size_t n = buf.size();
  buf.resize(n + call.a->rtp_overhead());
  EXPECT_FALSE(call.a->protect_rtp(buf, n).ok());
  EXPECT_EQ(call.a->stats().other_errors, 1u);
}

TEST(SrtpSession, ConcurrentProtectAndUnprotectOnOneSession) {
  // The tick thread protects while the network thread unprotects.
  Call call(SrtpSuite::kAesCm128HmacSha1_80);
  std::vector<std::vector<uint8_t>> incoming;
  for (uint16_t seq = 0; seq < 2000; ++seq) incoming.push_back(protect(*call.b, rtp_packet(seq, 100, 0xAA)));
  std::atomic<int> ok_in{0};
  std::thread net([&] {
    for (auto& p : incoming) ok_in += call.a->unprotect_rtp(p).ok();
  });
  int ok_out = 0;
  for (uint16_t seq = 0; seq < 2000; ++seq) {
    auto buf = rtp_packet(seq, 100, 0xBB);
    const size_t n = buf.size();
    buf.resize(n + call.a->rtp_overhead());
    ok_out += call.a->protect_rtp(buf, n).ok();
    (void)call.a->stats();
  }
  net.join();
  EXPECT_EQ(ok_in.load(), 2000);
  EXPECT_EQ(ok_out, 2000);
  EXPECT_EQ(call.a->stats().rtp_unprotected, 2000u);
  EXPECT_EQ(call.a->stats().rtp_protected, 2000u);
}

// ---- SDES key strings

TEST(SdesKey, ParsesKeyLifetimeAndMki) {
  auto k = parse_sdes_key(SrtpSuite::kAesCm128HmacSha1_32, std::string(kKeyA) + "|2^20|1:4");
  ASSERT_TRUE(k.ok()) << k.status().message();
  EXPECT_EQ(k->suite, SrtpSuite::kAesCm128HmacSha1_32);
  EXPECT_EQ(k->lifetime_packets, 1u << 20);
  EXPECT_EQ(k->mki_value, 1u);
  EXPECT_EQ(k->mki_size, 4);
  EXPECT_EQ(std::string(kKeyA).substr(7), base64_encode(k->key_salt));

  k = parse_sdes_key(SrtpSuite::kAesCm128HmacSha1_80, std::string(kKeyA) + "|1048576");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->lifetime_packets, 1048576u);
  EXPECT_EQ(k->mki_size, 0);

  k = parse_sdes_key(SrtpSuite::kAesCm128HmacSha1_80, std::string(kKeyA) + "|255:1");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->mki_value, 255u);
  EXPECT_EQ(k->lifetime_packets, 0u);
}

TEST(SdesKey, ParsesCryptoAttribute) {
  auto k = parse_sdes_crypto(std::string("a=crypto:1 AES_CM_128_HMAC_SHA1_32 ") + kKeyB + "|2^31");
  ASSERT_TRUE(k.ok()) << k.status().message();
  EXPECT_EQ(k->suite, SrtpSuite::kAesCm128HmacSha1_32);
  EXPECT_EQ(k->lifetime_packets, 1ull << 31);
  k = parse_sdes_crypto(std::string("2 AES_CM_128_HMAC_SHA1_80 ") + kKeyA + "\r\n");
  ASSERT_TRUE(k.ok()) << k.status().message();
  EXPECT_EQ(k->suite, SrtpSuite::kAesCm128HmacSha1_80);
}

void expect_error(const StatusOr<SdesKey>& k, const std::string& needle) {
  ASSERT_FALSE(k.ok()) << "expected an error mentioning " << needle;
  EXPECT_EQ(k.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(k.status().message().find(needle), std::string::npos) << k.status().message();
}

TEST(SdesKey, MalformedKeysGetErrorsNamingTheProblem) {
  const std::string b64 = std::string(kKeyA).substr(7);
  const auto s80 = SrtpSuite::kAesCm128HmacSha1_80;
  expect_error(parse_sdes_key(s80, b64), "must start with 'inline:'");
  expect_error(parse_sdes_key(s80, "uri:" + b64), "'uri'");
  // Key material never appears in an error message.
  {
    auto k = parse_sdes_key(s80, "inline:" + b64.substr(0, 39) + "!");
    ASSERT_FALSE(k.ok());
    EXPECT_EQ(k.status().message().find(b64.substr(0, 10)), std::string::npos) << k.status().message();
    k = parse_sdes_key(s80, "x" + b64);
    ASSERT_FALSE(k.ok());
    EXPECT_EQ(k.status().message().find(b64.substr(0, 10)), std::string::npos) << k.status().message();
  }
  expect_error(parse_sdes_key(s80, "inline:"), "base64");
  expect_error(parse_sdes_key(s80, "inline:" + b64.substr(0, 39) + "!"), "base64");
  expect_error(parse_sdes_key(s80, "inline:" + b64.substr(0, 37)), "base64");  // 37 chars: not a length
  expect_error(parse_sdes_key(s80, "inline:" + b64.substr(0, 36)), "27 bytes");
  expect_error(parse_sdes_key(s80, "inline:" + b64 + "AAAA"), "33 bytes");
  expect_error(parse_sdes_key(s80, "inline:" + b64 + "|"), "empty field");
  expect_error(parse_sdes_key(s80, "inline:" + b64 + "||1:4"), "empty field");
  expect_error(parse_sdes_key(s80, "inline:" + b64 + "|2^x"), "lifetime");
  expect_error(parse_sdes_key(s80, "inline:" + b64 + "|2^49"), "2^48");
  expect_error(parse_sdes_key(s80, "inline:" + b64 + "|0"), "lifetime");
  expect_error(parse_sdes_key(s80, "inline:" + b64 + "|-5"), "lifetime");
  expect_error(parse_sdes_key(s80, "inline:" + b64 + "|2^20|2^20"), "lifetime given twice");
  expect_error(parse_sdes_key(s80, "inline:" + b64 + "|x:4"), "MKI");
  expect_error(parse_sdes_key(s80, "inline:" + b64 + "|1:"), "MKI");
  expect_error(parse_sdes_key(s80, "inline:" + b64 + "|1:0"), "MKI length");
  expect_error(parse_sdes_key(s80, "inline:" + b64 + "|1:129"), "MKI length");
  expect_error(parse_sdes_key(s80, "inline:" + b64 + "|256:1"), "MKI value");
  expect_error(parse_sdes_key(s80, "inline:" + b64 + "|1:4|2^20"), "after the MKI");
  expect_error(parse_sdes_key(s80, "inline:" + b64 + "|1:4;inline:" + b64), "several keys");
  expect_error(parse_sdes_crypto("1 AES_256_CM_HMAC_SHA1_80 inline:" + b64), "AES_256_CM_HMAC_SHA1_80");
  expect_error(parse_sdes_crypto("1 F8_128_HMAC_SHA1_80 inline:" + b64), "unsupported suite");
  expect_error(parse_sdes_crypto("x AES_CM_128_HMAC_SHA1_80 inline:" + b64), "tag");
  expect_error(parse_sdes_crypto("1 AES_CM_128_HMAC_SHA1_80"), "expected");
  expect_error(parse_sdes_crypto("1 AES_CM_128_HMAC_SHA1_80 inline:" + b64 + " UNENCRYPTED_SRTP"),
               "UNENCRYPTED_SRTP");
  expect_error(parse_sdes_crypto("1 AES_CM_128_HMAC_SHA1_80 inline:" + b64 + " KDR=1 UNENCRYPTED_SRTCP"),
               "more than one session parameter");
  expect_error(parse_sdes_crypto(""), "expected");
}

TEST(SdesKey, SuiteNamesRoundTrip) {
  for (SrtpSuite s : {SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAesCm128HmacSha1_32}) {
    EXPECT_EQ(suite_from_name(suite_name(s)), s);
  }
  EXPECT_FALSE(suite_from_name("AES_CM_128_HMAC_SHA1_8"));
  EXPECT_FALSE(suite_from_name("aes_cm_128_hmac_sha1_80"));
  EXPECT_FALSE(suite_from_name(""));
}

TEST(SdesKey, GeneratedKeysParseAndDiffer) {
  const std::string k1 = generate_sdes_inline_key();
  const std::string k2 = generate_sdes_inline_key();
  EXPECT_NE(k1, k2);
  EXPECT_EQ(k1.size(), 7u + 40u);
  auto p1 = parse_sdes_key(SrtpSuite::kAesCm128HmacSha1_80, k1);
  ASSERT_TRUE(p1.ok()) << p1.status().message();
  auto p2 = parse_sdes_crypto("1 AES_CM_128_HMAC_SHA1_32 " + k2);
  ASSERT_TRUE(p2.ok()) << p2.status().message();
  auto s1 = SrtpSession::create(p1.value(), p2.value());
  EXPECT_TRUE(s1.ok());
}

TEST(SdesKey, Base64MatchesRfc4648Vectors) {
  const auto enc = [](std::string_view s) {
    return base64_encode(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg==");
  EXPECT_EQ(enc("fo"), "Zm8=");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
}

}  // namespace
}  // namespace sipmix::srtp
