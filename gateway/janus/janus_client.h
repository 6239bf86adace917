// A client for the Janus HTTP API (janus.transport.http, Janus 1.1.2): one
// Janus session, plugin handles attached to it, synchronous plugin requests,
// a long-poll thread of its own that delivers events per handle, and a
// keepalive thread.
//
// Threads: every public method may be called from any thread; each one blocks
// for at most `request_timeout` (and fails fast with kUnavailable once Janus
// is lost). `HandleSink` callbacks run on the client's event thread only.
// A JanusClient never reconnects: when Janus is lost, make a new one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <optional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "sipmix/status.h"

namespace httplib {
class Client;
}

namespace sipmix::gw::janus {

using Json = nlohmann::json;

struct JanusClientOptions {
  // Base URL of the Janus API: "http://<ip>:<port>/janus" (plain HTTP, loopback
  // or a private network; see docs/gateway.md "Janus").
  std::string url = "http://127.0.0.1:8088/janus";
  std::string api_secret;  // janus.jcfg general.api_secret; sent as "apisecret"
  std::string token;       // for token_auth; sent as "token"
  std::chrono::milliseconds request_timeout{5000};
  // How often a keepalive thread sends {"janus":"keepalive"}; must stay well
  // under Janus's session_timeout (60 s by default).
  std::chrono::milliseconds keepalive_interval{20000};
  int max_events_per_poll = 10;  // "maxev" of the long poll
  // Called once, on the event thread, when Janus is lost (after every
  // HandleSink::on_janus_lost). Optional.
  std::function<void(const Status&)> on_janus_lost;
};

// Receives what Janus says about one handle. Called on the event thread; must
// not block. A sink may call back into the client (requests, detach).
class HandleSink {
 public:
  virtual ~HandleSink() = default;
  // {"janus":"event"} for this handle: plugindata.data, and the whole message
  // (for "transaction", "jsep", ...).
  virtual void on_plugin_event(const Json& data, const Json& message) = 0;
  // Any other message for this handle ("detached", "hangup", "media", ...).
  virtual void on_handle_message(const Json& message) { (void)message; }
  // Janus went away (or forgot our session). Called once per sink.
  virtual void on_janus_lost(const Status& why) { (void)why; }
};

class JanusClient {
 public:
  // Creates the Janus session and starts the event thread. kUnavailable when
  // Janus does not answer within request_timeout.
  static StatusOr<std::unique_ptr<JanusClient>> connect(JanusClientOptions options);

  // Destroys the Janus session (best effort, bounded by request_timeout) and
  // joins the event thread.
  ~JanusClient();
  JanusClient(const JanusClient&) = delete;
  JanusClient& operator=(const JanusClient&) = delete;

  // GET <url>/info: Janus's version, plugins and transports.
  static StatusOr<Json> info(const JanusClientOptions& options);

  // Attaches a handle to `plugin` ("janus.plugin.videoroom"). `sink` (may be
  // null) gets the handle's events until detach(); it must outlive that.
  StatusOr<uint64_t> attach(const std::string& plugin, HandleSink* sink);
  // Detaches the handle and unregisters its sink. When called off the event
  // thread, it waits for a callback to that sink that is running.
  Status detach(uint64_t handle_id);

  // {"janus":"message","body":body} on a handle. A synchronous plugin request
  // returns plugindata.data; a plugin error ("error_code") becomes a Status
  // naming body.request, the code and Janus's reason. An asynchronous request
  // (join, configure, ...) returns {"janus":"ack"} as is; its result arrives
  // as an event carrying the returned transaction.
  StatusOr<Json> message(uint64_t handle_id, const Json& body, std::string* transaction = nullptr);

  // True once Janus was lost; every call then fails with kUnavailable.
  bool lost() const { return lost_.load(std::memory_order_acquire); }
  uint64_t session_id() const { return session_id_; }
  const JanusClientOptions& options() const { return options_; }

 private:
  struct Target {
    std::string scheme_host_port;  // "http://127.0.0.1:8088"
    std::string path;              // "/janus"
  };

  JanusClient(JanusClientOptions options, Target target, uint64_t session_id);

  // POST `request` (transaction and secrets added) to path; Janus-level
  // errors ({"janus":"error"}) become a Status naming `what`.
  static StatusOr<Json> post(const JanusClientOptions& options, const Target& target,
                             const std::string& path, Json request, const std::string& what);
  std::string session_path() const;
  Status check_usable(const std::string& what) const;
  void mark_lost(const Status& why);
  void event_loop();
  void keepalive_loop();
  void dispatch(const Json& message);
  void report_lost(const Status& why);

  const JanusClientOptions options_;
  const Target target_;
  const uint64_t session_id_;

  std::atomic<bool> lost_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> event_loop_done_{false};

  mutable std::mutex lost_mu_;
  Status lost_reason_;  // guarded by lost_mu_

  std::mutex sinks_mu_;
  std::map<uint64_t, HandleSink*> sinks_;  // guarded by sinks_mu_
  // Held while a sink callback runs, so that detach() can wait it out.
  std::mutex dispatch_mu_;

  std::mutex poll_mu_;
  std::condition_variable poll_cv_;
  std::unique_ptr<httplib::Client> poll_client_;  // event thread's; stop() from others
  std::atomic<std::thread::id> event_thread_id_{};
  std::thread event_thread_;
  std::thread keepalive_thread_;
};

// The Janus error code carried in a Status this client returned, if any.
std::optional<int> janus_error_code(const Status& status);

// Janus's own error codes (janus.h, 1.1.2) the gateway tells apart.
inline constexpr int kJanusErrorUnauthorized = 403;
inline constexpr int kJanusErrorSessionNotFound = 458;
inline constexpr int kJanusErrorHandleNotFound = 459;

}  // namespace sipmix::gw::janus
