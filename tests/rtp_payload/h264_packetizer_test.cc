// Packetizers on synthetic frames: MTU, STAP-A grouping, balanced FU-A,
// marker, sequence numbers, VP8 PictureID, rollback when the list is full.
#include <gtest/gtest.h>

#include <vector>

#include "rtp/rtp_packet.h"
#include "rtp_payload/frame_assembler.h"
#include "rtp_payload/h264_packetizer.h"
#include "rtp_payload/vp8_packetizer.h"

namespace sipmix::video {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes nal(uint8_t header, size_t size) {
  Bytes n(size, 0x5A);
  n[0] = header;
  if (size > 1) n[1] = 0x88;  // a slice's first_mb_in_slice = 0
  return n;
}
Bytes annexb(std::initializer_list<Bytes> nals) {
  Bytes s;
  for (const Bytes& n : nals) {
    s.insert(s.end(), {0, 0, 0, 1});
    s.insert(s.end(), n.begin(), n.end());
  }
  return s;
}

TEST(H264Packetizer, GroupsSmallNalsFragmentsLargeOnesAndRoundTrips) {
  PacketizerConfig pc;
  pc.first_sequence_number = 65534;
  pc.ssrc = 77;
  auto pk = h264::Packetizer::create(pc);
  ASSERT_TRUE(pk.ok());
  const Bytes sps = nal(0x67, 12), pps = nal(0x68, 5), idr = nal(0x65, 5000);
  const Bytes au = annexb({sps, pps, idr});
  RtpPacketList list;
  ASSERT_TRUE(pk->packetize(au, 1234, list));
  // STAP-A(SPS, PPS) + ceil(4999 / 1186) = 5 FU-A packets.
  ASSERT_EQ(list.size(), 6u);
  size_t min_fu = SIZE_MAX, max_fu = 0;
  FrameAssembler a(VideoCodec::kH264);
  const AssembledFrame* f = nullptr;
  for (size_t i = 0; i < list.size(); ++i) {
    EXPECT_LE(list[i].size(), 1200u);
    const auto p = rtp::parse_rtp(list[i]);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->sequence_number, static_cast<uint16_t>(65534 + i));
    EXPECT_EQ(p->timestamp, 1234u);
    EXPECT_EQ(p->ssrc, 77u);
    EXPECT_EQ(p->marker, i + 1 == list.size());
    if (i == 0) {
      EXPECT_EQ(p->payload[0] & 0x1F, 24);
    } else {
      EXPECT_EQ(p->payload[0] & 0x1F, 28);
      min_fu = std::min(min_fu, p->payload.size());
      max_fu = std::max(max_fu, p->payload.size());
    }
    f = a.push(*p);
  }
  EXPECT_LE(max_fu - min_fu, 1u);  // balanced fragments
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->keyframe);
  EXPECT_EQ(Bytes(f->data.begin(), f->data.end()), au);
  EXPECT_EQ(pk->next_sequence_number(), static_cast<uint16_t>(65534 + 6));
}

TEST(H264Packetizer, NalOfExactlyThePayloadSizeGoesAloneAndStapAStaysWithinMtu) {
  auto pk = h264::Packetizer::create({});
  ASSERT_TRUE(pk.ok());
  RtpPacketList list;
  // 1188 bytes fit one packet exactly; 100 NALs of 100 bytes need several STAP-As.
  ASSERT_TRUE(pk->packetize(annexb({nal(0x65, 1188)}), 0, list));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].size(), 1200u);
  list.clear();
  Bytes many;
  for (int i = 0; i < 100; ++i) {
    const Bytes s = annexb({nal(0x41, 100)});
    many.insert(many.end(), s.begin(), s.end());
  }
  ASSERT_TRUE(pk->packetize(many, 0, list));
  size_t nals = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    EXPECT_LE(list[i].size(), 1200u);
    const auto p = rtp::parse_rtp(list[i]);
    if ((p->payload[0] & 0x1F) == 24) {
      nals += (p->payload.size() - 1) / 102;
    } else {
      EXPECT_EQ(i + 1, list.size()) << "only the leftover NAL goes alone";
      ++nals;
    }
  }
  EXPECT_EQ(nals, 100u);
  EXPECT_EQ(list.size(), 10u);  // 11 per STAP-A (1 + 11 * 102 = 1123 <= 1188), 9 of them, + 1 single
}

TEST(H264Packetizer, FullListRollsBackAndEmptyInputFails) {
  auto pk = h264::Packetizer::create({});
  ASSERT_TRUE(pk.ok());
  RtpPacketList small(3);
  EXPECT_FALSE(pk->packetize(annexb({nal(0x65, 10000)}), 0, small));
  EXPECT_EQ(small.size(), 0u);
  EXPECT_EQ(pk->next_sequence_number(), 0);
  EXPECT_FALSE(pk->packetize(Bytes{0, 0, 0, 1}, 0, small));
  EXPECT_FALSE(pk->packetize(Bytes{}, 0, small));
  PacketizerConfig bad;
  bad.mtu_bytes = 14;
  EXPECT_FALSE(h264::Packetizer::create(bad).ok());
}

TEST(Vp8Packetizer, BalancedPacketsWithPictureIdThatWraps) {
  auto pk = vp8::Packetizer::create({}, 0x7FFF);
  ASSERT_TRUE(pk.ok());
  Bytes frame(3000);
  for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>(i * 7);
  frame[0] = 0x50;  // keyframe tag + start code + 64x48
  const Bytes hdr = {0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x00, 0x30, 0x00};
  std::copy(hdr.begin(), hdr.end(), frame.begin());
  FrameAssembler a(VideoCodec::kVp8);
  for (int n = 0; n < 2; ++n) {
    RtpPacketList list;
    ASSERT_TRUE(pk->packetize(frame, 3000u * n, list));
    ASSERT_EQ(list.size(), 3u);  // ceil(3000 / 1184)
    const AssembledFrame* f = nullptr;
    for (size_t i = 0; i < list.size(); ++i) {
      EXPECT_LE(list[i].size(), 1200u);
      const auto p = rtp::parse_rtp(list[i]);
      EXPECT_EQ(p->marker, i == 2);
      EXPECT_EQ(p->payload[0], i == 0 ? 0x90 : 0x80);
      f = a.push(*p);
    }
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->picture_id, n == 0 ? 0x7FFF : 0);
    EXPECT_EQ(f->width, 64);
    EXPECT_EQ(Bytes(f->data.begin(), f->data.end()), frame);
  }
}

}  // namespace
}  // namespace sipmix::video
