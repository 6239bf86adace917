// What a dial may carry into a SIP INVITE: URIs, From, custom headers, digits, ids.
#include <gtest/gtest.h>

#include "gateway/rest/validate.h"

namespace sipmix::gw {
namespace {

TEST(SipUri, AcceptsUserHostPortAndParams) {
  auto u = parse_sip_uri("sip:+15551234@10.0.0.5:5070;transport=TLS;user=phone", "sip.uri");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->user, "+15551234");
  EXPECT_EQ(u->host, "10.0.0.5");
  EXPECT_EQ(u->port, 5070);
  EXPECT_EQ(u->transport, "tls");
  EXPECT_FALSE(u->secure_scheme);
  auto s = parse_sip_uri("sips:alice@pbx.example.com", "sip.uri");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->secure_scheme);
  EXPECT_EQ(s->port, 0);
  auto v6 = parse_sip_uri("sip:bob@[2001:db8::1]:5062", "sip.uri");
  ASSERT_TRUE(v6.ok()) << v6.status().message();
  EXPECT_EQ(v6->host, "2001:db8::1");
  EXPECT_EQ(v6->port, 5062);
  EXPECT_TRUE(parse_sip_uri("sip:pbx.example.com", "sip.uri").ok());
  EXPECT_TRUE(parse_sip_uri("SIP:alice%20x@host", "sip.uri").ok());
}

TEST(SipUri, RefusesWhatCouldInjectOrMisroute) {
  for (const char* bad : {
           "", "alice@host", "http://host", "tel:+1555", "sip:", "sip:alice@",
           "sip:alice@host\r\nVia: SIP/2.0/UDP evil", "sip:alice@host\n", "sip:alice@ho st",
           "sip:alice@host\t", "sip:al ice@host", "sip:alice:secret@host", "sip:alice@host?Route=%3Csip:evil%3E",
           "sip:alice@host:0", "sip:alice@host:65536", "sip:alice@host:50x", "sip:alice@host;transport=ws",
           "sip:alice@host;transport=", "sip:a@b@host", "<sip:alice@host>", "sip:alice@-host", "sip:alice@host;=x",
           "sip:alice@[::1", "sip:alice@host\x7f", "sip:\"alice\"@host"}) {
    auto u = parse_sip_uri(bad, "sip.uri");
    EXPECT_FALSE(u.ok()) << "accepted: " << bad;
    if (!u.ok()) {
      EXPECT_EQ(u.status().message().rfind("sip.uri: ", 0), 0u) << u.status().message();
    }
  }
  EXPECT_FALSE(parse_sip_uri("sip:a@" + std::string(1100, 'h'), "sip.uri").ok());
}

TEST(SipFrom, IsUserAtHost) {
  EXPECT_TRUE(validate_sip_from("15551234@example.com", "sip.from").ok());
  EXPECT_TRUE(validate_sip_from("alice@10.0.0.1", "sip.from").ok());
  for (const char* bad : {"", "alice", "@host", "alice@", "alice@host\r\nX: y", "al ice@host", "sip:alice@host",
                          "alice:pw@host", "alice@ho_st"}) {
    Status s = validate_sip_from(bad, "sip.from");
    EXPECT_FALSE(s.ok()) << "accepted: " << bad;
    if (!s.ok()) {
      EXPECT_EQ(s.message().rfind("sip.from: ", 0), 0u);
    }
  }
}

TEST(SipHeaders, NamesMustBeTokensAndNotOurs) {
  for (const char* good : {"X-Customer-Id", "X-Foo.Bar", "P-Asserted-Identity", "Subject", "X_1!%*+`'~"}) {
    EXPECT_TRUE(validate_header_name(good, "sip.headers").ok()) << good;
  }
  for (const char* bad : {"", "X Foo", "X-Foo:", "X-Foo\r\nVia", "X-Föo", "X-(x)", "X-Foo\x01", "X/Y", "X@Y",
                          "X-Foo\t"}) {
    EXPECT_FALSE(validate_header_name(bad, "sip.headers").ok()) << "accepted: " << bad;
  }
  for (const char* owned : {"Via", "v", "FROM", "f", "To", "call-id", "i", "CSeq", "Contact", "m", "Content-Length",
                            "l", "Content-Type", "c", "Max-Forwards", "Route", "Record-Route", "Authorization",
                            "Proxy-Authorization", "X-OpenTok-SessionId"}) {
    Status s = validate_header_name(owned, "sip.headers");
    EXPECT_FALSE(s.ok()) << "accepted: " << owned;
    if (!s.ok()) {
      EXPECT_NE(s.message().find("written by sipmixd"), std::string::npos);
    }
  }
  EXPECT_FALSE(validate_header_name(std::string(65, 'X'), "sip.headers").ok());
}

TEST(SipHeaders, ValuesMustNotBreakTheLine) {
  EXPECT_TRUE(validate_header_value("account 42; tier=gold", "sip.headers.X-A").ok());
  EXPECT_TRUE(validate_header_value("tab\tinside", "sip.headers.X-A").ok());
  EXPECT_TRUE(validate_header_value("", "sip.headers.X-A").ok());
  for (std::string bad : {std::string("a\r\nVia: x"), std::string("a\rb"), std::string("a\nb"),
                          std::string("a\0b", 3), std::string("a\x01"), std::string(1025, 'x')}) {
    Status s = validate_header_value(bad, "sip.headers.X-A");
    EXPECT_FALSE(s.ok());
    if (!s.ok()) {
      EXPECT_EQ(s.message().rfind("sip.headers.X-A: ", 0), 0u);
    }
  }
}

TEST(Dtmf, OnlyDigitsStarHashAndPause) {
  EXPECT_TRUE(validate_dtmf_digits("0123456789*#p", "digits").ok());
  EXPECT_TRUE(validate_dtmf_digits(std::string(kMaxDtmfDigits, '1'), "digits").ok());
  for (std::string bad : {std::string(""), std::string("12a"), std::string("1 2"), std::string("P"),
                          std::string("A"), std::string("1\n"), std::string(kMaxDtmfDigits + 1, '1')}) {
    Status s = validate_dtmf_digits(bad, "digits");
    EXPECT_FALSE(s.ok()) << "accepted: " << bad;
    if (!s.ok()) {
      EXPECT_EQ(s.message().rfind("digits: ", 0), 0u);
    }
  }
}

TEST(Ids, UrlSafeAndBounded) {
  EXPECT_TRUE(validate_id("2b6ad1c4-5bd1-4d4e-9e0b-4f0e8c2bb5ad", "sessionId").ok());
  EXPECT_TRUE(validate_id("1_MX40NTY3~fQ.x", "sessionId").ok());
  for (std::string bad : {std::string(""), std::string("a/b"), std::string("a b"), std::string("a%20"),
                          std::string("a\r\n"), std::string(129, 'a')}) {
    EXPECT_FALSE(validate_id(bad, "sessionId").ok()) << bad;
  }
}

}  // namespace
}  // namespace sipmix::gw
