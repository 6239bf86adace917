// Optional in-band DTMF detector (Goertzel) for legs that cannot send RFC 4733.
// Off unless the session creates one. It only reports digits: by the product's
// rule its digits never toggle mute. One owner thread; no allocation per call.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "sipmix/status.h"

namespace sipmix::dtmf {

struct InbandDetectorConfig {
  uint32_t sample_rate_hz = 8000;  // 8000..48000
  float min_tone_dbfs = -36.0f;    // each of the two tones (a full-scale sine is 0 dBFS)
  float max_twist_db = 8.0f;       // |row level - column level|
  float min_tone_fraction = 0.7f;  // share of the block's energy in the two tones (talk-off guard)
};

struct InbandDigit {
  char digit = '\0';       // 0-9 * # A-D
  int64_t start_ms = 0;    // since the first sample fed
  int64_t duration_ms = 0;
};

class InbandDtmfDetector {
 public:
  static constexpr size_t kQueueSize = 16;

  static StatusOr<InbandDtmfDetector> create(const InbandDetectorConfig& config);
  static Status validate(const InbandDetectorConfig& config);

  // Feeds mono samples in any chunking. A digit is reported when it ends:
  // present in two consecutive 25.6 ms blocks, then absent from two (so tones
  // and gaps of about 65 ms or more are resolved).
  void process(std::span<const int16_t> samples);
  bool pop_digit(InbandDigit& out);

 private:
  explicit InbandDtmfDetector(const InbandDetectorConfig& config);
  char classify_block() const;
  void end_block();

  InbandDetectorConfig config_;
  size_t block_size_ = 0;
  std::array<float, 8> coeff_{};
  std::array<float, 8> s1_{}, s2_{};
  float energy_ = 0;
  size_t in_block_ = 0;
  int64_t blocks_done_ = 0;

  char candidate_ = '\0';   // digit of the previous block
  char current_ = '\0';     // digit being reported, once confirmed
  int64_t current_start_block_ = 0;
  int misses_ = 0;

  std::array<InbandDigit, kQueueSize> queue_{};
  size_t queue_head_ = 0, queue_count_ = 0;
};

}  // namespace sipmix::dtmf
