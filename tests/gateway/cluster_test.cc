// A sipmix cluster on one machine, all real processes on 127.0.0.1 and free
// ports: redis-server, Kamailio (deploy/kamailio/kamailio.cfg, dispatcher
// over the nodes), three build/gateway/sipmixd nodes that dial through it,
// and sipp UASes that answer. Callbacks come to a receiver in the test.
// SIPMIX_CI_SCALE (default 1) scales the number of calls down, e.g. 0.2.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "gateway/rest/jwt.h"
#include "tests/gateway/cluster_support.h"
#if SIPMIX_CLUSTER_WITH_JANUS
#include "gateway/janus/janus_client.h"
#include "gateway/janus/video_room.h"
#include "tests/gateway/janus_process.h"
#endif

namespace sipmix::gw {
namespace {

using cluster_test::eventually;
using cluster_test::Process;
using cluster_test::read_text;
using cluster_test::RedisServer;
using json = nlohmann::json;

constexpr const char* kProject = "p1";
constexpr const char* kSecret = "s3cret-p1";
constexpr int kNodes = 3;

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double ci_scale() {
  const char* s = std::getenv("SIPMIX_CI_SCALE");
  const double v = s != nullptr ? std::atof(s) : 1.0;
  return v > 0 && v <= 1 ? v : 1.0;
}

// Receives the nodes' monitoring callbacks.
class CallbackReceiver {
 public:
  CallbackReceiver() : port_(testing::free_listen_port()) {
    server_.Post("/cb", [this](const httplib::Request& req, httplib::Response& res) {
      json j = json::parse(req.body, nullptr, false);
      if (j.is_object()) {
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(j);
      }
      res.status = 200;
    });
    server_.bind_to_port("127.0.0.1", port_);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~CallbackReceiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/cb"; }
  // The callDestroyed reason of a connection, or 0.
  int destroyed(const std::string& connection_id) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const json& e : events_) {
      if (e.value("event", "") == "callDestroyed" && e["call"].value("connectionId", "") == connection_id) {
        return e.value("reason_code", -1);
      }
    }
    return 0;
  }
  bool has_state(const std::string& connection_id, const std::string& state) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const json& e : events_) {
      if (e.value("event", "") == "callUpdated" && e["call"].value("connectionId", "") == connection_id &&
          e.value("state", "") == state) {
        return true;
      }
    }
    return false;
  }
  size_t destroyed_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const json& e : events_) n += e.value("event", "") == "callDestroyed";
    return n;
  }

 private:
  int port_;
  httplib::Server server_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<json> events_;
};

// One RTP stream in a capture, from tshark's rtp,streams.
struct RtpStream {
  int src_port = 0;
  long packets = 0;
  long lost = 0;
};

// The RTP streams toward `dst_port` in the capture at `pcap`.
std::vector<RtpStream> rtp_streams(const std::string& pcap, int dst_port) {
  const std::string out_path = pcap + ".streams";
  const std::string cmd = std::string(SIPMIX_TSHARK) + " -r " + pcap + " -d udp.port==" + std::to_string(dst_port) +
                          ",rtp -q -z rtp,streams > " + out_path + " 2>/dev/null";
  std::vector<RtpStream> out;
  if (std::system(cmd.c_str()) != 0) return out;
  std::istringstream lines(read_text(out_path));
  for (std::string line; std::getline(lines, line);) {
    // Start End SrcIP SrcPort DstIP DstPort SSRC Payload Pkts Lost (pct) ...
    std::istringstream f(line);
    std::vector<std::string> w;
    for (std::string t; f >> t;) w.push_back(t);
    if (w.size() < 11 || w[5] != std::to_string(dst_port) || w[10].empty() || w[10][0] != '(') continue;
    out.push_back(RtpStream{std::atoi(w[3].c_str()), std::atol(w[8].c_str()), std::atol(w[9].c_str())});
  }
  return out;
}

struct Dialed {
  std::string session, connection, stream, node;
};

class Cluster : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/sipmix-cluster-" + std::to_string(getpid()) + "-" + std::to_string(testing::free_listen_port());
    std::filesystem::create_directories(dir_);
    kamailio_port_ = testing::free_listen_port();
#if SIPMIX_CLUSTER_WITH_JANUS
    if (with_janus()) {
      janus_ = std::make_unique<testing::JanusProcess>();
      const Status s = janus_->start();
      ASSERT_TRUE(s.ok()) << s.message();
    }
#endif
    for (int i = 0; i < kNodes; ++i) {
      http_ports_.push_back(testing::free_listen_port());
      sip_ports_.push_back(testing::free_listen_port());
    }
    start_kamailio();
    for (int i = 0; i < kNodes; ++i) start_node(i);
    // Every node has written its heartbeat.
    ASSERT_TRUE(eventually([&] { return redis_.integer({"ZCARD", "nodes:load"}) == kNodes; }, 10000))
        << node_logs();
  }

  void TearDown() override {
    for (auto& n : nodes_) n.reset();
    kamailio_.reset();
    uas_.reset();
#if SIPMIX_CLUSTER_WITH_JANUS
    janus_.reset();
#endif
    if (HasFailure()) {
      std::fprintf(stderr, "%s\nlogs kept in %s\n", node_logs().c_str(), dir_.c_str());
    } else {
      std::filesystem::remove_all(dir_);
    }
  }

  void start_kamailio() {
    std::string cfg = read_text(std::string(SIPMIX_SOURCE_DIR) + "/deploy/kamailio/kamailio.cfg");
    for (const auto& [k, v] : std::map<std::string, std::string>{
             {"@SIP_IP@", "127.0.0.1"}, {"@UDP_PORT@", std::to_string(kamailio_port_)}, {"@TLS_PORT@", "0"},
             {"@DIR@", dir_}}) {
      for (size_t p; (p = cfg.find(k)) != std::string::npos;) cfg.replace(p, k.size(), v);
    }
    std::ofstream(dir_ + "/kamailio.cfg") << cfg;
    std::ofstream list(dir_ + "/dispatcher.list");
    for (int i = 0; i < kNodes; ++i) {
      list << "1 sip:127.0.0.1:" << sip_ports_[i] << " 0 0 duid=gw" << i << ";maxload=500\n";
    }
    list.close();
    kamailio_ = std::make_unique<Process>(
        SIPMIX_KAMAILIO,
        std::vector<std::string>{"-f", dir_ + "/kamailio.cfg", "-E", "-DD", "-Y", dir_, "-n", "2", "-w", dir_},
        dir_ + "/kamailio.log");
    ASSERT_TRUE(eventually([&] { return read_text(dir_ + "/kamailio.log").find("INFO") != std::string::npos; }, 5000));
  }

  static int rtp_base_of(int i) { return 30000 + i * 400 + (getpid() % 20) * 1200 % 20000; }

  std::vector<std::string> node_args(int i) {
    const int rtp_base = rtp_base_of(i);
    std::vector<std::string> args = {"--http", "127.0.0.1:" + std::to_string(http_ports_[i]),
            "--sip", "127.0.0.1:" + std::to_string(sip_ports_[i]),
            "--rtp-ports", std::to_string(rtp_base) + "-" + std::to_string(rtp_base + 399),
            "--project", std::string(kProject) + ":" + kSecret,
            "--redis", redis_.address(),
            "--node-id", "gw" + std::to_string(i),
            "--proxy", "sip:127.0.0.1:" + std::to_string(kamailio_port_),
            "--callback-url", callbacks_.url(),
            "--dials-per-second", "500",
            "--drain-timeout", "120",
            "--web-root", ""};
#if SIPMIX_CLUSTER_WITH_JANUS
    if (janus_) {
      args.push_back("--janus");
      args.push_back(janus_->url());
    }
#endif
    return args;
  }

  void start_node(int i) {
    if (nodes_.size() <= static_cast<size_t>(i)) nodes_.resize(i + 1);
    nodes_[i] = std::make_unique<Process>(SIPMIXD_PATH, node_args(i), dir_ + "/gw" + std::to_string(i) + ".log");
    ASSERT_TRUE(eventually([&] { return static_cast<bool>(client(i).Get("/healthz")); }, 10000)) << node_logs();
  }

  std::string node_logs() const {
    std::string s;
    for (int i = 0; i < kNodes; ++i) {
      const std::string log = read_text(dir_ + "/gw" + std::to_string(i) + ".log");
      s += "--- gw" + std::to_string(i) + "\n" + log.substr(log.size() > 4000 ? log.size() - 4000 : 0);
    }
    return s;
  }

  httplib::Client client(int i) const {
    httplib::Client c("127.0.0.1", http_ports_[i]);
    c.set_connection_timeout(5);
    c.set_read_timeout(15);
    return c;
  }
  httplib::Headers auth() const { return {{"X-OPENTOK-AUTH", *mint_rest_jwt(kProject, kSecret, now_s(), 180)}}; }

  std::string create_session(int via) {
    auto r = client(via).Post("/session/create", auth(), "", "application/x-www-form-urlencoded");
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    return r && r->status == 200 ? json::parse(r->body)[0]["session_id"].get<std::string>() : "";
  }

  // A sipp UAS that answers `calls` calls (PCMU) and echoes their RTP.
  void start_uas(int calls) {
    uas_port_ = testing::free_listen_port();
    uas_media_port_ = testing::free_port_block(4);  // sipp's audio and video RTP/RTCP
    uas_ = std::make_unique<Process>(
        SIPMIX_SIPP,
        std::vector<std::string>{"-sf", std::string(SIPMIX_SOURCE_DIR) + "/tests/gateway/sipp/uas_answer_many_rr.xml",
                                 "-i", "127.0.0.1", "-p", std::to_string(uas_port_), "-m", std::to_string(calls),
                                 "-nostdin", "-timeout", "170", "-timeout_error", "-mi", "127.0.0.1", "-mp",
                                 std::to_string(uas_media_port_), "-rtp_echo",
                                 "-trace_err", "-error_file", dir_ + "/sipp-errors.log", "-trace_screen", "-screen_file",
                                 dir_ + "/sipp-screen.log", "-trace_msg", "-message_file", dir_ + "/sipp-messages.log"},
        dir_ + "/sipp.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }

  // POST dial through node `via`; returns the ids and the node that took it.
  std::optional<Dialed> dial(int via, const std::string& session, bool observe_force_mute = false, int* status = nullptr) {
    ClientTokenSpec t;
    t.project_id = kProject;
    t.secret = kSecret;
    t.session_id = session;
    json body = {{"sessionId", session},
                 {"token", *mint_client_token(t, now_s())},
                 {"sip",
                  {{"uri", "sip:uas@127.0.0.1:" + std::to_string(uas_port_)},
                   {"from", "15551234@example.com"},
                   {"observeForceMute", observe_force_mute}}}};
    auto r = client(via).Post("/v2/project/" + std::string(kProject) + "/dial", auth(), body.dump(), "application/json");
    if (status != nullptr) *status = r ? r->status : -1;
    if (!r || r->status != 200) {
      if (status == nullptr) ADD_FAILURE() << "dial via gw" << via << ": " << (r ? r->body : "no answer");
      return std::nullopt;
    }
    json j = json::parse(r->body);
    return Dialed{session, j["connectionId"], j["streamId"], r->get_header_value("X-Sipmix-Node")};
  }

  // A UAS with room for them, then one session per node and one dial into
  // each through that node.
  std::vector<Dialed> dial_one_per_node() {
    start_uas(kNodes + 2);
    std::vector<Dialed> dialed;
    for (int i = 0; i < kNodes; ++i) {
      auto d = dial(i, create_session(i));
      EXPECT_TRUE(d) << "dial via node " << i;
      if (d) dialed.push_back(*d);
    }
    return dialed;
  }

  std::string state_via(int via, const Dialed& d) {
    auto r = client(via).Get("/v2/project/" + std::string(kProject) + "/session/" + d.session + "/connection/" +
                             d.connection, auth());
    if (!r || r->status != 200) return r ? "HTTP " + std::to_string(r->status) : "no answer";
    return json::parse(r->body).value("state", "");
  }

  int delete_via(int via, const Dialed& d) {
    auto r = client(via).Delete("/v2/project/" + std::string(kProject) + "/session/" + d.session + "/connection/" +
                                d.connection, auth());
    return r ? r->status : -1;
  }

  static int index_of(const std::string& node) { return node.size() == 3 ? node[2] - '0' : -1; }
  static int other_than(int node) { return (node + 1) % kNodes; }

  virtual bool with_janus() const { return false; }

  std::string dir_;
#if SIPMIX_CLUSTER_WITH_JANUS
  std::unique_ptr<testing::JanusProcess> janus_;
#endif
  RedisServer redis_;
  CallbackReceiver callbacks_;
  int kamailio_port_ = 0;
  int uas_port_ = 0;
  int uas_media_port_ = 0;
  std::vector<int> http_ports_, sip_ports_;
  std::unique_ptr<Process> kamailio_, uas_;
  std::vector<std::unique_ptr<Process>> nodes_;
};

TEST_F(Cluster, ConcurrentCallsSpreadOverTheNodesWithEverySessionOnOneNode) {
  const int legs_per_session = 4;
  const int sessions = std::max(3, static_cast<int>(25 * ci_scale()));
  const int calls = sessions * legs_per_session;
  start_uas(calls);
  std::vector<std::string> sids;
  for (int s = 0; s < sessions; ++s) sids.push_back(create_session(s % kNodes));
  std::vector<Dialed> dialed;
  // Each leg of a session is dialed through a different node.
  for (int leg = 0; leg < legs_per_session; ++leg) {
    for (int s = 0; s < sessions; ++s) {
      auto d = dial((s + leg) % kNodes, sids[s]);
      ASSERT_TRUE(d);
      dialed.push_back(*d);
    }
  }
  std::map<std::string, std::set<std::string>> nodes_of_session;
  std::map<std::string, int> calls_per_node;
  for (const Dialed& d : dialed) {
    nodes_of_session[d.session].insert(d.node);
    ++calls_per_node[d.node];
  }
  for (const auto& [sid, nodes] : nodes_of_session) EXPECT_EQ(nodes.size(), 1u) << "session " << sid;
  EXPECT_EQ(calls_per_node.size(), static_cast<size_t>(kNodes));  // every node has sessions
  for (const auto& [node, n] : calls_per_node) EXPECT_GE(n, calls / kNodes / 2) << node;

  ASSERT_TRUE(eventually(
      [&] {
        for (const Dialed& d : dialed) {
          if (!callbacks_.has_state(d.connection, "ACTIVE")) return false;
        }
        return true;
      },
      60000))
      << read_text(dir_ + "/sipp-errors.log");
  // All of them at once, each node with its share, and the registry agrees.
  for (int i = 0; i < kNodes; ++i) {
    auto m = client(i).Get("/metrics");
    ASSERT_TRUE(m);
    EXPECT_NE(m->body.find("sipmix_calls{state=\"ACTIVE\"} " + std::to_string(calls_per_node["gw" + std::to_string(i)])),
              std::string::npos)
        << "gw" << i << "\n" << m->body;
  }
  for (const Dialed& d : dialed) EXPECT_EQ(redis_.get({"HGET", "call:" + d.connection, "node"}), d.node);

  // Hang every call up through a node that does not hold it.
  for (const Dialed& d : dialed) EXPECT_EQ(delete_via(other_than(index_of(d.node)), d), 204);
  EXPECT_TRUE(eventually([&] { return callbacks_.destroyed_count() == dialed.size(); }, 30000));
  EXPECT_EQ(uas_->wait_exit(30000), 0) << read_text(dir_ + "/sipp-errors.log");
  // Every INVITE reached the UAS through Kamailio, record-routed.
  const std::string messages = read_text(dir_ + "/sipp-messages.log");
  const std::string rr = "Record-Route: <sip:127.0.0.1:" + std::to_string(kamailio_port_) + ";lr";
  size_t invites = 0, routed = 0;
  for (size_t p = 0; (p = messages.find("\nINVITE sip:", p)) != std::string::npos; ++p) {
    ++invites;
    const size_t end = messages.find("\n\n", p);
    routed += messages.substr(p, end - p).find(rr) != std::string::npos;
  }
  EXPECT_EQ(invites, dialed.size());
  EXPECT_EQ(routed, dialed.size());
}

TEST_F(Cluster, MuteDtmfAndDeleteWorkThroughANodeThatDoesNotHoldTheCall) {
  start_uas(2);
  const std::string sid = create_session(0);
  auto d = dial(0, sid, /*observe_force_mute=*/true);
  ASSERT_TRUE(d);
  const int owner = index_of(d->node);
  const int other = other_than(owner), third = other_than(other);
  ASSERT_TRUE(eventually([&] { return callbacks_.has_state(d->connection, "ACTIVE"); }, 15000));
  EXPECT_EQ(state_via(other, *d), "ACTIVE");
  EXPECT_EQ(state_via(third, *d), "ACTIVE");

  const std::string base = "/v2/project/" + std::string(kProject) + "/session/" + sid;
  auto mute = client(other).Post(base + "/stream/" + d->stream + "/mute", auth(), "", "application/json");
  ASSERT_TRUE(mute);
  EXPECT_EQ(mute->status, 200) << mute->body;
  EXPECT_TRUE(eventually(
      [&] {
        auto r = client(third).Get(base + "/connection/" + d->connection, auth());
        return r && r->status == 200 && json::parse(r->body).value("muted", false);
      },
      5000));

  auto dtmf = client(other).Post(base + "/connection/" + d->connection + "/play-dtmf", auth(),
                                 json{{"digits", "1234#"}}.dump(), "application/json");
  ASSERT_TRUE(dtmf);
  EXPECT_EQ(dtmf->status, 200) << dtmf->body;
  auto dtmf_all = client(third).Post(base + "/play-dtmf", auth(), json{{"digits", "9"}}.dump(), "application/json");
  ASSERT_TRUE(dtmf_all);
  EXPECT_EQ(dtmf_all->status, 200) << dtmf_all->body;

  // A session mute set through a non-owner reaches the owner and later legs.
  auto smute = client(third).Post(base + "/mute", auth(), json{{"active", true}}.dump(), "application/json");
  ASSERT_TRUE(smute);
  EXPECT_EQ(smute->status, 200) << smute->body;
  EXPECT_EQ(redis_.get({"HGET", "session:" + sid + ":mute", "active"}), "1");

  // Unknown connections are 404 on every node.
  Dialed ghost = *d;
  ghost.connection = "00000000-0000-4000-8000-000000000000";
  for (int i = 0; i < kNodes; ++i) EXPECT_EQ(delete_via(i, ghost), 404);

  EXPECT_EQ(delete_via(other, *d), 204);
  EXPECT_TRUE(eventually([&] { return callbacks_.destroyed(d->connection) != 0; }, 10000));
  EXPECT_NE(callbacks_.destroyed(d->connection), 703);
  EXPECT_EQ(delete_via(third, *d), 404);  // gone from the registry too
}

TEST_F(Cluster, KilledNodesCallsEndWith703AndNewDialsGoToLivingNodes) {
  const int per_node = 2;
  start_uas(kNodes * per_node + 8);
  std::vector<Dialed> dialed;
  std::vector<std::string> sids;
  for (int i = 0; i < kNodes * per_node; ++i) {
    sids.push_back(create_session(i % kNodes));
    auto d = dial(i % kNodes, sids.back());
    ASSERT_TRUE(d);
    dialed.push_back(*d);
  }
  for (const Dialed& d : dialed) ASSERT_TRUE(eventually([&] { return callbacks_.has_state(d.connection, "ACTIVE"); }, 15000));
  const std::string victim = dialed[0].node;
  const int v = index_of(victim);
  // The RTP the nodes send the UAS, over the window of the kill and the reaping.
  const std::string pcap = dir_ + "/rtp.pcapng";
  Process capture(SIPMIX_DUMPCAP, {"-q", "-i", "lo", "-f", "udp dst port " + std::to_string(uas_media_port_), "-w", pcap},
                  dir_ + "/dumpcap.log");
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(pcap); }, 5000)) << read_text(dir_ + "/dumpcap.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto killed_at = std::chrono::steady_clock::now();
  nodes_[v]->signal(SIGKILL);
  nodes_[v]->wait_exit(5000);

  std::vector<Dialed> dead_calls, live_calls;
  for (const Dialed& d : dialed) (d.node == victim ? dead_calls : live_calls).push_back(d);
  ASSERT_FALSE(dead_calls.empty());
  ASSERT_TRUE(eventually(
      [&] {
        for (const Dialed& d : dead_calls) {
          if (callbacks_.destroyed(d.connection) == 0) return false;
        }
        return true;
      },
      15000));
  EXPECT_LE(std::chrono::steady_clock::now() - killed_at, std::chrono::seconds(15));
  for (const Dialed& d : dead_calls) EXPECT_EQ(callbacks_.destroyed(d.connection), 703);
  // The other nodes' calls are untouched.
  const int living = other_than(v);
  for (const Dialed& d : live_calls) {
    EXPECT_EQ(callbacks_.destroyed(d.connection), 0);
    EXPECT_EQ(state_via(living, d), "ACTIVE");
  }
  EXPECT_EQ(redis_.integer({"SISMEMBER", "nodes", victim}), 0);
  // Over the same window the living nodes' media went on without a gap:
  // one stream per call, no packet lost, about 50 packets a second throughout.
  const double window_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count() + 0.5;
  capture.signal(SIGTERM);
  capture.wait_exit(5000);
  std::map<int, std::vector<RtpStream>> streams_of_node;
  for (const RtpStream& st : rtp_streams(pcap, uas_media_port_)) {
    for (int i = 0; i < kNodes; ++i) {
      if (st.src_port >= rtp_base_of(i) && st.src_port < rtp_base_of(i) + 400) streams_of_node[i].push_back(st);
    }
  }
  for (int i = 0; i < kNodes; ++i) {
    if (i == v) continue;
    size_t calls_here = 0;
    for (const Dialed& d : live_calls) calls_here += index_of(d.node) == i;
    ASSERT_EQ(streams_of_node[i].size(), calls_here) << "gw" << i;
    for (const RtpStream& st : streams_of_node[i]) {
      EXPECT_EQ(st.lost, 0) << "gw" << i << " port " << st.src_port;
      EXPECT_GE(st.packets, static_cast<long>(50 * (window_s - 1.0) * 0.9)) << "gw" << i << " over " << window_s << " s";
    }
  }
  // New dials, also into the dead node's session, land on living nodes.
  std::vector<std::string> targets = {dead_calls[0].session, create_session(living), create_session(living)};
  for (const std::string& sid : targets) {
    auto d = dial(living, sid);
    ASSERT_TRUE(d);
    EXPECT_NE(d->node, victim);
    EXPECT_FALSE(d->node.empty());
  }
}

TEST_F(Cluster, SigtermDrainsANodeItsCallsContinueThenItExitsZero) {
  start_uas(4);
  const std::string sid = create_session(0);
  auto d = dial(0, sid);
  ASSERT_TRUE(d);
  const int v = index_of(d->node), other = other_than(v);
  ASSERT_TRUE(eventually([&] { return callbacks_.has_state(d->connection, "ACTIVE"); }, 15000));
  nodes_[v]->signal(SIGTERM);
  ASSERT_TRUE(eventually([&] { return redis_.get({"ZSCORE", "nodes:load", d->node}).empty(); }, 5000));
  // It takes no new dials: new sessions go elsewhere, and its own session's
  // dial is refused while it drains.
  for (int i = 0; i < 3; ++i) {
    auto n = dial(other, create_session(other));
    ASSERT_TRUE(n);
    EXPECT_NE(n->node, d->node);
  }
  int status = 0;
  EXPECT_FALSE(dial(other, sid, false, &status));
  EXPECT_EQ(status, 503);
  // Its call continues...
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_TRUE(nodes_[v]->running());
  EXPECT_EQ(state_via(other, *d), "ACTIVE");
  EXPECT_EQ(callbacks_.destroyed(d->connection), 0);
  // ...until it is hung up; then the node exits 0.
  EXPECT_EQ(delete_via(other, *d), 204);
  EXPECT_EQ(nodes_[v]->wait_exit(20000), 0);
  EXPECT_NE(callbacks_.destroyed(d->connection), 703);
}

TEST_F(Cluster, RedisRestartDropsNoCallAndTheNodesRebuildTheRegistry) {
  const std::vector<Dialed> dialed = dial_one_per_node();
  ASSERT_EQ(dialed.size(), static_cast<size_t>(kNodes));
  for (const Dialed& d : dialed) ASSERT_TRUE(eventually([&] { return callbacks_.has_state(d.connection, "ACTIVE"); }, 15000));

  redis_.stop();
  // Degraded: calls go on, dials are refused with a clear reason.
  EXPECT_TRUE(eventually(
      [&] {
        auto m = client(0).Get("/metrics");
        return m && m->body.find("sipmix_registry_connected 0") != std::string::npos;
      },
      5000));
  ClientTokenSpec t;
  t.project_id = kProject;
  t.secret = kSecret;
  t.session_id = dialed[0].session;
  auto refused = client(0).Post("/v2/project/" + std::string(kProject) + "/dial", auth(),
                                json{{"sessionId", dialed[0].session},
                                     {"token", *mint_client_token(t, now_s())},
                                     {"sip", {{"uri", "sip:uas@127.0.0.1:" + std::to_string(uas_port_)}}}}
                                    .dump(),
                                "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_NE(refused->body.find("registry (Redis) is unreachable"), std::string::npos) << refused->body;
  // The owner still acts on its own calls.
  const Dialed& first = dialed[0];
  auto mute = client(index_of(first.node))
                  .Post("/v2/project/" + std::string(kProject) + "/session/" + first.session + "/mute", auth(),
                        json{{"active", false}}.dump(), "application/json");
  ASSERT_TRUE(mute);
  EXPECT_EQ(mute->status, 200) << mute->body;
  std::this_thread::sleep_for(std::chrono::seconds(2));
  redis_.start();  // empty
  ASSERT_TRUE(eventually(
      [&] {
        for (const Dialed& d : dialed) {
          if (redis_.get({"HGET", "call:" + d.connection, "node"}) != d.node) return false;
          if (redis_.get({"GET", "session:" + d.session + ":node"}) != d.node) return false;
          if (redis_.get({"HGET", "session:" + d.session, "project"}) != kProject) return false;
        }
        return redis_.integer({"ZCARD", "nodes:load"}) == kNodes;
      },
      10000));
  std::this_thread::sleep_for(std::chrono::seconds(7));  // past the node TTL: nobody is reaped
  EXPECT_EQ(callbacks_.destroyed_count(), 0u);
  for (const Dialed& d : dialed) EXPECT_EQ(state_via(other_than(index_of(d.node)), d), "ACTIVE");
  // Routing works again: a new leg of an existing session joins its node.
  auto again = dial(other_than(index_of(dialed[0].node)), dialed[0].session);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->node, dialed[0].node);
}

#if SIPMIX_CLUSTER_WITH_JANUS
// The nodes bridged to one Janus: each SIP leg is a remote publisher in its
// session's room. When its node is SIGKILLed, the reaper on a living node
// ends the call with 703 and removes the publisher from the room; the other
// nodes' publishers stay.
class ClusterWithJanus : public Cluster {
 protected:
  bool with_janus() const override { return true; }

  // The ids of the room's participants, or nullopt when Janus does not answer.
  std::optional<std::set<std::string>> participants_in(const std::string& room) {
    janus::JanusClientOptions o;
    o.url = janus_->url();
    auto c = janus::JanusClient::connect(o);
    if (!c.ok()) return std::nullopt;
    auto vr = janus::VideoRoomSession::open(**c, room, {});
    if (!vr.ok()) return std::nullopt;
    auto parts = (*vr)->list_participants();
    if (!parts.ok()) return std::nullopt;
    std::set<std::string> ids;
    for (const auto& p : *parts) ids.insert(p.id);
    return ids;
  }
};

TEST_F(ClusterWithJanus, KilledNodesLegsEndWith703AndLeaveTheJanusRoom) {
  const std::vector<Dialed> dialed = dial_one_per_node();
  ASSERT_EQ(dialed.size(), static_cast<size_t>(kNodes));
  for (const Dialed& d : dialed) {
    ASSERT_TRUE(eventually([&] { return callbacks_.has_state(d.connection, "ACTIVE"); }, 15000)) << node_logs();
    // The leg is a remote publisher (id = its stream id) in its session's room.
    ASSERT_TRUE(eventually([&] { auto p = participants_in(d.session); return p && p->count(d.stream) == 1; }, 5000))
        << "stream " << d.stream << " not in room " << d.session << "\n" << janus_->log_tail();
  }
  const std::string victim = dialed[0].node;
  const int v = index_of(victim);
  nodes_[v]->signal(SIGKILL);
  nodes_[v]->wait_exit(5000);
  for (const Dialed& d : dialed) {
    if (d.node != victim) continue;
    ASSERT_TRUE(eventually([&] { return callbacks_.destroyed(d.connection) != 0; }, 15000)) << node_logs();
    EXPECT_EQ(callbacks_.destroyed(d.connection), 703);
    EXPECT_TRUE(eventually([&] { auto p = participants_in(d.session); return p && p->count(d.stream) == 0; }, 5000))
        << "the dead node's publisher " << d.stream << " is still in room " << d.session << "\n" << node_logs();
  }
  for (const Dialed& d : dialed) {
    if (d.node == victim) continue;
    EXPECT_EQ(callbacks_.destroyed(d.connection), 0);
    auto p = participants_in(d.session);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->count(d.stream), 1u) << "a living node's publisher left room " << d.session;
  }
}
#endif

// deploy/kamailio/kamailio.cfg with -A WITH_TLS: customers reach the edge
// over TLS with the configured certificate.
TEST(ClusterEdge, KamailioConfigServesTlsTowardCustomers) {
  const std::string dir = "/tmp/sipmix-edge-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string openssl = "cd " + dir +
                              " && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 "
                              "-subj /CN=edge.sipmix.test > openssl.log 2>&1";
  ASSERT_EQ(std::system(openssl.c_str()), 0) << read_text(dir + "/openssl.log");
  std::ofstream(dir + "/tls.cfg") << "[server:default]\nmethod = TLSv1.2+\ncertificate = " << dir
                                  << "/cert.pem\nprivate_key = " << dir << "/key.pem\n";
  std::ofstream(dir + "/dispatcher.list") << "1 sip:127.0.0.1:5999 0 0 duid=gw1;maxload=10\n";
  const int udp = testing::free_listen_port(), tls = testing::free_listen_port();
  std::string cfg = read_text(std::string(SIPMIX_SOURCE_DIR) + "/deploy/kamailio/kamailio.cfg");
  for (const auto& [k, v] : std::map<std::string, std::string>{
           {"@SIP_IP@", "127.0.0.1"}, {"@UDP_PORT@", std::to_string(udp)}, {"@TLS_PORT@", std::to_string(tls)},
           {"@DIR@", dir}}) {
    for (size_t p; (p = cfg.find(k)) != std::string::npos;) cfg.replace(p, k.size(), v);
  }
  std::ofstream(dir + "/kamailio.cfg") << cfg;
  {
    Process kamailio(SIPMIX_KAMAILIO,
                     {"-f", dir + "/kamailio.cfg", "-A", "WITH_TLS", "-E", "-DD", "-Y", dir, "-w", dir},
                     dir + "/kamailio.log");
    const std::string probe = "echo Q | timeout 5 openssl s_client -connect 127.0.0.1:" + std::to_string(tls) +
                              " -CAfile " + dir + "/cert.pem -verify_return_error > " + dir + "/s_client.log 2>&1";
    ASSERT_TRUE(eventually([&] { return std::system(probe.c_str()) == 0; }, 10000))
        << read_text(dir + "/s_client.log") << read_text(dir + "/kamailio.log");
    const std::string hello = read_text(dir + "/s_client.log");
    EXPECT_NE(hello.find("CN = edge.sipmix.test"), std::string::npos) << hello;
    EXPECT_NE(hello.find("Verify return code: 0 (ok)"), std::string::npos) << hello;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sipmix::gw
