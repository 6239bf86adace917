// pcap input/output (the one copy, tests/support/pcap.h): our captures
// round-trip and tshark decodes them as RTP; Debian's real sip-tester
// captures read; every truncation of a frame is rejected without reading
// past it.
#include "tests/support/pcap.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/test_paths.h"
#include "tests/replay/replay_io_test_util.h"

namespace sipmix::replay {
namespace {

using namespace ::sipmix::pcap;
using testing::ScratchDir;

std::vector<uint8_t> rtp(uint8_t pt, uint16_t seq, uint32_t ts, bool marker, size_t payload_len) {
  std::vector<uint8_t> p = {0x80, static_cast<uint8_t>(pt | (marker ? 0x80 : 0)), static_cast<uint8_t>(seq >> 8),
                            static_cast<uint8_t>(seq), static_cast<uint8_t>(ts >> 24), static_cast<uint8_t>(ts >> 16),
                            static_cast<uint8_t>(ts >> 8), static_cast<uint8_t>(ts), 0x12, 0x34, 0x56, 0x78};
  for (size_t i = 0; i < payload_len; ++i) p.push_back(static_cast<uint8_t>(i * 7));
  return p;
}

TEST(IpEndpoint, ParseAndFormat) {
  auto e = IpEndpoint::parse("192.0.2.7:5004");
  ASSERT_TRUE(e);
  EXPECT_EQ(*e, IpEndpoint::v4(192, 0, 2, 7, 5004));
  EXPECT_EQ(e->to_string(), "192.0.2.7:5004");
  auto e6 = IpEndpoint::parse("[2001:db8::1]:40000");
  ASSERT_TRUE(e6);
  EXPECT_TRUE(e6->v6);
  EXPECT_EQ(e6->to_string(), "[2001:db8::1]:40000");
  EXPECT_FALSE(IpEndpoint::parse("192.0.2.7"));
  EXPECT_FALSE(IpEndpoint::parse("192.0.2.7:70000"));
  EXPECT_FALSE(IpEndpoint::parse("300.0.2.7:5"));
  EXPECT_FALSE(IpEndpoint::parse("[::1:5"));
}

TEST(Pcap, WriteThenReadRoundTripsAndTsharkSeesRtp) {
  ScratchDir dir("pcap_rt");
  const std::string path = dir.file("leg.pcap");
  const IpEndpoint a = IpEndpoint::v4(10, 0, 0, 1, 40000), b = IpEndpoint::v4(10, 0, 0, 2, 50000);
  const IpEndpoint a6 = *IpEndpoint::parse("[2001:db8::1]:40002"), b6 = *IpEndpoint::parse("[2001:db8::2]:50002");
  std::vector<std::vector<uint8_t>> sent;
  {
    auto w = PcapWriter::create(path);
    ASSERT_TRUE(w.ok()) << w.status().message();
    for (int i = 0; i < 10; ++i) {
      sent.push_back(rtp(i < 7 ? 0 : 101, static_cast<uint16_t>(65530 + i), 160u * i, i == 7, 160));
      const bool v6 = i % 2 == 1;
      ASSERT_TRUE((*w)->write(1'700'000'000'000'000 + i * 20'000, v6 ? a6 : a, v6 ? b6 : b, sent.back()).ok());
    }
    EXPECT_FALSE(std::filesystem::exists(path));
    ASSERT_TRUE((*w)->finish().ok());
  }
  EXPECT_EQ(dir.list(), std::vector<std::string>{"leg.pcap"});

  auto packets = read_pcap_udp(path);
  ASSERT_TRUE(packets.ok()) << packets.status().message();
  ASSERT_EQ(packets->size(), 10u);
  for (int i = 0; i < 10; ++i) {
    const UdpPacket& p = (*packets)[i];
    EXPECT_EQ(p.payload, sent[i]);
    EXPECT_EQ(p.timestamp_us, 1'700'000'000'000'000 + i * 20'000);
    EXPECT_EQ(p.src, i % 2 ? a6 : a);
    EXPECT_EQ(p.dst, i % 2 ? b6 : b);
  }

  if (!testing::have_program("tshark")) GTEST_SKIP() << "tshark not installed";
  int rc = -1;
  const std::string out = testing::run("tshark -r '" + path +
                                           "' -d udp.port==50000,rtp -d udp.port==50002,rtp -T fields -e rtp.p_type "
                                           "-e rtp.seq 2>/dev/null",
                                       &rc);
  ASSERT_EQ(rc, 0);
  EXPECT_NE(out.find("0\t65530\n"), std::string::npos) << out;
  EXPECT_NE(out.find("101\t1\n"), std::string::npos) << out;  // seq wrapped 65537 -> 1
  // Checksums verified by tshark: 1 = good (IPv6 has no header checksum).
  const std::string sums = testing::run("tshark -r '" + path +
                                            "' -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE -T fields "
                                            "-e udp.checksum.status -e ip.checksum.status 2>/dev/null",
                                        &rc);
  ASSERT_EQ(rc, 0);
  int lines = 0;
  for (size_t pos = 0; pos < sums.size();) {
    size_t eol = sums.find('\n', pos);
    if (eol == std::string::npos) eol = sums.size();
    const std::string line = sums.substr(pos, eol - pos);
    pos = eol + 1;
    ++lines;
    EXPECT_TRUE(line == "1\t1" || line == "1\t" || line == "1") << "checksum status: " << line;
  }
  EXPECT_EQ(lines, 10);
}

TEST(Pcap, ReadsDebianSipTesterCaptures) {
  const std::string dir = sipmix::testing::kSipTesterDir;
  for (const char* name : {"dtmf_2833_6.pcap", "g711a.pcap"}) {
    const std::string path = dir + "/" + name;
    if (!sipmix::testing::file_exists(path)) GTEST_SKIP() << "sip-tester not installed";
    auto packets = read_pcap_udp(path);
    ASSERT_TRUE(packets.ok()) << packets.status().message();
    ASSERT_GT(packets->size(), 5u) << name;
    for (const UdpPacket& p : *packets) {
      ASSERT_GE(p.payload.size(), 12u);
      EXPECT_EQ(p.payload[0] >> 6, 2) << name;  // RTP version 2
      EXPECT_NE(p.dst.port, 0);
    }
    EXPECT_GE((*packets)[1].timestamp_us, (*packets)[0].timestamp_us);
  }
}

// One valid frame for each link type, and every truncation of it is refused.
TEST(Pcap, ParsesEveryLinkTypeAndRejectsEveryTruncation) {
  ScratchDir dir("pcap_lt");
  const std::string path = dir.file("one.pcap");
  const auto payload = rtp(8, 1, 2, false, 20);
  {
    auto w = PcapWriter::create(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->write(0, IpEndpoint::v4(1, 2, 3, 4, 5), IpEndpoint::v4(5, 6, 7, 8, 9), payload).ok());
    ASSERT_TRUE((*w)->finish().ok());
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::vector<uint8_t> eth(file.begin() + 24 + 16, file.end());
  const std::vector<uint8_t> ip(eth.begin() + 14, eth.end());

  std::vector<uint8_t> vlan(eth.begin(), eth.begin() + 12);
  vlan.insert(vlan.end(), {0x81, 0x00, 0x00, 0x05});
  vlan.insert(vlan.end(), eth.begin() + 12, eth.end());
  std::vector<uint8_t> sll(14, 0);
  sll.insert(sll.end(), {0x08, 0x00});
  sll.insert(sll.end(), ip.begin(), ip.end());
  std::vector<uint8_t> sll2 = {0x08, 0x00};
  sll2.resize(20, 0);
  sll2.insert(sll2.end(), ip.begin(), ip.end());
  std::vector<uint8_t> null = {2, 0, 0, 0};
  null.insert(null.end(), ip.begin(), ip.end());

  const struct {
    int link_type;
    const std::vector<uint8_t>* frame;
  } cases[] = {{1, &eth}, {1, &vlan}, {113, &sll}, {276, &sll2}, {12, &ip}, {101, &ip}, {228, &ip}, {0, &null}, {108, &null}};
  for (const auto& c : cases) {
    UdpPacket p;
    ASSERT_TRUE(parse_udp_frame(c.link_type, *c.frame, p)) << c.link_type;
    EXPECT_EQ(p.payload, payload);
    EXPECT_EQ(p.src, IpEndpoint::v4(1, 2, 3, 4, 5));
    EXPECT_EQ(p.dst.port, 9);
    for (size_t n = 0; n < c.frame->size(); ++n) {
      // Each prefix in its own exact-size heap buffer, so ASan catches an over-read.
      std::vector<uint8_t> cut(c.frame->begin(), c.frame->begin() + static_cast<ptrdiff_t>(n));
      cut.shrink_to_fit();
      EXPECT_FALSE(parse_udp_frame(c.link_type, cut, p)) << c.link_type << " len " << n;
    }
  }
  // Not UDP (TCP), a fragment, and a bogus IPv4 length are all skipped.
  UdpPacket p;
  auto tcp = ip;
  tcp[9] = 6;
  EXPECT_FALSE(parse_udp_frame(12, tcp, p));
  auto frag = ip;
  frag[6] = 0x20;  // MF
  EXPECT_FALSE(parse_udp_frame(12, frag, p));
  auto longer = ip;
  longer[2] = 0xff;
  EXPECT_FALSE(parse_udp_frame(12, longer, p));
  EXPECT_FALSE(parse_udp_frame(147, ip, p));
}

TEST(Pcap, ErrorsNameThePathAndAbortLeavesNothing) {
  ScratchDir dir("pcap_err");
  auto r = PcapReader::open(dir.file("missing.pcap"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("missing.pcap"), std::string::npos);
  {
    std::ofstream(dir.file("text.pcap")) << "not a capture";
  }
  r = PcapReader::open(dir.file("text.pcap"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("text.pcap"), std::string::npos);
  std::filesystem::remove(dir.file("text.pcap"));

  auto w = PcapWriter::create(dir.file("out.pcap"));
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->write(0, IpEndpoint::v4(1, 1, 1, 1, 1), IpEndpoint::v4(2, 2, 2, 2, 2), rtp(0, 0, 0, 0, 4)).ok());
  EXPECT_FALSE((*w)->write(0, IpEndpoint::v4(1, 1, 1, 1, 1), *IpEndpoint::parse("[::1]:2"), rtp(0, 0, 0, 0, 4)).ok());
  (*w)->abort();
  EXPECT_TRUE(dir.list().empty());
  auto bad = PcapWriter::create(dir.file("no/dir/out.pcap"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("no/dir/out.pcap"), std::string::npos);
}

}  // namespace
}  // namespace sipmix::replay
