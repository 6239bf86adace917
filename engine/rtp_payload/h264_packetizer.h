// H.264 RTP packetizer, RFC 6184 packetization-mode 1: NAL units that fit go
// alone or aggregated in STAP-A (SPS+PPS+small NALs), larger ones as FU-A
// fragments of balanced size. Every packet <= mtu_bytes including the RTP
// header; marker on the last packet of the access unit. One per sending
// stream, tick thread only; writes into a preallocated RtpPacketList.
#pragma once

#include <cstdint>
#include <span>

#include "sipmix/status.h"
#include "rtp_payload/rtp_packet_list.h"

namespace sipmix::video::h264 {

class Packetizer {
 public:
  // mtu_bytes must leave room for a FU-A fragment: 12 + 2 + 1 <= mtu_bytes <= 9000.
  static StatusOr<Packetizer> create(const PacketizerConfig& config);

  // Appends the packets of one Annex-B access unit to `out`. Returns false
  // (and rolls `out` back) when the input holds no NAL unit or `out` is full.
  bool packetize(std::span<const uint8_t> annexb, uint32_t rtp_timestamp, RtpPacketList& out);

  uint16_t next_sequence_number() const { return seq_; }

 private:
  explicit Packetizer(const PacketizerConfig& c) : config_(c), seq_(c.first_sequence_number) {}
  bool emit(std::span<const uint8_t> const* nals, int count, uint32_t ts, RtpPacketList& out);
  bool emit_fu_a(std::span<const uint8_t> nal, uint32_t ts, RtpPacketList& out);
  uint8_t* begin_packet(uint32_t ts, RtpPacketList& out);

  static constexpr int kMaxAggregated = 64;
  PacketizerConfig config_;
  uint16_t seq_;
};

}  // namespace sipmix::video::h264
