// The picture size an H.264 sequence parameter set describes (ITU-T H.264
// §7.3.2.1.1 and the cropping of §7.4.2.1.1), read without decoding: the
// session learns the sizes of simulcast layers it does not decode from the
// SPS in front of their keyframes. No allocation; no length is trusted.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace sipmix::video::h264 {

struct SpsSize {
  int width = 0;   // luma samples, after the frame cropping
  int height = 0;
};

// `nal` is one SPS NAL unit, header byte first, with its emulation
// prevention bytes (as carried in RTP or Annex-B). nullopt when it is not
// an SPS, is truncated, or describes no plausible picture (an empty or
// over-cropped one, or one wider or taller than 16384).
std::optional<SpsSize> parse_sps_size(std::span<const uint8_t> nal);

}  // namespace sipmix::video::h264
