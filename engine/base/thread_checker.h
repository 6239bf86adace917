// Debug-build checks of a thread role, in the manner of libwebrtc's
// RTC_DCHECK_RUN_ON: a ThreadChecker binds to the first thread that asks and
// then answers whether the caller is that thread; a ProducerChecker asserts
// that one producer at a time is inside a section. Both are checked through
// assert(), so a build with NDEBUG compiles the checks (and their cost) out.
// Any thread may call them; they lock nothing and allocate nothing.
#pragma once

#include <atomic>
#include <cassert>
#include <thread>

namespace sipmix {

class ThreadChecker {
 public:
  ThreadChecker() = default;
  ThreadChecker(const ThreadChecker&) = delete;
  ThreadChecker& operator=(const ThreadChecker&) = delete;

  // True on the bound thread; the first caller binds it.
  bool is_current() const {
    const std::thread::id self = std::this_thread::get_id();
    std::thread::id expected{};
    if (owner_.compare_exchange_strong(expected, self, std::memory_order_acq_rel)) return true;
    return expected == self;
  }
  // The next caller binds it again (e.g. after the owner handed it over).
  void detach() { owner_.store(std::thread::id{}, std::memory_order_release); }

 private:
  mutable std::atomic<std::thread::id> owner_{};
};

// Flags two threads inside the same section at once: a second producer on a
// path that allows only one.
class ProducerChecker {
 public:
  ProducerChecker() = default;
  ProducerChecker(const ProducerChecker&) = delete;
  ProducerChecker& operator=(const ProducerChecker&) = delete;

  bool enter() { return !busy_.exchange(true, std::memory_order_acquire); }
  void leave() { busy_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> busy_{false};
};

#ifndef NDEBUG
// Holds a ProducerChecker for a scope, asserting it was free.
class ProducerScope {
 public:
  explicit ProducerScope(ProducerChecker& c) : c_(c) {
    assert(c_.enter() && "two threads push through the same handle at once");
  }
  ~ProducerScope() { c_.leave(); }
  ProducerScope(const ProducerScope&) = delete;
  ProducerScope& operator=(const ProducerScope&) = delete;

 private:
  ProducerChecker& c_;
};
#define SIPMIX_DCHECK_ONE_PRODUCER(checker) ::sipmix::ProducerScope sipmix_producer_scope_(checker)
#else
#define SIPMIX_DCHECK_ONE_PRODUCER(checker) ((void)0)
#endif

// At the top of a method that must run on the thread `checker` is bound to.
#define SIPMIX_DCHECK_RUN_ON(checker) \
  assert((checker).is_current() && "called from a thread other than the one this object is bound to")

}  // namespace sipmix
