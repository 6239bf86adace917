// RTCP: SR/RR/PLI/FIR round trips, compound packets, malformed input.
#include "rtp/rtcp.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rtp/byte_io.h"

namespace sipmix::rtp {
namespace {

struct Event {
  std::string kind;  // "SR", "RR", "PLI", "FIR", "other"
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  SenderInfo info;
  std::vector<ReportBlock> blocks;
  std::vector<FirEntry> fir;
  uint8_t packet_type = 0;
  uint8_t count = 0;
  size_t size = 0;
};

class Collector : public RtcpVisitor {
 public:
  std::vector<Event> events;
  void on_sender_report(const SenderReport& sr) override {
    Event e;
    e.kind = "SR";
    e.sender_ssrc = sr.sender_ssrc;
    e.info = sr.info;
    e.blocks.assign(sr.reports, sr.reports + sr.report_count);
    events.push_back(e);
  }
  void on_receiver_report(const ReceiverReport& rr) override {
    Event e;
    e.kind = "RR";
    e.sender_ssrc = rr.sender_ssrc;
    e.blocks.assign(rr.reports, rr.reports + rr.report_count);
    events.push_back(e);
  }
  void on_pli(const Pli& pli) override {
    Event e;
    e.kind = "PLI";
    e.sender_ssrc = pli.sender_ssrc;
    e.media_ssrc = pli.media_ssrc;
    events.push_back(e);
  }
  void on_fir(const Fir& fir) override {
    Event e;
    e.kind = "FIR";
    e.sender_ssrc = fir.sender_ssrc;
    e.media_ssrc = fir.media_ssrc;
    e.fir.assign(fir.entries, fir.entries + fir.entry_count);
    events.push_back(e);
  }
  void on_other(uint8_t pt, uint8_t count, std::span<const uint8_t> packet) override {
    Event e;
    e.kind = "other";
    e.packet_type = pt;
    e.count = count;
    e.size = packet.size();
    events.push_back(e);
  }
};

ReportBlock block(uint32_t i) {
  ReportBlock b;
  b.ssrc = 0x1000 + i;
  b.fraction_lost = static_cast<uint8_t>(i * 8);
  b.cumulative_lost = static_cast<int32_t>(i) * 1000 - 5;  // first block negative (duplicates)
  b.extended_highest_seq = (1u << 16) | static_cast<uint16_t>(0xFFFE + i);  // crosses 0xFFFF
  b.jitter = 160 + i;
  b.last_sr = 0xABCD0000u + i;
  b.delay_since_last_sr = 65536 / 2;
  return b;
}

SenderReport make_sr(uint8_t blocks) {
  SenderReport sr;
  sr.sender_ssrc = 0xCAFEBABE;
  sr.info.ntp_timestamp = 0xE8D4A51000000000ull | 0x12345678;
  sr.info.rtp_timestamp = 0xFFFFFF00u;
  sr.info.packet_count = 1000;
  sr.info.octet_count = 160000;
  sr.report_count = blocks;
  for (uint8_t i = 0; i < blocks; ++i) sr.reports[i] = block(i);
  return sr;
}

Fir make_fir(uint8_t entries) {
  Fir fir;
  fir.sender_ssrc = 7;
  fir.media_ssrc = 0;
  fir.entry_count = entries;
  for (uint8_t i = 0; i < entries; ++i) fir.entries[i] = FirEntry{0x5000u + i, static_cast<uint8_t>(254 + i)};
  return fir;
}

std::vector<uint8_t> compound_fixture(std::vector<size_t>* boundaries = nullptr) {
  std::vector<uint8_t> buf(2048);
  RtcpCompoundBuilder b(buf);
  std::vector<size_t> ends;
  EXPECT_GT(b.add_sender_report(make_sr(2)), 0u);
  ends.push_back(b.size());
  EXPECT_GT(b.add_sdes_cname(0xCAFEBABE, "sipmix@gateway"), 0u);
  ends.push_back(b.size());
  EXPECT_GT(b.add_pli(Pli{0xCAFEBABE, 0x1234}), 0u);
  ends.push_back(b.size());
  EXPECT_GT(b.add_fir(make_fir(3)), 0u);
  ends.push_back(b.size());
  ReceiverReport rr;
  rr.sender_ssrc = 0xCAFEBABE;
  rr.report_count = 1;
  rr.reports[0] = block(9);
  EXPECT_GT(b.add_receiver_report(rr), 0u);
  ends.push_back(b.size());
  buf.resize(b.size());
  if (boundaries) *boundaries = ends;
  return buf;
}

TEST(Rtcp, SenderReportRoundTrip) {
  for (uint8_t n : {0, 2, 31}) {
    const SenderReport sr = make_sr(n);
    std::vector<uint8_t> buf(1024);
    const size_t size = write_sender_report(sr, buf);
    ASSERT_EQ(size, 28u + n * 24u);
    buf.resize(size);
    Collector c;
    ASSERT_TRUE(parse_rtcp(buf, c));
    ASSERT_EQ(c.events.size(), 1u);
    const Event& e = c.events[0];
    EXPECT_EQ(e.kind, "SR");
    EXPECT_EQ(e.sender_ssrc, sr.sender_ssrc);
    EXPECT_EQ(e.info, sr.info);
    ASSERT_EQ(e.blocks.size(), n);
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(e.blocks[i], sr.reports[i]) << i;
  }
  EXPECT_EQ(block(0).cumulative_lost, -5);
}

TEST(Rtcp, ReceiverReportRoundTripAndCountLimit) {
  ReceiverReport rr;
  rr.sender_ssrc = 99;
  rr.report_count = 31;
  for (uint32_t i = 0; i < 31; ++i) rr.reports[i] = block(i);
  std::vector<uint8_t> buf(1024);
  const size_t size = write_receiver_report(rr, buf);
  ASSERT_EQ(size, 8u + 31 * 24);
  Collector c;
  ASSERT_TRUE(parse_rtcp(std::span(buf).first(size), c));
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].kind, "RR");
  EXPECT_EQ(c.events[0].sender_ssrc, 99u);
  ASSERT_EQ(c.events[0].blocks.size(), 31u);
  for (size_t i = 0; i < 31; ++i) EXPECT_EQ(c.events[0].blocks[i], rr.reports[i]);
  rr.report_count = 32;
  EXPECT_EQ(write_receiver_report(rr, buf), 0u);
  SenderReport sr = make_sr(0);
  sr.report_count = 32;
  EXPECT_EQ(write_sender_report(sr, buf), 0u);
}

TEST(Rtcp, CumulativeLostIsSigned24BitAndClamped) {
  ReceiverReport rr;
  rr.report_count = 4;
  rr.reports[0].cumulative_lost = 10'000'000;
  rr.reports[1].cumulative_lost = -10'000'000;
  rr.reports[2].cumulative_lost = -1;
  rr.reports[3].cumulative_lost = 0x7FFFFF;
  std::vector<uint8_t> buf(256);
  const size_t size = write_receiver_report(rr, buf);
  EXPECT_EQ(buf[8 + 5], 0x7F);  // clamped positive
  EXPECT_EQ(buf[8 + 24 + 5], 0x80);  // clamped negative
  Collector c;
  ASSERT_TRUE(parse_rtcp(std::span(buf).first(size), c));
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].blocks[0].cumulative_lost, 0x7FFFFF);
  EXPECT_EQ(c.events[0].blocks[1].cumulative_lost, -0x800000);
  EXPECT_EQ(c.events[0].blocks[2].cumulative_lost, -1);
  EXPECT_EQ(c.events[0].blocks[3].cumulative_lost, 0x7FFFFF);
}

TEST(Rtcp, PliRoundTrip) {
  std::vector<uint8_t> buf(12);
  ASSERT_EQ(write_pli(Pli{0x01020304, 0xA0B0C0D0}, buf), 12u);
  EXPECT_EQ(buf[0], 0x81);  // V=2, FMT=1
  EXPECT_EQ(buf[1], 206);
  Collector c;
  ASSERT_TRUE(parse_rtcp(buf, c));
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].kind, "PLI");
  EXPECT_EQ(c.events[0].sender_ssrc, 0x01020304u);
  EXPECT_EQ(c.events[0].media_ssrc, 0xA0B0C0D0u);
  EXPECT_EQ(write_pli(Pli{}, std::span(buf).first(11)), 0u);
}

TEST(Rtcp, FirRoundTrip) {
  const Fir fir = make_fir(3);
  std::vector<uint8_t> buf(64);
  const size_t size = write_fir(fir, buf);
  ASSERT_EQ(size, 12u + 3 * 8);
  EXPECT_EQ(buf[0], 0x84);  // FMT=4
  Collector c;
  ASSERT_TRUE(parse_rtcp(std::span(buf).first(size), c));
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].kind, "FIR");
  EXPECT_EQ(c.events[0].sender_ssrc, 7u);
  ASSERT_EQ(c.events[0].fir.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(c.events[0].fir[i], fir.entries[i]);
  EXPECT_EQ(c.events[0].fir[2].seq_nr, 0);  // 254, 255, 0: seq nr wraps
  EXPECT_EQ(write_fir(make_fir(0), buf), 0u);
}

TEST(Rtcp, FirWithManyEntriesArrivesInChunks) {
  // 40 entries: more than one Fir struct holds.
  const size_t n = 40;
  std::vector<uint8_t> buf(12 + n * 8, 0);
  buf[0] = 0x84;
  buf[1] = 206;
  write_u16(&buf[2], static_cast<uint16_t>(buf.size() / 4 - 1));
  write_u32(&buf[4], 1);
  for (size_t i = 0; i < n; ++i) {
    write_u32(&buf[12 + i * 8], static_cast<uint32_t>(100 + i));
    buf[12 + i * 8 + 4] = static_cast<uint8_t>(i);
  }
  Collector c;
  ASSERT_TRUE(parse_rtcp(buf, c));
  ASSERT_EQ(c.events.size(), 2u);
  EXPECT_EQ(c.events[0].fir.size(), kMaxFirEntries);
  EXPECT_EQ(c.events[1].fir.size(), n - kMaxFirEntries);
  EXPECT_EQ(c.events[1].fir.back().ssrc, 100u + n - 1);
  EXPECT_EQ(c.events[1].fir.back().seq_nr, n - 1);
}

TEST(Rtcp, CompoundRoundTripInOrder) {
  const auto buf = compound_fixture();
  Collector c;
  ASSERT_TRUE(parse_rtcp(buf, c));
  ASSERT_EQ(c.events.size(), 5u);
  EXPECT_EQ(c.events[0].kind, "SR");
  EXPECT_EQ(c.events[0].blocks.size(), 2u);
  EXPECT_EQ(c.events[1].kind, "other");
  EXPECT_EQ(c.events[1].packet_type, kRtcpSdes);
  EXPECT_EQ(c.events[1].count, 1);
  EXPECT_EQ(c.events[1].size % 4, 0u);
  EXPECT_EQ(c.events[2].kind, "PLI");
  EXPECT_EQ(c.events[2].media_ssrc, 0x1234u);
  EXPECT_EQ(c.events[3].kind, "FIR");
  EXPECT_EQ(c.events[3].fir.size(), 3u);
  EXPECT_EQ(c.events[4].kind, "RR");
  ASSERT_EQ(c.events[4].blocks.size(), 1u);
  EXPECT_EQ(c.events[4].blocks[0], block(9));
}

TEST(Rtcp, SdesCnameLayout) {
  for (size_t len : {0u, 1u, 2u, 3u, 4u, 5u, 14u, 255u}) {
    const std::string cname(len, 'x');
    std::vector<uint8_t> buf(300);
    const size_t size = write_sdes_cname(1, cname, buf);
    ASSERT_GT(size, 0u);
    EXPECT_EQ(size % 4, 0u);
    EXPECT_GE(size, 4 + 4 + 2 + len + 1);  // at least one null terminator
    EXPECT_LT(size, 4 + 4 + 2 + len + 1 + 4);
    EXPECT_EQ(buf[size - 1], 0);
    Collector c;
    ASSERT_TRUE(parse_rtcp(std::span(buf).first(size), c));
    ASSERT_EQ(c.events.size(), 1u);
    EXPECT_EQ(c.events[0].packet_type, kRtcpSdes);
  }
  std::vector<uint8_t> buf(400);
  EXPECT_EQ(write_sdes_cname(1, std::string(256, 'x'), buf), 0u);
}

TEST(Rtcp, BuilderRejectsWhatDoesNotFitAndKeepsState) {
  std::vector<uint8_t> buf(40);
  RtcpCompoundBuilder b(buf);
  EXPECT_EQ(b.add_sender_report(make_sr(0)), 28u);
  EXPECT_EQ(b.add_sender_report(make_sr(0)), 0u);  // 12 bytes left
  EXPECT_EQ(b.size(), 28u);
  EXPECT_EQ(b.add_pli(Pli{1, 2}), 12u);
  EXPECT_EQ(b.size(), 40u);
  EXPECT_EQ(b.add_pli(Pli{1, 2}), 0u);
  Collector c;
  ASSERT_TRUE(parse_rtcp(b.data(), c));
  EXPECT_EQ(c.events.size(), 2u);
  for (size_t n = 0; n < 28; ++n) {
    std::vector<uint8_t> small(n);
    EXPECT_EQ(write_sender_report(make_sr(0), small), 0u);
  }
}

TEST(Rtcp, UnknownAndSkippedTypesAreReportedAsOther) {
  std::vector<uint8_t> buf;
  auto append = [&](std::vector<uint8_t> p) { buf.insert(buf.end(), p.begin(), p.end()); };
  append({0x81, 203, 0, 1, 0, 0, 0, 5});                    // BYE one SSRC
  append({0x80, 204, 0, 2, 0, 0, 0, 5, 'n', 'a', 'm', 'e'});  // APP
  append({0x81, 205, 0, 3, 0, 0, 0, 5, 0, 0, 0, 6, 0, 1, 0, 0});  // generic NACK
  append({0x8F, 206, 0, 2, 0, 0, 0, 5, 0, 0, 0, 0});        // PSFB FMT 15 (REMB-like)
  append({0x80, 195, 0, 0});                                // IJ, empty
  Collector c;
  ASSERT_TRUE(parse_rtcp(buf, c));
  ASSERT_EQ(c.events.size(), 5u);
  const uint8_t types[] = {203, 204, 205, 206, 195};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(c.events[i].kind, "other");
    EXPECT_EQ(c.events[i].packet_type, types[i]);
  }
  EXPECT_EQ(c.events[3].count, 15);
}

TEST(Rtcp, PaddingInLastPacketIsAccepted) {
  std::vector<uint8_t> buf(64, 0);
  ReceiverReport rr;
  rr.sender_ssrc = 5;
  size_t size = write_receiver_report(rr, buf);  // 8 bytes
  buf[0] |= 0x20;
  buf[3] = 2;  // 12 bytes total
  buf[size + 3] = 4;
  size += 4;
  Collector c;
  ASSERT_TRUE(parse_rtcp(std::span(buf).first(size), c));
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].sender_ssrc, 5u);
  buf[size - 1] = 0;  // padding count 0
  EXPECT_FALSE(parse_rtcp(std::span(buf).first(size), c));
  buf[size - 1] = 9;  // more than the 8-byte body
  EXPECT_FALSE(parse_rtcp(std::span(buf).first(size), c));
  buf[size - 1] = 8;  // eats the sender SSRC: the RR is then too short
  EXPECT_FALSE(parse_rtcp(std::span(buf).first(size), c));
  EXPECT_EQ(c.events.size(), 1u);
}

TEST(Rtcp, EveryTruncationIsRejectedUnlessAtAPacketBoundary) {
  std::vector<size_t> ends;
  const auto full = compound_fixture(&ends);
  for (size_t len = 0; len <= full.size(); ++len) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + len);
    Collector c;
    const bool ok = parse_rtcp(cut, c);
    size_t packets = 0;
    for (size_t e : ends) packets += e <= len;
    const bool boundary = len > 0 && packets > 0 && ends[packets - 1] == len;
    EXPECT_EQ(ok, boundary) << "len " << len;
    if (ok) {
      EXPECT_EQ(c.events.size(), packets);
    } else {
      EXPECT_TRUE(c.events.empty()) << "a rejected compound must not be visited";
    }
  }
}

TEST(Rtcp, MalformedCompoundsAreRejectedWithoutVisiting) {
  const auto good = compound_fixture();
  struct Case {
    const char* what;
    std::vector<uint8_t> data;
  };
  std::vector<Case> cases;
  auto with = [&](const char* what, auto mutate) {
    std::vector<uint8_t> d = good;
    mutate(d);
    cases.push_back({what, d});
  };
  const size_t second = 28 + 2 * 24;  // start of the SDES packet
  with("bad version in second packet", [&](auto& d) { d[second] = (d[second] & 0x3F) | 0x40; });
  with("length overruns buffer", [&](auto& d) { write_u16(&d[2], 0xFFFF); });
  with("length overruns in last packet", [&](auto& d) { d.resize(d.size() - 4); });
  with("trailing partial header", [&](auto& d) { d.push_back(0x80); d.push_back(201); });
  with("trailing full word", [&](auto& d) { d.insert(d.end(), {0x80, 201, 0, 1}); });
  with("SR report count beyond length", [&](auto& d) { d[0] = 0x80 | 3; });
  with("RTP payload type, not RTCP", [&](auto& d) { d[1] = 96; });
  cases.push_back({"empty", {}});
  cases.push_back({"three bytes", {0x80, 200, 0}});
  cases.push_back({"PLI too short", {0x81, 206, 0, 1, 0, 0, 0, 1}});
  cases.push_back({"FIR without entries", {0x84, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0}});
  cases.push_back({"FIR partial entry", {0x84, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9}});
  cases.push_back({"RR without sender SSRC", {0x80, 201, 0, 0}});
  cases.push_back({"SR without sender info", {0x80, 200, 0, 1, 0, 0, 0, 1}});
  for (const auto& c : cases) {
    Collector col;
    EXPECT_FALSE(parse_rtcp(c.data, col)) << c.what;
    EXPECT_TRUE(col.events.empty()) << c.what;
  }
}

}  // namespace
}  // namespace sipmix::rtp
