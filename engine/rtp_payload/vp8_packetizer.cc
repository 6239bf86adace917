#include "rtp_payload/vp8_packetizer.h"

#include <cstring>

#include "rtp_payload/vp8_payload.h"

namespace sipmix::video::vp8 {

StatusOr<Packetizer> Packetizer::create(const PacketizerConfig& c, uint16_t first_picture_id) {
  if (c.mtu_bytes < kVideoRtpHeaderSize + kPacketizerDescriptorSize + 1 || c.mtu_bytes > 9000)
    return invalid_argument("VP8 packetizer: mtu_bytes must be in 17..9000");
  if (c.payload_type > 127) return invalid_argument("VP8 packetizer: payload_type must be in 0..127");
  return Packetizer(c, first_picture_id);
}

bool Packetizer::packetize(std::span<const uint8_t> frame, uint32_t ts, RtpPacketList& out) {
  if (frame.empty()) return false;
  const size_t max_data = config_.mtu_bytes - kVideoRtpHeaderSize - kPacketizerDescriptorSize;
  const size_t n = (frame.size() + max_data - 1) / max_data;
  const size_t first = out.size();
  const uint16_t first_seq = seq_;
  size_t pos = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t len = frame.size() / n + (i < frame.size() % n ? 1 : 0);
    const std::span<uint8_t> slot = out.next_slot();
    if (slot.size() < config_.mtu_bytes) {
      out.truncate(first);
      seq_ = first_seq;
      return false;
    }
    uint8_t* p = slot.data();
    write_video_rtp_header(p, i + 1 == n, config_.payload_type, seq_++, ts, config_.ssrc);
    uint8_t* d = p + kVideoRtpHeaderSize;
    d[0] = static_cast<uint8_t>(0x80 | (i == 0 ? 0x10 : 0));  // X, S on the first packet, PID 0
    d[1] = 0x80;                                             // I: PictureID present
    d[2] = static_cast<uint8_t>(0x80 | (picture_id_ >> 8));  // M: 15-bit PictureID
    d[3] = static_cast<uint8_t>(picture_id_ & 0xFF);
    std::memcpy(d + kPacketizerDescriptorSize, frame.data() + pos, len);
    out.commit(kVideoRtpHeaderSize + kPacketizerDescriptorSize + len);
    pos += len;
  }
  picture_id_ = static_cast<uint16_t>((picture_id_ + 1) & 0x7FFF);
  return true;
}

}  // namespace sipmix::video::vp8
