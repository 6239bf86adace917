#include "gateway/janus/rtcp_feedback.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sipmix::gw::janus {
namespace {

void put_u32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace

std::array<uint8_t, kRtcpPliSize> build_rtcp_pli(uint32_t sender_ssrc, uint32_t media_ssrc) {
  std::array<uint8_t, kRtcpPliSize> p{};
  p[0] = 0x80 | 1;  // version 2, FMT 1 = PLI
  p[1] = 206;       // PSFB
  p[2] = 0;
  p[3] = 2;  // length in 32-bit words minus one
  put_u32(&p[4], sender_ssrc);
  put_u32(&p[8], media_ssrc);
  return p;
}

Status send_rtcp_pli(const std::string& ip, uint16_t port, uint32_t sender_ssrc, uint32_t media_ssrc, int fd) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  if (port == 0) return invalid_argument("pli.port: must be 1..65535");
  if (inet_pton(AF_INET, ip.c_str(), &to.sin_addr) != 1) {
    return invalid_argument("pli.ip: \"" + ip + "\" is not an IPv4 address");
  }
  int own = -1;
  if (fd < 0) {
    own = fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return unavailable(std::string("pli: socket: ") + std::strerror(errno));
  }
  auto pli = build_rtcp_pli(sender_ssrc, media_ssrc);
  ssize_t n = sendto(fd, pli.data(), pli.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to));
  int err = errno;
  if (own >= 0) close(own);
  if (n != static_cast<ssize_t>(pli.size())) return unavailable(std::string("pli: sendto: ") + std::strerror(err));
  return Status::ok_status();
}

}  // namespace sipmix::gw::janus
