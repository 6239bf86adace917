// Monitoring callbacks: the CallObserver that the call layer reports to. Each
// event becomes a JSON body in a bounded queue; one outbox thread POSTs them
// in order to the configured URL, retrying with backoff. The observer methods
// only format and enqueue (a short lock, no I/O): signalling threads never
// wait for the receiver. When the queue is full the oldest event is dropped
// and counted.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "gateway/calls.h"

namespace sipmix::gw {

struct OutboxOptions {
  std::string url;      // http(s)://host[:port][/path]; empty: events are counted, not sent
  std::string ca_file;  // for https receivers; empty: the system's CAs
  size_t capacity = 1024;
  int max_attempts = 6;  // per event, the first one included
  int initial_backoff_ms = 250;
  int max_backoff_ms = 8000;
  int timeout_ms = 5000;  // connect and read, per attempt
};

class CallbackOutbox final : public CallObserver {
 public:
  explicit CallbackOutbox(OutboxOptions options);
  ~CallbackOutbox() override;
  CallbackOutbox(const CallbackOutbox&) = delete;
  CallbackOutbox& operator=(const CallbackOutbox&) = delete;

  void start();
  // Stops the thread; events still queued are tried until `flush_deadline_ms`.
  void stop(int flush_deadline_ms);

  void on_call_created(const CallInfo& call) override;
  void on_call_updated(const CallInfo& call) override;
  void on_call_destroyed(const CallInfo& call, int reason_code, const std::string& reason_message) override;
  void on_mute_forced(const CallInfo& call, bool muted) override;

  uint64_t delivered() const { return delivered_.load(); }
  uint64_t failed() const { return failed_.load(); }    // given up after the last attempt
  uint64_t dropped() const { return dropped_.load(); }  // pushed out of a full queue
  uint64_t retries() const { return retries_.load(); }
  uint64_t mute_changes() const { return mute_changes_.load(); }
  size_t queued() const;

 private:
  void enqueue(std::string body);
  void run();
  enum class Attempt { kSent, kRefused, kRetry };
  Attempt deliver(const std::string& body);  // one POST

  const OutboxOptions options_;
  std::string base_;  // scheme://host:port
  std::string path_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // guarded by mu_
  bool stopping_ = false;          // guarded by mu_
  int64_t flush_until_ms_ = 0;     // guarded by mu_ (steady clock)
  std::thread thread_;
  std::atomic<uint64_t> delivered_{0}, failed_{0}, dropped_{0}, retries_{0}, mute_changes_{0};
};

}  // namespace sipmix::gw
