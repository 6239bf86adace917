// RTP (RFC 3550) header parse and serialize, with RFC 8285 header extensions
// (one-byte and two-byte forms) and RFC 6464 audio level. Parsing is
// zero-copy: an RtpPacketView points into the caller's buffer and is valid
// only while that buffer is. Pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace sipmix::rtp {

inline constexpr size_t kRtpHeaderSize = 12;
inline constexpr size_t kMaxCsrcs = 15;
inline constexpr size_t kMaxRtpPacketSize = 1500;

struct RtpPacketView {
  uint8_t version = 2;
  bool padding = false;
  bool extension = false;
  bool marker = false;
  uint8_t payload_type = 0;
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  uint8_t csrc_count = 0;
  uint32_t csrcs[kMaxCsrcs];  // only [0, csrc_count) are set: parsing does not zero the rest
  uint16_t extension_profile = 0;         // 0xBEDE one-byte, 0x100x two-byte
  std::span<const uint8_t> extension_data;  // the extension words, without the 4-byte header
  std::span<const uint8_t> payload;        // padding removed
  size_t padding_size = 0;
  size_t header_size = 0;                  // fixed header + CSRCs + extension
};

// Parses `data` as an RTP packet. Returns nullopt for anything malformed:
// short buffer, version != 2, CSRC list, extension or padding that overrun
// the buffer, padding count 0 or larger than the payload.
std::optional<RtpPacketView> parse_rtp(std::span<const uint8_t> data);

// RFC 5761 demultiplexing: true when the version is 2 and the second byte
// (RTCP packet type, or RTP marker + payload type) is in 192..223. A
// heuristic only; parse_rtcp() decides whether the packet is valid.
bool looks_like_rtcp(std::span<const uint8_t> data);

// One RFC 8285 element (to write, or as listed by parse_header_extensions).
struct HeaderExtensionElement {
  uint8_t id;
  std::span<const uint8_t> data;
};

// Finds element `id` (1..14 for one-byte, 1..255 for two-byte) in an RFC 8285
// extension block. Returns the element's data or nullopt.
std::optional<std::span<const uint8_t>> find_header_extension(const RtpPacketView& p, uint8_t id);

// Lists every RFC 8285 element of `p` into `out` (padding skipped, in packet
// order; element data points into the packet). Returns the element count, 0
// when there is no extension block, or nullopt when the block is not a valid
// one-byte/two-byte block, an element overruns it, or `out` is too small.
std::optional<size_t> parse_header_extensions(const RtpPacketView& p,
                                              std::span<HeaderExtensionElement> out);

// RFC 6464: V flag and level in -dBov (0..127) from the element with `id`.
struct AudioLevel {
  bool voice_activity;
  uint8_t level_dbov;  // 0 = loudest, 127 = silence
};
std::optional<AudioLevel> parse_audio_level(const RtpPacketView& p, uint8_t id);

// Header fields for building a packet.
struct RtpHeader {
  bool marker = false;
  uint8_t payload_type = 0;
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  std::span<const uint32_t> csrcs;
  uint8_t padding_size = 0;  // RFC 3550 padding bytes appended (count included); 0 = none
};

// The header of a parsed packet, to write it again (its CSRCs stay in `v`).
inline RtpHeader header_of(const RtpPacketView& v) {
  RtpHeader h;
  h.marker = v.marker;
  h.payload_type = v.payload_type;
  h.sequence_number = v.sequence_number;
  h.timestamp = v.timestamp;
  h.ssrc = v.ssrc;
  h.csrcs = std::span<const uint32_t>(v.csrcs, v.csrc_count);
  h.padding_size = static_cast<uint8_t>(v.padding_size);
  return h;
}

// Writes header + extensions + payload (+ padding) into `out`. Uses the
// one-byte form when every element fits it (id 1..14, 1..16 bytes), else
// two-byte (id 1..255, 0..255 bytes).
// Returns bytes written, or 0 when `out` is too small or an element invalid.
size_t write_rtp(const RtpHeader& h, std::span<const HeaderExtensionElement> extensions,
                 std::span<const uint8_t> payload, std::span<uint8_t> out);

}  // namespace sipmix::rtp
