// Our SDP: what the offer promises, how answers and in-dialog offers are
// negotiated into the leg's configuration, and the errors that end a call.
#include <gtest/gtest.h>

#include "gateway/sip/sdp.h"

namespace sipmix::gw {
namespace {

LocalMedia local(bool secure, bool video) {
  LocalMedia l;
  l.ip = "127.0.0.1";
  l.audio_port = 40000;
  l.video_port = 40002;
  l.secure = secure;
  l.video = video;
  if (secure) {
    auto c = make_sdes_crypto();
    EXPECT_TRUE(c.ok());
    l.audio_crypto = *c;
    l.video_crypto = *c;
  }
  return l;
}

std::string answer(const std::string& media) {
  return "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n" + media;
}

TEST(SipSdpTest, OfferListsEveryAudioCodecWithTelephoneEventAtBothClocks) {
  const std::string o = write_offer(local(false, false));
  EXPECT_NE(o.find("m=audio 40000 RTP/AVP 111 9 0 8 110 101\r\n"), std::string::npos) << o;
  for (const char* line : {"a=rtpmap:111 opus/48000/2", "a=rtpmap:9 G722/8000", "a=rtpmap:0 PCMU/8000",
                           "a=rtpmap:8 PCMA/8000", "a=rtpmap:110 telephone-event/48000",
                           "a=rtpmap:101 telephone-event/8000", "c=IN IP4 127.0.0.1"})
    EXPECT_NE(o.find(line), std::string::npos) << line;
  EXPECT_EQ(o.find("m=video"), std::string::npos);
  EXPECT_EQ(o.find("a=crypto"), std::string::npos);
}

TEST(SipSdpTest, VideoOfferHasH264PacketizationMode1AndVp8) {
  const std::string o = write_offer(local(false, true));
  EXPECT_NE(o.find("m=video 40002 RTP/AVP 96 97"), std::string::npos) << o;
  EXPECT_NE(o.find("a=fmtp:96 packetization-mode=1;profile-level-id=42e01f"), std::string::npos);
  EXPECT_NE(o.find("a=rtpmap:97 VP8/90000"), std::string::npos);
}

TEST(SipSdpTest, SecureOfferIsSavpWithFreshKeysForBothSuites) {
  const LocalMedia l = local(true, false);
  const std::string o = write_offer(l);
  EXPECT_NE(o.find("m=audio 40000 RTP/SAVP "), std::string::npos);
  ASSERT_EQ(l.audio_crypto.size(), 2u);
  EXPECT_NE(o.find("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"), std::string::npos) << o;
  EXPECT_NE(o.find("a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"), std::string::npos) << o;
  EXPECT_EQ(l.audio_crypto[0].key_params.size(), 7u + 40u);  // 30 bytes of key and salt
  EXPECT_NE(l.audio_crypto[0].key_params, l.audio_crypto[1].key_params);
  EXPECT_NE(local(true, false).audio_crypto[0].key_params, l.audio_crypto[0].key_params);
}

TEST(SipSdpTest, AnswerChoosesItsFirstCommonCodecAndMatchingTelephoneEvent) {
  auto s = parse_sdp(answer("m=audio 5004 RTP/AVP 111 110\r\na=rtpmap:111 opus/48000/2\r\n"
                            "a=rtpmap:110 telephone-event/48000\r\na=rtcp:5010\r\n"));
  ASSERT_TRUE(s.ok());
  auto n = negotiate_answer(local(false, false), *s);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(n->audio_codec, AudioCodec::kOpus);
  EXPECT_EQ(n->audio_pt, 111);
  EXPECT_EQ(n->audio_clock_hz, 48000);
  EXPECT_EQ(n->telephone_event_pt, 110);
  EXPECT_EQ(n->telephone_event_clock_hz, 48000);
  EXPECT_EQ(n->remote_ip, "10.0.0.5");
  EXPECT_EQ(n->remote_audio_port, 5004);
  EXPECT_EQ(n->remote_audio_rtcp_port, 5010);
  LegConfig leg;
  apply_to_leg(*n, leg);
  EXPECT_EQ(leg.audio_codec, AudioCodec::kOpus);
  EXPECT_EQ(leg.telephone_event_payload_type, 110);
  EXPECT_EQ(leg.telephone_event_clock_hz, 48000);
}

TEST(SipSdpTest, StaticPayloadTypesWorkWithoutRtpmap) {
  auto s = parse_sdp(answer("m=audio 5004 RTP/AVP 9\r\n"));
  ASSERT_TRUE(s.ok());
  auto n = negotiate_answer(local(false, false), *s);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->audio_codec, AudioCodec::kG722);
  EXPECT_EQ(n->audio_clock_hz, 8000);
  EXPECT_EQ(n->telephone_event_pt, -1);
}

TEST(SipSdpTest, SecureAnswerTakesTheEndpointsKeyAndOurKeyOfTheSameTag) {
  const LocalMedia l = local(true, false);
  auto s = parse_sdp(answer("m=audio 5004 RTP/SAVP 0\r\n"
                            "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"));
  ASSERT_TRUE(s.ok());
  auto n = negotiate_answer(l, *s);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_TRUE(n->secure);
  EXPECT_EQ(n->local_crypto.suite, "AES_CM_128_HMAC_SHA1_32");
  EXPECT_EQ(n->local_crypto.key_params, l.audio_crypto[1].key_params);
  EXPECT_EQ(n->remote_crypto.key_params, "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz");
  LegConfig leg;
  apply_to_leg(*n, leg);
  EXPECT_TRUE(leg.secure);
  EXPECT_EQ(leg.srtp_suite, SrtpSuite::kAesCm128HmacSha1_32);
}

TEST(SipSdpTest, AnswersThatCannotCarryTheCallSayWhy) {
  struct Case {
    bool secure;
    std::string media;
    std::string why;
  };
  const Case cases[] = {
      {true, "m=audio 5004 RTP/SAVP 0\r\n", "no acceptable crypto"},
      {true, "m=audio 5004 RTP/SAVP 0\r\na=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:short\r\n", "no acceptable crypto"},
      {true, "m=audio 5004 RTP/AVP 0\r\n", "not RTP/SAVP"},
      {false, "m=audio 5004 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n", "no common audio codec"},
      {false, "m=audio 0 RTP/AVP 0\r\n", "refused the audio stream"},
      {false, "m=video 5006 RTP/AVP 96\r\n", "no audio stream"},
  };
  for (const Case& c : cases) {
    auto s = parse_sdp(answer(c.media));
    ASSERT_TRUE(s.ok());
    auto n = negotiate_answer(local(c.secure, false), *s);
    ASSERT_FALSE(n.ok()) << c.media;
    EXPECT_NE(n.status().message().find(c.why), std::string::npos) << n.status().message();
  }
  EXPECT_FALSE(parse_sdp("hello").ok());
  EXPECT_FALSE(parse_sdp("v=0\r\nm=audio x RTP/AVP 0\r\n").ok());
}

TEST(SipSdpTest, HoldOffersAreRecognisedAndAnsweredWithTheMirrorDirection) {
  const LocalMedia l = local(false, false);
  auto first = negotiate_answer(l, *parse_sdp(answer("m=audio 5004 RTP/AVP 0 101\r\n"
                                                      "a=rtpmap:101 telephone-event/8000\r\n")));
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->on_hold());
  struct Case {
    std::string media;
    bool hold;
    const char* our_attr;
  };
  const Case cases[] = {
      {"m=audio 5004 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n", true, "a=recvonly"},
      {"m=audio 5004 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=inactive\r\n", true, "a=inactive"},
      {"m=audio 0 RTP/AVP 0\r\n", true, "m=audio 0 "},
      {"m=audio 5004 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", false, "a=sendrecv"},
  };
  for (const Case& c : cases) {
    auto n = negotiate_offer(l, *first, *parse_sdp(answer(c.media)));
    ASSERT_TRUE(n.ok()) << c.media << n.status().message();
    EXPECT_EQ(n->on_hold(), c.hold) << c.media;
    const std::string a = write_answer(l, *n);
    EXPECT_NE(a.find(c.our_attr), std::string::npos) << a;
    EXPECT_TRUE(n->same_media_config(*first)) << c.media;  // hold changes no codec
  }
  // a= direction at session level applies to the media
  auto n = negotiate_offer(l, *first, *parse_sdp("v=0\r\no=- 1 2 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\n"
                                                  "t=0 0\r\na=sendonly\r\nm=audio 5004 RTP/AVP 0\r\n"));
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->on_hold());
}

TEST(SipSdpTest, ReOfferWithANewAddressOrCodecChangesTheLeg) {
  const LocalMedia l = local(false, false);
  auto first = negotiate_answer(l, *parse_sdp(answer("m=audio 5004 RTP/AVP 0\r\n")));
  ASSERT_TRUE(first.ok());
  auto moved = negotiate_offer(l, *first, *parse_sdp("v=0\r\no=- 1 2 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\n"
                                                     "t=0 0\r\nm=audio 6000 RTP/AVP 8 0\r\n"));
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->remote_ip, "10.0.0.9");
  EXPECT_EQ(moved->remote_audio_port, 6000);
  EXPECT_EQ(moved->audio_codec, AudioCodec::kPcmu);  // the current codec is kept while offered
  EXPECT_TRUE(moved->same_media_config(*first));
  auto changed = negotiate_offer(l, *first, *parse_sdp(answer("m=audio 5004 RTP/AVP 8\r\n")));
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->audio_codec, AudioCodec::kPcma);
  EXPECT_FALSE(changed->same_media_config(*first));
  EXPECT_NE(write_answer(l, *changed).find("m=audio 40000 RTP/AVP 8\r\n"), std::string::npos);
}

TEST(SipSdpTest, VideoAnswerNeedsPacketizationMode1ForH264) {
  const LocalMedia l = local(false, true);
  auto no_mode = negotiate_answer(l, *parse_sdp(answer("m=audio 5004 RTP/AVP 0\r\nm=video 5006 RTP/AVP 96\r\n"
                                                       "a=rtpmap:96 H264/90000\r\n")));
  ASSERT_TRUE(no_mode.ok());
  EXPECT_FALSE(no_mode->video);
  auto h264 = negotiate_answer(l, *parse_sdp(answer("m=audio 5004 RTP/AVP 0\r\nm=video 5006 RTP/AVP 100\r\n"
                                                    "a=rtpmap:100 H264/90000\r\n"
                                                    "a=fmtp:100 profile-level-id=42e01f;packetization-mode=1\r\n")));
  ASSERT_TRUE(h264.ok());
  EXPECT_TRUE(h264->video);
  EXPECT_EQ(h264->video_codec, VideoCodec::kH264);
  EXPECT_EQ(h264->video_pt, 100);
  EXPECT_EQ(h264->remote_video_port, 5006);
  auto vp8 = negotiate_answer(l, *parse_sdp(answer("m=audio 5004 RTP/AVP 0\r\nm=video 5006 RTP/AVP 97\r\n"
                                                   "a=rtpmap:97 VP8/90000\r\n")));
  ASSERT_TRUE(vp8.ok());
  EXPECT_EQ(vp8->video_codec, VideoCodec::kVp8);
}

}  // namespace
}  // namespace sipmix::gw
