#include "gateway/registry/registry.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "gateway/core/log.h"

namespace sipmix::gw {

// A query posted to the registry thread. The thread runs `fn` holding `mu`,
// and skips it once the poster has given up (`abandoned`), so a job never
// touches the stack of a caller that has returned.
struct RegistryJob {
  std::function<void(redisContext*)> fn;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;       // guarded by mu
  bool ok = false;         // guarded by mu
  bool abandoned = false;  // guarded by mu
};

namespace {

using json = nlohmann::json;

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Key names: docs/scale-out.md, "What lives in Redis".
std::string node_key(const std::string& id) { return "node:" + id; }
std::string node_calls_key(const std::string& id) { return "node:" + id + ":calls"; }
std::string call_key(const std::string& cid) { return "call:" + cid; }
std::string session_key(const std::string& sid) { return "session:" + sid; }
std::string session_node_key(const std::string& sid) { return "session:" + sid + ":node"; }
std::string session_calls_key(const std::string& sid) { return "session:" + sid + ":calls"; }
std::string session_mute_key(const std::string& sid) { return "session:" + sid + ":mute"; }
constexpr const char* kNodesKey = "nodes";          // SET of every node that has registered
constexpr const char* kNodesLoadKey = "nodes:load";  // ZSET node -> calls, nodes that take new sessions

// The owner of session KEYS[1] becomes ARGV[1] (lease ARGV[2] ms) when it has
// none, is ARGV[1] already, or its node's heartbeat is gone; a new owner's
// load goes up by one so that a burst of dials spreads before the next
// heartbeat. Returns the owner.
constexpr const char* kClaimScript = R"(
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return v end
if v == false or redis.call('EXISTS', 'node:' .. v) == 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('ZINCRBY', 'nodes:load', 1, ARGV[1])
  return ARGV[1]
end
return v)";

// The owner's heartbeat refresh of its lease: re-creates it after a Redis
// restart, leaves it alone when another node took the session meanwhile.
constexpr const char* kRefreshScript = R"(
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0)";

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

Reply command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return Reply(static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
}

void append(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data());
}

bool is_error(const Reply& r) { return r == nullptr || r->type == REDIS_REPLY_ERROR; }
std::string str(const redisReply* r) {
  return r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) ? std::string(r->str, r->len)
                                                                                          : std::string();
}

// Runs the queued commands as one MULTI/EXEC: either all of it is applied or
// none (a connection lost before EXEC discards the transaction).
bool transaction(redisContext* c, const std::vector<std::vector<std::string>>& cmds) {
  append(c, {"MULTI"});
  for (const auto& a : cmds) append(c, a);
  append(c, {"EXEC"});
  bool ok = true;
  for (size_t i = 0; i < cmds.size() + 2; ++i) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK) return false;
    Reply r(static_cast<redisReply*>(raw));
    if (i == cmds.size() + 1) ok = ok && r->type == REDIS_REPLY_ARRAY;  // EXEC: nil when aborted
    else if (r->type == REDIS_REPLY_ERROR) ok = false;                  // queued command refused
  }
  return ok;
}

std::string call_json(const CallInfo& c) {
  return json{{"id", c.ids.id},
              {"connectionId", c.ids.connection_id},
              {"streamId", c.ids.stream_id},
              {"sessionId", c.session_id},
              {"projectId", c.project_id},
              {"connectionData", c.connection_data},
              {"state", to_string(c.state)},
              {"muted", c.muted},
              {"createdAt", c.created_at_ms}}
      .dump();
}

std::optional<NodeInfo> parse_node(const std::string& id, const std::string& value) {
  json j = json::parse(value, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  NodeInfo n;
  n.id = id;
  n.internal_url = j.value("url", "");
  n.load = j.value("load", 0);
  n.capacity = j.value("capacity", 0);
  n.draining = j.value("draining", false);
  return n;
}

std::optional<NodeInfo> get_node(redisContext* c, const std::string& id, bool& ok) {
  Reply r = command(c, {"GET", node_key(id)});
  if (is_error(r)) {
    ok = false;
    return std::nullopt;
  }
  if (r->type != REDIS_REPLY_STRING) return std::nullopt;
  return parse_node(id, str(r.get()));
}

bool valid_node_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char ch : id) {
    const bool good = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                      ch == '-' || ch == '.';
    if (!good) return false;
  }
  return true;
}

}  // namespace

StatusOr<std::unique_ptr<Registry>> Registry::create(const RegistryConfig& config) {
  if (config.host.empty()) return invalid_argument("--redis: host is empty");
  if (config.port == 0) return invalid_argument("--redis: port must be 1..65535");
  if (!valid_node_id(config.node_id)) {
    return invalid_argument("--node-id: must be 1..64 characters of [A-Za-z0-9_.-]");
  }
  if (config.internal_url.rfind("http://", 0) != 0 || config.internal_url.size() <= 7) {
    return invalid_argument("--internal-url: must be an http:// URL where other nodes reach this node");
  }
  if (config.heartbeat_ms < 50 || config.node_ttl_ms < 2 * config.heartbeat_ms ||
      config.lease_ms < config.node_ttl_ms) {
    return invalid_argument("registry timers: need heartbeat_ms >= 50, node_ttl_ms >= 2 * heartbeat_ms, "
                            "lease_ms >= node_ttl_ms");
  }
  return std::unique_ptr<Registry>(new Registry(config));
}

Registry::Registry(const RegistryConfig& config) : config_(config) {}

Registry::~Registry() { stop(false); }

void Registry::set_reap_hook(ReapHook hook) { reap_hook_ = std::move(hook); }

void Registry::start() {
  thread_ = std::thread([this] { loop(); });
}

void Registry::stop(bool deregister) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) return;
    if (deregister) {
      auto job = std::make_shared<RegistryJob>();
      job->fn = [this](redisContext* c) {
        const std::string& id = config_.node_id;
        write_heartbeat(c);  // removes the calls that ended since the last one
        transaction(c, {{"DEL", node_key(id)}, {"ZREM", kNodesLoadKey, id}, {"SREM", kNodesKey, id},
                        {"DEL", node_calls_key(id)}});
      };
      jobs_.push_back(job);
    }
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
  connected_.store(false);
}

void Registry::set_draining() {
  draining_.store(true);
  cv_.notify_all();
}

// ---------------------------------------------------------------- local picture

void Registry::add_call(const CallInfo& call) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls_[call.ids.connection_id] = call;
    claimed_[call.session_id] = steady_ms();
  }
  // At once, so that any node finds the call right after the dial; the
  // heartbeat writes it again.
  post_job([this, call](redisContext* c) {
    const std::string& cid = call.ids.connection_id;
    transaction(c, {{"HSET", call_key(cid), "node", config_.node_id, "sessionId", call.session_id, "info",
                     call_json(call)},
                    {"SADD", session_calls_key(call.session_id), cid},
                    {"SADD", node_calls_key(config_.node_id), cid}});
  });
}

void Registry::update_call(const CallInfo& call) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(call.ids.connection_id);
  if (it != calls_.end()) it->second = call;
}

void Registry::remove_call(const CallInfo& call) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (calls_.erase(call.ids.connection_id) == 0) return;
    removed_.push_back(call);  // until a heartbeat has removed it for sure
  }
  post_job([this, call](redisContext* c) {
    const std::string& cid = call.ids.connection_id;
    transaction(c, {{"DEL", call_key(cid)},
                    {"SREM", session_calls_key(call.session_id), cid},
                    {"SREM", node_calls_key(config_.node_id), cid}});
  });
}

size_t Registry::own_calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_.size();
}

void Registry::add_session(const std::string& session_id, const std::string& project_id, bool relayed,
                           int64_t created_at_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_[session_id] = SessionRecord{project_id, relayed, created_at_ms};
  }
  // Written at once, so that the session's id is usable on every node as soon
  // as the client has it; the heartbeat writes it again (a Redis restart).
  run_job([session_id, project_id, relayed, created_at_ms](redisContext* c) {
    transaction(c, {{"HSET", session_key(session_id), "project", project_id, "relayed", relayed ? "1" : "0",
                     "createdAt", std::to_string(created_at_ms)}});
  });
}

void Registry::set_session_mute(const std::string& session_id, bool active, const std::vector<std::string>& excluded) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    mutes_[session_id] = MuteState{active, excluded};
  }
  run_job([session_id, active, excluded](redisContext* c) {
    transaction(c, {{"HSET", session_mute_key(session_id), "active", active ? "1" : "0", "excluded",
                     json(excluded).dump()}});
  });
}

// ---------------------------------------------------------------- queries

void Registry::post_job(Job fn) {
  auto job = std::make_shared<RegistryJob>();
  job->fn = std::move(fn);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || !thread_.joinable()) return;
    jobs_.push_back(job);
  }
  cv_.notify_all();
}

bool Registry::run_job(Job fn) {
  auto job = std::make_shared<RegistryJob>();
  job->fn = std::move(fn);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || !thread_.joinable()) return false;
    jobs_.push_back(job);
  }
  cv_.notify_all();
  std::unique_lock<std::mutex> lock(job->mu);
  // A job already running holds job->mu: this waits for its end (bounded by
  // the Redis I/O timeout); one not started yet is abandoned.
  if (!job->cv.wait_for(lock, std::chrono::milliseconds(config_.query_timeout_ms), [&] { return job->done; })) {
    job->abandoned = true;
    return false;
  }
  return job->ok;
}

namespace {
Status registry_unavailable() {
  return unavailable("the cluster registry (Redis) is unreachable: this node keeps its calls but takes no new "
                     "dials until it is back");
}
}  // namespace

StatusOr<Route> Registry::route_session_for_dial(const std::string& session_id, bool claim_for_self) {
  Route route;
  Status error;
  bool io_ok = true;
  const bool ran = run_job([&](redisContext* c) {
    std::string candidate = config_.node_id;
    if (!claim_for_self) {
      // An owner that is alive keeps the session, draining or not.
      Reply cur = command(c, {"GET", session_node_key(session_id)});
      if (is_error(cur)) {
        io_ok = false;
        return;
      }
      std::optional<NodeInfo> owner;
      if (cur->type == REDIS_REPLY_STRING) owner = get_node(c, str(cur.get()), io_ok);
      if (!io_ok) return;
      if (!owner) {
        Reply z = command(c, {"ZRANGE", kNodesLoadKey, "0", "-1", "WITHSCORES"});
        if (is_error(z) || z->type != REDIS_REPLY_ARRAY) {
          io_ok = false;
          return;
        }
        candidate.clear();
        for (size_t i = 0; i + 1 < z->elements; i += 2) {
          const std::string id = str(z->element[i]);
          std::optional<NodeInfo> n = get_node(c, id, io_ok);
          if (!io_ok) return;
          if (!n || n->draining) continue;
          if (n->capacity > 0 && std::atol(str(z->element[i + 1]).c_str()) >= n->capacity) continue;
          candidate = id;
          break;
        }
        if (candidate.empty()) {
          error = unavailable("no live cluster node can take a new session");
          return;
        }
      } else {
        candidate = owner->id;
      }
    }
    Reply r = command(c, {"EVAL", kClaimScript, "1", session_node_key(session_id), candidate,
                          std::to_string(config_.lease_ms)});
    if (is_error(r) || r->type != REDIS_REPLY_STRING) {
      io_ok = false;
      return;
    }
    const std::string owner = str(r.get());
    if (owner == config_.node_id) {
      route.kind = Route::Kind::kLocal;
      route.node.id = owner;
      return;
    }
    std::optional<NodeInfo> n = get_node(c, owner, io_ok);
    if (!io_ok) return;
    if (!n) {
      error = unavailable("the session's node " + owner + " is not alive");
      return;
    }
    route.kind = Route::Kind::kRemote;
    route.node = *n;
  });
  if (!ran || !io_ok) return registry_unavailable();
  if (!error.ok()) return error;
  if (route.kind == Route::Kind::kLocal) {
    std::lock_guard<std::mutex> lock(mu_);
    claimed_[session_id] = steady_ms();
  }
  return route;
}

StatusOr<Route> Registry::session_owner(const std::string& session_id) {
  return owner_named_by({"GET", session_node_key(session_id)});
}

StatusOr<Route> Registry::connection_owner(const std::string& connection_id) {
  return owner_named_by({"HGET", call_key(connection_id), "node"});
}

StatusOr<Route> Registry::owner_named_by(const std::vector<std::string>& query) {
  Route route;
  bool io_ok = true;
  const bool ran = run_job([&](redisContext* c) {
    Reply r = command(c, query);
    if (is_error(r)) {
      io_ok = false;
      return;
    }
    if (r->type != REDIS_REPLY_STRING) return;
    const std::string owner = str(r.get());
    if (owner == config_.node_id) {
      route.kind = Route::Kind::kLocal;
      route.node.id = owner;
      return;
    }
    std::optional<NodeInfo> n = get_node(c, owner, io_ok);
    if (n) {
      route.kind = Route::Kind::kRemote;
      route.node = *n;
    }
  });
  if (!ran || !io_ok) return registry_unavailable();
  return route;
}

StatusOr<std::optional<Registry::SessionRecord>> Registry::find_session(const std::string& session_id) {
  std::optional<SessionRecord> out;
  bool io_ok = true;
  const bool ran = run_job([&](redisContext* c) {
    Reply r = command(c, {"HMGET", session_key(session_id), "project", "relayed", "createdAt"});
    if (is_error(r) || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
      io_ok = false;
      return;
    }
    if (r->element[0]->type != REDIS_REPLY_STRING) return;
    out = SessionRecord{str(r->element[0]), str(r->element[1]) == "1", std::atoll(str(r->element[2]).c_str())};
  });
  if (!ran || !io_ok) return registry_unavailable();
  return out;
}

StatusOr<Registry::MuteState> Registry::session_mute(const std::string& session_id) {
  MuteState out;
  bool io_ok = true;
  const bool ran = run_job([&](redisContext* c) {
    Reply r = command(c, {"HMGET", session_mute_key(session_id), "active", "excluded"});
    if (is_error(r) || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
      io_ok = false;
      return;
    }
    out.active = str(r->element[0]) == "1";
    json ex = json::parse(str(r->element[1]), nullptr, false);
    if (ex.is_array()) {
      for (const json& s : ex) {
        if (s.is_string()) out.excluded.push_back(s.get<std::string>());
      }
    }
  });
  if (!ran || !io_ok) return registry_unavailable();
  return out;
}

StatusOr<std::vector<NodeInfo>> Registry::live_nodes() {
  std::vector<NodeInfo> out;
  bool io_ok = true;
  const bool ran = run_job([&](redisContext* c) {
    Reply m = command(c, {"SMEMBERS", kNodesKey});
    if (is_error(m) || m->type != REDIS_REPLY_ARRAY) {
      io_ok = false;
      return;
    }
    for (size_t i = 0; i < m->elements; ++i) {
      std::optional<NodeInfo> n = get_node(c, str(m->element[i]), io_ok);
      if (!io_ok) return;
      if (n) out.push_back(*n);
    }
  });
  if (!ran || !io_ok) return registry_unavailable();
  return out;
}

Status Registry::heartbeat_now() {
  bool ok = false;
  if (!run_job([&](redisContext* c) {
        ok = write_heartbeat(c);
        if (ok) reap(c);
      }) ||
      !ok) {
    return registry_unavailable();
  }
  return Status();
}

// ---------------------------------------------------------------- the registry thread

bool Registry::ensure_connected() {
  if (ctx_ != nullptr) return true;
  const int64_t now = steady_ms();
  if (now < next_connect_ms_) return false;
  next_connect_ms_ = now + config_.heartbeat_ms / 2;
  const timeval tv{config_.io_timeout_ms / 1000, (config_.io_timeout_ms % 1000) * 1000};
  redisContext* c = redisConnectWithTimeout(config_.host.c_str(), config_.port, tv);
  if (c == nullptr || c->err != 0) {
    if (connected_.exchange(false) || connected_since_ms_ == 0) {
      log_event(LogLevel::kWarn, "registry.unreachable", "",
                {{"redis", config_.host + ":" + std::to_string(config_.port)},
                 {"error", c != nullptr ? c->errstr : "out of memory"}});
      connected_since_ms_ = -1;  // logged once per outage
    }
    if (c != nullptr) redisFree(c);
    return false;
  }
  redisSetTimeout(c, tv);
  ctx_ = c;
  connected_since_ms_ = now;
  log_event(LogLevel::kInfo, "registry.connected", "",
            {{"redis", config_.host + ":" + std::to_string(config_.port)}, {"node", config_.node_id}});
  return true;
}

void Registry::drop_connection(const char* why) {
  if (ctx_ == nullptr) return;
  log_event(LogLevel::kWarn, "registry.lost", "",
            {{"error", ctx_->err != 0 ? ctx_->errstr : why}, {"node", config_.node_id}});
  redisFree(ctx_);
  ctx_ = nullptr;
  connected_.store(false);
  connected_since_ms_ = -1;
}

bool Registry::write_heartbeat(redisContext* c) {
  const std::string& id = config_.node_id;
  std::vector<std::vector<std::string>> cmds;
  std::vector<CallInfo> removed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = steady_ms();
    const bool draining = draining_.load();
    removed = removed_;
    for (const CallInfo& call : removed) {
      if (calls_.count(call.ids.connection_id) != 0) continue;
      cmds.push_back({"DEL", call_key(call.ids.connection_id)});
      cmds.push_back({"SREM", session_calls_key(call.session_id), call.ids.connection_id});
    }
    cmds.push_back({"SET", node_key(id),
                    json{{"url", config_.internal_url},
                         {"load", calls_.size()},
                         {"capacity", config_.capacity},
                         {"draining", draining}}
                        .dump(),
                    "PX", std::to_string(config_.node_ttl_ms)});
    cmds.push_back({"SADD", kNodesKey, id});
    if (draining) {
      cmds.push_back({"ZREM", kNodesLoadKey, id});
    } else {
      cmds.push_back({"ZADD", kNodesLoadKey, std::to_string(calls_.size()), id});
    }
    // The whole picture of this node's calls, rewritten: after a Redis restart
    // the registry is whole again one heartbeat later.
    cmds.push_back({"DEL", node_calls_key(id)});
    std::vector<std::string> sadd = {"SADD", node_calls_key(id)};
    for (const auto& [cid, call] : calls_) {
      sadd.push_back(cid);
      cmds.push_back({"HSET", call_key(cid), "node", id, "sessionId", call.session_id, "info", call_json(call)});
      cmds.push_back({"SADD", session_calls_key(call.session_id), cid});
      claimed_[call.session_id] = now;  // a session with calls keeps its lease
    }
    if (sadd.size() > 2) cmds.push_back(sadd);
    for (auto it = claimed_.begin(); it != claimed_.end();) {
      if (now - it->second > config_.lease_ms) {
        it = claimed_.erase(it);  // no calls and no dial since: the lease runs out
        continue;
      }
      cmds.push_back({"EVAL", kRefreshScript, "1", session_node_key(it->first), id, std::to_string(config_.lease_ms)});
      ++it;
    }
    for (const auto& [sid, s] : sessions_) {
      cmds.push_back({"HSET", session_key(sid), "project", s.project_id, "relayed", s.relayed ? "1" : "0",
                      "createdAt", std::to_string(s.created_at_ms)});
    }
    for (const auto& [sid, m] : mutes_) {
      cmds.push_back({"HSET", session_mute_key(sid), "active", m.active ? "1" : "0", "excluded",
                      json(m.excluded).dump()});
    }
  }
  if (!transaction(c, cmds)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  // Only what this transaction removed leaves the list.
  removed_.erase(removed_.begin(), removed_.begin() + static_cast<std::ptrdiff_t>(removed.size()));
  return true;
}

void Registry::reap(redisContext* c) {
  // After (re)connecting, the other nodes get a full TTL to write their
  // heartbeat again before any of them is taken for dead.
  if (connected_since_ms_ < 0 || steady_ms() - connected_since_ms_ < config_.node_ttl_ms + config_.heartbeat_ms) {
    return;
  }
  Reply m = command(c, {"SMEMBERS", kNodesKey});
  if (is_error(m) || m->type != REDIS_REPLY_ARRAY) return;
  for (size_t i = 0; i < m->elements; ++i) {
    const std::string dead = str(m->element[i]);
    if (dead == config_.node_id) continue;
    Reply e = command(c, {"EXISTS", node_key(dead)});
    if (is_error(e) || e->type != REDIS_REPLY_INTEGER || e->integer != 0) continue;
    // One living node reaps each dead one.
    Reply lock = command(c, {"SET", "reap:" + dead, config_.node_id, "NX", "PX", "30000"});
    if (is_error(lock) || lock->type != REDIS_REPLY_STATUS) continue;
    Reply members = command(c, {"SMEMBERS", node_calls_key(dead)});
    if (is_error(members) || members->type != REDIS_REPLY_ARRAY) continue;
    std::vector<RegisteredCall> calls;
    std::vector<std::vector<std::string>> cmds;
    for (size_t k = 0; k < members->elements; ++k) {
      const std::string cid = str(members->element[k]);
      Reply h = command(c, {"HGET", call_key(cid), "info"});
      if (is_error(h)) return;
      cmds.push_back({"DEL", call_key(cid)});
      if (h->type != REDIS_REPLY_STRING) continue;
      json j = json::parse(str(h.get()), nullptr, false);
      if (!j.is_object()) continue;
      RegisteredCall rc;
      rc.node_id = dead;
      rc.info.ids = CallIds{j.value("id", ""), j.value("connectionId", ""), j.value("streamId", "")};
      rc.info.session_id = j.value("sessionId", "");
      rc.info.project_id = j.value("projectId", "");
      rc.info.connection_data = j.value("connectionData", "");
      rc.info.state = CallState::kHangup;
      rc.info.muted = j.value("muted", false);
      rc.info.created_at_ms = j.value("createdAt", int64_t{0});
      cmds.push_back({"SREM", session_calls_key(rc.info.session_id), cid});
      calls.push_back(std::move(rc));
    }
    cmds.push_back({"DEL", node_calls_key(dead)});
    cmds.push_back({"SREM", kNodesKey, dead});
    cmds.push_back({"ZREM", kNodesLoadKey, dead});
    if (!transaction(c, cmds)) return;
    log_event(LogLevel::kWarn, "registry.reaped", "",
              {{"dead_node", dead}, {"calls", std::to_string(calls.size())}, {"by", config_.node_id}});
    if (reap_hook_) {
      for (const RegisteredCall& rc : calls) reap_hook_(rc, dead);
    }
  }
}

void Registry::loop() {
  int64_t next_beat_ms = 0;
  for (;;) {
    std::shared_ptr<RegistryJob> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const int64_t wait = std::max<int64_t>(0, next_beat_ms - steady_ms());
      cv_.wait_for(lock, std::chrono::milliseconds(wait), [this] { return stopping_ || !jobs_.empty(); });
      if (!jobs_.empty()) {
        job = jobs_.front();
        jobs_.pop_front();
      } else if (stopping_) {
        break;
      }
    }
    if (job) {
      std::lock_guard<std::mutex> job_lock(job->mu);
      if (job->abandoned) continue;
      bool ok = ensure_connected();
      if (ok) {
        job->fn(ctx_);
        if (ctx_->err != 0) {
          drop_connection("I/O error");
          ok = false;
        } else {
          connected_.store(true);
        }
      }
      job->ok = ok;
      job->done = true;
      job->cv.notify_all();
      continue;
    }
    if (steady_ms() < next_beat_ms) continue;
    next_beat_ms = steady_ms() + config_.heartbeat_ms;
    if (!ensure_connected()) continue;
    if (!write_heartbeat(ctx_)) {
      drop_connection("heartbeat transaction failed");
      continue;
    }
    connected_.store(true);
    reap(ctx_);
    if (ctx_->err != 0) drop_connection("I/O error");
  }
}

// ---------------------------------------------------------------- observer

void RegistryObserver::on_call_created(const CallInfo& call) {
  registry_->add_call(call);
  next_->on_call_created(call);
}

void RegistryObserver::on_call_updated(const CallInfo& call) {
  if (call.state == CallState::kHangup) {
    registry_->remove_call(call);
  } else {
    registry_->update_call(call);
  }
  next_->on_call_updated(call);
}

void RegistryObserver::on_call_destroyed(const CallInfo& call, int reason_code, const std::string& reason_message) {
  registry_->remove_call(call);
  next_->on_call_destroyed(call, reason_code, reason_message);
}

void RegistryObserver::on_mute_forced(const CallInfo& call, bool muted) {
  registry_->update_call(call);
  next_->on_mute_forced(call, muted);
}

}  // namespace sipmix::gw
