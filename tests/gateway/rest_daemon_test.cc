// The real build/gateway/sipmixd on a free 127.0.0.1 port: every REST error
// path, the token and jwt subcommands, flags, and SIGTERM/SIGINT.
#include <gtest/gtest.h>

#include <algorithm>
#include <httplib.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "gateway/rest/jwt.h"
#include "tests/gateway/listen_port.h"

extern char** environ;

namespace sipmix::gw {
namespace {

using json = nlohmann::json;

constexpr const char* kProject = "p1";
constexpr const char* kSecret = "s3cret-p1";

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}


std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Runs sipmixd with `args`, stdout and stderr to temp files.
pid_t spawn(const std::vector<std::string>& args, const std::string& out_path, const std::string& err_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv = {const_cast<char*>(SIPMIXD_PATH)};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, SIPMIXD_PATH, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

// Waits up to timeout_ms for pid; returns its exit status, or -1 (then kills it).
int wait_exit(pid_t pid, int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

struct RunResult {
  int exit_code;
  std::string out, err;
};

RunResult run(const std::vector<std::string>& args) {
  const std::string base = "/tmp/sipmixd-run-" + std::to_string(getpid());
  const pid_t pid = spawn(args, base + ".out", base + ".err");
  EXPECT_GT(pid, 0);
  RunResult r{wait_exit(pid, 10000), read_file(base + ".out"), read_file(base + ".err")};
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return r;
}

// A running sipmixd, stopped (SIGKILL if need be) when the test ends.
class Daemon {
 public:
  explicit Daemon(std::vector<std::string> extra = {}) : port_(testing::free_listen_port()) {
    std::vector<std::string> args = {"--http", "127.0.0.1:" + std::to_string(port_), "--project",
                                     std::string(kProject) + ":" + kSecret, "--project", "p2:s3cret-p2"};
    args.insert(args.end(), extra.begin(), extra.end());
    // Its own SIP port and RTP range, so daemons of tests running in
    // parallel (and anything on 5060) never collide.
    if (std::find(extra.begin(), extra.end(), "--sip") == extra.end()) {
      const int rtp_base = 20000 + (port_ % 2000) * 16;
      args.insert(args.end(), {"--sip", "127.0.0.1:" + std::to_string(testing::free_listen_port()), "--rtp-ports",
                               std::to_string(rtp_base) + "-" + std::to_string(rtp_base + 15)});
    }
    log_ = "/tmp/sipmixd-test-" + std::to_string(getpid()) + "-" + std::to_string(port_) + ".log";
    pid_ = spawn(args, "/dev/null", log_);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    httplib::Client c = client();
    while (std::chrono::steady_clock::now() < end) {
      if (auto r = c.Get("/healthz")) {
        healthz_status_ = r->status;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "sipmixd did not answer /healthz: " << read_file(log_);
  }
  ~Daemon() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::remove(log_.c_str());
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(5);
    c.set_read_timeout(5);
    return c;
  }
  bool call_layer() const { return healthz_status_ == 200; }
  int terminate(int sig) {
    kill(pid_, sig);
    const int rc = wait_exit(pid_, 15000);
    pid_ = -1;
    return rc;
  }
  std::string log() const { return read_file(log_); }

 private:
  int port_;
  pid_t pid_ = -1;
  int healthz_status_ = 0;
  std::string log_;
};

httplib::Headers auth(const std::string& jwt) { return {{"X-OPENTOK-AUTH", jwt}}; }
std::string good_jwt(const char* project = kProject, const char* secret = kSecret) {
  return *mint_rest_jwt(project, secret, now_s(), 180);
}

// {"code","message"} with the given status; returns the message.
std::string error_of(const httplib::Result& r, int status) {
  EXPECT_TRUE(r);
  if (!r) return "";
  EXPECT_EQ(r->status, status) << r->body;
  const json j = json::parse(r->body, nullptr, false);
  EXPECT_TRUE(j.is_object()) << r->body;
  if (!j.is_object()) return "";
  EXPECT_EQ(j["code"], status) << r->body;
  return j.value("message", "");
}

class RestApi : public ::testing::Test {
 protected:
  void SetUp() override {
    jwt_ = good_jwt();
    auto r = cli_.Post("/session/create", auth(jwt_), "", "application/x-www-form-urlencoded");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    session_ = json::parse(r->body)[0]["session_id"];
    token_ = client_token(session_);
  }
  std::string client_token(const std::string& session, const std::string& data = "name=SIP phone") {
    ClientTokenSpec s;
    s.project_id = kProject;
    s.secret = kSecret;
    s.session_id = session;
    s.connection_data = data;
    return *mint_client_token(s, now_s());
  }
  json dial_body() {
    return {{"sessionId", session_},
            {"token", token_},
            {"sip",
             {{"uri", "sip:alice@127.0.0.1:5099;transport=udp"},
              {"from", "15551234@example.com"},
              {"headers", {{"X-Customer", "42"}}},
              {"auth", {{"username", "u"}, {"password", "p"}}},
              {"secure", false},
              {"video", false},
              {"observeForceMute", true}}}};
  }
  httplib::Result dial(const json& body) {
    return cli_.Post("/v2/project/p1/dial", auth(jwt_), body.dump(), "application/json");
  }
  std::string session_path() const { return "/v2/project/p1/session/" + session_; }

  Daemon daemon_;
  httplib::Client cli_ = daemon_.client();
  std::string jwt_, session_, token_;
};

TEST_F(RestApi, MissingExpiredOrWronglySignedJwtGets403BeforeTheBodyIsRead) {
  const std::string bad_json = "{not json";
  EXPECT_NE(error_of(cli_.Post("/v2/project/p1/dial", bad_json, "application/json"), 403).find("Authentication"),
            std::string::npos);
  // Expired: minted 10 minutes ago for 3 minutes.
  const std::string expired = *mint_rest_jwt(kProject, kSecret, now_s() - 600, 180);
  EXPECT_NE(error_of(cli_.Post("/v2/project/p1/dial", auth(expired), bad_json, "application/json"), 403)
                .find("expired"),
            std::string::npos);
  const std::string wrong_secret = *mint_rest_jwt(kProject, "not-the-secret", now_s(), 180);
  error_of(cli_.Post("/v2/project/p1/dial", auth(wrong_secret), bad_json, "application/json"), 403);
  // Another project's valid JWT, on this project's path.
  error_of(cli_.Post("/v2/project/p1/dial", auth(good_jwt("p2", "s3cret-p2")), bad_json, "application/json"), 403);
  // An unknown project.
  error_of(cli_.Post("/v2/project/p9/dial", auth(jwt_), bad_json, "application/json"), 403);
  // Even a body over the limit is refused for its JWT first.
  error_of(cli_.Post("/v2/project/p1/dial", std::string(70000, 'x'), "application/json"), 403);
  // Every other endpoint checks it too.
  error_of(cli_.Delete(session_path() + "/connection/abc"), 403);
  error_of(cli_.Get(session_path() + "/connection/abc"), 403);
  error_of(cli_.Post(session_path() + "/mute", "{}", "application/json"), 403);
  error_of(cli_.Post(session_path() + "/stream/abc/mute", "", "application/json"), 403);
  error_of(cli_.Post(session_path() + "/play-dtmf", "{}", "application/json"), 403);
  error_of(cli_.Post(session_path() + "/connection/abc/play-dtmf", "{}", "application/json"), 403);
  error_of(cli_.Post("/session/create", "", "application/x-www-form-urlencoded"), 403);
}

TEST_F(RestApi, EveryAuthHeaderIsAccepted) {
  for (const httplib::Headers& h : {httplib::Headers{{"X-OPENTOK-AUTH", jwt_}}, httplib::Headers{{"X-VONAGE-AUTH", jwt_}},
                                    httplib::Headers{{"Authorization", "Bearer " + jwt_}}}) {
    auto r = cli_.Post("/v2/project/p1/dial", h, "{not json", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body;  // past authentication
  }
}

TEST_F(RestApi, BadJsonGets400) {
  EXPECT_NE(error_of(cli_.Post("/v2/project/p1/dial", auth(jwt_), "{\"sessionId\":", "application/json"), 400)
                .find("JSON"),
            std::string::npos);
  EXPECT_NE(error_of(cli_.Post("/v2/project/p1/dial", auth(jwt_), "[1,2]", "application/json"), 400).find("object"),
            std::string::npos);
  error_of(cli_.Post("/v2/project/p1/dial", auth(jwt_), "", "application/json"), 400);
  error_of(cli_.Post(session_path() + "/mute", auth(jwt_), "{x", "application/json"), 400);
  error_of(cli_.Post(session_path() + "/play-dtmf", auth(jwt_), "nope", "application/json"), 400);
}

TEST_F(RestApi, EachMissingOrMalformedDialFieldIsNamed) {
  struct Case {
    const char* pointer;  // JSON pointer to change
    json value;           // nullptr: remove the field
    const char* field;    // the field the 400 must name
  };
  const std::vector<Case> cases = {
      {"/sessionId", nullptr, "sessionId"},
      {"/sessionId", 42, "sessionId"},
      {"/sessionId", "a/b", "sessionId"},
      {"/sessionId", "", "sessionId"},
      {"/token", nullptr, "token"},
      {"/token", json::array(), "token"},
      {"/token", "", "token"},
      {"/token", "not-a-jwt", "token"},
      {"/sip", nullptr, "sip"},
      {"/sip", "sip:alice@host", "sip"},
      {"/sip/uri", nullptr, "sip.uri"},
      {"/sip/uri", 5, "sip.uri"},
      {"/sip/uri", "http://example.com", "sip.uri"},
      {"/sip/uri", "alice@example.com", "sip.uri"},
      {"/sip/uri", "sip:alice@host\r\nVia: SIP/2.0/UDP evil", "sip.uri"},
      {"/sip/uri", "sip:alice@ho st", "sip.uri"},
      {"/sip/uri", "sip:alice:pw@host", "sip.uri"},
      {"/sip/uri", "sip:alice@host?Route=sip:evil", "sip.uri"},
      {"/sip/uri", "sip:alice@host;transport=ws", "sip.uri"},
      {"/sip/from", "not an address", "sip.from"},
      {"/sip/from", "alice", "sip.from"},
      {"/sip/from", "alice@host\r\nTo: x", "sip.from"},
      {"/sip/from", true, "sip.from"},
      {"/sip/headers", "X-A: b", "sip.headers"},
      {"/sip/headers", json::array(), "sip.headers"},
      {"/sip/headers", {{"X-A", 5}}, "sip.headers.X-A"},
      {"/sip/auth", "u:p", "sip.auth"},
      {"/sip/auth", {{"password", "p"}}, "sip.auth.username"},
      {"/sip/auth", {{"username", "u"}}, "sip.auth.password"},
      {"/sip/auth", {{"username", "u\r\nX: y"}, {"password", "p"}}, "sip.auth.username"},
      {"/sip/secure", "yes", "sip.secure"},
      {"/sip/video", 1, "sip.video"},
      {"/sip/observeForceMute", "true", "sip.observeForceMute"},
      {"/sip/streams", "s1", "sip.streams"},
      {"/sip/streams", json::array({1}), "sip.streams"},
  };
  for (const Case& c : cases) {
    json body = dial_body();
    const json::json_pointer ptr(c.pointer);
    if (c.value.is_null()) {
      body[ptr.parent_pointer()].erase(ptr.back());
    } else {
      body[ptr] = c.value;
    }
    const std::string msg = error_of(dial(body), 400);
    EXPECT_EQ(msg.rfind(std::string(c.field) + ": ", 0), 0u) << c.pointer << " = " << c.value << " -> " << msg;
  }
}

TEST_F(RestApi, HeaderInjectionAttemptsGet400) {
  const std::vector<json> attempts = {
      {{"X-A", "ok\r\nVia: SIP/2.0/UDP evil"}},
      {{"X-A", "ok\nContact: <sip:evil>"}},
      {{"X-A", "ok\rX"}},
      {{"X-A", std::string("ok\0x", 4)}},
      {{"X-A: b\r\nVia", "x"}},
      {{"X A", "x"}},
      {{"X-A:", "x"}},
      {{"", "x"}},
      {{"Via", "SIP/2.0/UDP evil"}},
      {{"call-id", "x"}},
      {{"CSeq", "1 BYE"}},
      {{"Contact", "<sip:evil>"}},
      {{"Content-Length", "0"}},
      {{"Content-Type", "text/plain"}},
      {{"Max-Forwards", "1"}},
      {{"Route", "<sip:evil>"}},
      {{"From", "<sip:evil>"}},
      {{"t", "<sip:evil>"}},
      {{"X-OpenTok-SessionId", "other"}},
  };
  for (const json& h : attempts) {
    json body = dial_body();
    body["sip"]["headers"] = h;
    const std::string msg = error_of(dial(body), 400);
    EXPECT_EQ(msg.rfind("sip.headers", 0), 0u) << h.dump() << " -> " << msg;
  }
}

TEST_F(RestApi, UnknownSessionGets404) {
  json body = dial_body();
  body["sessionId"] = "no-such-session";
  body["token"] = client_token("no-such-session");
  EXPECT_EQ(error_of(dial(body), 404), "The session does not exist.");
  // A session of another project is unknown to this one.
  auto r = cli_.Post("/session/create", auth(good_jwt("p2", "s3cret-p2")), "", "application/x-www-form-urlencoded");
  const std::string other = json::parse(r->body)[0]["session_id"];
  body["sessionId"] = other;
  body["token"] = client_token(other);
  error_of(dial(body), 404);
  error_of(cli_.Post("/v2/project/p1/session/nope/mute", auth(jwt_), R"({"active":true})", "application/json"), 404);
  error_of(cli_.Post("/v2/project/p1/session/nope/play-dtmf", auth(jwt_), R"({"digits":"1"})", "application/json"),
           404);
  error_of(cli_.Post("/v2/project/p1/session/nope/stream/s1/mute", auth(jwt_), "", "application/json"), 404);
  error_of(cli_.Delete("/v2/project/p1/session/nope/connection/c1", auth(jwt_)), 404);
}

TEST_F(RestApi, UnknownConnectionGets404) {
  EXPECT_NE(error_of(cli_.Delete(session_path() + "/connection/9d7c3f0e-0000-4000-8000-000000000000", auth(jwt_)), 404)
                .find("not connected"),
            std::string::npos);
  error_of(cli_.Get(session_path() + "/connection/9d7c3f0e-0000-4000-8000-000000000000", auth(jwt_)), 404);
  error_of(cli_.Post(session_path() + "/connection/9d7c3f0e-0000-4000-8000-000000000000/play-dtmf", auth(jwt_),
                     R"({"digits":"12"})", "application/json"),
           404);
  // A malformed connection id is a 400 that names it.
  EXPECT_EQ(error_of(cli_.Delete(session_path() + "/connection/a%20b", auth(jwt_)), 400).rfind("connectionId", 0), 0u);
}

TEST_F(RestApi, TokenMustBeForTheDialedSessionAndProject) {
  json body = dial_body();
  body["token"] = client_token("some-other-session");
  EXPECT_EQ(error_of(dial(body), 400).rfind("token: ", 0), 0u);
  ClientTokenSpec s;
  s.project_id = kProject;
  s.secret = "wrong-secret";
  s.session_id = session_;
  body["token"] = *mint_client_token(s, now_s());
  EXPECT_EQ(error_of(dial(body), 400).rfind("token: ", 0), 0u);
}

TEST_F(RestApi, RelayedSessionGets409) {
  auto r = cli_.Post("/session/create", auth(jwt_), "p2p.preference=enabled", "application/x-www-form-urlencoded");
  ASSERT_EQ(r->status, 200);
  const std::string relayed = json::parse(r->body)[0]["session_id"];
  json body = dial_body();
  body["sessionId"] = relayed;
  body["token"] = client_token(relayed);
  error_of(dial(body), 409);
  error_of(cli_.Post("/session/create", auth(jwt_), "p2p.preference=maybe", "application/x-www-form-urlencoded"), 400);
}

TEST_F(RestApi, BodyTooLargeGets413) {
  json body = dial_body();
  body["sip"]["headers"]["X-Big"] = std::string(70000, 'a');
  EXPECT_NE(error_of(dial(body), 413).find("larger than"), std::string::npos);
  error_of(cli_.Post(session_path() + "/mute", auth(jwt_), std::string(70000, ' '), "application/json"), 413);
}

TEST_F(RestApi, ValidDialPassesValidationAndAnswersByCallLayer) {
  auto r = dial(dial_body());
  ASSERT_TRUE(r);
  if (daemon_.call_layer()) {
    ASSERT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body);
    for (const char* k : {"id", "connectionId", "streamId"}) EXPECT_EQ(j[k].get<std::string>().size(), 36u) << k;
    // Nothing answers at that URI: the call may already have ended (404).
    auto del = cli_.Delete(session_path() + "/connection/" + j["connectionId"].get<std::string>(), auth(jwt_));
    ASSERT_TRUE(del);
    EXPECT_TRUE(del->status == 204 || del->status == 404) << del->status;
  } else {
    EXPECT_EQ(error_of(r, 503), "call layer not available");
  }
}

TEST_F(RestApi, DtmfDigitsAndMuteBodiesAreValidated) {
  for (const char* body : {R"({})", R"({"digits":12})", R"({"digits":""})", R"({"digits":"12a"})",
                           R"({"digits":"1 2"})"}) {
    EXPECT_EQ(error_of(cli_.Post(session_path() + "/play-dtmf", auth(jwt_), body, "application/json"), 400)
                  .rfind("digits", 0),
              0u)
        << body;
  }
  const std::string long_digits = R"({"digits":")" + std::string(257, '1') + "\"}";
  error_of(cli_.Post(session_path() + "/play-dtmf", auth(jwt_), long_digits, "application/json"), 400);
  auto ok = cli_.Post(session_path() + "/play-dtmf", auth(jwt_), R"({"digits":"12*#p9"})", "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;  // no SIP leg in the session: nothing to play to

  EXPECT_EQ(error_of(cli_.Post(session_path() + "/mute", auth(jwt_), R"({})", "application/json"), 400)
                .rfind("active", 0),
            0u);
  for (const char* key : {"excludedStreamIds", "excludedStreams", "excudedStreamIds"}) {
    const json body = {{"active", true}, {key, "s1"}};
    EXPECT_EQ(error_of(cli_.Post(session_path() + "/mute", auth(jwt_), body.dump(), "application/json"), 400)
                  .rfind(key, 0),
              0u)
        << key;
  }
}

TEST_F(RestApi, DialsBeyondTheRateGet429) {
  Daemon limited({"--dials-per-second", "1"});
  httplib::Client c = limited.client();
  auto s = c.Post("/session/create", auth(jwt_), "", "application/x-www-form-urlencoded");
  const std::string sid = json::parse(s->body)[0]["session_id"];
  json body = dial_body();
  body["sessionId"] = sid;
  body["token"] = client_token(sid);
  auto first = c.Post("/v2/project/p1/dial", auth(jwt_), body.dump(), "application/json");
  ASSERT_TRUE(first);
  EXPECT_NE(first->status, 429);
  // Five more back to back: only a second between each would let them all in.
  int refused = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = c.Post("/v2/project/p1/dial", auth(jwt_), body.dump(), "application/json");
    ASSERT_TRUE(r);
    if (r->status == 429) {
      error_of(r, 429);
      ++refused;
    }
  }
  EXPECT_GE(refused, 1);
}

TEST_F(RestApi, MetricsAreInPrometheusTextFormat) {
  error_of(cli_.Post("/v2/project/p1/dial", "{}", "application/json"), 403);
  auto r = cli_.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/plain", 0), 0u);
  for (const char* line : {"# TYPE sipmix_calls gauge", "sipmix_calls{state=\"ACTIVE\"} 0", "sipmix_sessions 1",
                           "sipmix_http_responses_total{code=\"403\"} 1", "sipmix_mute_changes_total 0",
                           "sipmix_draining 0"}) {
    EXPECT_NE(r->body.find(line), std::string::npos) << line << "\n" << r->body;
  }
}

TEST_F(RestApi, UnknownRouteGetsJson404) { error_of(cli_.Get("/v2/nothing"), 404); }

TEST(Sipmixd, JwtSubcommandPrintsAJwtTheDaemonAccepts) {
  const RunResult r = run({"jwt", "--project", std::string(kProject) + ":" + kSecret, "--ttl", "60"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.back(), '\n');
  const std::string jwt = r.out.substr(0, r.out.size() - 1);
  auto p = verify_rest_jwt(jwt, {{kProject, kSecret}}, kProject, now_s());
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_FALSE(verify_rest_jwt(jwt, {{kProject, "other"}}, kProject, now_s()).ok());
  Daemon d;
  httplib::Client c = d.client();
  auto s = c.Post("/session/create", auth(jwt), "", "application/x-www-form-urlencoded");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->status, 200) << s->body;
  EXPECT_EQ(run({"jwt", "--project", "p1:x", "--ttl", "301"}).exit_code, 2);
}

TEST(Sipmixd, TokenSubcommandPrintsATokenForTheSessionWithItsData) {
  const RunResult r = run({"token", "--project", std::string(kProject) + ":" + kSecret, "--session", "sess-42",
                           "--role", "moderator", "--data", "name=Front desk", "--ttl", "3600"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string token = r.out.substr(0, r.out.find('\n'));
  auto t = verify_client_token(token, kProject, kSecret, "sess-42", now_s());
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->connection_data, "name=Front desk");
  EXPECT_EQ(t->role, "moderator");
  EXPECT_NEAR(static_cast<double>(t->expires_at_s), static_cast<double>(now_s() + 3600), 5);
  EXPECT_FALSE(verify_client_token(token, kProject, kSecret, "sess-43", now_s()).ok());
  EXPECT_EQ(run({"token", "--project", "p1:x", "--session", "a/b"}).exit_code, 2);
  EXPECT_EQ(run({"token", "--project", "p1:x"}).exit_code, 2);  // --session is required
}

TEST(Sipmixd, BadFlagsExit2WithOneLineNamingTheFlag) {
  for (const auto& [args, flag] :
       {std::pair{std::vector<std::string>{"--project", "p1:x", "--http", "nope"}, "--http"},
        std::pair{std::vector<std::string>{"--project", "p1:x", "--rtp-ports", "9-1"}, "--rtp-ports"},
        std::pair{std::vector<std::string>{"--project", "p1:x", "--max-calls", "many"}, "--max-calls"},
        std::pair{std::vector<std::string>{"--project", "p1"}, "--project"},
        std::pair{std::vector<std::string>{"--project", "p1:x", "--janus", "ftp://x"}, "--janus"},
        std::pair{std::vector<std::string>{"--project", "p1:x", "--config", "/nonexistent.json"}, "--config"},
        std::pair{std::vector<std::string>{}, "--project"}}) {
    const RunResult r = run(args);
    EXPECT_EQ(r.exit_code, 2) << flag << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(flag), std::string::npos) << r.err;
  }
  const RunResult help = run({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag : {"--config", "--http", "--sip", "--rtp-ports", "--janus", "--janus-secret", "--project",
                           "--callback-url", "--tls-ca", "--proxy", "--max-calls", "--dials-per-second",
                           "--max-body-bytes", "--max-call-duration"}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  }
}

// The Janus URL from the file is used (nothing listens there: session
// creation fails with 503 naming it), and no secret reaches the log.
TEST(Sipmixd, ConfigFileIsReadAndSecretsStayOutOfTheLog) {
  const int port = testing::free_listen_port();
  const std::string janus_url = "http://127.0.0.1:" + std::to_string(testing::free_listen_port()) + "/janus";
  const std::string path = "/tmp/sipmixd-test-config-" + std::to_string(getpid()) + ".json";
  {
    std::ofstream f(path);
    f << R"({"http": "127.0.0.1:)" << port << R"(", "projects": {"p7": "very-secret-7"},
            "janus": {"url": ")" << janus_url << R"(", "secret": "janus-secret-xyz"}})";
  }
  const std::string log = path + ".log";
  const pid_t pid = spawn({"--config", path}, "/dev/null", log);
  httplib::Client c("127.0.0.1", port);
  bool up = false;
  for (int i = 0; i < 500 && !up; ++i) {
    up = static_cast<bool>(c.Get("/healthz"));
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(up) << read_file(log);
  auto s = c.Post("/session/create", auth(good_jwt("p7", "very-secret-7")), "", "application/x-www-form-urlencoded");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->status, 503) << s->body;
  EXPECT_NE(s->body.find(janus_url), std::string::npos) << s->body;
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid, 15000), 0);
  const std::string text = read_file(log);
  EXPECT_NE(text.find("session.create_failed"), std::string::npos) << text;
  EXPECT_EQ(text.find("very-secret-7"), std::string::npos) << text;
  EXPECT_EQ(text.find("janus-secret-xyz"), std::string::npos) << text;
  std::remove(path.c_str());
  std::remove(log.c_str());
}

// A call layer that cannot start (its SIP port is taken) ends the daemon with
// exit 1 and one line saying why, rather than a daemon that cannot dial.
TEST(Sipmixd, ATakenSipPortEndsTheDaemonWithExit1AndSaysWhy) {
  const int taken = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(taken, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(taken, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  // sofia-sip 1.13's nua_create() leaks its homes when it cannot bind, and the
  // daemon exits right after: leak checking is off for this one run (ASan
  // builds); every other daemon test keeps it.
  const char* asan = getenv("ASAN_OPTIONS");
  const std::string saved = asan ? asan : "";
  setenv("ASAN_OPTIONS", (saved.empty() ? std::string("detect_leaks=0") : saved + ":detect_leaks=0").c_str(), 1);
  const RunResult r = run({"--http", "127.0.0.1:" + std::to_string(testing::free_listen_port()), "--sip",
                           "127.0.0.1:" + std::to_string(port), "--project", "p1:x"});
  if (asan) setenv("ASAN_OPTIONS", saved.c_str(), 1); else unsetenv("ASAN_OPTIONS");
  close(taken);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("call layer cannot start"), std::string::npos) << r.err;
}

TEST(Sipmixd, SigtermAndSigintDrainAndExit0) {
  for (int sig : {SIGTERM, SIGINT}) {
    Daemon d;
    EXPECT_EQ(d.terminate(sig), 0) << d.log();
  }
}

// ---- the web page's routes (docs/web.md) ----

std::string make_web_root() {
  std::string dir = "/tmp/sipmix-web-root-XXXXXX";
  if (!mkdtemp(dir.data())) return "";
  std::ofstream(dir + "/index.html") << "<!doctype html><title>page</title>";
  std::ofstream(dir + "/app.js") << "'use strict';";
  std::ofstream(dir + "/../sipmix-web-outside.js") << "secret";
  return dir;
}

TEST(SipmixdWeb, PageFilesAreServedFromTheWebRootAndNothingOutsideIt) {
  const std::string root = make_web_root();
  ASSERT_FALSE(root.empty());
  Daemon d({"--web-root", root, "--web-janus-url", "http://10.0.0.1:8088/janus"});
  httplib::Client c = d.client();
  auto r = c.Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "<!doctype html><title>page</title>");
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/html", 0), 0u);
  r = c.Get("/app/app.js");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/javascript", 0), 0u);
  error_of(c.Get("/app/missing.js"), 404);
  error_of(c.Get("/app/../sipmix-web-outside.js"), 404);
  error_of(c.Get("/app/%2e%2e%2fsipmix-web-outside.js"), 404);
  error_of(c.Get("/app/index"), 404);  // no extension: not a page file
  r = c.Get("/web/config.json");
  ASSERT_TRUE(r);
  const json cfg = json::parse(r->body, nullptr, false);
  EXPECT_EQ(cfg.value("janusUrl", ""), "http://10.0.0.1:8088/janus") << r->body;
  EXPECT_EQ(cfg.value("demo", true), false) << r->body;
  std::filesystem::remove_all(root);
  std::remove("/tmp/sipmix-web-outside.js");
}

TEST(SipmixdWeb, WebTokenIsOffUnlessTheDemoModeIsOn) {
  Daemon d;
  httplib::Client c = d.client();
  const std::string msg = error_of(c.Post("/web/token", {{"X-Sipmix-Web", "1"}}, "{}", "application/json"), 404);
  EXPECT_NE(msg.find("--web-demo-project"), std::string::npos) << msg;
}

TEST(SipmixdWeb, DemoTokensAreShortLivedAndNeedTheHeaderAndAnIpHost) {
  Daemon d({"--web-demo-project", kProject});
  httplib::Client c = d.client();
  error_of(c.Post("/web/token", "{}", "application/json"), 403);  // no X-Sipmix-Web
  error_of(c.Post("/web/token", {{"X-Sipmix-Web", "1"}, {"Host", "rebound.example:80"}}, "{}", "application/json"), 403);
  EXPECT_EQ(error_of(c.Post("/web/token", {{"X-Sipmix-Web", "1"}}, R"({"sessionId":"no spaces"})", "application/json"), 400)
                .rfind("sessionId:", 0),
            0u);
  auto r = c.Post("/web/token", {{"X-Sipmix-Web", "1"}}, R"({"sessionId":"s-1","data":"name=Ann"})", "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store");
  const json j = json::parse(r->body);
  EXPECT_EQ(j["projectId"], kProject);
  EXPECT_EQ(r->body.find(kSecret), std::string::npos);
  const Projects projects{{kProject, kSecret}};
  auto p = verify_rest_jwt(j["jwt"].get<std::string>(), projects, kProject, now_s());
  EXPECT_TRUE(p.ok()) << p.status().message();
  EXPECT_LE(j["expiresAt"].get<int64_t>() / 1000 - now_s(), kMaxRestJwtLifetimeS);
  auto t = verify_client_token(j["clientToken"].get<std::string>(), kProject, kSecret, "s-1", now_s());
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->connection_data, "name=Ann");
}

TEST(SipmixdWeb, DemoProjectMustBeConfigured) {
  const RunResult r = run({"--project", "p1:x", "--web-demo-project", "p9"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--web-demo-project"), std::string::npos) << r.err;
  const RunResult u = run({"--project", "p1:x", "--web-janus-url", "ftp://x"});
  EXPECT_EQ(u.exit_code, 2) << u.err;
  EXPECT_NE(u.err.find("--web-janus-url"), std::string::npos) << u.err;
}

}  // namespace
}  // namespace sipmix::gw
