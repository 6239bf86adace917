// VP8 RTP payload descriptor (RFC 7741 §4.2) and VP8 payload header
// (RFC 6386 §9.1) parsing. Pure functions over the caller's bytes; any thread.
// Nothing in the input is trusted: every length is checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace sipmix::video::vp8 {

struct PayloadDescriptor {
  bool non_reference = false;    // N
  bool start_of_partition = false;  // S
  uint8_t partition_id = 0;      // PID (0..7)
  int picture_id = -1;           // 7- or 15-bit PictureID, -1 when absent
  bool picture_id_15bit = false;
  int tl0_pic_idx = -1;
  int temporal_id = -1;
  bool layer_sync = false;       // Y
  int key_idx = -1;
  size_t descriptor_size = 0;    // bytes before the VP8 payload
  // S set and PID 0: this packet carries the first bytes of a frame.
  bool frame_start() const { return start_of_partition && partition_id == 0; }
};

// Parses the descriptor at the front of an RTP payload. nullopt when it is
// truncated, or when no VP8 payload byte follows it.
std::optional<PayloadDescriptor> parse_descriptor(std::span<const uint8_t> payload);

// What the first bytes of a frame say (RFC 6386 §9.1).
struct FrameHeader {
  bool keyframe = false;  // P bit clear
  int width = 0;          // keyframes only, else 0
  int height = 0;
};
// `frame` starts at the VP8 frame tag (the descriptor already stripped).
// nullopt when it is too short or a keyframe lacks the start code 9d 01 2a.
std::optional<FrameHeader> parse_frame_header(std::span<const uint8_t> frame);

// Size of the descriptor vp8::Packetizer writes: X, I with a 15-bit PictureID.
inline constexpr size_t kPacketizerDescriptorSize = 4;

}  // namespace sipmix::video::vp8
