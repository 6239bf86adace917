// Depacketizers and frame assembly on hand-built packets: RFC 7741
// descriptors, RFC 6184 single NAL / STAP-A / FU-A, loss, missing marker,
// duplicates, sequence wrap, garbage; and the keyframe request throttle.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "rtp_payload/frame_assembler.h"
#include "rtp_payload/h264_depacketizer.h"
#include "video_codec/keyframe_policy.h"
#include "rtp_payload/vp8_payload.h"

namespace sipmix::video {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// --- VP8 ------------------------------------------------------------------

TEST(Vp8Descriptor, ParsesEveryOptionalField) {
  // X, N, S, PID 2 | I L T K | M + 15-bit 0x1234 | TL0PICIDX 7 | TID 2, Y, KEYIDX 5
  const Bytes p = {0xB2, 0xF0, 0x92, 0x34, 0x07, 0xA5, 0xAA};
  const auto d = vp8::parse_descriptor(p);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->non_reference);
  EXPECT_TRUE(d->start_of_partition);
  EXPECT_EQ(d->partition_id, 2);
  EXPECT_EQ(d->picture_id, 0x1234);
  EXPECT_TRUE(d->picture_id_15bit);
  EXPECT_EQ(d->tl0_pic_idx, 7);
  EXPECT_EQ(d->temporal_id, 2);
  EXPECT_TRUE(d->layer_sync);
  EXPECT_EQ(d->key_idx, 5);
  EXPECT_EQ(d->descriptor_size, 6u);
  EXPECT_FALSE(d->frame_start());
}

TEST(Vp8Descriptor, SevenBitPictureIdAndMinimalForm) {
  const Bytes p7 = {0x90, 0x80, 0x55, 0x00};
  const auto d = vp8::parse_descriptor(p7);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->picture_id, 0x55);
  EXPECT_FALSE(d->picture_id_15bit);
  EXPECT_TRUE(d->frame_start());
  const Bytes minimal = {0x10, 0x00};
  const auto m = vp8::parse_descriptor(minimal);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->descriptor_size, 1u);
  EXPECT_EQ(m->picture_id, -1);
}

TEST(Vp8Descriptor, TruncatedFormsAreRejected) {
  for (const Bytes& p : {Bytes{}, Bytes{0x90}, Bytes{0x90, 0x80}, Bytes{0x90, 0x80, 0x92},
                         Bytes{0x90, 0x80, 0x92, 0x34}, Bytes{0x90, 0x40}, Bytes{0x90, 0x20}, Bytes{0x10}})
    EXPECT_FALSE(vp8::parse_descriptor(p)) << p.size();
}

TEST(Vp8FrameHeader, KeyframeSizeAndInterFrame) {
  // Frame tag with P=0, start code, 640x360.
  const Bytes key = {0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01};
  const auto k = vp8::parse_frame_header(key);
  ASSERT_TRUE(k);
  EXPECT_TRUE(k->keyframe);
  EXPECT_EQ(k->width, 640);
  EXPECT_EQ(k->height, 360);
  const Bytes inter = {0x51, 0x42, 0x00};
  ASSERT_TRUE(vp8::parse_frame_header(inter));
  EXPECT_FALSE(vp8::parse_frame_header(inter)->keyframe);
  Bytes bad = key;
  bad[4] = 0x00;  // broken start code
  EXPECT_FALSE(vp8::parse_frame_header(bad));
  EXPECT_FALSE(vp8::parse_frame_header(Bytes(key.begin(), key.begin() + 9)));
}

// VP8 packets: descriptor with 15-bit PictureID, S on the first.
Bytes vp8_packet(bool start, uint16_t picture_id, const Bytes& data) {
  Bytes p = {static_cast<uint8_t>(0x80 | (start ? 0x10 : 0)), 0x80, static_cast<uint8_t>(0x80 | picture_id >> 8),
             static_cast<uint8_t>(picture_id)};
  p.insert(p.end(), data.begin(), data.end());
  return p;
}
const Bytes kVp8Key = {0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xF0, 0x00, 0xAA, 0xBB};
const Bytes kVp8Inter = {0x51, 0x42, 0x00, 0xCC, 0xDD};

TEST(FrameAssemblerVp8, InOrderFramesAreEmittedWithPayloadsConcatenated) {
  FrameAssembler a(VideoCodec::kVp8);
  EXPECT_EQ(a.push(100, 9000, false, vp8_packet(true, 7, kVp8Key)), nullptr);
  EXPECT_EQ(a.push(101, 9000, false, vp8_packet(false, 7, {1, 2, 3})), nullptr);
  const AssembledFrame* f = a.push(102, 9000, true, vp8_packet(false, 7, {4, 5}));
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->keyframe);
  EXPECT_EQ(f->width, 320);
  EXPECT_EQ(f->height, 240);
  EXPECT_EQ(f->picture_id, 7);
  EXPECT_EQ(f->first_sequence_number, 100);
  EXPECT_EQ(f->last_sequence_number, 102);
  EXPECT_EQ(Bytes(f->data.begin(), f->data.end()), cat({kVp8Key, {1, 2, 3}, {4, 5}}));
  f = a.push(103, 12000, true, vp8_packet(true, 8, kVp8Inter));
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(f->keyframe);
  EXPECT_FALSE(a.take_keyframe_request());
}

TEST(FrameAssemblerVp8, LostMiddlePacketDropsUntilKeyframeAndRequestsOne) {
  FrameAssembler a(VideoCodec::kVp8);
  ASSERT_NE(a.push(1, 0, true, vp8_packet(true, 1, kVp8Key)), nullptr);
  a.push(2, 3000, false, vp8_packet(true, 2, kVp8Inter));
  // 3 lost
  EXPECT_EQ(a.push(4, 3000, true, vp8_packet(false, 2, {9})), nullptr);
  EXPECT_TRUE(a.take_keyframe_request());
  EXPECT_FALSE(a.take_keyframe_request());
  EXPECT_TRUE(a.waiting_for_keyframe());
  // A whole inter frame: complete, but it refers to the lost one.
  EXPECT_EQ(a.push(5, 6000, true, vp8_packet(true, 3, kVp8Inter)), nullptr);
  EXPECT_TRUE(a.take_keyframe_request());
  const AssembledFrame* f = a.push(6, 9000, true, vp8_packet(true, 4, kVp8Key));
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->keyframe);
  EXPECT_FALSE(a.waiting_for_keyframe());
  EXPECT_NE(a.push(7, 12000, true, vp8_packet(true, 5, kVp8Inter)), nullptr);
  EXPECT_EQ(a.stats().lost_packets, 1u);
  EXPECT_EQ(a.stats().frames_incomplete, 1u);
  EXPECT_EQ(a.stats().frames_waiting_keyframe, 1u);
}

TEST(FrameAssemblerVp8, LostMarkerPacketDropsTheFrame) {
  FrameAssembler a(VideoCodec::kVp8);
  ASSERT_NE(a.push(10, 0, true, vp8_packet(true, 1, kVp8Key)), nullptr);
  a.push(11, 3000, false, vp8_packet(true, 2, kVp8Inter));
  // 12 (marker of ts 3000) lost; the next frame starts cleanly.
  EXPECT_EQ(a.push(13, 6000, true, vp8_packet(true, 3, kVp8Inter)), nullptr);
  EXPECT_TRUE(a.take_keyframe_request());
  EXPECT_EQ(a.stats().frames_incomplete, 1u);
  // A marker that never came, without a sequence gap, drops the frame too.
  FrameAssembler b(VideoCodec::kVp8);
  b.push(1, 0, false, vp8_packet(true, 1, kVp8Key));
  EXPECT_EQ(b.push(2, 3000, true, vp8_packet(true, 2, kVp8Key)) != nullptr, true);
  EXPECT_EQ(b.stats().frames_incomplete, 1u);
}

// A keyframe that loses a packet is reported once as broken (the sender
// answered; the answer was damaged); a damaged inter frame is not.
TEST(FrameAssemblerVp8, DamagedKeyframeIsReportedBrokenOnce) {
  FrameAssembler a(VideoCodec::kVp8);
  a.push(1, 0, false, vp8_packet(true, 1, kVp8Key));
  // 2 lost
  EXPECT_EQ(a.push(3, 0, true, vp8_packet(false, 1, {7})), nullptr);
  EXPECT_TRUE(a.take_broken_keyframe());
  EXPECT_FALSE(a.take_broken_keyframe());
  // Its marker lost: the frame is dropped when the next timestamp shows up.
  a.push(4, 3000, false, vp8_packet(true, 2, kVp8Key));
  EXPECT_EQ(a.push(6, 6000, true, vp8_packet(true, 3, kVp8Inter)), nullptr);
  EXPECT_TRUE(a.take_broken_keyframe());
  // An inter frame with a hole is not a broken keyframe.
  a.push(7, 9000, false, vp8_packet(true, 4, kVp8Inter));
  EXPECT_EQ(a.push(9, 9000, true, vp8_packet(false, 4, {1})), nullptr);
  EXPECT_FALSE(a.take_broken_keyframe());
  EXPECT_EQ(a.stats().keyframes_broken, 2u);
  ASSERT_NE(a.push(10, 12000, true, vp8_packet(true, 5, kVp8Key)), nullptr);
  EXPECT_FALSE(a.take_broken_keyframe());
}

TEST(FrameAssemblerVp8, DuplicatesAndOldPacketsAreIgnored) {
  FrameAssembler a(VideoCodec::kVp8);
  a.push(5, 0, false, vp8_packet(true, 1, kVp8Key));
  a.push(5, 0, false, vp8_packet(true, 1, kVp8Key));
  a.push(4, 0, false, vp8_packet(true, 1, kVp8Key));
  const AssembledFrame* f = a.push(6, 0, true, vp8_packet(false, 1, {7}));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(Bytes(f->data.begin(), f->data.end()), cat({kVp8Key, {7}}));
  EXPECT_EQ(a.push(6, 0, true, vp8_packet(false, 1, {7})), nullptr);
  EXPECT_EQ(a.stats().duplicate_or_old, 3u);
  EXPECT_EQ(a.stats().frames_emitted, 1u);
  EXPECT_FALSE(a.waiting_for_keyframe());
}

TEST(FrameAssemblerVp8, SequenceWrapIsContiguous) {
  FrameAssembler a(VideoCodec::kVp8);
  a.push(65534, 0, false, vp8_packet(true, 1, kVp8Key));
  a.push(65535, 0, false, vp8_packet(false, 1, {1}));
  ASSERT_NE(a.push(0, 0, true, vp8_packet(false, 1, {2})), nullptr);
  ASSERT_NE(a.push(1, 3000, true, vp8_packet(true, 2, kVp8Inter)), nullptr);
  EXPECT_EQ(a.stats().lost_packets, 0u);
}

TEST(FrameAssemblerVp8, SignalledLossCountsOnceAndNeedsKeyframe) {
  FrameAssembler a(VideoCodec::kVp8);
  ASSERT_NE(a.push(1, 0, true, vp8_packet(true, 1, kVp8Key)), nullptr);
  a.on_loss(2);  // 2 and 3 never came
  EXPECT_TRUE(a.take_keyframe_request());
  EXPECT_EQ(a.push(4, 6000, true, vp8_packet(true, 3, kVp8Inter)), nullptr);
  EXPECT_EQ(a.stats().lost_packets, 2u);
  ASSERT_NE(a.push(5, 9000, true, vp8_packet(true, 4, kVp8Key)), nullptr);
}

TEST(FrameAssemblerVp8, StreamStartingWithInterFramesWaitsForKeyframe) {
  FrameAssembler a(VideoCodec::kVp8);
  EXPECT_EQ(a.push(1, 0, true, vp8_packet(true, 1, kVp8Inter)), nullptr);
  EXPECT_TRUE(a.take_keyframe_request());
  EXPECT_NE(a.push(2, 3000, true, vp8_packet(true, 2, kVp8Key)), nullptr);
}

TEST(FrameAssemblerVp8, OversizeFrameIsDroppedNotOverflowed) {
  FrameAssembler a(VideoCodec::kVp8, 32);
  a.push(1, 0, false, vp8_packet(true, 1, kVp8Key));
  a.push(2, 0, false, vp8_packet(false, 1, Bytes(20, 1)));
  EXPECT_EQ(a.push(3, 0, true, vp8_packet(false, 1, Bytes(20, 2))), nullptr);
  EXPECT_EQ(a.stats().frames_oversize, 1u);
  EXPECT_NE(a.push(4, 3000, true, vp8_packet(true, 2, kVp8Key)), nullptr);
}

// --- H.264 ----------------------------------------------------------------

const Bytes kSc = {0, 0, 0, 1};
const Bytes kSps = {0x67, 0x42, 0xE0, 0x1F, 0xAB};
const Bytes kPps = {0x68, 0xCE, 0x3C, 0x80};
const Bytes kIdr = {0x65, 0x88, 0x84, 0x21, 0x43};  // first_mb_in_slice = 0
const Bytes kP = {0x41, 0x9A, 0x02, 0x03};

Bytes stap_a(std::initializer_list<Bytes> nals) {
  Bytes p = {0x78};
  for (const Bytes& n : nals) {
    p.push_back(static_cast<uint8_t>(n.size() >> 8));
    p.push_back(static_cast<uint8_t>(n.size()));
    p.insert(p.end(), n.begin(), n.end());
  }
  return p;
}
Bytes fu_a(const Bytes& nal, size_t from, size_t to, bool s, bool e) {
  Bytes p = {static_cast<uint8_t>((nal[0] & 0xE0) | 28),
             static_cast<uint8_t>((s ? 0x80 : 0) | (e ? 0x40 : 0) | (nal[0] & 0x1F))};
  p.insert(p.end(), nal.begin() + static_cast<long>(from), nal.begin() + static_cast<long>(to));
  return p;
}

TEST(FrameAssemblerH264, StapAWithSpsPpsThenFuAIdrMakesAnAnnexBKeyframe) {
  FrameAssembler a(VideoCodec::kH264);
  EXPECT_EQ(a.push(1, 0, false, stap_a({kSps, kPps})), nullptr);
  EXPECT_EQ(a.push(2, 0, false, fu_a(kIdr, 1, 3, true, false)), nullptr);
  EXPECT_EQ(a.push(3, 0, false, fu_a(kIdr, 3, 4, false, false)), nullptr);
  const AssembledFrame* f = a.push(4, 0, true, fu_a(kIdr, 4, 5, false, true));
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->keyframe);
  EXPECT_EQ(Bytes(f->data.begin(), f->data.end()), cat({kSc, kSps, kSc, kPps, kSc, kIdr}));
  // A single-NAL P frame.
  f = a.push(5, 3000, true, kP);
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(f->keyframe);
  EXPECT_EQ(Bytes(f->data.begin(), f->data.end()), cat({kSc, kP}));
}

TEST(FrameAssemblerH264, IdrWithoutAnyParameterSetsIsNotAKeyframe) {
  FrameAssembler a(VideoCodec::kH264);
  EXPECT_EQ(a.push(1, 0, true, kIdr), nullptr);
  EXPECT_TRUE(a.take_keyframe_request());
  ASSERT_NE(a.push(2, 3000, true, stap_a({kSps, kPps, kIdr})), nullptr);
  // Parameter sets seen once are remembered: a bare IDR now restarts decoding.
  a.on_loss(1);
  EXPECT_NE(a.push(4, 9000, true, kIdr), nullptr);
}

TEST(FrameAssemblerH264, ParameterSetsUnderTheirOwnTimestampAreRemembered) {
  FrameAssembler a(VideoCodec::kH264);
  EXPECT_EQ(a.push(1, 0, true, stap_a({kSps, kPps})), nullptr);
  EXPECT_FALSE(a.take_keyframe_request());
  const AssembledFrame* f = a.push(2, 3000, true, kIdr);
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->keyframe);
  EXPECT_EQ(a.stats().frames_incomplete, 0u);
}

// A keyframe carries the picture size of the last SPS that gave one, in
// its own access unit or before it (libx264's 640x360 baseline SPS, VUI and
// emulation prevention bytes included).
TEST(FrameAssemblerH264, KeyframesCarryTheSizeOfTheLastSps) {
  const Bytes sps_360p = {0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00,
                          0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x32, 0x0f, 0x16, 0x2e, 0x48};
  FrameAssembler a(VideoCodec::kH264);
  EXPECT_EQ(a.push(1, 0, true, stap_a({sps_360p, kPps})), nullptr);
  const AssembledFrame* f = a.push(2, 3000, true, kIdr);
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->keyframe);
  EXPECT_EQ(f->width, 640);
  EXPECT_EQ(f->height, 360);
  f = a.push(3, 6000, true, kP);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->width, 0);  // not a keyframe
  f = a.push(4, 9000, true, stap_a({sps_360p, kPps, kIdr}));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->width, 640);
  EXPECT_EQ(f->height, 360);
}

TEST(FrameAssemblerH264, FuAStartAndEndBitsAreEnforced) {
  FrameAssembler a(VideoCodec::kH264);
  // Continuation without a start: the frame cannot be trusted.
  EXPECT_EQ(a.push(1, 0, true, fu_a(kIdr, 1, 5, false, true)), nullptr);
  // Start without an end before the marker.
  a.push(2, 3000, false, stap_a({kSps, kPps}));
  EXPECT_EQ(a.push(3, 3000, true, fu_a(kIdr, 1, 5, true, false)), nullptr);
  // S and E together are forbidden.
  a.push(4, 6000, false, stap_a({kSps, kPps}));
  EXPECT_EQ(a.push(5, 6000, true, fu_a(kIdr, 1, 5, true, true)), nullptr);
  EXPECT_GE(a.stats().malformed_packets, 1u);
  EXPECT_EQ(a.stats().frames_incomplete, 3u);
  EXPECT_EQ(a.stats().frames_emitted, 0u);
  // The proper form works after all that.
  a.push(6, 9000, false, stap_a({kSps, kPps}));
  a.push(7, 9000, false, fu_a(kIdr, 1, 2, true, false));
  EXPECT_NE(a.push(8, 9000, true, fu_a(kIdr, 2, 5, false, true)), nullptr);
}

TEST(FrameAssemblerH264, LostFirstPacketOfAFrameIsDetectedByItsContent) {
  FrameAssembler a(VideoCodec::kH264);
  ASSERT_NE(a.push(1, 0, true, stap_a({kSps, kPps, kIdr})), nullptr);
  // Frame at 3000 was STAP-A(SPS,PPS) + IDR; the STAP-A (seq 2) is lost.
  // first_mb_in_slice of the IDR is 0, so content says "start"; but the
  // gap still forces a keyframe wait and the IDR alone is a keyframe
  // because parameter sets were seen before.
  const AssembledFrame* f = a.push(3, 3000, true, kIdr);
  EXPECT_NE(f, nullptr);
  // A slice that is not the first of its picture cannot open a frame.
  a.on_loss(1);
  const Bytes second_slice = {0x65, 0x20, 0x11};  // first_mb_in_slice != 0
  EXPECT_EQ(a.push(5, 6000, true, second_slice), nullptr);
}

TEST(FrameAssemblerH264, MalformedAndUnsupportedPayloadsAreCounted) {
  FrameAssembler a(VideoCodec::kH264);
  EXPECT_EQ(a.push(1, 0, true, Bytes{0x78, 0x00, 0x09, 0x67}), nullptr);  // STAP-A length overrun
  EXPECT_EQ(a.push(2, 3000, true, Bytes{0x78, 0x00, 0x00}), nullptr);    // zero-length NAL
  EXPECT_EQ(a.push(3, 6000, true, Bytes{0x79, 0x00, 0x01, 0x02}), nullptr);  // STAP-B
  EXPECT_EQ(a.push(4, 9000, true, Bytes{0x7D, 0x85, 0x00}), nullptr);       // FU-B
  EXPECT_EQ(a.push(5, 12000, true, Bytes{0x80}), nullptr);                  // forbidden bit
  EXPECT_EQ(a.push(6, 15000, true, Bytes{}), nullptr);
  EXPECT_EQ(a.stats().unsupported_packets, 0u);  // frames whose first packet was bad never got parsed further
  EXPECT_EQ(a.stats().frames_emitted, 0u);
  EXPECT_EQ(a.stats().frames_incomplete, 6u);
}

TEST(H264Depacketizer, AppendCountsUnsupportedAndMalformedForms) {
  h264::Depacketizer d;
  uint8_t out[64];
  size_t size = 0;
  d.begin_frame();
  EXPECT_EQ(d.append(Bytes{0x79, 0x00, 0x01, 0x02}, out, sizeof(out), &size), h264::Depacketizer::Result::kUnsupported);
  EXPECT_EQ(d.append(Bytes{0x78, 0x00, 0x09, 0x67}, out, sizeof(out), &size), h264::Depacketizer::Result::kMalformed);
  EXPECT_EQ(d.append(Bytes{0x78, 0x00, 0x02, 0x78, 0x00}, out, sizeof(out), &size),
            h264::Depacketizer::Result::kMalformed);  // nested STAP-A
  EXPECT_EQ(d.append(Bytes{0x7C, 0x85}, out, sizeof(out), &size), h264::Depacketizer::Result::kMalformed);
  EXPECT_EQ(d.append(Bytes(70, 0x41), out, sizeof(out), &size), h264::Depacketizer::Result::kOverflow);
  EXPECT_EQ(size, 0u);
}

TEST(H264AnnexB, SplitsThreeAndFourByteStartCodesAndStripsTrailingZeros) {
  const Bytes s = cat({kSc, kSps, {0, 0, 1}, kPps, {0, 0}, kSc, kIdr});
  size_t pos = 0;
  std::vector<Bytes> nals;
  while (pos < s.size()) {
    const auto n = h264::next_annexb_nal(s, &pos);
    if (!n.empty()) nals.emplace_back(n.begin(), n.end());
  }
  ASSERT_EQ(nals.size(), 3u);
  EXPECT_EQ(nals[0], kSps);
  EXPECT_EQ(nals[1], kPps);
  EXPECT_EQ(nals[2], kIdr);
  EXPECT_TRUE(h264::annexb_has_idr(s));
  EXPECT_FALSE(h264::annexb_has_idr(cat({kSc, kP})));
}

// --- Garbage ----------------------------------------------------------------

TEST(FrameAssembler, RandomPayloadsNeverCrashAndAreCounted) {
  for (VideoCodec codec : {VideoCodec::kVp8, VideoCodec::kH264}) {
    FrameAssembler a(codec, 4096);
    std::mt19937 rng(1234);
    uint16_t seq = 0;
    for (int i = 0; i < 20000; ++i) {
      Bytes p(rng() % 64);
      for (auto& b : p) b = static_cast<uint8_t>(rng());
      const int step = rng() % 16 == 0 ? 3 : 1;
      seq = static_cast<uint16_t>(seq + step);
      const AssembledFrame* f = a.push(seq, (i / 3) * 3000u, rng() % 3 == 0, p);
      if (f) {
        EXPECT_LE(f->data.size(), 4096u);
      }
    }
    const auto& s = a.stats();
    EXPECT_EQ(s.packets, 20000u);
    EXPECT_GT(s.malformed_packets + s.frames_incomplete, 1000u);
    EXPECT_GT(s.lost_packets, 0u);
  }
}

// --- Keyframe request throttle --------------------------------------------

TEST(KeyframeRequester, AtMostOnePerSecondAndPendingNeedIsSentLater) {
  KeyframeRequester r;
  EXPECT_TRUE(r.need_keyframe(0));
  EXPECT_FALSE(r.need_keyframe(100'000));
  EXPECT_FALSE(r.need_keyframe(900'000));
  EXPECT_FALSE(r.poll(999'999));
  EXPECT_TRUE(r.poll(1'000'000));  // the pending need goes out once allowed
  EXPECT_FALSE(r.poll(3'000'000));  // and only once
  EXPECT_TRUE(r.need_keyframe(3'000'000));
  EXPECT_FALSE(r.need_keyframe(3'500'000));
  r.on_keyframe();                  // a keyframe came anyway
  EXPECT_FALSE(r.poll(4'100'000));
  EXPECT_EQ(r.requests_sent(), 3u);
}

// A damaged answer lets the next request go after 200 ms, once; without a
// new damaged keyframe the full second applies again.
TEST(KeyframeRequester, ADamagedAnswerShortensTheWaitForTheNextRequestOnly) {
  KeyframeRequester r;
  EXPECT_TRUE(r.need_keyframe(0));
  r.on_broken_keyframe();           // the keyframe came at ~100 ms, damaged
  EXPECT_FALSE(r.need_keyframe(150'000));
  EXPECT_TRUE(r.poll(200'000));     // asked again at 200 ms, not at 1 s
  EXPECT_FALSE(r.need_keyframe(450'000));  // this one was not answered yet
  EXPECT_FALSE(r.poll(1'199'999));
  EXPECT_TRUE(r.poll(1'200'000));
  EXPECT_EQ(r.requests_sent(), 3u);
}

TEST(KeyframeScheduler, RequestInsideSpacingIsDeferredNotLost) {
  KeyframeScheduler s;
  EXPECT_FALSE(s.should_force(0));
  s.request();
  EXPECT_TRUE(s.should_force(0));
  s.on_keyframe(0);
  s.request();  // 100 ms later
  EXPECT_FALSE(s.should_force(100'000));
  EXPECT_FALSE(s.should_force(249'999));
  EXPECT_TRUE(s.should_force(250'000));
  s.on_keyframe(250'000);
  EXPECT_FALSE(s.should_force(600'000));
}

}  // namespace
}  // namespace sipmix::video
