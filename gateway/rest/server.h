// sipmixd's REST API on cpp-httplib: authentication (HS256 JWT), request
// validation, the session registry, and the hand-off to the call layer
// through `Calls`. Handlers run on httplib's worker threads; `Calls` and the
// registry are thread-safe, the counters atomic.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "gateway/calls.h"
#include "gateway/core/config.h"
#include "gateway/rest/callbacks.h"
#include "gateway/rest/sessions.h"
#include "sipmix/status.h"

namespace httplib {
class Server;
class Request;
class Response;
class ContentReader;
}  // namespace httplib

namespace sipmix::gw {

class Registry;
struct NodeInfo;

class RestServer {
 public:
  // `calls` may be null (no call layer in this build): dials then get 503.
  // `config`, `calls` and `outbox` outlive the server.
  RestServer(const Config& config, Calls* calls, CallbackOutbox* outbox);
  ~RestServer();
  RestServer(const RestServer&) = delete;
  RestServer& operator=(const RestServer&) = delete;

  Status bind();     // config.http; fails if the address is taken
  void start();      // serves on its own thread
  void stop();       // stops serving and joins
  void set_draining();  // dials get 503 from now on; /healthz says so
  bool draining() const { return draining_.load(); }
  size_t live_calls() const;  // calls not yet HANGUP, over all known sessions
  SessionRegistry& sessions() { return sessions_; }
  // Cluster mode (docs/scale-out.md): sessions and calls are found through
  // `registry`, and requests for another node's session or connection are
  // forwarded to it. Before start(); `registry` outlives the server.
  void set_registry(Registry* registry) { registry_ = registry; }

 private:
  void routes();
  bool authorize(const httplib::Request& req, httplib::Response& res, const std::string& project);
  bool read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                 std::string& body);
  bool known_session(httplib::Response& res, const std::string& project, const std::string& session_id,
                     SessionEntry* entry = nullptr);
  bool take_dial_token();
  // Cluster mode: sends the request on to `node` and copies its answer.
  void forward(const httplib::Request& req, const std::string& body, httplib::Response& res, const NodeInfo& node);
  // Cluster mode: true when the request was handled (forwarded, or answered
  // with an error); false when it runs here.
  bool route_connection(const httplib::Request& req, const std::string& body, httplib::Response& res,
                        const std::string& session_id, const std::string& connection_id);
  bool route_session(const httplib::Request& req, const std::string& body, httplib::Response& res,
                     const std::string& session_id);

  void handle_dial(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
  void handle_session_create(const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& reader);
  void handle_delete_connection(const httplib::Request& req, httplib::Response& res);
  void handle_get_connection(const httplib::Request& req, httplib::Response& res);
  void handle_session_mute(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
  void handle_stream_mute(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader);
  void handle_play_dtmf(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                        bool one_connection);
  void handle_healthz(httplib::Response& res);
  void handle_metrics(httplib::Response& res);

  const Config& config_;
  Calls* const calls_;
  CallbackOutbox* const outbox_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  SessionRegistry sessions_;
  Registry* registry_ = nullptr;
  std::atomic<bool> draining_{false};

  std::mutex rate_mu_;
  double dial_tokens_;            // guarded by rate_mu_
  int64_t dial_tokens_at_us_ = 0;  // guarded by rate_mu_

  std::array<std::atomic<uint64_t>, 600> responses_by_code_{};
  std::atomic<uint64_t> dials_accepted_{0}, dials_rejected_{0};
};

}  // namespace sipmix::gw
