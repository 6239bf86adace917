#include "dtmf/inband_detector.h"

#include <cmath>
#include <string>

namespace sipmix::dtmf {

namespace {
constexpr float kFreqs[8] = {697, 770, 852, 941, 1209, 1336, 1477, 1633};
constexpr char kKeys[4][4] = {{'1', '2', '3', 'A'}, {'4', '5', '6', 'B'}, {'7', '8', '9', 'C'}, {'*', '0', '#', 'D'}};
constexpr double kPi = 3.14159265358979323846;
}  // namespace

Status InbandDtmfDetector::validate(const InbandDetectorConfig& c) {
  if (c.sample_rate_hz < 8000 || c.sample_rate_hz > 48000)
    return invalid_argument("inband dtmf sample_rate_hz " + std::to_string(c.sample_rate_hz) + " not in 8000..48000");
  if (!(c.min_tone_dbfs <= 0 && c.min_tone_dbfs >= -60)) return invalid_argument("inband dtmf min_tone_dbfs not in -60..0");
  if (!(c.max_twist_db >= 0 && c.max_twist_db <= 20)) return invalid_argument("inband dtmf max_twist_db not in 0..20");
  if (!(c.min_tone_fraction > 0 && c.min_tone_fraction <= 1))
    return invalid_argument("inband dtmf min_tone_fraction not in (0, 1]");
  return Status::ok_status();
}

StatusOr<InbandDtmfDetector> InbandDtmfDetector::create(const InbandDetectorConfig& config) {
  if (Status s = validate(config); !s.ok()) return s;
  return InbandDtmfDetector(config);
}

InbandDtmfDetector::InbandDtmfDetector(const InbandDetectorConfig& config)
    : config_(config), block_size_(static_cast<size_t>(config.sample_rate_hz) * 205 / 8000) {
  for (int i = 0; i < 8; ++i) {
    coeff_[i] = static_cast<float>(2.0 * std::cos(2.0 * kPi * kFreqs[i] / config.sample_rate_hz));
  }
}

void InbandDtmfDetector::process(std::span<const int16_t> samples) {
  for (const int16_t s : samples) {
    const float x = static_cast<float>(s) * (1.0f / 32768.0f);
    energy_ += x * x;
    for (int i = 0; i < 8; ++i) {
      const float s0 = x + coeff_[i] * s1_[i] - s2_[i];
      s2_[i] = s1_[i];
      s1_[i] = s0;
    }
    if (++in_block_ == block_size_) end_block();
  }
}

// Amplitude of each tone from its Goertzel power: a sine of amplitude A over
// N samples gives power (A N / 2)^2.
char InbandDtmfDetector::classify_block() const {
  const float n = static_cast<float>(block_size_);
  std::array<float, 8> amp{};
  for (int i = 0; i < 8; ++i) {
    const float p = s1_[i] * s1_[i] + s2_[i] * s2_[i] - coeff_[i] * s1_[i] * s2_[i];
    amp[i] = 2.0f * std::sqrt(std::fmax(p, 0.0f)) / n;
  }
  const auto best_of = [&](int first, int& best, float& second) {
    best = first;
    for (int i = first + 1; i < first + 4; ++i)
      if (amp[i] > amp[best]) best = i;
    second = 0;
    for (int i = first; i < first + 4; ++i)
      if (i != best && amp[i] > second) second = amp[i];
  };
  int row = 0, col = 0;
  float row2 = 0, col2 = 0;
  best_of(0, row, row2);
  best_of(4, col, col2);
  const float ar = amp[row], ac = amp[col];
  const float min_amp = std::pow(10.0f, config_.min_tone_dbfs / 20.0f);
  if (ar < min_amp || ac < min_amp) return '\0';
  const float twist_db = 20.0f * std::log10(ar / ac);
  if (std::fabs(twist_db) > config_.max_twist_db) return '\0';
  // Each tone clearly above the others of its group (10 dB).
  if (row2 > ar * 0.316f || col2 > ac * 0.316f) return '\0';
  // Little energy outside the two tones: speech rarely passes this.
  const float tone_energy = (ar * ar + ac * ac) * 0.5f * n;
  if (tone_energy < config_.min_tone_fraction * energy_) return '\0';
  return kKeys[row][col - 4];
}

void InbandDtmfDetector::end_block() {
  const char d = classify_block();
  s1_.fill(0);
  s2_.fill(0);
  energy_ = 0;
  in_block_ = 0;
  const int64_t block = blocks_done_++;
  const auto block_ms = [&](int64_t b) {
    return b * static_cast<int64_t>(block_size_) * 1000 / config_.sample_rate_hz;
  };

  if (current_ != '\0') {
    if (d == current_) {
      misses_ = 0;
    } else if (++misses_ >= 2) {
      const int64_t end_block_index = block - 1;  // first block without it
      InbandDigit out{current_, block_ms(current_start_block_), block_ms(end_block_index) - block_ms(current_start_block_)};
      if (queue_count_ == kQueueSize) {
        queue_head_ = (queue_head_ + 1) % kQueueSize;
        --queue_count_;
      }
      queue_[(queue_head_ + queue_count_) % kQueueSize] = out;
      ++queue_count_;
      current_ = '\0';
      misses_ = 0;
    }
  } else if (d != '\0' && d == candidate_) {
    current_ = d;
    current_start_block_ = block - 1;
    misses_ = 0;
  }
  candidate_ = d;
}

bool InbandDtmfDetector::pop_digit(InbandDigit& out) {
  if (queue_count_ == 0) return false;
  out = queue_[queue_head_];
  queue_head_ = (queue_head_ + 1) % kQueueSize;
  --queue_count_;
  return true;
}

}  // namespace sipmix::dtmf
