#include "rtp/rtp_packet.h"

#include <cstring>

#include "rtp/byte_io.h"

namespace sipmix::rtp {

namespace {

// Fills `p` from `d`; false if `d` is malformed.
bool parse_into(std::span<const uint8_t> d, RtpPacketView& p) {
  if (d.size() < kRtpHeaderSize || (d[0] >> 6) != 2) return false;
  p.version = 2;
  p.padding = d[0] & 0x20;
  p.extension = d[0] & 0x10;
  p.csrc_count = d[0] & 0x0F;
  p.marker = d[1] & 0x80;
  p.payload_type = d[1] & 0x7F;
  p.sequence_number = read_u16(&d[2]);
  p.timestamp = read_u32(&d[4]);
  p.ssrc = read_u32(&d[8]);
  size_t pos = kRtpHeaderSize;
  if (d.size() - pos < size_t{p.csrc_count} * 4) return false;
  for (int i = 0; i < p.csrc_count; ++i, pos += 4) p.csrcs[i] = read_u32(&d[pos]);
  if (p.extension) {
    if (d.size() - pos < 4) return false;
    p.extension_profile = read_u16(&d[pos]);
    const size_t words = read_u16(&d[pos + 2]);
    pos += 4;
    if (d.size() - pos < words * 4) return false;
    p.extension_data = d.subspan(pos, words * 4);
    pos += words * 4;
  }
  p.header_size = pos;
  size_t end = d.size();
  if (p.padding) {
    const size_t pad = d[d.size() - 1];
    if (pad == 0 || pad > end - pos) return false;
    p.padding_size = pad;
    end -= pad;
  }
  p.payload = d.subspan(pos, end - pos);
  return true;
}

}  // namespace

std::optional<RtpPacketView> parse_rtp(std::span<const uint8_t> d) {
  // The view is built in the caller's storage (NRVO: one return object).
  // Building it on the stack and returning a copy made the compiler reload
  // narrow stores with wide loads, which cannot be forwarded from the store
  // buffer: about 40 % of the parse's time.
  std::optional<RtpPacketView> out(std::in_place);
  if (!parse_into(d, *out)) out.reset();
  return out;
}

bool looks_like_rtcp(std::span<const uint8_t> d) {
  return d.size() >= 2 && (d[0] >> 6) == 2 && d[1] >= 192 && d[1] <= 223;
}

namespace {

// Walks the RFC 8285 elements of `p`, calling on_element(id, data) for each
// until it returns true. Returns false when the block is malformed or of an
// unknown profile; elements before the malformation were already visited.
template <typename F>
bool walk_extensions(const RtpPacketView& p, F&& on_element) {
  if (!p.extension) return true;
  const std::span<const uint8_t> e = p.extension_data;
  const bool one_byte = p.extension_profile == 0xBEDE;
  const bool two_byte = (p.extension_profile & 0xFFF0) == 0x1000;
  if (!one_byte && !two_byte) return false;
  size_t i = 0;
  while (i < e.size()) {
    // Padding: a zero byte. In the one-byte form any ID 0 byte is skipped
    // alone, whatever its length nibble says (ID 0 is not an element).
    if (one_byte ? (e[i] >> 4) == 0 : e[i] == 0) {
      ++i;
      continue;
    }
    uint8_t el_id;
    size_t len;
    if (one_byte) {
      el_id = e[i] >> 4;
      len = (e[i] & 0x0F) + 1u;
      if (el_id == 15) return true;  // reserved: stop processing here (RFC 8285 §4.2)
      i += 1;
    } else {
      if (e.size() - i < 2) return false;
      el_id = e[i];
      len = e[i + 1];
      i += 2;
    }
    if (e.size() - i < len) return false;
    if (on_element(el_id, e.subspan(i, len))) return true;
    i += len;
  }
  return true;
}

}  // namespace

std::optional<std::span<const uint8_t>> find_header_extension(const RtpPacketView& p, uint8_t id) {
  if (!p.extension || id == 0) return std::nullopt;
  std::optional<std::span<const uint8_t>> found;
  walk_extensions(p, [&](uint8_t el_id, std::span<const uint8_t> data) {
    if (el_id != id) return false;
    found = data;
    return true;
  });
  return found;
}

std::optional<size_t> parse_header_extensions(const RtpPacketView& p,
                                              std::span<HeaderExtensionElement> out) {
  size_t n = 0;
  bool overflow = false;
  const bool ok = walk_extensions(p, [&](uint8_t el_id, std::span<const uint8_t> data) {
    if (n == out.size()) {
      overflow = true;
      return true;
    }
    out[n++] = HeaderExtensionElement{el_id, data};
    return false;
  });
  if (!ok || overflow) return std::nullopt;
  return n;
}

std::optional<AudioLevel> parse_audio_level(const RtpPacketView& p, uint8_t id) {
  auto el = find_header_extension(p, id);
  if (!el || el->empty()) return std::nullopt;
  const uint8_t b = (*el)[0];
  return AudioLevel{(b & 0x80) != 0, static_cast<uint8_t>(b & 0x7F)};
}

size_t write_rtp(const RtpHeader& h, std::span<const HeaderExtensionElement> exts,
                 std::span<const uint8_t> payload, std::span<uint8_t> out) {
  if (h.csrcs.size() > kMaxCsrcs || h.payload_type > 127) return 0;
  bool one_byte = true;
  size_t ext_bytes = 0;
  for (const auto& x : exts) {
    if (x.id == 0) return 0;
    if (x.id > 14 || x.data.empty() || x.data.size() > 16) one_byte = false;
  }
  for (const auto& x : exts) {
    if (!one_byte && x.data.size() > 255) return 0;
    ext_bytes += (one_byte ? 1 : 2) + x.data.size();
  }
  const size_t ext_words = (ext_bytes + 3) / 4;
  if (ext_words > 0xFFFF) return 0;
  const size_t header = kRtpHeaderSize + h.csrcs.size() * 4 + (exts.empty() ? 0 : 4 + ext_words * 4);
  if (out.size() < header + payload.size() + h.padding_size) return 0;
  uint8_t* o = out.data();
  o[0] = static_cast<uint8_t>(0x80 | (h.padding_size ? 0x20 : 0) | (exts.empty() ? 0 : 0x10) |
                              h.csrcs.size());
  o[1] = static_cast<uint8_t>((h.marker ? 0x80 : 0) | h.payload_type);
  write_u16(o + 2, h.sequence_number);
  write_u32(o + 4, h.timestamp);
  write_u32(o + 8, h.ssrc);
  size_t pos = kRtpHeaderSize;
  for (uint32_t c : h.csrcs) {
    write_u32(o + pos, c);
    pos += 4;
  }
  if (!exts.empty()) {
    write_u16(o + pos, one_byte ? 0xBEDE : 0x1000);
    write_u16(o + pos + 2, static_cast<uint16_t>(ext_words));
    pos += 4;
    const size_t start = pos;
    for (const auto& x : exts) {
      if (one_byte) {
        o[pos++] = static_cast<uint8_t>((x.id << 4) | (x.data.size() - 1));
      } else {
        o[pos++] = x.id;
        o[pos++] = static_cast<uint8_t>(x.data.size());
      }
      if (!x.data.empty()) std::memcpy(o + pos, x.data.data(), x.data.size());  // data() may be null
      pos += x.data.size();
    }
    while (pos < start + ext_words * 4) o[pos++] = 0;
  }
  if (!payload.empty()) std::memcpy(o + pos, payload.data(), payload.size());
  pos += payload.size();
  if (h.padding_size) {
    std::memset(o + pos, 0, h.padding_size - 1u);
    pos += h.padding_size;
    o[pos - 1] = h.padding_size;
  }
  return pos;
}

}  // namespace sipmix::rtp
