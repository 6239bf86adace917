// Keyframe policy for the video path, on media time (int64 microseconds, from
// the session's injected Clock). KeyframeRequester throttles the receive side's
// PLI/FIR to one source; KeyframeScheduler spaces the keyframes our encoder is
// forced to make. Both are plain state owned by one tick thread; no allocation.
#pragma once

#include <cstdint>

namespace sipmix::video {

// Receive side: decides when a keyframe request (PLI/FIR) may go to a source.
// need_keyframe() records the need; it is sent at once when the last request
// is at least `min_interval_us` old, otherwise it stays pending and poll()
// sends it when the interval has passed. A received keyframe clears it.
// When the answer itself arrives damaged (on_broken_keyframe: a keyframe
// started and lost a packet), the sender is evidently answering, and the
// next request may go after `answered_interval_us` instead: at 5 % loss a
// multi-packet keyframe is often hit, and waiting out the full interval per
// attempt is what makes a switch slow. The sender still sees at most one
// request per keyframe it sent, or one per `min_interval_us`.
class KeyframeRequester {
 public:
  explicit KeyframeRequester(int64_t min_interval_us = 1'000'000, int64_t answered_interval_us = 200'000)
      : min_interval_us_(min_interval_us), answered_interval_us_(answered_interval_us) {}

  // Records that the source must send a keyframe. Returns true when a request
  // should be sent now (the caller sends exactly one PLI/FIR).
  bool need_keyframe(int64_t now_us) {
    pending_ = true;
    return poll(now_us);
  }
  // Call on every tick: true when a pending request may now be sent.
  bool poll(int64_t now_us) {
    if (!pending_) return false;
    const int64_t interval = answered_ ? answered_interval_us_ : min_interval_us_;
    if (has_sent_ && now_us - last_sent_us_ < interval) {
      ++throttled_;
      return false;
    }
    has_sent_ = true;
    answered_ = false;
    last_sent_us_ = now_us;
    pending_ = false;
    ++sent_;
    return true;
  }
  // A keyframe arrived: nothing is pending any more.
  void on_keyframe() { pending_ = false; }
  // A keyframe arrived damaged: the last request was answered (see above).
  void on_broken_keyframe() { answered_ = true; }
  bool pending() const { return pending_; }
  uint64_t requests_sent() const { return sent_; }
  uint64_t requests_throttled() const { return throttled_; }

 private:
  int64_t min_interval_us_;
  int64_t answered_interval_us_;
  int64_t last_sent_us_ = 0;
  bool answered_ = false;
  bool has_sent_ = false;
  bool pending_ = false;
  uint64_t sent_ = 0;
  uint64_t throttled_ = 0;
};

// Send side: a keyframe request (PLI/FIR from the far end, or a new layout)
// yields a keyframe on the next encoded frame, unless the last keyframe is
// less than `min_spacing_us` old; then it is deferred until the spacing has
// passed, never dropped.
class KeyframeScheduler {
 public:
  explicit KeyframeScheduler(int64_t min_spacing_us = 250'000) : min_spacing_us_(min_spacing_us) {}

  void request() {
    if (pending_) ++merged_;
    pending_ = true;
  }
  // Asked once per frame before encoding: force a keyframe for this frame?
  bool should_force(int64_t now_us) {
    if (!pending_) return false;
    if (has_last_ && now_us - last_keyframe_us_ < min_spacing_us_) return false;
    return true;
  }
  // Any keyframe that went out (forced, first or periodic) satisfies a
  // pending request and restarts the spacing window.
  void on_keyframe(int64_t now_us) {
    has_last_ = true;
    last_keyframe_us_ = now_us;
    pending_ = false;
  }
  bool pending() const { return pending_; }
  uint64_t merged_requests() const { return merged_; }
  void reset() {
    has_last_ = false;
    pending_ = false;
  }

 private:
  int64_t min_spacing_us_;
  int64_t last_keyframe_us_ = 0;
  bool has_last_ = false;
  bool pending_ = false;
  uint64_t merged_ = 0;
};

}  // namespace sipmix::video
