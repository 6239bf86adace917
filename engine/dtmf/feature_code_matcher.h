// Feature-code matcher for one SIP leg: recognises "*6" (prefix digit, then
// code digit within the inter-digit timeout) in the stream of reported digits.
// One owner thread (the session's tick thread). No allocation.
#pragma once

#include <cstdint>

#include "sipmix/status.h"

namespace sipmix::dtmf {

struct FeatureCodeConfig {
  char prefix = '*';                     // (re)starts a sequence, so "**6" works
  char code = '6';                       // completes it
  int64_t inter_digit_timeout_ms = 3000; // from the end of the prefix to the start of the code digit
};

class FeatureCodeMatcher {
 public:
  // Validates: prefix and code are distinct DTMF characters (0-9 * # A-D), timeout 100..60000 ms.
  static StatusOr<FeatureCodeMatcher> create(const FeatureCodeConfig& config);
  static Status validate(const FeatureCodeConfig& config);

  // Feeds one reported digit (each receiver event exactly once). Returns true
  // when it completes the code; the sequence then starts over. Any digit other
  // than the prefix or a timely code digit resets the sequence.
  bool on_digit(char digit, int64_t start_ms, int64_t end_ms);
  void reset() { armed_ = false; }
  bool armed() const { return armed_; }

 private:
  explicit FeatureCodeMatcher(const FeatureCodeConfig& config) : config_(config) {}

  FeatureCodeConfig config_;
  bool armed_ = false;
  int64_t prefix_end_ms_ = 0;
};

}  // namespace sipmix::dtmf
