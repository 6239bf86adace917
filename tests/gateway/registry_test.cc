// The cluster registry against a real redis-server on a free 127.0.0.1 port:
// heartbeats and load, session affinity, the connection -> node map, the
// reaper, degraded mode, and a Redis restart rebuilt from the nodes.
#include "gateway/registry/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "tests/gateway/cluster_support.h"

namespace sipmix::gw {
namespace {

using cluster_test::eventually;
using cluster_test::RedisServer;

constexpr int kHeartbeatMs = 100;
constexpr int kTtlMs = 400;

std::unique_ptr<Registry> make_node(const RedisServer& redis, const std::string& id, int heartbeat_ms = kHeartbeatMs) {
  RegistryConfig c;
  c.port = static_cast<uint16_t>(redis.port());
  c.node_id = id;
  c.internal_url = "http://127.0.0.1:1/" + id;
  c.capacity = 10;
  c.heartbeat_ms = heartbeat_ms;
  c.node_ttl_ms = kTtlMs * heartbeat_ms / kHeartbeatMs;
  c.lease_ms = std::max(1000, c.node_ttl_ms);
  c.io_timeout_ms = 200;
  c.query_timeout_ms = 1000;
  auto r = Registry::create(c);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return std::move(*r);
}

CallInfo call(const std::string& sid, const std::string& n) {
  CallInfo c;
  c.ids = CallIds{"call-" + n, "conn-" + n, "stream-" + n};
  c.session_id = sid;
  c.project_id = "p1";
  c.connection_data = "name=" + n;
  c.state = CallState::kActive;
  c.created_at_ms = 1700000000000;
  return c;
}

TEST(RegistryConfig, ErrorsNameTheField) {
  RegistryConfig c;
  c.node_id = "bad id";
  c.internal_url = "http://127.0.0.1:8080";
  auto r = Registry::create(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--node-id"), std::string::npos);
  c.node_id = "n1";
  c.internal_url = "127.0.0.1:8080";
  r = Registry::create(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--internal-url"), std::string::npos);
}

TEST(Registry, HeartbeatPublishesLoadAndExpiresWhenTheNodeStops) {
  RedisServer redis;
  auto a = make_node(redis, "a");
  a->start();
  a->add_call(call("s1", "1"));
  a->add_call(call("s1", "2"));
  ASSERT_TRUE(a->heartbeat_now().ok());
  EXPECT_TRUE(a->connected());
  EXPECT_EQ(redis.get({"ZSCORE", "nodes:load", "a"}), "2");
  EXPECT_NE(redis.get({"GET", "node:a"}).find("\"url\":\"http://127.0.0.1:1/a\""), std::string::npos);
  EXPECT_EQ(redis.get({"HGET", "call:conn-1", "node"}), "a");
  EXPECT_EQ(redis.integer({"SCARD", "session:s1:calls"}), 2);
  EXPECT_EQ(redis.get({"GET", "session:s1:node"}), "a");  // the owner of the calls holds the lease
  const long long ttl = redis.integer({"PTTL", "node:a"});
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, kTtlMs);

  // An ended call leaves the registry with the next heartbeat.
  a->remove_call(call("s1", "2"));
  ASSERT_TRUE(a->heartbeat_now().ok());
  EXPECT_EQ(redis.integer({"EXISTS", "call:conn-2"}), 0);
  EXPECT_EQ(redis.integer({"SCARD", "session:s1:calls"}), 1);
  EXPECT_EQ(redis.get({"ZSCORE", "nodes:load", "a"}), "1");

  a->stop(/*deregister=*/false);  // as if the process died
  EXPECT_TRUE(eventually([&] { return redis.integer({"EXISTS", "node:a"}) == 0; }, 2 * kTtlMs));
}

TEST(Registry, EveryDialOfASessionGoesToTheNodeHoldingItsLease) {
  RedisServer redis;
  auto a = make_node(redis, "a");
  auto b = make_node(redis, "b");
  a->start();
  b->start();
  ASSERT_TRUE(a->heartbeat_now().ok());
  ASSERT_TRUE(b->heartbeat_now().ok());

  auto ra = a->route_session_for_dial("s1", /*claim_for_self=*/true);
  ASSERT_TRUE(ra.ok()) << ra.status().message();
  EXPECT_EQ(ra->kind, Route::Kind::kLocal);
  for (int i = 0; i < 3; ++i) {
    auto rb = b->route_session_for_dial("s1", /*claim_for_self=*/false);
    ASSERT_TRUE(rb.ok()) << rb.status().message();
    EXPECT_EQ(rb->kind, Route::Kind::kRemote);
    EXPECT_EQ(rb->node.id, "a");
    EXPECT_EQ(rb->node.internal_url, "http://127.0.0.1:1/a");
  }
  // Even a node asking for itself gets the owner: the lease is taken.
  auto rb = b->route_session_for_dial("s1", /*claim_for_self=*/true);
  ASSERT_TRUE(rb.ok());
  EXPECT_EQ(rb->kind, Route::Kind::kRemote);
  EXPECT_EQ(rb->node.id, "a");
  auto owner = b->session_owner("s1");
  ASSERT_TRUE(owner.ok());
  EXPECT_EQ(owner->node.id, "a");
}

TEST(Registry, NewSessionsSpreadOverTheLeastLoadedLiveNodes) {
  RedisServer redis;
  // Slow heartbeats: the claims below are counted before a heartbeat
  // replaces them with the nodes' real call counts.
  auto a = make_node(redis, "a", 5000);
  auto b = make_node(redis, "b", 5000);
  auto c = make_node(redis, "c", 5000);
  for (auto* n : {a.get(), b.get(), c.get()}) n->start();
  for (int i = 0; i < 4; ++i) a->add_call(call("busy", std::to_string(i)));
  for (auto* n : {a.get(), b.get(), c.get()}) ASSERT_TRUE(n->heartbeat_now().ok());

  std::map<std::string, int> per_node;
  for (int i = 0; i < 6; ++i) {
    auto r = a->route_session_for_dial("new-" + std::to_string(i), /*claim_for_self=*/false);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ++per_node[r->kind == Route::Kind::kLocal ? "a" : r->node.id];
  }
  // a holds 4 calls: b and c take the first sessions, in turns.
  EXPECT_EQ(per_node["b"], 3);
  EXPECT_EQ(per_node["c"], 3);
  EXPECT_EQ(per_node["a"], 0);

  // A draining node gets no new session.
  b->set_draining();
  c->set_draining();
  ASSERT_TRUE(b->heartbeat_now().ok());
  ASSERT_TRUE(c->heartbeat_now().ok());
  auto r = b->route_session_for_dial("after-drain", /*claim_for_self=*/false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, Route::Kind::kRemote);
  EXPECT_EQ(r->node.id, "a");
}

TEST(Registry, ConnectionsAndSessionsAreFoundThroughAnyNode) {
  RedisServer redis;
  auto a = make_node(redis, "a");
  auto b = make_node(redis, "b");
  a->start();
  b->start();
  a->add_session("s1", "p1", false, 123);
  a->add_call(call("s1", "1"));
  a->set_session_mute("s1", true, {"stream-x"});
  ASSERT_TRUE(a->heartbeat_now().ok());
  ASSERT_TRUE(b->heartbeat_now().ok());

  auto r = b->connection_owner("conn-1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, Route::Kind::kRemote);
  EXPECT_EQ(r->node.id, "a");
  auto mine = a->connection_owner("conn-1");
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->kind, Route::Kind::kLocal);
  auto none = b->connection_owner("conn-unknown");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->kind, Route::Kind::kNone);

  auto s = b->find_session("s1");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->project_id, "p1");
  EXPECT_EQ((*s)->created_at_ms, 123);
  auto missing = b->find_session("s2");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto m = b->session_mute("s1");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->active);
  EXPECT_EQ(m->excluded, std::vector<std::string>{"stream-x"});
}

TEST(Registry, ALivingNodeReapsADeadNodesCallsExactlyOnce) {
  RedisServer redis;
  auto a = make_node(redis, "a");
  auto b = make_node(redis, "b");
  auto c = make_node(redis, "c");
  std::mutex mu;
  std::vector<std::pair<std::string, RegisteredCall>> reaped;  // (reaper, call)
  for (auto* n : {b.get(), c.get()}) {
    n->set_reap_hook([&mu, &reaped, n](const RegisteredCall& rc, const std::string&) {
      std::lock_guard<std::mutex> lock(mu);
      reaped.emplace_back(n->node_id(), rc);
    });
  }
  for (auto* n : {a.get(), b.get(), c.get()}) n->start();
  a->add_call(call("s1", "1"));
  a->add_call(call("s1", "2"));
  b->add_call(call("s2", "3"));
  for (auto* n : {a.get(), b.get(), c.get()}) ASSERT_TRUE(n->heartbeat_now().ok());

  a->stop(/*deregister=*/false);  // a dies
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return reaped.size() >= 2;
      },
      3 * kTtlMs + 2 * kHeartbeatMs + 1000));
  std::this_thread::sleep_for(std::chrono::milliseconds(3 * kHeartbeatMs));
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(reaped.size(), 2u);  // once, though two nodes were alive to reap
    std::set<std::string> conns;
    for (const auto& [by, rc] : reaped) {
      EXPECT_EQ(rc.node_id, "a");
      EXPECT_EQ(rc.info.session_id, "s1");
      EXPECT_EQ(rc.info.project_id, "p1");
      EXPECT_EQ(rc.info.connection_data, "name=" + rc.info.ids.id.substr(5));
      conns.insert(rc.info.ids.connection_id);
    }
    EXPECT_EQ(conns, (std::set<std::string>{"conn-1", "conn-2"}));
  }
  EXPECT_EQ(redis.integer({"EXISTS", "call:conn-1"}), 0);
  EXPECT_EQ(redis.integer({"EXISTS", "call:conn-2"}), 0);
  EXPECT_EQ(redis.integer({"SISMEMBER", "nodes", "a"}), 0);
  EXPECT_EQ(redis.integer({"EXISTS", "call:conn-3"}), 1);  // b's call stays

  // The session a held has a new owner on the next dial.
  auto r = b->route_session_for_dial("s1", /*claim_for_self=*/false);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->kind == Route::Kind::kLocal ? "b" : r->node.id, "a");
}

TEST(Registry, UnreachableRedisIsDegradedModeAndWritesNothingPartial) {
  RedisServer redis;
  auto a = make_node(redis, "a");
  a->start();
  a->add_call(call("s1", "1"));
  ASSERT_TRUE(a->heartbeat_now().ok());
  redis.stop();
  ASSERT_TRUE(eventually([&] { return !a->connected(); }, 3 * kHeartbeatMs + 1000));
  const auto t0 = std::chrono::steady_clock::now();
  auto r = a->route_session_for_dial("s2", /*claim_for_self=*/false);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("unreachable"), std::string::npos);
  EXPECT_LT(took, std::chrono::milliseconds(1500));  // the REST thread is not held past query_timeout_ms
  EXPECT_FALSE(a->connection_owner("conn-1").ok());
  EXPECT_EQ(a->own_calls(), 1u);  // the node keeps its calls
}

TEST(Registry, RedisRestartIsRebuiltFromTheNodesWithoutReapingThem) {
  RedisServer redis;
  auto a = make_node(redis, "a");
  auto b = make_node(redis, "b");
  std::atomic<int> reaped{0};
  for (auto* n : {a.get(), b.get()}) {
    n->set_reap_hook([&reaped](const RegisteredCall&, const std::string&) { ++reaped; });
    n->start();
  }
  a->add_session("s1", "p1", false, 1);
  a->add_call(call("s1", "1"));
  b->add_call(call("s2", "2"));
  ASSERT_TRUE(a->heartbeat_now().ok());
  ASSERT_TRUE(b->heartbeat_now().ok());

  ASSERT_TRUE(redis.cmd({"SET", "marker", "1"}));
  redis.restart();  // no persistence: it comes back empty
  EXPECT_EQ(redis.integer({"EXISTS", "marker"}), 0);
  ASSERT_TRUE(eventually(
      [&] {
        return redis.get({"HGET", "call:conn-1", "node"}) == "a" && redis.get({"HGET", "call:conn-2", "node"}) == "b" &&
               redis.get({"GET", "session:s1:node"}) == "a" && redis.get({"GET", "session:s2:node"}) == "b" &&
               redis.get({"HGET", "session:s1", "project"}) == "p1" &&
               redis.integer({"ZCARD", "nodes:load"}) == 2;
      },
      5000));
  EXPECT_TRUE(eventually([&] { return a->connected() && b->connected(); }, 2000));
  std::this_thread::sleep_for(std::chrono::milliseconds(kTtlMs + 3 * kHeartbeatMs));
  EXPECT_EQ(reaped.load(), 0);
  auto r = b->connection_owner("conn-1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->node.id, "a");
}

}  // namespace
}  // namespace sipmix::gw
