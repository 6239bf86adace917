// The public API's enums (sipmix/session.h) mapped to the engine's own
// (audio_codec/codec.h, video_codec/video_decoder.h, srtp/srtp_session.h):
// the one place they meet. Private to the engine. Pure functions; any thread.
#pragma once

#include "audio_codec/codec.h"
#include "sipmix/session.h"
#include "srtp/srtp_session.h"
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

inline srtp::SrtpSuite to_engine(SrtpSuite s) {
  switch (s) {
    case SrtpSuite::kAesCm128HmacSha1_80: return srtp::SrtpSuite::kAesCm128HmacSha1_80;
    case SrtpSuite::kAesCm128HmacSha1_32: return srtp::SrtpSuite::kAesCm128HmacSha1_32;
  }
  return srtp::SrtpSuite::kAesCm128HmacSha1_80;
}

}  // namespace sipmix::session
