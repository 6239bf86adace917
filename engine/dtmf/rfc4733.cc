#include "dtmf/rfc4733.h"

#include "rtp/byte_io.h"

namespace sipmix::dtmf {

std::optional<ParsedEventPayload> parse_event_payload(std::span<const uint8_t> payload) {
  if (payload.size() < kEventBlockSize) return std::nullopt;
  ParsedEventPayload p;
  p.first.event = payload[0];
  p.first.end = (payload[1] & 0x80) != 0;
  p.first.volume = payload[1] & 0x3F;
  p.first.duration = rtp::read_u16(payload.data() + 2);
  p.block_count = payload.size() / kEventBlockSize;
  return p;
}

size_t write_event_block(const EventBlock& block, std::span<uint8_t> out) {
  if (out.size() < kEventBlockSize) return 0;
  out[0] = block.event;
  out[1] = static_cast<uint8_t>((block.end ? 0x80 : 0x00) | (block.volume & 0x3F));
  rtp::write_u16(out.data() + 2, block.duration);
  return kEventBlockSize;
}

char event_to_char(uint8_t event) {
  static constexpr char kChars[] = "0123456789*#ABCD!";
  return event <= kMaxDtmfEvent ? kChars[event] : '\0';
}

std::optional<uint8_t> char_to_event(char c) {
  if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
  if (c == '*') return uint8_t{10};
  if (c == '#') return uint8_t{11};
  if (c >= 'A' && c <= 'D') return static_cast<uint8_t>(12 + (c - 'A'));
  if (c >= 'a' && c <= 'd') return static_cast<uint8_t>(12 + (c - 'a'));
  if (c == '!') return uint8_t{16};
  return std::nullopt;
}

}  // namespace sipmix::dtmf
