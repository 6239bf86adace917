// RTP header parse/serialize: round trips, RFC 8285 extensions, RFC 6464
// audio level, and malformed input.
#include "rtp/rtp_packet.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "base/seq_num.h"

namespace sipmix::rtp {
namespace {

std::vector<uint8_t> bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

std::vector<uint8_t> build(const RtpHeader& h, std::span<const HeaderExtensionElement> ext,
                           std::span<const uint8_t> payload) {
  std::vector<uint8_t> out(kMaxRtpPacketSize);
  const size_t n = write_rtp(h, ext, payload, out);
  EXPECT_GT(n, 0u);
  out.resize(n);
  return out;
}

bool within(std::span<const uint8_t> inner, std::span<const uint8_t> outer) {
  return inner.empty() || (inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size());
}

// A packet with every feature: CSRCs, one-byte extensions with audio level, padding.
struct FullPacket {
  std::array<uint32_t, 3> csrcs{0x11111111, 0x22222222, 0xFEDCBA98};
  std::array<uint8_t, 1> level{0x80 | 42};  // voice, -42 dBov
  std::vector<uint8_t> ext3 = bytes(4, 9);
  std::vector<uint8_t> ext14 = bytes(16, 3);
  std::vector<uint8_t> payload = bytes(160, 1);
  std::vector<uint8_t> packet;
  FullPacket() {
    RtpHeader h;
    h.marker = true;
    h.payload_type = 111;
    h.sequence_number = 0xFFFF;
    h.timestamp = 0xFFFFFF00u;
    h.ssrc = 0xDEADBEEF;
    h.csrcs = csrcs;
    h.padding_size = 7;
    const HeaderExtensionElement ext[] = {{1, level}, {3, ext3}, {14, ext14}};
    packet = build(h, ext, payload);
  }
};

TEST(RtpPacket, RoundTripWithCsrcsOneByteExtensionsAndPadding) {
  FullPacket f;
  auto p = parse_rtp(f.packet);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->version, 2);
  EXPECT_TRUE(p->marker);
  EXPECT_TRUE(p->padding);
  EXPECT_TRUE(p->extension);
  EXPECT_EQ(p->payload_type, 111);
  EXPECT_EQ(p->sequence_number, 0xFFFF);
  EXPECT_EQ(p->timestamp, 0xFFFFFF00u);
  EXPECT_EQ(p->ssrc, 0xDEADBEEFu);
  ASSERT_EQ(p->csrc_count, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(p->csrcs[i], f.csrcs[i]);
  EXPECT_EQ(p->extension_profile, 0xBEDE);
  EXPECT_EQ(p->padding_size, 7u);
  EXPECT_EQ(p->extension_data.size() % 4, 0u);
  EXPECT_EQ(p->header_size, kRtpHeaderSize + 12 + 4 + p->extension_data.size());
  ASSERT_EQ(p->payload.size(), f.payload.size());
  EXPECT_EQ(0, std::memcmp(p->payload.data(), f.payload.data(), f.payload.size()));
  EXPECT_EQ(f.packet.size(), p->header_size + f.payload.size() + 7);

  auto e3 = find_header_extension(*p, 3);
  ASSERT_TRUE(e3);
  EXPECT_EQ(std::vector<uint8_t>(e3->begin(), e3->end()), f.ext3);
  auto e14 = find_header_extension(*p, 14);
  ASSERT_TRUE(e14);
  EXPECT_EQ(std::vector<uint8_t>(e14->begin(), e14->end()), f.ext14);
  EXPECT_FALSE(find_header_extension(*p, 2));
  EXPECT_FALSE(find_header_extension(*p, 0));

  auto level = parse_audio_level(*p, 1);
  ASSERT_TRUE(level);
  EXPECT_TRUE(level->voice_activity);
  EXPECT_EQ(level->level_dbov, 42);

  HeaderExtensionElement list[8];
  auto n = parse_header_extensions(*p, list);
  ASSERT_TRUE(n);
  ASSERT_EQ(*n, 3u);
  EXPECT_EQ(list[0].id, 1);
  EXPECT_EQ(list[1].id, 3);
  EXPECT_EQ(list[2].id, 14);
  HeaderExtensionElement too_small[2];
  EXPECT_FALSE(parse_header_extensions(*p, too_small));
}

TEST(RtpPacket, TwoByteExtensionsRoundTrip) {
  const std::vector<uint8_t> big = bytes(200, 5);
  const std::vector<uint8_t> small = bytes(2, 77);
  const std::array<uint8_t, 1> silence{0x7F};  // no voice, silence
  const HeaderExtensionElement ext[] = {{20, big}, {2, {}}, {5, silence}, {255, small}};
  RtpHeader h;
  h.payload_type = 96;
  h.sequence_number = 0;
  h.ssrc = 1;
  const std::vector<uint8_t> payload = bytes(33, 2);
  const auto packet = build(h, ext, payload);
  auto p = parse_rtp(packet);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->extension_profile, 0x1000);
  EXPECT_FALSE(p->padding);
  HeaderExtensionElement list[8];
  auto n = parse_header_extensions(*p, list);
  ASSERT_TRUE(n);
  ASSERT_EQ(*n, 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(list[i].id, ext[i].id);
    ASSERT_EQ(list[i].data.size(), ext[i].data.size());
    if (!ext[i].data.empty()) {
      EXPECT_EQ(0, std::memcmp(list[i].data.data(), ext[i].data.data(), ext[i].data.size()));
    }
  }
  auto level = parse_audio_level(*p, 5);
  ASSERT_TRUE(level);
  EXPECT_FALSE(level->voice_activity);
  EXPECT_EQ(level->level_dbov, 127);
  EXPECT_FALSE(parse_audio_level(*p, 2));  // empty element carries no level
  ASSERT_EQ(p->payload.size(), payload.size());
  EXPECT_EQ(0, std::memcmp(p->payload.data(), payload.data(), payload.size()));
}

TEST(RtpPacket, OneByteExtensionPaddingBetweenElementsAndReservedId15) {
  // Hand-built: 0xBEDE, 2 words: [id1 len1: aa bb] [pad] [pad] [id2 len1: cc] [id15 ...]
  const uint8_t pkt[] = {0x90, 0x00, 0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 2,  //
                         0xBE, 0xDE, 0x00, 0x02,                          //
                         0x11, 0xAA, 0xBB, 0x00, 0x00, 0x20, 0xCC, 0xF0,  //
                         0x55};
  auto p = parse_rtp(pkt);
  ASSERT_TRUE(p);
  auto e1 = find_header_extension(*p, 1);
  ASSERT_TRUE(e1);
  EXPECT_EQ(e1->size(), 2u);
  EXPECT_EQ((*e1)[1], 0xBB);
  auto e2 = find_header_extension(*p, 2);
  ASSERT_TRUE(e2);
  EXPECT_EQ(e2->size(), 1u);
  EXPECT_EQ((*e2)[0], 0xCC);
  HeaderExtensionElement list[4];
  auto n = parse_header_extensions(*p, list);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2u);  // processing stops at the reserved id 15
  ASSERT_EQ(p->payload.size(), 1u);
  EXPECT_EQ(p->payload[0], 0x55);
}

TEST(RtpPacket, OneByteIdZeroIsSkippedAsPaddingWhateverItsLength) {
  // 0x06 = ID 0 with a length nibble: one padding byte, then element 2.
  const uint8_t pkt[] = {0x90, 0x00, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xBE, 0xDE, 0x00, 0x01, 0x06, 0x21, 0xAA, 0xBB};
  auto p = parse_rtp(pkt);
  ASSERT_TRUE(p);
  HeaderExtensionElement list[4];
  auto n = parse_header_extensions(*p, list);
  ASSERT_TRUE(n);
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(list[0].id, 2);
  EXPECT_EQ(list[0].data.size(), 2u);
  EXPECT_FALSE(find_header_extension(*p, 0));
}

TEST(RtpPacket, ExtensionElementOverrunIsRejected) {
  // One-byte element claims 4 bytes, only 3 remain in the block.
  const uint8_t pkt[] = {0x90, 0x00, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xBE, 0xDE, 0x00, 0x01, 0x13, 1, 2, 3};
  auto p = parse_rtp(pkt);
  ASSERT_TRUE(p);  // the header itself is within bounds
  EXPECT_FALSE(find_header_extension(*p, 1));
  HeaderExtensionElement list[4];
  EXPECT_FALSE(parse_header_extensions(*p, list));
  // Two-byte element claiming 9 bytes in a 4-byte block.
  const uint8_t pkt2[] = {0x90, 0x00, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0x10, 0x00, 0x00, 0x01, 0x01, 9, 1, 2};
  p = parse_rtp(pkt2);
  ASSERT_TRUE(p);
  EXPECT_FALSE(find_header_extension(*p, 1));
  EXPECT_FALSE(parse_header_extensions(*p, list));
  // Unknown profile: no elements can be found.
  const uint8_t pkt3[] = {0x90, 0x00, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0x12, 0x34, 0x00, 0x01, 0x11, 1, 2, 3};
  p = parse_rtp(pkt3);
  ASSERT_TRUE(p);
  EXPECT_FALSE(find_header_extension(*p, 1));
}

TEST(RtpPacket, ExtensionLengthOverrunIsRejected) {
  FullPacket f;
  std::vector<uint8_t> pkt = f.packet;
  const size_t ext_len_pos = kRtpHeaderSize + 12 + 2;
  pkt[ext_len_pos] = 0x40;  // 0x40xx words, far beyond the packet
  EXPECT_FALSE(parse_rtp(pkt));
  pkt[ext_len_pos] = 0xFF;
  pkt[ext_len_pos + 1] = 0xFF;
  EXPECT_FALSE(parse_rtp(pkt));
}

TEST(RtpPacket, EveryTruncationIsRejectedOrParsedWithinBounds) {
  FullPacket f;
  for (size_t len = 0; len < f.packet.size(); ++len) {
    // Copy so that the sanitizers see reads past `len`.
    std::vector<uint8_t> cut(f.packet.begin(), f.packet.begin() + len);
    auto p = parse_rtp(cut);
    if (len < kRtpHeaderSize + 12 + 4 + 24) {
      EXPECT_FALSE(p) << "len " << len;  // header, CSRCs or extension cut
    }
    if (!p) continue;
    EXPECT_TRUE(within(p->payload, cut)) << "len " << len;
    EXPECT_TRUE(within(p->extension_data, cut)) << "len " << len;
    EXPECT_LE(p->header_size + p->payload.size() + p->padding_size, len);
    if (auto e = find_header_extension(*p, 14)) {
      EXPECT_TRUE(within(*e, cut));
    }
  }
}

TEST(RtpPacket, BadVersionIsRejected) {
  FullPacket f;
  for (uint8_t v : {0, 1, 3}) {
    std::vector<uint8_t> pkt = f.packet;
    pkt[0] = static_cast<uint8_t>((pkt[0] & 0x3F) | (v << 6));
    EXPECT_FALSE(parse_rtp(pkt)) << "version " << int{v};
  }
}

TEST(RtpPacket, PaddingLargerThanPayloadOrZeroIsRejected) {
  const std::vector<uint8_t> payload = bytes(10, 1);
  RtpHeader h;
  h.payload_type = 0;
  h.padding_size = 4;
  auto pkt = build(h, {}, payload);
  ASSERT_TRUE(parse_rtp(pkt));
  pkt.back() = 15;  // payload 10 + padding 4 = 14 bytes available
  EXPECT_FALSE(parse_rtp(pkt));
  pkt.back() = 0;
  EXPECT_FALSE(parse_rtp(pkt));
  pkt.back() = 14;  // padding takes the whole payload: empty payload, still valid
  auto p = parse_rtp(pkt);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->payload.empty());
  EXPECT_EQ(p->padding_size, 14u);
  // Header-only packet with the P bit set: the pad byte would be inside the header.
  std::vector<uint8_t> hdr(pkt.begin(), pkt.begin() + kRtpHeaderSize);
  hdr.back() = 1;
  EXPECT_FALSE(parse_rtp(hdr));
}

TEST(RtpPacket, CsrcCountOverrunIsRejected) {
  uint8_t pkt[12 + 14 * 4] = {};
  pkt[0] = 0x80 | 15;  // 15 CSRCs need 60 bytes, 56 present
  EXPECT_FALSE(parse_rtp(pkt));
  pkt[0] = 0x80 | 14;
  auto p = parse_rtp(pkt);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->csrc_count, 14);
  EXPECT_TRUE(p->payload.empty());
}

TEST(RtpPacket, WriteRejectsTooSmallBuffersAndInvalidElements) {
  FullPacket f;
  const size_t need = f.packet.size();
  auto p = parse_rtp(f.packet);
  ASSERT_TRUE(p);
  RtpHeader h;
  h.payload_type = 111;
  h.csrcs = f.csrcs;
  h.padding_size = 7;
  const HeaderExtensionElement ext[] = {{1, f.level}, {3, f.ext3}, {14, f.ext14}};
  std::vector<uint8_t> out(need);
  EXPECT_EQ(write_rtp(h, ext, f.payload, out), need);
  for (size_t n = 0; n < need; ++n) {
    std::vector<uint8_t> small(n);
    EXPECT_EQ(write_rtp(h, ext, f.payload, small), 0u) << n;
  }
  const HeaderExtensionElement id0[] = {{0, f.level}};
  EXPECT_EQ(write_rtp(h, id0, f.payload, out), 0u);
  const std::vector<uint8_t> huge(256, 1);
  const HeaderExtensionElement too_big[] = {{1, huge}};
  EXPECT_EQ(write_rtp(h, too_big, f.payload, out), 0u);
  const std::array<uint32_t, 16> many{};
  h.csrcs = many;
  EXPECT_EQ(write_rtp(h, {}, f.payload, out), 0u);
  h.csrcs = {};
  h.payload_type = 128;
  EXPECT_EQ(write_rtp(h, {}, f.payload, out), 0u);
}

TEST(RtpPacket, SequenceNumbersCrossingWrapParseInOrder) {
  std::vector<uint8_t> payload = bytes(20, 3);
  SeqUnwrapper unwrap;
  int64_t last = -1;
  uint16_t prev = 0;
  int count = 0;
  for (uint32_t i = 0; i < 8; ++i) {
    RtpHeader h;
    h.payload_type = 0;
    h.sequence_number = static_cast<uint16_t>(0xFFFC + i);  // FFFC .. 0003
    h.timestamp = 0xFFFFFD80u + i * 160;                    // wraps too
    h.ssrc = 42;
    auto pkt = build(h, {}, payload);
    auto p = parse_rtp(pkt);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->sequence_number, h.sequence_number);
    EXPECT_EQ(p->timestamp, h.timestamp);
    const int64_t ext = unwrap.unwrap(p->sequence_number);
    if (count > 0) {
      EXPECT_TRUE(is_newer_seq(p->sequence_number, prev));
      EXPECT_EQ(ext, last + 1);
    }
    last = ext;
    prev = p->sequence_number;
    ++count;
  }
  EXPECT_EQ(last, 0xFFFC + 7);
}

TEST(RtpPacket, LooksLikeRtcp) {
  const uint8_t sr[] = {0x80, 200, 0, 6};
  const uint8_t pli[] = {0x81, 206, 0, 2};
  const uint8_t rtp_pcmu[] = {0x80, 0x00, 0, 1};
  const uint8_t rtp_marker_opus[] = {0x80, 0x80 | 111, 0, 1};
  const uint8_t bad_version[] = {0x40, 200, 0, 6};
  EXPECT_TRUE(looks_like_rtcp(sr));
  EXPECT_TRUE(looks_like_rtcp(pli));
  EXPECT_FALSE(looks_like_rtcp(rtp_pcmu));
  EXPECT_FALSE(looks_like_rtcp(rtp_marker_opus));
  EXPECT_FALSE(looks_like_rtcp(bad_version));
  EXPECT_FALSE(looks_like_rtcp(std::span<const uint8_t>(sr, 1)));
}

}  // namespace
}  // namespace sipmix::rtp
