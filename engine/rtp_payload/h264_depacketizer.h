// H.264 RTP depacketization (RFC 6184, packetization-mode 0 and 1): single
// NAL unit, STAP-A and FU-A payloads become an Annex-B byte stream written
// into a caller-owned buffer. One instance per stream, used by that stream's
// FrameAssembler on the tick thread. No allocation; no length is trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace sipmix::video::h264 {

enum NalType : uint8_t {
  kNalSlice = 1,
  kNalIdr = 5,
  kNalSei = 6,
  kNalSps = 7,
  kNalPps = 8,
  kNalAud = 9,
  kNalStapA = 24,
  kNalStapB = 25,
  kNalMtap16 = 26,
  kNalMtap24 = 27,
  kNalFuA = 28,
  kNalFuB = 29,
};

inline uint8_t nal_type(uint8_t header) { return header & 0x1F; }

// True when the RTP payload plausibly opens an access unit: its first NAL
// (inside a STAP-A, or a FU-A start) is an AUD, SEI, SPS or PPS, or a slice
// with first_mb_in_slice == 0. Used to tell a whole frame from one whose
// first packets were lost.
bool is_access_unit_start(std::span<const uint8_t> payload);

// What the NAL units of one access unit contained.
struct AccessUnitInfo {
  bool has_idr = false;
  bool has_sps = false;
  bool has_pps = false;
  bool has_slice = false;
  // The picture size of the last SPS that came whole (single NAL or in a
  // STAP-A) and parsed (h264_sps.h); 0 x 0 without one.
  int sps_width = 0;
  int sps_height = 0;
};

class Depacketizer {
 public:
  enum class Result { kOk, kMalformed, kUnsupported, kOverflow };

  void begin_frame() {
    info_ = {};
    in_fu_ = false;
  }
  // Appends one RTP payload as Annex-B to out[*size..capacity); advances *size.
  // On any failure nothing about the rest of this frame can be trusted.
  Result append(std::span<const uint8_t> payload, uint8_t* out, size_t capacity, size_t* size);
  // A FU-A was started and not ended: the frame is incomplete.
  bool in_fragment() const { return in_fu_; }
  const AccessUnitInfo& info() const { return info_; }

 private:
  bool write_nal(std::span<const uint8_t> nal, uint8_t* out, size_t capacity, size_t* size);
  // `nal`: the whole NAL unit when it came whole (empty for a FU-A start).
  void note_nal(uint8_t type, std::span<const uint8_t> nal);

  AccessUnitInfo info_;
  bool in_fu_ = false;
  uint8_t fu_type_ = 0;
};

// Annex-B helpers shared by the packetizer, the decoder and the tests.
// Returns the next NAL unit at or after `*pos` (start code and trailing zero
// bytes stripped) and moves *pos past it; an empty span when there is none.
std::span<const uint8_t> next_annexb_nal(std::span<const uint8_t> stream, size_t* pos);
// True when an Annex-B access unit holds an IDR slice.
bool annexb_has_idr(std::span<const uint8_t> stream);

}  // namespace sipmix::video::h264
