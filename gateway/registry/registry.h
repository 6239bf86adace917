// The cluster registry: what many sipmixd nodes share through Redis (node
// heartbeats with load, session affinity leases, the connection -> node map,
// sessions and their force-mute state), and the reaper that ends a dead
// node's calls. docs/scale-out.md lists every key and why it exists.
//
// Threads: one registry thread does all Redis I/O. REST threads and the call
// layer's threads (through RegistryObserver) only change the local picture
// under a short lock, or post a query to the registry thread and wait for it
// with a timeout. Nothing here runs on the media path.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gateway/calls.h"
#include "sipmix/status.h"

struct redisContext;

namespace sipmix::gw {

struct RegistryConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string node_id;       // unique in the cluster: [A-Za-z0-9_.-], 1..64
  std::string internal_url;  // http://host:port where other nodes reach this node's REST API
  int capacity = 200;        // calls this node takes (its max_calls), published with the heartbeat
  int heartbeat_ms = 1000;   // how often the node's state is written and the reaper runs
  int node_ttl_ms = 5000;    // a node whose heartbeat is older than this is dead
  int lease_ms = 10000;      // session affinity lease, refreshed by the owner's heartbeat
  int io_timeout_ms = 500;   // connect and per-command timeout
  int query_timeout_ms = 1500;  // how long a REST thread waits for an answer
};

// A live node as the registry sees it.
struct NodeInfo {
  std::string id;
  std::string internal_url;
  int load = 0;
  int capacity = 0;
  bool draining = false;
};

// Where a request for a session or a connection should run.
struct Route {
  enum class Kind { kLocal, kRemote, kNone };
  Kind kind = Kind::kNone;
  NodeInfo node;  // kRemote: the owner
};

// A call the registry knows, as stored in `call:{connectionId}`.
struct RegisteredCall {
  CallInfo info;
  std::string node_id;
};

class Registry {
 public:
  // Called on the registry thread for each call of a dead node after its
  // entries are removed from Redis: the daemon emits callDestroyed 703 and
  // removes the call's remote publisher from Janus.
  using ReapHook = std::function<void(const RegisteredCall& call, const std::string& dead_node)>;

  // Checks the configuration (errors name the field); does not connect.
  static StatusOr<std::unique_ptr<Registry>> create(const RegistryConfig& config);
  ~Registry();  // stop()
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  void set_reap_hook(ReapHook hook);  // before start()
  void start();
  // Stops the thread. With `deregister`, a last transaction removes this
  // node's heartbeat and load entry (its calls are gone by then).
  void stop(bool deregister = true);

  const std::string& node_id() const { return config_.node_id; }
  // True while the last Redis exchange succeeded. False: degraded mode.
  bool connected() const { return connected_.load(); }
  // Draining nodes are not offered new sessions.
  void set_draining();

  // --- the local picture (no I/O; written to Redis by every heartbeat) ---
  void add_call(const CallInfo& call);
  void update_call(const CallInfo& call);
  void remove_call(const CallInfo& call);
  size_t own_calls() const;
  void add_session(const std::string& session_id, const std::string& project_id, bool relayed, int64_t created_at_ms);
  void set_session_mute(const std::string& session_id, bool active, const std::vector<std::string>& excluded);

  // --- queries (block the caller up to query_timeout_ms; kUnavailable when
  // Redis cannot be reached) ---
  // The session's owner, claiming it when it has none or its owner is dead:
  // for this node when `claim_for_self`, else for the least-loaded live node
  // that is not draining. kUnavailable also when no node can take it.
  StatusOr<Route> route_session_for_dial(const std::string& session_id, bool claim_for_self);
  // The session's current live owner, or kNone.
  StatusOr<Route> session_owner(const std::string& session_id);
  // The node that holds the connection, or kNone (no key, or its node is dead).
  StatusOr<Route> connection_owner(const std::string& connection_id);
  struct SessionRecord {
    std::string project_id;
    bool relayed = false;
    int64_t created_at_ms = 0;
  };
  StatusOr<std::optional<SessionRecord>> find_session(const std::string& session_id);
  struct MuteState {
    bool active = false;
    std::vector<std::string> excluded;
  };
  StatusOr<MuteState> session_mute(const std::string& session_id);
  StatusOr<std::vector<NodeInfo>> live_nodes();

  // Runs one heartbeat (and reaper pass) now on the registry thread and
  // waits for it; for tests and for the drain path.
  Status heartbeat_now();

 private:
  explicit Registry(const RegistryConfig& config);
  using Job = std::function<void(redisContext*)>;
  // Posts `job` to the registry thread; false if it did not run in time or
  // Redis is unreachable.
  bool run_job(Job job);
  // Posts `job` without waiting for it.
  void post_job(Job job);
  // The node whose id `query` (a GET/HGET of a node-id field) returns: this
  // one, another live one, or none (no key, or its node has no heartbeat).
  StatusOr<Route> owner_named_by(const std::vector<std::string>& query);
  void loop();
  bool ensure_connected();
  void drop_connection(const char* why);
  bool write_heartbeat(redisContext* c);
  void reap(redisContext* c);

  const RegistryConfig config_;
  ReapHook reap_hook_;
  std::thread thread_;
  std::atomic<bool> connected_{false};
  std::atomic<bool> draining_{false};

  // The registry thread's connection and timers.
  redisContext* ctx_ = nullptr;
  int64_t connected_since_ms_ = 0;  // steady clock
  int64_t next_connect_ms_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                              // guarded by mu_
  std::deque<std::shared_ptr<struct RegistryJob>> jobs_;  // guarded by mu_
  std::map<std::string, CallInfo> calls_;              // own calls by connection id; guarded by mu_
  std::vector<CallInfo> removed_;                      // ended calls not yet removed from Redis; guarded by mu_
  std::map<std::string, int64_t> claimed_;             // session -> steady ms of this node's last claim; guarded by mu_
  std::map<std::string, SessionRecord> sessions_;      // sessions made through this node; guarded by mu_
  std::map<std::string, MuteState> mutes_;             // force-mute states set through this node; guarded by mu_
};

// The CallObserver the call layer reports to in a cluster: keeps the
// registry's picture of this node's calls and passes every event on.
class RegistryObserver final : public CallObserver {
 public:
  RegistryObserver(Registry* registry, CallObserver* next) : registry_(registry), next_(next) {}
  void on_call_created(const CallInfo& call) override;
  void on_call_updated(const CallInfo& call) override;
  void on_call_destroyed(const CallInfo& call, int reason_code, const std::string& reason_message) override;
  void on_mute_forced(const CallInfo& call, bool muted) override;

 private:
  Registry* const registry_;
  CallObserver* const next_;
};

}  // namespace sipmix::gw
