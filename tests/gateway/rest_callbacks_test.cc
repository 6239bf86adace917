// The callback outbox against a real HTTP receiver on loopback.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "gateway/rest/callbacks.h"

namespace sipmix::gw {
namespace {

using json = nlohmann::json;

// An HTTP receiver on 127.0.0.1 that answers each POST with the next status
// of `statuses` (the last one repeats) and records the bodies.
class Receiver {
 public:
  explicit Receiver(std::vector<int> statuses) : statuses_(std::move(statuses)) {
    server_.Post("/cb", [this](const httplib::Request& req, httplib::Response& res) {
      std::unique_lock<std::mutex> lock(mu_);
      if (gate_) {
        auto gate = gate_;
        lock.unlock();
        gate->wait();
        lock.lock();
      }
      const size_t i = std::min(bodies_.size(), statuses_.size() - 1);
      bodies_.push_back(req.body);
      res.status = statuses_[i];
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/cb"; }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  void hold_requests(std::shared_future<void> gate) {
    std::lock_guard<std::mutex> lock(mu_);
    gate_ = std::make_shared<std::shared_future<void>>(std::move(gate));
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<int> statuses_;
  std::vector<std::string> bodies_;
  std::shared_ptr<std::shared_future<void>> gate_;
};

CallInfo call(const std::string& id) {
  CallInfo c;
  c.ids = {id, "conn-" + id, "stream-" + id};
  c.session_id = "sess-1";
  c.project_id = "p1";
  c.created_at_ms = 1'800'000'000'000;
  c.state = CallState::kRinging;
  return c;
}

template <typename F>
bool wait_for(F done, int timeout_ms = 10000) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

OutboxOptions options(const std::string& url) {
  OutboxOptions o;
  o.url = url;
  o.initial_backoff_ms = 20;
  o.max_backoff_ms = 100;
  o.timeout_ms = 2000;
  return o;
}

TEST(CallbackOutbox, DeliversTheEventAndRetriesAfterA500) {
  Receiver rx({500, 200});
  CallbackOutbox outbox(options(rx.url()));
  outbox.start();
  outbox.on_call_created(call("c1"));
  ASSERT_TRUE(wait_for([&] { return outbox.delivered() == 1; }));
  const auto bodies = rx.bodies();
  ASSERT_EQ(bodies.size(), 2u);  // the 500, then the retry
  EXPECT_EQ(bodies[0], bodies[1]);
  const json j = json::parse(bodies[1]);
  EXPECT_EQ(j["event"], "callCreated");
  EXPECT_EQ(j["sessionId"], "sess-1");
  EXPECT_EQ(j["projectId"], "p1");
  EXPECT_TRUE(j["timestamp"].is_number_integer());
  EXPECT_EQ(j["call"]["id"], "c1");
  EXPECT_EQ(j["call"]["connectionId"], "conn-c1");
  EXPECT_EQ(j["call"]["createdAt"], 1'800'000'000'000);
  EXPECT_EQ(outbox.retries(), 1u);
  EXPECT_EQ(outbox.failed(), 0u);
}

TEST(CallbackOutbox, EventsCarryStateReasonAndMuteInOrder) {
  Receiver rx({200});
  CallbackOutbox outbox(options(rx.url()));
  outbox.start();
  CallInfo c = call("c2");
  outbox.on_call_updated(c);
  outbox.on_mute_forced(c, true);
  outbox.on_call_destroyed(c, 486, "Busy Here");
  ASSERT_TRUE(wait_for([&] { return outbox.delivered() == 3; }));
  const auto bodies = rx.bodies();
  ASSERT_EQ(bodies.size(), 3u);
  const json updated = json::parse(bodies[0]), muted = json::parse(bodies[1]), destroyed = json::parse(bodies[2]);
  EXPECT_EQ(updated["event"], "callUpdated");
  EXPECT_EQ(updated["state"], "RINGING");
  EXPECT_EQ(muted["event"], "muteForced");
  EXPECT_EQ(muted["muted"], true);
  EXPECT_EQ(destroyed["event"], "callDestroyed");
  EXPECT_EQ(destroyed["reason_code"], 486);
  EXPECT_EQ(destroyed["reason_message"], "Busy Here");
  EXPECT_EQ(outbox.mute_changes(), 1u);
}

TEST(CallbackOutbox, ReporterNeverWaitsForAStuckReceiver) {
  Receiver rx({200});
  std::promise<void> release;
  rx.hold_requests(release.get_future().share());
  CallbackOutbox outbox(options(rx.url()));
  outbox.start();
  outbox.on_call_created(call("first"));
  ASSERT_TRUE(wait_for([&] { return outbox.queued() == 0; }));  // "first" is in flight, held by the receiver
  // The receiver holds "first" until released; these calls must return meanwhile.
  for (int i = 0; i < 100; ++i) outbox.on_call_updated(call("c" + std::to_string(i)));
  EXPECT_EQ(outbox.delivered(), 0u);
  EXPECT_EQ(outbox.queued(), 100u);
  release.set_value();
  ASSERT_TRUE(wait_for([&] { return outbox.delivered() == 101; }));
}

TEST(CallbackOutbox, FullQueueDropsTheOldestAndCountsIt) {
  Receiver rx({200});
  OutboxOptions o = options(rx.url());
  o.capacity = 2;
  CallbackOutbox outbox(o);  // not started: nothing leaves the queue yet
  for (const char* id : {"a", "b", "c", "d", "e"}) outbox.on_call_created(call(id));
  EXPECT_EQ(outbox.dropped(), 3u);
  EXPECT_EQ(outbox.queued(), 2u);
  outbox.start();
  ASSERT_TRUE(wait_for([&] { return outbox.delivered() == 2; }));
  const auto bodies = rx.bodies();
  ASSERT_EQ(bodies.size(), 2u);
  EXPECT_EQ(json::parse(bodies[0])["call"]["id"], "d");
  EXPECT_EQ(json::parse(bodies[1])["call"]["id"], "e");
}

TEST(CallbackOutbox, GivesUpAfterTheLastAttemptAndOnA4xx) {
  Receiver rx({503});
  OutboxOptions o = options(rx.url());
  o.max_attempts = 3;
  CallbackOutbox outbox(o);
  outbox.start();
  outbox.on_call_created(call("x"));
  ASSERT_TRUE(wait_for([&] { return outbox.failed() == 1; }));
  EXPECT_EQ(rx.bodies().size(), 3u);

  Receiver refusing({400});
  CallbackOutbox outbox2(options(refusing.url()));
  outbox2.start();
  outbox2.on_call_created(call("y"));
  ASSERT_TRUE(wait_for([&] { return outbox2.failed() == 1; }));
  EXPECT_EQ(refusing.bodies().size(), 1u);  // a 400 is not retried
}

}  // namespace
}  // namespace sipmix::gw
