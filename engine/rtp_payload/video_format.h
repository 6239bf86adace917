// The video payload formats the engine carries (VP8, H.264) and what can be
// read from an assembled frame without decoding it. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <span>

namespace sipmix::video {

enum class VideoCodec { kVp8, kH264 };
const char* codec_name(VideoCodec codec);

// True when an assembled frame (VP8 frame, or H.264 Annex-B access unit) is
// a keyframe a decoder can start from.
bool is_keyframe(VideoCodec codec, std::span<const uint8_t> frame);

}  // namespace sipmix::video
