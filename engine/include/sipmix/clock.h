// Time source for a session's media tick. A gateway injects RealClock; the
// replay tool and the tests inject SimulatedClock and advance it by hand.
// now_us() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace sipmix {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time in microseconds. The epoch is arbitrary but fixed.
  virtual int64_t now_us() const = 0;
  int64_t now_ms() const { return now_us() / 1000; }
};

// CLOCK_MONOTONIC.
class RealClock final : public Clock {
 public:
  int64_t now_us() const override;
};

// Time moves only when the owner calls advance_us()/set_us(). Reads are
// lock-free and safe from any thread; writes come from one thread.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(int64_t start_us = 0) : now_us_(start_us) {}
  int64_t now_us() const override { return now_us_.load(std::memory_order_acquire); }
  void advance_us(int64_t delta_us) { now_us_.fetch_add(delta_us, std::memory_order_acq_rel); }
  void set_us(int64_t t_us) { now_us_.store(t_us, std::memory_order_release); }

 private:
  std::atomic<int64_t> now_us_;
};

}  // namespace sipmix
