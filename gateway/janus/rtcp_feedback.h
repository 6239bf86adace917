// RTCP feedback the gateway sends to Janus: a Picture Loss Indication
// (RFC 4585 §6.3.1) to an rtp_forward forwarder's local_rtcp_port, which
// Janus turns into a keyframe request to that publisher.
//
// Threads: pure functions; send_rtcp_pli may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "sipmix/status.h"

namespace sipmix::gw::janus {

inline constexpr size_t kRtcpPliSize = 12;

// V=2, P=0, FMT=1, PT=206 (PSFB), length=2, then sender and media SSRC.
std::array<uint8_t, kRtcpPliSize> build_rtcp_pli(uint32_t sender_ssrc, uint32_t media_ssrc);

// Sends one PLI to ip:port (an IPv4 address) from `fd`, or from a temporary
// UDP socket when fd < 0.
Status send_rtcp_pli(const std::string& ip, uint16_t port, uint32_t sender_ssrc, uint32_t media_ssrc, int fd = -1);

}  // namespace sipmix::gw::janus
