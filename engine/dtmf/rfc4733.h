// RFC 4733 telephone-event payload format: parse and write one event block,
// and map event codes to digit characters. Pure functions; any thread.
// Parsing never trusts a length: a short payload is rejected, extra blocks are counted, not read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace sipmix::dtmf {

inline constexpr size_t kEventBlockSize = 4;
inline constexpr uint8_t kMaxDtmfEvent = 16;  // 0-9, * (10), # (11), A-D (12-15), flash (16)
inline constexpr uint16_t kMaxEventDuration = 0xFFFF;

// event(8) | E(1) | R(1) | volume(6) | duration(16), network order.
struct EventBlock {
  uint8_t event = 0;
  bool end = false;
  uint8_t volume = 0;     // -dBm0, 0..63
  uint16_t duration = 0;  // in event-clock units since the event's RTP timestamp
};

struct ParsedEventPayload {
  EventBlock first;       // the block a receiver acts on
  size_t block_count = 0; // whole blocks present (>= 1); only `first` is read
};

// Reads the first block of a telephone-event payload. The R bit is ignored.
// Returns nullopt when the payload is shorter than one block. Event codes
// above 16 are returned as they are; the caller decides to ignore them.
std::optional<ParsedEventPayload> parse_event_payload(std::span<const uint8_t> payload);

// Writes one block (R = 0). `out` must hold kEventBlockSize bytes; returns bytes written or 0.
size_t write_event_block(const EventBlock& block, std::span<uint8_t> out);

// '0'-'9', '*', '#', 'A'-'D', '!' (flash) for events 0..16; '\0' otherwise.
char event_to_char(uint8_t event);
// Inverse of event_to_char ('a'-'d' accepted); nullopt for anything else.
std::optional<uint8_t> char_to_event(char c);

}  // namespace sipmix::dtmf
