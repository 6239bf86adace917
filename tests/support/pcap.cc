#include "tests/support/pcap.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace sipmix::pcap {
namespace {

constexpr int kLinktypeRaw = 101;       // LINKTYPE_RAW as stored in files
constexpr int kDltRawOpenBsd = 14;      // DLT_RAW on OpenBSD
constexpr int kDltIpv4 = 228;
constexpr int kDltIpv6 = 229;
constexpr int kDltLinuxSll2 = 276;

uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

bool parse_udp(std::span<const uint8_t> d, UdpPacket& out) {
  if (d.size() < 8) return false;
  const size_t udp_len = rd16(d.data() + 4);
  if (udp_len < 8 || udp_len > d.size()) return false;
  out.src.port = rd16(d.data());
  out.dst.port = rd16(d.data() + 2);
  out.payload.assign(d.data() + 8, d.data() + udp_len);
  return true;
}

bool parse_ipv4(std::span<const uint8_t> d, UdpPacket& out) {
  if (d.size() < 20 || (d[0] >> 4) != 4) return false;
  const size_t ihl = static_cast<size_t>(d[0] & 0x0f) * 4;
  const size_t total = rd16(d.data() + 2);
  if (ihl < 20 || total < ihl || total > d.size()) return false;  // truncated or bogus lengths
  if ((rd16(d.data() + 6) & 0x3fff) != 0) return false;            // a fragment: cannot reassemble
  if (d[9] != 17) return false;
  out.src.v6 = out.dst.v6 = false;
  out.src.addr = {};
  out.dst.addr = {};
  std::memcpy(out.src.addr.data(), d.data() + 12, 4);
  std::memcpy(out.dst.addr.data(), d.data() + 16, 4);
  return parse_udp(d.subspan(ihl, total - ihl), out);
}

bool parse_ipv6(std::span<const uint8_t> d, UdpPacket& out) {
  if (d.size() < 40 || (d[0] >> 4) != 6) return false;
  const size_t payload_len = rd16(d.data() + 4);
  if (payload_len > d.size() - 40) return false;
  uint8_t next = d[6];
  size_t off = 40;
  const size_t end = 40 + payload_len;
  for (int hops = 0; hops < 8; ++hops) {
    if (next == 17) {
      out.src.v6 = out.dst.v6 = true;
      std::memcpy(out.src.addr.data(), d.data() + 8, 16);
      std::memcpy(out.dst.addr.data(), d.data() + 24, 16);
      return parse_udp(d.subspan(off, end - off), out);
    }
    if (end - off < 8) return false;
    if (next == 0 || next == 43 || next == 60) {  // hop-by-hop, routing, destination options
      const size_t len = (static_cast<size_t>(d[off + 1]) + 1) * 8;
      if (len > end - off) return false;
      next = d[off];
      off += len;
    } else if (next == 44) {  // fragment header: only an atomic fragment is complete
      if ((rd16(d.data() + off + 2) & 0xfff9) != 0) return false;
      next = d[off];
      off += 8;
    } else {
      return false;
    }
  }
  return false;
}

bool parse_ip(std::span<const uint8_t> d, UdpPacket& out) {
  if (d.empty()) return false;
  switch (d[0] >> 4) {
    case 4: return parse_ipv4(d, out);
    case 6: return parse_ipv6(d, out);
    default: return false;
  }
}

bool parse_ethertype(uint16_t type, std::span<const uint8_t> d, UdpPacket& out) {
  if (type == 0x0800) return parse_ipv4(d, out);
  if (type == 0x86dd) return parse_ipv6(d, out);
  return false;
}

}  // namespace

IpEndpoint IpEndpoint::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  IpEndpoint e;
  e.addr[0] = a;
  e.addr[1] = b;
  e.addr[2] = c;
  e.addr[3] = d;
  e.port = port;
  return e;
}

std::optional<IpEndpoint> IpEndpoint::parse(std::string_view text) {
  IpEndpoint e;
  std::string host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
    e.v6 = true;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5) return std::nullopt;
  unsigned p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    p = p * 10 + static_cast<unsigned>(c - '0');
  }
  if (p > 65535) return std::nullopt;
  e.port = static_cast<uint16_t>(p);
  if (inet_pton(e.v6 ? AF_INET6 : AF_INET, host.c_str(), e.addr.data()) != 1) return std::nullopt;
  return e;
}

std::string IpEndpoint::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, addr.data(), buf, sizeof(buf));
  return v6 ? "[" + std::string(buf) + "]:" + std::to_string(port) : std::string(buf) + ":" + std::to_string(port);
}

bool is_supported_link_type(int t) {
  return t == DLT_EN10MB || t == DLT_LINUX_SLL || t == kDltLinuxSll2 || t == DLT_RAW || t == kLinktypeRaw ||
         t == kDltRawOpenBsd || t == kDltIpv4 || t == kDltIpv6 || t == DLT_NULL || t == DLT_LOOP;
}

bool parse_udp_frame(int link_type, std::span<const uint8_t> d, UdpPacket& out) {
  switch (link_type) {
    case DLT_EN10MB: {
      if (d.size() < 14) return false;
      size_t off = 12;
      uint16_t type = rd16(d.data() + off);
      // Up to two VLAN tags (802.1Q / 802.1ad).
      for (int i = 0; i < 2 && (type == 0x8100 || type == 0x88a8 || type == 0x9100); ++i) {
        off += 4;
        if (d.size() < off + 2) return false;
        type = rd16(d.data() + off);
      }
      return parse_ethertype(type, d.subspan(off + 2), out);
    }
    case DLT_LINUX_SLL:
      if (d.size() < 16) return false;
      return parse_ethertype(rd16(d.data() + 14), d.subspan(16), out);
    case kDltLinuxSll2:
      if (d.size() < 20) return false;
      return parse_ethertype(rd16(d.data()), d.subspan(20), out);
    case DLT_RAW:
    case kLinktypeRaw:
    case kDltRawOpenBsd:
      return parse_ip(d, out);
    case kDltIpv4:
      return parse_ipv4(d, out);
    case kDltIpv6:
      return parse_ipv6(d, out);
    case DLT_NULL:
    case DLT_LOOP: {
      // 4-byte address family, in the capturing host's byte order for DLT_NULL.
      // The IP version nibble tells us what follows either way.
      if (d.size() < 4) return false;
      return parse_ip(d.subspan(4), out);
    }
    default:
      return false;
  }
}

// ---------------------------------------------------------------- reader

PcapReader::PcapReader(std::string path, void* pcap, int link_type)
    : path_(std::move(path)), pcap_(pcap), link_type_(link_type) {}

PcapReader::~PcapReader() {
  if (pcap_) pcap_close(static_cast<pcap_t*>(pcap_));
}

StatusOr<std::unique_ptr<PcapReader>> PcapReader::open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return not_found(path + ": no such file");
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
  if (!p) return unavailable(path + ": not a readable pcap/pcapng capture (" + errbuf + ")");
  const int lt = pcap_datalink(p);
  if (!is_supported_link_type(lt)) {
    pcap_close(p);
    const char* name = pcap_datalink_val_to_name(lt);
    return invalid_argument(path + ": unsupported link type " + (name ? name : std::to_string(lt)));
  }
  return std::unique_ptr<PcapReader>(new PcapReader(path, p, lt));
}

StatusOr<bool> PcapReader::next(UdpPacket& out) {
  auto* p = static_cast<pcap_t*>(pcap_);
  for (;;) {
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(p, &hdr, &data);
    if (rc == PCAP_ERROR_BREAK) return false;
    if (rc == PCAP_ERROR) {
      // A capture cut short mid-record (tcpdump killed) is common: treat as the end.
      return false;
    }
    if (rc != 1 || !hdr || !data) continue;
    if (!parse_udp_frame(link_type_, std::span<const uint8_t>(data, hdr->caplen), out)) {
      ++skipped_;
      continue;
    }
    out.timestamp_us = static_cast<int64_t>(hdr->ts.tv_sec) * 1'000'000 + hdr->ts.tv_usec;
    return true;
  }
}

StatusOr<std::vector<UdpPacket>> read_pcap_udp(const std::string& path) {
  auto reader = PcapReader::open(path);
  if (!reader.ok()) return reader.status();
  std::vector<UdpPacket> packets;
  UdpPacket p;
  for (;;) {
    auto more = (*reader)->next(p);
    if (!more.ok()) return more.status();
    if (!more.value()) break;
    packets.push_back(p);
  }
  return packets;
}

// ---------------------------------------------------------------- writer

namespace {

void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32le(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}
uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += rd16(p + i);
  if (n & 1) acc += static_cast<uint32_t>(p[n - 1]) << 8;
  return acc;
}
uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}

}  // namespace

PcapWriter::PcapWriter(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}

PcapWriter::~PcapWriter() { abort(); }

StatusOr<std::unique_ptr<PcapWriter>> PcapWriter::create(const std::string& path) {
  const std::string part = path + ".part";
  std::FILE* f = std::fopen(part.c_str(), "wb");
  if (!f) return unavailable(path + ": cannot create file (" + std::strerror(errno) + ")");
  uint8_t hdr[24] = {};
  put32le(hdr, 0xa1b2c3d4);  // microsecond timestamps
  hdr[4] = 2;                // version 2.4
  hdr[6] = 4;
  put32le(hdr + 16, 262144);  // snaplen
  put32le(hdr + 20, 1);       // LINKTYPE_ETHERNET
  if (std::fwrite(hdr, sizeof(hdr), 1, f) != 1) {
    const int err = errno;
    std::fclose(f);
    std::remove(part.c_str());
    return unavailable(path + ": write failed (" + std::strerror(err) + ")");
  }
  auto w = std::unique_ptr<PcapWriter>(new PcapWriter(path, f));
  w->frame_.reserve(16 + 14 + 40 + 8 + 1500);
  return w;
}

Status PcapWriter::write(int64_t timestamp_us, const IpEndpoint& src, const IpEndpoint& dst,
                         std::span<const uint8_t> payload) {
  if (!file_) return invalid_argument(path_ + ": writer already closed");
  if (src.v6 != dst.v6) return invalid_argument(path_ + ": mixed IPv4/IPv6 endpoints");
  if (payload.size() > 65000) return invalid_argument(path_ + ": UDP payload too large");
  std::vector<uint8_t>& b = frame_;
  b.assign(16, 0);  // record header, filled below
  // Ethernet: locally administered MACs.
  static constexpr uint8_t kMacs[12] = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  b.insert(b.end(), kMacs, kMacs + 12);
  put16(b, src.v6 ? 0x86dd : 0x0800);
  const size_t ip_off = b.size();
  const uint16_t udp_len = static_cast<uint16_t>(8 + payload.size());
  if (!src.v6) {
    b.push_back(0x45);
    b.push_back(0);
    put16(b, static_cast<uint16_t>(20 + udp_len));
    put16(b, ip_id_++);
    put16(b, 0x4000);  // DF
    b.push_back(64);
    b.push_back(17);
    put16(b, 0);
    b.insert(b.end(), src.addr.begin(), src.addr.begin() + 4);
    b.insert(b.end(), dst.addr.begin(), dst.addr.begin() + 4);
    const uint16_t csum = fold(sum16(b.data() + ip_off, 20));
    b[ip_off + 10] = static_cast<uint8_t>(csum >> 8);
    b[ip_off + 11] = static_cast<uint8_t>(csum);
  } else {
    b.push_back(0x60);
    b.push_back(0);
    b.push_back(0);
    b.push_back(0);
    put16(b, udp_len);
    b.push_back(17);
    b.push_back(64);
    b.insert(b.end(), src.addr.begin(), src.addr.end());
    b.insert(b.end(), dst.addr.begin(), dst.addr.end());
  }
  const size_t udp_off = b.size();
  put16(b, src.port);
  put16(b, dst.port);
  put16(b, udp_len);
  put16(b, 0);
  b.insert(b.end(), payload.begin(), payload.end());
  // UDP checksum over the pseudo-header (mandatory for IPv6).
  const size_t alen = src.v6 ? 16 : 4;
  uint32_t acc = sum16(src.addr.data(), alen);
  acc = sum16(dst.addr.data(), alen, acc);
  acc += 17 + udp_len;
  acc = sum16(b.data() + udp_off, b.size() - udp_off, acc);
  uint16_t csum = fold(acc);
  if (csum == 0) csum = 0xffff;
  b[udp_off + 6] = static_cast<uint8_t>(csum >> 8);
  b[udp_off + 7] = static_cast<uint8_t>(csum);

  const int64_t ts = timestamp_us < 0 ? 0 : timestamp_us;
  const uint32_t len = static_cast<uint32_t>(b.size() - 16);
  put32le(b.data(), static_cast<uint32_t>(ts / 1'000'000));
  put32le(b.data() + 4, static_cast<uint32_t>(ts % 1'000'000));
  put32le(b.data() + 8, len);
  put32le(b.data() + 12, len);
  if (std::fwrite(b.data(), b.size(), 1, file_) != 1) {
    failed_ = true;
    return unavailable(path_ + ": write failed (" + std::strerror(errno) + ")");
  }
  ++packets_;
  return {};
}

Status PcapWriter::finish() {
  if (!file_) return invalid_argument(path_ + ": writer already closed");
  const bool ok = !failed_ && std::fflush(file_) == 0;
  const int flush_errno = errno;
  const bool closed = std::fclose(file_) == 0;
  const int close_errno = errno;
  file_ = nullptr;
  const std::string part = path_ + ".part";
  if (!ok || !closed) {
    std::remove(part.c_str());
    if (failed_) return unavailable(path_ + ": write failed");
    return unavailable(path_ + ": write failed (" + std::strerror(ok ? close_errno : flush_errno) + ")");
  }
  std::error_code ec;
  std::filesystem::rename(part, path_, ec);
  if (ec) {
    std::remove(part.c_str());
    return unavailable(path_ + ": cannot rename " + part + " (" + ec.message() + ")");
  }
  return {};
}

void PcapWriter::abort() {
  if (!file_) return;
  std::fclose(file_);
  file_ = nullptr;
  std::remove((path_ + ".part").c_str());
}

Status write_pcap_udp(const std::string& path, std::span<const UdpPacket> packets) {
  auto writer = PcapWriter::create(path);
  if (!writer.ok()) return writer.status();
  for (const UdpPacket& p : packets) {
    if (Status st = (*writer)->write(p.timestamp_us, p.src, p.dst, p.payload); !st.ok()) return st;
  }
  return (*writer)->finish();
}

}  // namespace sipmix::pcap
