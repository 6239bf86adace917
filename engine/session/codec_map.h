// The public API's codec enums (sipmix/session.h) mapped to the engine's own
// (audio/codec.h, video/video_decoder.h). Pure functions; any thread.
#pragma once

#include "audio_codec/codec.h"
#include "sipmix/session.h"
#include "video_codec/video_decoder.h"

namespace sipmix::session {

inline audio::AudioCodec to_engine(AudioCodec c) {
  switch (c) {
    case AudioCodec::kOpus: return audio::AudioCodec::kOpus;
    case AudioCodec::kPcmu: return audio::AudioCodec::kPcmu;
    case AudioCodec::kPcma: return audio::AudioCodec::kPcma;
    case AudioCodec::kG722: return audio::AudioCodec::kG722;
  }
  return audio::AudioCodec::kOpus;
}

// kNone has no engine codec; callers check it first.
inline video::VideoCodec to_engine(VideoCodec c) {
  return c == VideoCodec::kVp8 ? video::VideoCodec::kVp8 : video::VideoCodec::kH264;
}

}  // namespace sipmix::session
