// Preallocated RTP packet storage for one video frame (RtpPacketList) and the
// RTP fields a packetizer stamps (PacketizerConfig). The VP8 and H.264
// packetizers write into it; the leg's video sender protects and sends from
// it. Owned by one thread (the leg's tick thread); allocated once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/aligned_buffer.h"
#include "rtp/byte_io.h"

namespace sipmix::video {

// Preallocated storage for the RTP packets of one frame. Each slot holds one
// whole RTP packet of at most max_packet_bytes. Owned by the tick thread.
class RtpPacketList {
 public:
  explicit RtpPacketList(size_t max_packets = 2048, size_t max_packet_bytes = 1200);

  void clear() { count_ = 0; }
  void truncate(size_t count) {
    if (count < count_) count_ = count;
  }
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  size_t max_packet_bytes() const { return slot_bytes_; }
  std::span<const uint8_t> operator[](size_t i) const {
    return {storage_.data() + i * slot_bytes_, sizes_[i]};
  }

  // Builder side (packetizers): the next free slot, empty when full.
  std::span<uint8_t> next_slot() {
    if (count_ == sizes_.size()) return {};
    return {storage_.data() + count_ * slot_bytes_, slot_bytes_};
  }
  void commit(size_t bytes) { sizes_[count_++] = static_cast<uint32_t>(bytes); }
  uint8_t* mutable_packet(size_t i) { return storage_.data() + i * slot_bytes_; }

 private:
  size_t slot_bytes_;
  AlignedBuffer<uint8_t> storage_;
  std::vector<uint32_t> sizes_;
  size_t count_ = 0;
};

// RTP stream fields a packetizer stamps on every packet.
struct PacketizerConfig {
  uint8_t payload_type = 96;
  uint32_t ssrc = 0;
  uint16_t first_sequence_number = 0;
  size_t mtu_bytes = 1200;  // whole RTP packet (12-byte header + payload)
};

inline constexpr size_t kVideoRtpHeaderSize = 12;  // packetizers write no CSRCs or extensions

// The fixed RTP header of a packetized video packet.
inline void write_video_rtp_header(uint8_t* p, bool marker, uint8_t payload_type, uint16_t seq, uint32_t timestamp,
                                   uint32_t ssrc) {
  p[0] = 0x80;
  p[1] = static_cast<uint8_t>((marker ? 0x80 : 0) | (payload_type & 0x7F));
  rtp::write_u16(p + 2, seq);
  rtp::write_u32(p + 4, timestamp);
  rtp::write_u32(p + 8, ssrc);
}

}  // namespace sipmix::video
