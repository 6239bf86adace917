// VP8 RTP packetizer (RFC 7741): each frame split into balanced packets that
// carry a 4-byte payload descriptor (X, I, 15-bit PictureID that advances per
// frame; S on the first packet, PID 0). Every packet <= mtu_bytes including
// the RTP header; marker on the last packet of the frame. One per sending
// stream, tick thread only; writes into a preallocated RtpPacketList.
#pragma once

#include <cstdint>
#include <span>

#include "sipmix/status.h"
#include "rtp_payload/rtp_packet_list.h"

namespace sipmix::video::vp8 {

class Packetizer {
 public:
  // 12 + 4 + 1 <= mtu_bytes <= 9000.
  static StatusOr<Packetizer> create(const PacketizerConfig& config, uint16_t first_picture_id = 0);

  // Appends the packets of one VP8 frame to `out`. Returns false (and rolls
  // `out` back) when the frame is empty or `out` is full.
  bool packetize(std::span<const uint8_t> frame, uint32_t rtp_timestamp, RtpPacketList& out);

  uint16_t next_sequence_number() const { return seq_; }
  uint16_t next_picture_id() const { return picture_id_; }

 private:
  Packetizer(const PacketizerConfig& c, uint16_t picture_id)
      : config_(c), seq_(c.first_sequence_number), picture_id_(picture_id & 0x7FFF) {}

  PacketizerConfig config_;
  uint16_t seq_;
  uint16_t picture_id_;
};

}  // namespace sipmix::video::vp8
