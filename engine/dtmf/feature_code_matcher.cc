#include "dtmf/feature_code_matcher.h"

#include <string>

#include "dtmf/rfc4733.h"

namespace sipmix::dtmf {

Status FeatureCodeMatcher::validate(const FeatureCodeConfig& c) {
  const auto is_dtmf = [](char ch) {
    const auto e = char_to_event(ch);
    return e.has_value() && *e <= 15;
  };
  if (!is_dtmf(c.prefix)) return invalid_argument(std::string("feature code prefix '") + c.prefix + "' is not a DTMF digit");
  if (!is_dtmf(c.code)) return invalid_argument(std::string("feature code digit '") + c.code + "' is not a DTMF digit");
  if (c.prefix == c.code) return invalid_argument("feature code prefix and code digit must differ");
  if (c.inter_digit_timeout_ms < 100 || c.inter_digit_timeout_ms > 60000)
    return invalid_argument("feature code inter_digit_timeout_ms " + std::to_string(c.inter_digit_timeout_ms) +
                            " not in 100..60000");
  return Status::ok_status();
}

StatusOr<FeatureCodeMatcher> FeatureCodeMatcher::create(const FeatureCodeConfig& config) {
  if (Status s = validate(config); !s.ok()) return s;
  return FeatureCodeMatcher(config);
}

bool FeatureCodeMatcher::on_digit(char digit, int64_t start_ms, int64_t end_ms) {
  if (digit == config_.prefix) {
    armed_ = true;
    prefix_end_ms_ = end_ms;
    return false;
  }
  const bool timely = armed_ && start_ms - prefix_end_ms_ <= config_.inter_digit_timeout_ms;
  armed_ = false;
  return digit == config_.code && timely;
}

}  // namespace sipmix::dtmf
