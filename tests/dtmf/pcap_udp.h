// Test helper: reads UDP datagrams out of a pcap (Ethernet with optional VLAN
// tags, Linux SLL/SLL2, raw IPv4/IPv6, BSD loopback) through libpcap, and
// writes datagrams as Ethernet/IPv4/UDP frames. Test thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sipmix::dtmf::testing {

struct UdpDatagram {
  int64_t time_us = 0;  // capture timestamp
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  std::vector<uint8_t> payload;
};

// Returns false (with *error set) when the file cannot be opened or its link
// type is not supported. Frames that are not UDP, or are truncated, are skipped.
bool read_udp_pcap(const std::string& path, std::vector<UdpDatagram>& out, std::string* error);

// Writes each datagram as Ethernet/IPv4/UDP (192.0.2.1 -> 192.0.2.2, the
// datagram's ports, UDP checksum 0). Returns false with *error on failure.
bool write_udp_pcap(const std::string& path, const std::vector<UdpDatagram>& datagrams, std::string* error);

}  // namespace sipmix::dtmf::testing
