// The jitter buffer's delay estimate: RFC 3550 interarrival jitter, the
// reference transit (the fastest packet of a sliding window) and the adaptive
// target delay (a quantile of the relative-delay histogram, with exponential
// forgetting). Owned by whoever inserts packets; O(1) per packet, no
// allocation.
#pragma once

#include <cstdint>

namespace sipmix {

struct JitterBufferConfig;

class DelayEstimator {
 public:
  // `config` must pass JitterBuffer::validate().
  explicit DelayEstimator(const JitterBufferConfig& config);

  // A new stream (SSRC change, reset): forgets the transit reference and
  // the jitter history; the delay histogram is kept.
  void restart_stream();
  // One accepted packet: its arrival time, its time on the media timeline
  // and its unwrapped RTP timestamp.
  void update(int64_t arrival_us, int64_t media_us, int64_t ts_ext);

  int64_t ref_offset_us() const { return ref_offset_us_; }  // fastest transit (arrival - media) in the window
  int32_t target_us() const { return target_us_; }
  uint32_t jitter_q4() const { return jitter_q4_; }  // RFC 3550 §A.8 jitter, timestamp units × 16
  int64_t bucket_us() const { return hist_bucket_us_; }  // width of one histogram bucket

 private:
  static constexpr int kWindowBuckets = 8;
  static constexpr int kHistBuckets = 256;

  const int32_t min_delay_us_;
  const int32_t max_delay_us_;
  const double quantile_;
  const int64_t window_bucket_us_;
  const int64_t hist_bucket_us_;
  const double weight_growth_;
  const double inv_hist_bucket_us_;
  const double ticks_per_us_;

  bool have_transit_ = false;
  int64_t last_transit_rtp_ = 0;
  uint32_t jitter_q4_ = 0;
  // Fastest transit per window bucket.
  int64_t win_id_[kWindowBuckets] = {};
  int64_t win_min_[kWindowBuckets] = {};
  bool win_valid_[kWindowBuckets] = {};
  int64_t newest_bucket_ = 0;
  int64_t bucket_end_us_ = 0;  // end of newest_bucket_
  int64_t ref_offset_us_ = 0;
  // Relative-delay histogram with lazy exponential forgetting: each new
  // packet adds `weight_`, which grows by 1/forget_factor per packet.
  double hist_[kHistBuckets] = {};
  double weight_ = 1.0;
  double total_ = 0.0;
  double cum_ = 0.0;  // sum of hist_[0..q_]
  int q_ = 0;
  int32_t target_us_ = 0;
};

}  // namespace sipmix
