// The public API's free functions (sipmix/session.h): enum names, the SRTP
// suite parser (the names are the SRTP component's, srtp::suite_name; this
// maps the public enum onto them) and SessionConfig validation.
#include <string>

#include "session/codec_map.h"
#include "session/common.h"
#include "sipmix/session.h"

namespace sipmix {

const char* to_string(AudioCodec c) {
  switch (c) {
    case AudioCodec::kOpus: return "opus";
    case AudioCodec::kPcmu: return "pcmu";
    case AudioCodec::kPcma: return "pcma";
    case AudioCodec::kG722: return "g722";
  }
  return "?";
}

const char* to_string(VideoCodec c) {
  switch (c) {
    case VideoCodec::kNone: return "none";
    case VideoCodec::kVp8: return "vp8";
    case VideoCodec::kH264: return "h264";
  }
  return "?";
}

const char* to_string(SrtpSuite s) { return srtp::suite_name(session::to_engine(s)); }

StatusOr<SrtpSuite> parse_srtp_suite(std::string_view name) {
  for (SrtpSuite s : {SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAesCm128HmacSha1_32})
    if (name == to_string(s)) return s;
  return invalid_argument("srtp suite \"" + std::string(name) +
                          "\": must be AES_CM_128_HMAC_SHA1_80 or AES_CM_128_HMAC_SHA1_32");
}

namespace session {

Status validate(const SessionConfig& config) {
  if (config.resampler_quality < 3 || config.resampler_quality > 10)
    return invalid_argument("resampler_quality: must be 3..10");
  if (config.max_streams < 1 || config.max_streams > 256) return invalid_argument("max_streams: must be 1..256");
  if (config.max_legs < 1 || config.max_legs > 64) return invalid_argument("max_legs: must be 1..64");
  if (config.no_video_timeout_ms < 1) return invalid_argument("no_video_timeout_ms: must be positive");
  if (config.dtmf_inter_digit_timeout_ms < 100) return invalid_argument("dtmf_inter_digit_timeout_ms: must be >= 100");
  if (config.jitter_min_delay_ms < 0 || config.jitter_max_delay_ms < config.jitter_min_delay_ms)
    return invalid_argument("jitter_min_delay_ms/jitter_max_delay_ms: need 0 <= min <= max");
  return {};
}

}  // namespace session
}  // namespace sipmix
