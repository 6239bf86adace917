// pcap input and output, the one copy for the tests, the replay tool and any
// other tool: reads the UDP datagrams (RTP and RTCP) of a capture (libpcap:
// pcap or pcapng), and writes packets as a capture that tshark/Wireshark
// decode. One reader or writer per file, one thread; each owns its buffers
// and file. Part of sipmix_test_support; needs no GoogleTest.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sipmix/status.h"

namespace sipmix::pcap {

struct IpEndpoint {
  bool v6 = false;
  std::array<uint8_t, 16> addr{};  // IPv4 uses the first 4 bytes (network order)
  uint16_t port = 0;

  static IpEndpoint v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port);
  // "1.2.3.4:5000" or "[2001:db8::1]:5000"; nullopt if malformed.
  static std::optional<IpEndpoint> parse(std::string_view text);
  std::string to_string() const;
  bool operator==(const IpEndpoint&) const = default;
};

struct UdpPacket {
  int64_t timestamp_us = 0;  // capture time, microseconds since the epoch
  IpEndpoint src, dst;
  std::vector<uint8_t> payload;
};

// Parses one captured frame of DLT/LINKTYPE `link_type` down to its UDP
// payload. Never trusts a length: returns false for anything that is not a
// complete, unfragmented IPv4/IPv6 UDP datagram (VLAN tags and IPv6
// extension headers are followed). `out.timestamp_us` is left untouched.
bool parse_udp_frame(int link_type, std::span<const uint8_t> frame, UdpPacket& out);
// Link types parse_udp_frame understands: Ethernet, Linux SLL and SLL2,
// raw IP, IPv4, IPv6, BSD loopback/null.
bool is_supported_link_type(int link_type);

class PcapReader {
 public:
  // Opens a pcap or pcapng file. Errors name the path: kNotFound, kUnavailable
  // (not a capture), kInvalidArgument (unsupported link type).
  static StatusOr<std::unique_ptr<PcapReader>> open(const std::string& path);
  ~PcapReader();
  PcapReader(const PcapReader&) = delete;
  PcapReader& operator=(const PcapReader&) = delete;

  // Next UDP datagram; frames that are not UDP are skipped and counted.
  // Returns false at the end of the file (a truncated last record ends it too).
  StatusOr<bool> next(UdpPacket& out);
  int link_type() const { return link_type_; }
  int64_t skipped() const { return skipped_; }

 private:
  PcapReader(std::string path, void* pcap, int link_type);
  std::string path_;
  void* pcap_ = nullptr;  // pcap_t
  int link_type_ = 0;
  int64_t skipped_ = 0;
};

// Convenience: every UDP datagram of a capture.
StatusOr<std::vector<UdpPacket>> read_pcap_udp(const std::string& path);

// Writes Ethernet + IPv4/IPv6 + UDP records (classic pcap, microsecond
// timestamps, checksums filled in) into `<path>.part`; finish() renames it to
// `path`. abort() or destruction without finish() removes the partial file.
class PcapWriter {
 public:
  static StatusOr<std::unique_ptr<PcapWriter>> create(const std::string& path);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // `src` and `dst` must be the same IP version. Payloads above 65000 bytes
  // are rejected.
  Status write(int64_t timestamp_us, const IpEndpoint& src, const IpEndpoint& dst,
               std::span<const uint8_t> payload);
  Status finish();
  void abort();
  int64_t packets() const { return packets_; }

 private:
  PcapWriter(std::string path, std::FILE* file);
  std::string path_;
  std::FILE* file_ = nullptr;
  std::vector<uint8_t> frame_;  // reused record buffer
  uint16_t ip_id_ = 0;
  int64_t packets_ = 0;
  bool failed_ = false;
};

// Convenience: writes `packets` in order with PcapWriter (src/dst as given).
Status write_pcap_udp(const std::string& path, std::span<const UdpPacket> packets);

}  // namespace sipmix::pcap
