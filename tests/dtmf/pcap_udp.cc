#include "tests/dtmf/pcap_udp.h"

#include <pcap/pcap.h>

#include <cstring>
#include <memory>

namespace sipmix::dtmf::testing {

namespace {

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Parses an IP packet (v4 or v6) carrying UDP. Returns false if it is not one.
bool parse_ip_udp(const uint8_t* p, size_t n, UdpDatagram& d) {
  if (n < 1) return false;
  const int version = p[0] >> 4;
  const uint8_t* udp = nullptr;
  size_t left = 0;
  if (version == 4) {
    if (n < 20) return false;
    const size_t ihl = size_t{p[0] & 0x0Fu} * 4;
    if (ihl < 20 || ihl > n || p[9] != 17) return false;
    if ((be16(p + 6) & 0x3FFF) != 0) return false;  // a fragment
    const size_t total = be16(p + 2);
    if (total < ihl || total > n) return false;
    udp = p + ihl;
    left = total - ihl;
  } else if (version == 6) {
    if (n < 40 || p[6] != 17) return false;  // no extension headers
    const size_t plen = be16(p + 4);
    if (plen > n - 40) return false;
    udp = p + 40;
    left = plen;
  } else {
    return false;
  }
  if (left < 8) return false;
  const size_t ulen = be16(udp + 4);
  if (ulen < 8 || ulen > left) return false;
  d.src_port = be16(udp);
  d.dst_port = be16(udp + 2);
  d.payload.assign(udp + 8, udp + ulen);
  return true;
}

// Skips the link-layer header; returns the offset of the IP header or -1.
long ip_offset(int linktype, const uint8_t* p, size_t n) {
  switch (linktype) {
    case DLT_EN10MB: {
      size_t off = 12;
      while (off + 2 <= n) {
        const uint16_t type = be16(p + off);
        if (type == 0x8100 || type == 0x88A8) {  // VLAN tags
          off += 4;
          continue;
        }
        if (type == 0x0800 || type == 0x86DD) return static_cast<long>(off + 2);
        return -1;
      }
      return -1;
    }
    case DLT_LINUX_SLL:
      return n >= 16 ? 16 : -1;
    case DLT_LINUX_SLL2:
      return n >= 20 ? 20 : -1;
    case DLT_RAW:
#ifdef DLT_IPV4
    case DLT_IPV4:
#endif
#ifdef DLT_IPV6
    case DLT_IPV6:
#endif
      return 0;
    case DLT_NULL:
    case DLT_LOOP:
      return n >= 4 ? 4 : -1;
    default:
      return -1;
  }
}

}  // namespace

bool read_udp_pcap(const std::string& path, std::vector<UdpDatagram>& out, std::string* error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, decltype(&pcap_close)> pc(pcap_open_offline(path.c_str(), errbuf), &pcap_close);
  if (!pc) {
    if (error) *error = path + ": " + errbuf;
    return false;
  }
  const int linktype = pcap_datalink(pc.get());
  static constexpr uint8_t kProbe[64] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00};
  if (ip_offset(linktype, kProbe, sizeof kProbe) < 0) {
    if (error) *error = path + ": unsupported link type " + std::to_string(linktype);
    return false;
  }
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int rc;
  while ((rc = pcap_next_ex(pc.get(), &hdr, &data)) == 1) {
    const long off = ip_offset(linktype, data, hdr->caplen);
    if (off < 0 || static_cast<size_t>(off) >= hdr->caplen) continue;
    UdpDatagram d;
    d.time_us = static_cast<int64_t>(hdr->ts.tv_sec) * 1000000 + hdr->ts.tv_usec;
    if (parse_ip_udp(data + off, hdr->caplen - static_cast<size_t>(off), d)) out.push_back(std::move(d));
  }
  if (rc == -1) {
    if (error) *error = path + ": " + pcap_geterr(pc.get());
    return false;
  }
  return true;
}

bool write_udp_pcap(const std::string& path, const std::vector<UdpDatagram>& datagrams, std::string* error) {
  std::unique_ptr<pcap_t, decltype(&pcap_close)> pc(pcap_open_dead(DLT_EN10MB, 65535), &pcap_close);
  if (!pc) {
    if (error) *error = "pcap_open_dead failed";
    return false;
  }
  pcap_dumper_t* dumper = pcap_dump_open(pc.get(), path.c_str());
  if (dumper == nullptr) {
    if (error) *error = path + ": " + pcap_geterr(pc.get());
    return false;
  }
  for (const UdpDatagram& d : datagrams) {
    std::vector<uint8_t> f(14 + 20 + 8 + d.payload.size());
    uint8_t* eth = f.data();
    const uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 2}, src_mac[6] = {0x02, 0, 0, 0, 0, 1};
    std::memcpy(eth, dst_mac, 6);
    std::memcpy(eth + 6, src_mac, 6);
    eth[12] = 0x08;
    eth[13] = 0x00;
    uint8_t* ip = eth + 14;
    const size_t ip_len = 20 + 8 + d.payload.size();
    ip[0] = 0x45;
    ip[2] = static_cast<uint8_t>(ip_len >> 8);
    ip[3] = static_cast<uint8_t>(ip_len);
    ip[6] = 0x40;  // don't fragment
    ip[8] = 64;
    ip[9] = 17;
    const uint8_t src_ip[4] = {192, 0, 2, 1}, dst_ip[4] = {192, 0, 2, 2};
    std::memcpy(ip + 12, src_ip, 4);
    std::memcpy(ip + 16, dst_ip, 4);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += static_cast<uint32_t>(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    const uint16_t csum = static_cast<uint16_t>(~sum);
    ip[10] = static_cast<uint8_t>(csum >> 8);
    ip[11] = static_cast<uint8_t>(csum);
    uint8_t* udp = ip + 20;
    const size_t udp_len = 8 + d.payload.size();
    udp[0] = static_cast<uint8_t>(d.src_port >> 8);
    udp[1] = static_cast<uint8_t>(d.src_port);
    udp[2] = static_cast<uint8_t>(d.dst_port >> 8);
    udp[3] = static_cast<uint8_t>(d.dst_port);
    udp[4] = static_cast<uint8_t>(udp_len >> 8);
    udp[5] = static_cast<uint8_t>(udp_len);
    if (!d.payload.empty()) std::memcpy(udp + 8, d.payload.data(), d.payload.size());
    pcap_pkthdr hdr{};
    hdr.ts.tv_sec = static_cast<time_t>(d.time_us / 1000000);
    hdr.ts.tv_usec = static_cast<suseconds_t>(d.time_us % 1000000);
    hdr.caplen = hdr.len = static_cast<bpf_u_int32>(f.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &hdr, f.data());
  }
  pcap_dump_close(dumper);
  return true;
}

}  // namespace sipmix::dtmf::testing
