#include "rtp_payload/h264_packetizer.h"

#include <algorithm>
#include <cstring>

#include "rtp_payload/h264_depacketizer.h"

namespace sipmix::video::h264 {

StatusOr<Packetizer> Packetizer::create(const PacketizerConfig& c) {
  if (c.mtu_bytes < kVideoRtpHeaderSize + 3 || c.mtu_bytes > 9000)
    return invalid_argument("H.264 packetizer: mtu_bytes must be in 15..9000");
  if (c.payload_type > 127) return invalid_argument("H.264 packetizer: payload_type must be in 0..127");
  return Packetizer(c);
}

uint8_t* Packetizer::begin_packet(uint32_t ts, RtpPacketList& out) {
  const std::span<uint8_t> slot = out.next_slot();
  if (slot.size() < config_.mtu_bytes) return nullptr;
  write_video_rtp_header(slot.data(), false, config_.payload_type, seq_, ts, config_.ssrc);
  ++seq_;
  return slot.data() + kVideoRtpHeaderSize;
}

bool Packetizer::emit(std::span<const uint8_t> const* nals, int count, uint32_t ts, RtpPacketList& out) {
  uint8_t* p = begin_packet(ts, out);
  if (!p) return false;
  if (count == 1) {
    std::memcpy(p, nals[0].data(), nals[0].size());
    out.commit(kVideoRtpHeaderSize + nals[0].size());
    return true;
  }
  // STAP-A: F is the OR of the aggregated F bits, NRI their maximum.
  uint8_t f = 0, nri = 0;
  for (int i = 0; i < count; ++i) {
    f |= nals[i][0] & 0x80;
    nri = std::max<uint8_t>(nri, nals[i][0] & 0x60);
  }
  p[0] = static_cast<uint8_t>(f | nri | kNalStapA);
  size_t pos = 1;
  for (int i = 0; i < count; ++i) {
    rtp::write_u16(p + pos, static_cast<uint16_t>(nals[i].size()));
    std::memcpy(p + pos + 2, nals[i].data(), nals[i].size());
    pos += 2 + nals[i].size();
  }
  out.commit(kVideoRtpHeaderSize + pos);
  return true;
}

bool Packetizer::emit_fu_a(std::span<const uint8_t> nal, uint32_t ts, RtpPacketList& out) {
  const size_t max_fragment = config_.mtu_bytes - kVideoRtpHeaderSize - 2;
  const std::span<const uint8_t> body = nal.subspan(1);
  const size_t n = (body.size() + max_fragment - 1) / max_fragment;
  const uint8_t indicator = static_cast<uint8_t>((nal[0] & 0xE0) | kNalFuA);
  size_t pos = 0;
  for (size_t i = 0; i < n; ++i) {
    // Balanced: the first (size % n) fragments carry one byte more.
    const size_t len = body.size() / n + (i < body.size() % n ? 1 : 0);
    uint8_t* p = begin_packet(ts, out);
    if (!p) return false;
    p[0] = indicator;
    p[1] = static_cast<uint8_t>((i == 0 ? 0x80 : 0) | (i + 1 == n ? 0x40 : 0) | nal_type(nal[0]));
    std::memcpy(p + 2, body.data() + pos, len);
    out.commit(kVideoRtpHeaderSize + 2 + len);
    pos += len;
  }
  return true;
}

bool Packetizer::packetize(std::span<const uint8_t> annexb, uint32_t ts, RtpPacketList& out) {
  const size_t first = out.size();
  const uint16_t first_seq = seq_;
  const size_t max_payload = config_.mtu_bytes - kVideoRtpHeaderSize;
  std::span<const uint8_t> group[kMaxAggregated];
  int group_count = 0;
  size_t group_bytes = 1;  // STAP-A header
  bool ok = true;
  size_t pos = 0;
  while (ok && pos < annexb.size()) {
    const std::span<const uint8_t> nal = next_annexb_nal(annexb, &pos);
    if (nal.empty()) continue;
    const size_t need = 2 + nal.size();
    const bool fits_group = group_count < kMaxAggregated &&
                            (group_count == 0 ? nal.size() <= max_payload : group_bytes + need <= max_payload);
    if (!fits_group && group_count > 0) {
      ok = emit(group, group_count, ts, out);
      group_count = 0;
      group_bytes = 1;
    }
    if (!ok) break;
    if (nal.size() > max_payload) {
      ok = emit_fu_a(nal, ts, out);
    } else {
      group[group_count++] = nal;
      group_bytes += need;
    }
  }
  if (ok && group_count > 0) ok = emit(group, group_count, ts, out);
  if (!ok || out.size() == first) {
    out.truncate(first);
    seq_ = first_seq;
    return false;
  }
  out.mutable_packet(out.size() - 1)[1] |= 0x80;  // marker: last packet of the access unit
  return true;
}

}  // namespace sipmix::video::h264
