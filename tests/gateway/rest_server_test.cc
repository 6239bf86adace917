// The REST tier against a small recording `Calls`: what reaches the call
// layer, and how its answers and states come back over HTTP. (The daemon
// tests cover the same server as a process; this one drives the seam.)
#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "gateway/core/ids.h"
#include "gateway/rest/jwt.h"
#include "gateway/rest/server.h"
#include "tests/gateway/listen_port.h"

namespace sipmix::gw {
namespace {

using json = nlohmann::json;

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}


// Keeps calls in a map and records what it was asked; thread-safe.
class RecordingCalls final : public Calls {
 public:
  Status dial(const CallIds& ids, const DialRequest& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!next_error_.ok()) return std::exchange(next_error_, Status());
    CallInfo c;
    c.ids = ids;
    c.session_id = r.session_id;
    c.project_id = r.project_id;
    c.connection_data = r.connection_data;
    c.created_at_ms = 1;
    calls_[ids.connection_id] = c;
    last_ = r;
    return Status();
  }
  Status hang_up(const std::string& sid, const std::string& cid) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(cid);
    if (it == calls_.end() || it->second.session_id != sid) return not_found("connection");
    calls_.erase(it);
    return Status();
  }
  Status force_mute(const std::string& sid, const std::string& cid, bool muted) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(cid);
    if (it == calls_.end() || it->second.session_id != sid) return not_found("connection");
    it->second.muted = muted;
    return Status();
  }
  Status play_dtmf(const std::string& sid, const std::string& cid, const std::string& digits) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(cid);
    if (it == calls_.end() || it->second.session_id != sid) return not_found("connection");
    digits_[cid] += digits;
    return Status();
  }
  std::optional<CallInfo> find(const std::string& sid, const std::string& cid) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(cid);
    if (it == calls_.end() || it->second.session_id != sid) return std::nullopt;
    return it->second;
  }
  std::vector<CallInfo> calls_in_session(const std::string& sid) const override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<CallInfo> out;
    for (const auto& [cid, c] : calls_) {
      if (c.session_id == sid) out.push_back(c);
    }
    return out;
  }
  void drain() override { drained_ = true; }
  Status open_session(const std::string& project, const std::string& sid) override {
    std::lock_guard<std::mutex> lock(mu_);
    opened_.push_back(project + "/" + sid);
    return Status();
  }

  void set_state(const std::string& cid, CallState s) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.at(cid).state = s;
  }
  void fail_next_dial(Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    next_error_ = std::move(s);
  }
  DialRequest last() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }
  std::string digits(const std::string& cid) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = digits_.find(cid);
    return it == digits_.end() ? "" : it->second;
  }
  std::vector<std::string> opened() const {
    std::lock_guard<std::mutex> lock(mu_);
    return opened_;
  }
  std::atomic<bool> drained_{false};

 private:
  mutable std::mutex mu_;
  std::map<std::string, CallInfo> calls_;
  std::map<std::string, std::string> digits_;
  std::vector<std::string> opened_;
  DialRequest last_;
  Status next_error_;
};

class RestServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.http = {"127.0.0.1", port_};
    config_.projects = {{"p1", "secret-1"}};
    config_.max_calls = 3;
  }
  void start() {
    server_ = std::make_unique<RestServer>(config_, &calls_, &outbox_);
    ASSERT_TRUE(server_->bind().ok());
    server_->start();
    for (int i = 0; i < 500 && !cli_.Get("/healthz"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    jwt_ = *mint_rest_jwt("p1", "secret-1", now_s(), 180);
    auto r = cli_.Post("/session/create", {{"X-OPENTOK-AUTH", jwt_}}, "", "application/x-www-form-urlencoded");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    sid_ = json::parse(r->body)[0]["session_id"];
  }
  void TearDown() override {
    if (server_) server_->stop();
  }
  std::string token(const std::string& data = "name=Desk") {
    ClientTokenSpec s;
    s.project_id = "p1";
    s.secret = "secret-1";
    s.session_id = sid_;
    s.connection_data = data;
    return *mint_client_token(s, now_s());
  }
  httplib::Result post(const std::string& path, const json& body) {
    return cli_.Post(path, {{"X-OPENTOK-AUTH", jwt_}}, body.dump(), "application/json");
  }
  json dial_ok(const json& sip = {{"uri", "sip:bob@192.0.2.1"}}) {
    auto r = post("/v2/project/p1/dial", {{"sessionId", sid_}, {"token", token()}, {"sip", sip}});
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << r->body;
    return json::parse(r->body, nullptr, false);
  }
  std::string base() const { return "/v2/project/p1/session/" + sid_; }

  const uint16_t port_ = static_cast<uint16_t>(testing::free_listen_port());
  Config config_;
  RecordingCalls calls_;
  CallbackOutbox outbox_{OutboxOptions{}};
  std::unique_ptr<RestServer> server_;
  httplib::Client cli_{"127.0.0.1", port_};
  std::string jwt_, sid_;

};

TEST_F(RestServerTest, DialHandsTheValidatedRequestToTheCallLayer) {
  start();
  const json ids = dial_ok({{"uri", "sips:+1555@pbx.example.com:5061;transport=tls"},
                            {"from", "1555@example.com"},
                            {"headers", {{"X-B", "2"}, {"X-A", "1"}}},
                            {"auth", {{"username", "u"}, {"password", "p w"}}},
                            {"secure", true},
                            {"video", true},
                            {"observeForceMute", true},
                            {"streams", {"s1", "s2"}}});
  for (const char* k : {"id", "connectionId", "streamId"}) EXPECT_TRUE(is_uuid(ids[k].get<std::string>())) << k;
  EXPECT_NE(ids["id"], ids["connectionId"]);
  const DialRequest d = calls_.last();
  EXPECT_EQ(d.project_id, "p1");
  EXPECT_EQ(d.session_id, sid_);
  EXPECT_EQ(d.connection_data, "name=Desk");  // from the client token
  EXPECT_EQ(d.uri, "sips:+1555@pbx.example.com:5061;transport=tls");
  EXPECT_EQ(d.from, "1555@example.com");
  ASSERT_EQ(d.headers.size(), 2u);
  EXPECT_EQ(d.auth_username, "u");
  EXPECT_EQ(d.auth_password, "p w");
  EXPECT_TRUE(d.secure && d.video && d.observe_force_mute);
  EXPECT_EQ(d.streams, (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(calls_.opened(), std::vector<std::string>{"p1/" + sid_});
}

TEST_F(RestServerTest, ConnectionStateFollowsTheCallLayerUntilHangUp) {
  start();
  const std::string cid = dial_ok()["connectionId"];
  const std::string path = base() + "/connection/" + cid;
  auto g = cli_.Get(path, {{"X-OPENTOK-AUTH", jwt_}});
  ASSERT_TRUE(g);
  EXPECT_EQ(json::parse(g->body)["state"], "DIALING");
  EXPECT_EQ(json::parse(g->body)["connectionData"], "name=Desk");
  calls_.set_state(cid, CallState::kActive);
  g = cli_.Get(path, {{"X-OPENTOK-AUTH", jwt_}});
  EXPECT_EQ(json::parse(g->body)["state"], "ACTIVE");
  auto m = cli_.Get("/metrics");
  EXPECT_NE(m->body.find("sipmix_calls{state=\"ACTIVE\"} 1"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("sipmix_dials_total{result=\"accepted\"} 1"), std::string::npos) << m->body;
  auto del = cli_.Delete(path, {{"X-OPENTOK-AUTH", jwt_}});
  EXPECT_EQ(del->status, 204);
  EXPECT_TRUE(del->body.empty());
  EXPECT_EQ(cli_.Delete(path, {{"X-OPENTOK-AUTH", jwt_}})->status, 404);
  EXPECT_EQ(cli_.Get(path, {{"X-OPENTOK-AUTH", jwt_}})->status, 404);
}

TEST_F(RestServerTest, SessionMuteSparesTheExcludedStreamsUnderEverySdkSpelling) {
  start();
  for (const char* key : {"excludedStreamIds", "excludedStreams", "excudedStreamIds"}) {
    const json a = dial_ok(), b = dial_ok();
    auto r = post(base() + "/mute", {{"active", true}, {key, {a["streamId"]}}});
    ASSERT_EQ(r->status, 200) << key << " " << r->body;
    EXPECT_FALSE(calls_.find(sid_, a["connectionId"])->muted) << key;
    EXPECT_TRUE(calls_.find(sid_, b["connectionId"])->muted) << key;
    for (const json& c : {a, b}) {
      cli_.Delete(base() + "/connection/" + c["connectionId"].get<std::string>(), {{"X-OPENTOK-AUTH", jwt_}});
    }
  }
}

TEST_F(RestServerTest, StreamMuteActsOnThatStreamOnly) {
  start();
  const json a = dial_ok(), b = dial_ok();
  auto r = cli_.Post(base() + "/stream/" + b["streamId"].get<std::string>() + "/mute", {{"X-OPENTOK-AUTH", jwt_}}, "",
                     "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_FALSE(calls_.find(sid_, a["connectionId"])->muted);
  EXPECT_TRUE(calls_.find(sid_, b["connectionId"])->muted);
  r = cli_.Post(base() + "/stream/no-such-stream/mute", {{"X-OPENTOK-AUTH", jwt_}}, "", "application/json");
  EXPECT_EQ(r->status, 404);
}

TEST_F(RestServerTest, DtmfGoesToOneConnectionOrToEveryLeg) {
  start();
  const std::string a = dial_ok()["connectionId"], b = dial_ok()["connectionId"];
  EXPECT_EQ(post(base() + "/connection/" + a + "/play-dtmf", {{"digits", "12#"}})->status, 200);
  EXPECT_EQ(calls_.digits(a), "12#");
  EXPECT_EQ(calls_.digits(b), "");
  EXPECT_EQ(post(base() + "/play-dtmf", {{"digits", "p9"}})->status, 200);
  EXPECT_EQ(calls_.digits(a), "12#p9");
  EXPECT_EQ(calls_.digits(b), "p9");
}

TEST_F(RestServerTest, CallLimitAndDrainingAnswer503) {
  start();
  for (int i = 0; i < config_.max_calls; ++i) dial_ok();
  auto r = post("/v2/project/p1/dial", {{"sessionId", sid_}, {"token", token()}, {"sip", {{"uri", "sip:b@h"}}}});
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  EXPECT_EQ(cli_.Get("/healthz")->status, 200);
  server_->set_draining();
  EXPECT_EQ(cli_.Get("/healthz")->status, 503);
  EXPECT_EQ(server_->live_calls(), 3u);
}

TEST_F(RestServerTest, DrainingRefusesNewDials) {
  start();
  server_->set_draining();
  auto r = post("/v2/project/p1/dial", {{"sessionId", sid_}, {"token", token()}, {"sip", {{"uri", "sip:b@h"}}}});
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_NE(r->body.find("shutting down"), std::string::npos);
}

TEST_F(RestServerTest, CallLayerRefusalsKeepTheirMeaning) {
  start();
  const json body = {{"sessionId", sid_}, {"token", token()}, {"sip", {{"uri", "sip:b@h"}}}};
  calls_.fail_next_dial(invalid_argument("sip.uri: no route to the host"));
  auto r = post("/v2/project/p1/dial", body);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["message"], "sip.uri: no route to the host");
  calls_.fail_next_dial(unavailable("no RTP ports left"));
  EXPECT_EQ(post("/v2/project/p1/dial", body)->status, 503);
  EXPECT_EQ(server_->live_calls(), 0u);
}

}  // namespace
}  // namespace sipmix::gw
