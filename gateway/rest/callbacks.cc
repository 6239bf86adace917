#include "gateway/rest/callbacks.h"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "gateway/core/log.h"

namespace sipmix::gw {
namespace {

using json = nlohmann::json;

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

json event_body(const CallInfo& c, const char* event) {
  return json{{"sessionId", c.session_id},
              {"projectId", c.project_id},
              {"event", event},
              {"timestamp", unix_ms()},
              {"call", {{"id", c.ids.id}, {"connectionId", c.ids.connection_id}, {"createdAt", c.created_at_ms}}}};
}

}  // namespace

CallbackOutbox::CallbackOutbox(OutboxOptions options) : options_(std::move(options)) {
  const std::string& u = options_.url;
  const size_t scheme_end = u.find("://");
  if (scheme_end != std::string::npos) {
    const size_t slash = u.find('/', scheme_end + 3);
    base_ = u.substr(0, slash);
    path_ = slash == std::string::npos ? "/" : u.substr(slash);
  }
}

CallbackOutbox::~CallbackOutbox() { stop(0); }

void CallbackOutbox::start() {
  if (base_.empty() || thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void CallbackOutbox::stop(int flush_deadline_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    flush_until_ms_ = steady_ms() + flush_deadline_ms;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t CallbackOutbox::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void CallbackOutbox::on_call_created(const CallInfo& call) { enqueue(event_body(call, "callCreated").dump()); }

void CallbackOutbox::on_call_updated(const CallInfo& call) {
  json j = event_body(call, "callUpdated");
  j["state"] = to_string(call.state);
  enqueue(j.dump());
}

void CallbackOutbox::on_call_destroyed(const CallInfo& call, int reason_code, const std::string& reason_message) {
  json j = event_body(call, "callDestroyed");
  j["reason_code"] = reason_code;
  j["reason_message"] = reason_message;
  enqueue(j.dump());
}

void CallbackOutbox::on_mute_forced(const CallInfo& call, bool muted) {
  mute_changes_.fetch_add(1);
  json j = event_body(call, "muteForced");
  j["muted"] = muted;
  enqueue(j.dump());
}

void CallbackOutbox::enqueue(std::string body) {
  if (base_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    if (queue_.size() >= options_.capacity) {
      queue_.pop_front();
      dropped_.fetch_add(1);
    }
    queue_.push_back(std::move(body));
  }
  cv_.notify_one();
}

CallbackOutbox::Attempt CallbackOutbox::deliver(const std::string& body) {
  httplib::Client cli(base_);
  cli.set_connection_timeout(std::chrono::milliseconds(options_.timeout_ms));
  cli.set_read_timeout(std::chrono::milliseconds(options_.timeout_ms));
  cli.set_write_timeout(std::chrono::milliseconds(options_.timeout_ms));
  if (!options_.ca_file.empty()) cli.set_ca_cert_path(options_.ca_file.c_str());
  auto res = cli.Post(path_, body, "application/json");
  if (!res) {
    log_event(LogLevel::kWarn, "callback.error", "", {{"error", httplib::to_string(res.error())}});
    return Attempt::kRetry;
  }
  if (res->status >= 200 && res->status < 300) return Attempt::kSent;
  log_event(LogLevel::kWarn, "callback.status", "", {{"status", std::to_string(res->status)}});
  // A receiver that refuses the request itself will refuse it again.
  const bool refused = res->status >= 400 && res->status < 500 && res->status != 408 && res->status != 429;
  return refused ? Attempt::kRefused : Attempt::kRetry;
}

void CallbackOutbox::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and nothing left
    if (stopping_ && steady_ms() >= flush_until_ms_) {
      failed_.fetch_add(queue_.size());
      queue_.clear();
      return;
    }
    std::string body = queue_.front();
    queue_.pop_front();
    int backoff_ms = options_.initial_backoff_ms;
    bool done = false;
    for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
      lock.unlock();
      const Attempt a = deliver(body);
      lock.lock();
      if (a == Attempt::kSent) {
        done = true;
        break;
      }
      if (a == Attempt::kRefused) break;
      if (attempt == options_.max_attempts) break;
      if (stopping_ && steady_ms() + backoff_ms >= flush_until_ms_) break;
      retries_.fetch_add(1);
      // Sleep the backoff, but wake at once for stop().
      const bool was_stopping = stopping_;
      cv_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [&] { return stopping_ != was_stopping; });
      backoff_ms = std::min(backoff_ms * 2, options_.max_backoff_ms);
    }
    if (done) {
      delivered_.fetch_add(1);
    } else {
      failed_.fetch_add(1);
      log_event(LogLevel::kWarn, "callback.gave_up", "", {});
    }
  }
}

}  // namespace sipmix::gw
