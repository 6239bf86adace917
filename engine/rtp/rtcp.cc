#include "rtp/rtcp.h"

#include <algorithm>
#include <cstring>

#include "rtp/byte_io.h"

namespace sipmix::rtp {
namespace {

constexpr size_t kSenderInfoSize = 20;
constexpr size_t kFeedbackHeaderSize = 12;  // common header + sender SSRC + media SSRC
constexpr size_t kFirEntrySize = 8;
constexpr int32_t kMaxCumulativeLost = 0x7FFFFF;
constexpr int32_t kMinCumulativeLost = -0x800000;

ReportBlock read_report_block(const uint8_t* p) {
  ReportBlock b;
  b.ssrc = read_u32(p);
  b.fraction_lost = p[4];
  const uint32_t lost = read_u24(p + 5);
  b.cumulative_lost = static_cast<int32_t>(lost) - ((lost & 0x800000) ? 0x1000000 : 0);
  b.extended_highest_seq = read_u32(p + 8);
  b.jitter = read_u32(p + 12);
  b.last_sr = read_u32(p + 16);
  b.delay_since_last_sr = read_u32(p + 20);
  return b;
}

void write_report_block(const ReportBlock& b, uint8_t* p) {
  write_u32(p, b.ssrc);
  p[4] = b.fraction_lost;
  const int32_t lost = std::clamp(b.cumulative_lost, kMinCumulativeLost, kMaxCumulativeLost);
  const uint32_t wire = static_cast<uint32_t>(lost) & 0xFFFFFF;
  p[5] = static_cast<uint8_t>(wire >> 16);
  p[6] = static_cast<uint8_t>(wire >> 8);
  p[7] = static_cast<uint8_t>(wire);
  write_u32(p + 8, b.extended_highest_seq);
  write_u32(p + 12, b.jitter);
  write_u32(p + 16, b.last_sr);
  write_u32(p + 20, b.delay_since_last_sr);
}

void write_header(uint8_t* p, uint8_t count, uint8_t packet_type, size_t size) {
  p[0] = static_cast<uint8_t>(0x80 | count);
  p[1] = packet_type;
  write_u16(p + 2, static_cast<uint16_t>(size / 4 - 1));
}

// `content` is the packet without its padding. Checks one packet and, when
// kDeliver, hands it to the visitor.
template <bool kDeliver>
bool parse_one(uint8_t packet_type, uint8_t count, std::span<const uint8_t> content,
               std::span<const uint8_t> packet, RtcpVisitor* v) {
  const uint8_t* p = content.data();
  switch (packet_type) {
    case kRtcpSr: {
      if (content.size() < 8 + kSenderInfoSize + size_t{count} * kReportBlockSize) return false;
      if constexpr (kDeliver) {
        SenderReport sr;
        sr.sender_ssrc = read_u32(p + 4);
        sr.info.ntp_timestamp = uint64_t{read_u32(p + 8)} << 32 | read_u32(p + 12);
        sr.info.rtp_timestamp = read_u32(p + 16);
        sr.info.packet_count = read_u32(p + 20);
        sr.info.octet_count = read_u32(p + 24);
        sr.report_count = count;
        for (size_t i = 0; i < count; ++i) sr.reports[i] = read_report_block(p + 28 + i * kReportBlockSize);
        v->on_sender_report(sr);
      }
      return true;
    }
    case kRtcpRr: {
      if (content.size() < 8 + size_t{count} * kReportBlockSize) return false;
      if constexpr (kDeliver) {
        ReceiverReport rr;
        rr.sender_ssrc = read_u32(p + 4);
        rr.report_count = count;
        for (size_t i = 0; i < count; ++i) rr.reports[i] = read_report_block(p + 8 + i * kReportBlockSize);
        v->on_receiver_report(rr);
      }
      return true;
    }
    case kRtcpPsfb:
      if (count == kPsfbPli) {
        if (content.size() < kFeedbackHeaderSize) return false;
        if constexpr (kDeliver) v->on_pli(Pli{read_u32(p + 4), read_u32(p + 8)});
        return true;
      }
      if (count == kPsfbFir) {
        if (content.size() < kFeedbackHeaderSize + kFirEntrySize) return false;
        if ((content.size() - kFeedbackHeaderSize) % kFirEntrySize != 0) return false;
        if constexpr (kDeliver) {
          const size_t n = (content.size() - kFeedbackHeaderSize) / kFirEntrySize;
          Fir fir;
          fir.sender_ssrc = read_u32(p + 4);
          fir.media_ssrc = read_u32(p + 8);
          for (size_t i = 0; i < n; ++i) {
            const uint8_t* e = p + kFeedbackHeaderSize + i * kFirEntrySize;
            fir.entries[fir.entry_count++] = FirEntry{read_u32(e), e[4]};
            if (fir.entry_count == kMaxFirEntries || i + 1 == n) {
              v->on_fir(fir);
              fir.entry_count = 0;
            }
          }
        }
        return true;
      }
      break;
    default:
      break;
  }
  if constexpr (kDeliver) v->on_other(packet_type, count, packet);
  return true;
}

template <bool kDeliver>
bool walk_compound(std::span<const uint8_t> d, RtcpVisitor* v) {
  if (d.size() < kRtcpHeaderSize) return false;
  size_t pos = 0;
  while (pos < d.size()) {
    if (d.size() - pos < kRtcpHeaderSize) return false;
    const uint8_t* h = d.data() + pos;
    if ((h[0] >> 6) != 2) return false;
    const bool padding = h[0] & 0x20;
    const uint8_t count = h[0] & 0x1F;
    const uint8_t packet_type = h[1];
    if (packet_type < 192 || packet_type > 223) return false;  // not RTCP (RFC 5761 §4)
    const size_t size = (size_t{read_u16(h + 2)} + 1) * 4;
    if (size > d.size() - pos) return false;
    const std::span<const uint8_t> packet = d.subspan(pos, size);
    size_t content_size = size;
    if (padding) {
      const size_t pad = packet[size - 1];
      if (pad == 0 || pad > size - kRtcpHeaderSize) return false;
      content_size -= pad;
    }
    if (!parse_one<kDeliver>(packet_type, count, packet.first(content_size), packet, v)) return false;
    pos += size;
  }
  return true;
}

}  // namespace

bool parse_rtcp(std::span<const uint8_t> data, RtcpVisitor& visitor) {
  if (!walk_compound<false>(data, nullptr)) return false;
  return walk_compound<true>(data, &visitor);
}

size_t write_sender_report(const SenderReport& sr, std::span<uint8_t> out) {
  if (sr.report_count > kMaxReportBlocks) return 0;
  const size_t size = 8 + kSenderInfoSize + size_t{sr.report_count} * kReportBlockSize;
  if (out.size() < size) return 0;
  uint8_t* p = out.data();
  write_header(p, sr.report_count, kRtcpSr, size);
  write_u32(p + 4, sr.sender_ssrc);
  write_u32(p + 8, static_cast<uint32_t>(sr.info.ntp_timestamp >> 32));
  write_u32(p + 12, static_cast<uint32_t>(sr.info.ntp_timestamp));
  write_u32(p + 16, sr.info.rtp_timestamp);
  write_u32(p + 20, sr.info.packet_count);
  write_u32(p + 24, sr.info.octet_count);
  for (size_t i = 0; i < sr.report_count; ++i) write_report_block(sr.reports[i], p + 28 + i * kReportBlockSize);
  return size;
}

size_t write_receiver_report(const ReceiverReport& rr, std::span<uint8_t> out) {
  if (rr.report_count > kMaxReportBlocks) return 0;
  const size_t size = 8 + size_t{rr.report_count} * kReportBlockSize;
  if (out.size() < size) return 0;
  uint8_t* p = out.data();
  write_header(p, rr.report_count, kRtcpRr, size);
  write_u32(p + 4, rr.sender_ssrc);
  for (size_t i = 0; i < rr.report_count; ++i) write_report_block(rr.reports[i], p + 8 + i * kReportBlockSize);
  return size;
}

size_t write_pli(const Pli& pli, std::span<uint8_t> out) {
  if (out.size() < kFeedbackHeaderSize) return 0;
  uint8_t* p = out.data();
  write_header(p, kPsfbPli, kRtcpPsfb, kFeedbackHeaderSize);
  write_u32(p + 4, pli.sender_ssrc);
  write_u32(p + 8, pli.media_ssrc);
  return kFeedbackHeaderSize;
}

size_t write_fir(const Fir& fir, std::span<uint8_t> out) {
  if (fir.entry_count == 0 || fir.entry_count > kMaxFirEntries) return 0;
  const size_t size = kFeedbackHeaderSize + size_t{fir.entry_count} * kFirEntrySize;
  if (out.size() < size) return 0;
  uint8_t* p = out.data();
  write_header(p, kPsfbFir, kRtcpPsfb, size);
  write_u32(p + 4, fir.sender_ssrc);
  write_u32(p + 8, fir.media_ssrc);
  for (size_t i = 0; i < fir.entry_count; ++i) {
    uint8_t* e = p + kFeedbackHeaderSize + i * kFirEntrySize;
    write_u32(e, fir.entries[i].ssrc);
    e[4] = fir.entries[i].seq_nr;
    e[5] = e[6] = e[7] = 0;
  }
  return size;
}

size_t write_sdes_cname(uint32_t ssrc, std::string_view cname, std::span<uint8_t> out) {
  if (cname.size() > 255) return 0;
  // chunk: SSRC, item (type 1, length, text), then 1..4 null octets to a 32-bit boundary.
  const size_t items = 2 + cname.size();
  const size_t chunk = 4 + (items / 4 + 1) * 4;
  const size_t size = kRtcpHeaderSize + chunk;
  if (out.size() < size) return 0;
  uint8_t* p = out.data();
  write_header(p, 1, kRtcpSdes, size);
  write_u32(p + 4, ssrc);
  p[8] = 1;  // CNAME
  p[9] = static_cast<uint8_t>(cname.size());
  if (!cname.empty()) std::memcpy(p + 10, cname.data(), cname.size());
  std::memset(p + 10 + cname.size(), 0, size - 10 - cname.size());
  return size;
}

}  // namespace sipmix::rtp
