#include "rtp_payload/vp8_payload.h"

namespace sipmix::video::vp8 {

std::optional<PayloadDescriptor> parse_descriptor(std::span<const uint8_t> p) {
  PayloadDescriptor d;
  size_t pos = 0;
  if (p.size() < 1) return std::nullopt;
  const uint8_t b0 = p[pos++];
  const bool x = b0 & 0x80;
  d.non_reference = b0 & 0x20;
  d.start_of_partition = b0 & 0x10;
  d.partition_id = b0 & 0x07;
  if (x) {
    if (pos >= p.size()) return std::nullopt;
    const uint8_t ext = p[pos++];
    const bool i = ext & 0x80, l = ext & 0x40, t = ext & 0x20, k = ext & 0x10;
    if (i) {
      if (pos >= p.size()) return std::nullopt;
      if (p[pos] & 0x80) {
        if (p.size() - pos < 2) return std::nullopt;
        d.picture_id = (p[pos] & 0x7F) << 8 | p[pos + 1];
        d.picture_id_15bit = true;
        pos += 2;
      } else {
        d.picture_id = p[pos] & 0x7F;
        pos += 1;
      }
    }
    if (l) {
      if (pos >= p.size()) return std::nullopt;
      d.tl0_pic_idx = p[pos++];
    }
    if (t || k) {
      if (pos >= p.size()) return std::nullopt;
      const uint8_t b = p[pos++];
      if (t) {
        d.temporal_id = b >> 6;
        d.layer_sync = b & 0x20;
      }
      if (k) d.key_idx = b & 0x1F;
    }
  }
  if (pos >= p.size()) return std::nullopt;  // an empty VP8 payload is malformed
  d.descriptor_size = pos;
  return d;
}

std::optional<FrameHeader> parse_frame_header(std::span<const uint8_t> f) {
  if (f.size() < 3) return std::nullopt;
  FrameHeader h;
  h.keyframe = (f[0] & 0x01) == 0;
  if (!h.keyframe) return h;
  if (f.size() < 10) return std::nullopt;
  if (f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a) return std::nullopt;
  h.width = (f[6] | f[7] << 8) & 0x3FFF;
  h.height = (f[8] | f[9] << 8) & 0x3FFF;
  if (h.width == 0 || h.height == 0) return std::nullopt;
  return h;
}

}  // namespace sipmix::video::vp8
