#include "jitter/delay_estimator.h"

#include <algorithm>

#include "jitter/jitter_buffer.h"

namespace sipmix {

namespace {

int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

DelayEstimator::DelayEstimator(const JitterBufferConfig& c)
    : min_delay_us_(c.min_delay_ms * 1000),
      max_delay_us_(c.max_delay_ms * 1000),
      quantile_(c.delay_quantile),
      window_bucket_us_(std::max<int64_t>(1, int64_t{c.delay_window_ms} * 1000 / kWindowBuckets)),
      hist_bucket_us_(std::max<int64_t>(1000, (int64_t{c.max_delay_ms} * 1000 + kHistBuckets - 2) /
                                                  (kHistBuckets - 1))),
      weight_growth_(1.0 / c.forget_factor),
      inv_hist_bucket_us_(1.0 / static_cast<double>(hist_bucket_us_)),
      ticks_per_us_(c.clock_rate_hz / 1e6),
      target_us_(min_delay_us_) {}

void DelayEstimator::restart_stream() {
  have_transit_ = false;
  for (bool& v : win_valid_) v = false;
}

void DelayEstimator::update(int64_t arrival_us, int64_t media_us, int64_t ts_ext) {
  // RFC 3550 §A.8 interarrival jitter, in timestamp units, scaled by 16.
  const int64_t arrival_rtp = static_cast<int64_t>(static_cast<double>(arrival_us) * ticks_per_us_);
  const int64_t transit = arrival_rtp - ts_ext;
  if (have_transit_) {
    int64_t d = transit - last_transit_rtp_;
    if (d < 0) d = -d;
    d = std::min<int64_t>(d, int64_t{1} << 26);
    const int64_t j = int64_t{jitter_q4_} + d - ((int64_t{jitter_q4_} + 8) >> 4);
    jitter_q4_ = static_cast<uint32_t>(std::clamp<int64_t>(j, 0, int64_t{1} << 31));
  }
  last_transit_rtp_ = transit;
  have_transit_ = true;

  // Reference: the fastest transit among packets of the last window.
  const int64_t transit_us = arrival_us - media_us;
  int64_t ref = ref_offset_us_;
  const int cur = static_cast<int>(newest_bucket_ & (kWindowBuckets - 1));
  if (win_valid_[cur] && win_id_[cur] == newest_bucket_ && arrival_us < bucket_end_us_) {
    // Same bucket as the last packet (or an earlier arrival time): only a
    // new minimum can change the reference.
    win_min_[cur] = std::min(win_min_[cur], transit_us);
    ref = std::min(ref, transit_us);
  } else {
    const int64_t bucket = std::max(floor_div(arrival_us, window_bucket_us_), newest_bucket_);
    newest_bucket_ = bucket;
    bucket_end_us_ = (bucket + 1) * window_bucket_us_;
    const int k = static_cast<int>(bucket & (kWindowBuckets - 1));
    if (!win_valid_[k] || win_id_[k] != bucket) {
      win_valid_[k] = true;
      win_id_[k] = bucket;
      win_min_[k] = transit_us;
    } else if (transit_us < win_min_[k]) {
      win_min_[k] = transit_us;
    }
    ref = transit_us;
    for (int i = 0; i < kWindowBuckets; ++i) {
      if (win_valid_[i] && win_id_[i] > bucket - kWindowBuckets && win_min_[i] < ref) ref = win_min_[i];
    }
  }
  ref_offset_us_ = ref;

  // Histogram of relative delay with exponential forgetting. Instead of
  // scaling every bucket down per packet, the new packet's weight grows;
  // everything is rescaled when the weight gets large.
  const int64_t rel = transit_us - ref;
  const double rel_buckets = static_cast<double>(rel) * inv_hist_bucket_us_;
  const int b = rel_buckets >= kHistBuckets - 1 ? kHistBuckets - 1 : static_cast<int>(rel_buckets);
  weight_ *= weight_growth_;
  hist_[b] += weight_;
  total_ += weight_;
  if (b <= q_) cum_ += weight_;
  if (weight_ > 1e150) {
    const double scale = 1.0 / weight_;
    cum_ = 0.0;
    total_ = 0.0;
    for (int i = 0; i < kHistBuckets; ++i) {
      hist_[i] *= scale;
      total_ += hist_[i];
      if (i <= q_) cum_ += hist_[i];
    }
    weight_ = 1.0;
  }
  const double goal = quantile_ * total_;
  while (cum_ < goal && q_ < kHistBuckets - 1) cum_ += hist_[++q_];
  while (q_ > 0 && cum_ - hist_[q_] >= goal) cum_ -= hist_[q_--];
  target_us_ = static_cast<int32_t>(std::clamp<int64_t>((q_ + 1) * hist_bucket_us_, min_delay_us_, max_delay_us_));
}

}  // namespace sipmix
