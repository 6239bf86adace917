// sipmixd bridged to a real Janus 1.1.2 VideoRoom, end to end, through the
// real daemon's REST API:
// - the session's other participants are remote publishers the test feeds
//   with generated media (a distinct tone and a plain colour each);
// - the SIP endpoint is sipp for signalling and the test's own sockets for
//   media (it records what the gateway sends and sends a tone, and the
//   RFC 4733 captures Debian's sip-tester ships);
// - what the session hears of the SIP leg is read back from Janus itself,
//   by rtp_forward-ing the leg's remote publisher to the test.
// ffmpeg decodes the video the endpoint received, tshark the DTMF events.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <opus.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "gateway/janus/janus_client.h"
#include "gateway/janus/video_room.h"
#include "gateway/rest/jwt.h"
#include "tests/gateway/janus_process.h"
#include "tests/gateway/listen_port.h"
#include "tests/gateway/sip_test_support.h"
#include "tests/support/fake_peer.h"
#include "tests/support/pcap.h"
#include "tests/support/signal.h"

namespace sipmix::gw {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::JanusProcess;
using testing::Process;
using testing::Sipp;
using testing::TempDir;

constexpr const char* kProject = "p1";
constexpr const char* kSecret = "bridge-test-secret";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
int64_t unix_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// Offset of the RTP payload (after CSRCs and an extension), or 0 if malformed.
size_t rtp_payload_offset(const std::vector<uint8_t>& p) {
  if (p.size() < 12 || (p[0] >> 6) != 2) return 0;
  size_t off = 12 + 4 * (p[0] & 0x0f);
  if (p[0] & 0x10) {
    if (p.size() < off + 4) return 0;
    off += 4 + 4 * be16(&p[off + 2]);
  }
  return off <= p.size() ? off : 0;
}

// G.711 mu-law to linear (ITU-T G.711).
int16_t ulaw_to_linear(uint8_t u) {
  u = static_cast<uint8_t>(~u);
  int t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return static_cast<int16_t>((u & 0x80) ? (0x84 - t) : (t - 0x84));
}

struct Datagram {
  int64_t t_ms = 0;
  std::vector<uint8_t> bytes;
  sockaddr_in from{};
};

// A UDP socket on 127.0.0.1 that records what arrives, on a thread of its own.
class UdpRecorder {
 public:
  explicit UdpRecorder(uint16_t port = 0) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~UdpRecorder() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  bool ok() const { return ok_; }
  uint16_t port() const { return port_; }
  int fd() const { return fd_; }
  std::vector<Datagram> packets() const {
    std::lock_guard<std::mutex> lock(mu_);
    return packets_;
  }
  size_t count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return packets_.size();
  }
  // The first sender's address (0 port when nothing arrived yet).
  sockaddr_in peer() const {
    std::lock_guard<std::mutex> lock(mu_);
    return packets_.empty() ? sockaddr_in{} : packets_.front().from;
  }
  void send_to(const sockaddr_in& to, const uint8_t* data, size_t n) const {
    ::sendto(fd_, data, n, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }

 private:
  void run() {
    std::vector<uint8_t> buf(65536);
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      Datagram d;
      socklen_t len = sizeof d.from;
      const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&d.from), &len);
      if (n <= 0) continue;
      d.t_ms = now_ms();
      d.bytes.assign(buf.begin(), buf.begin() + n);
      std::lock_guard<std::mutex> lock(mu_);
      packets_.push_back(std::move(d));
    }
  }
  int fd_ = -1;
  bool ok_ = false;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Datagram> packets_;  // guarded by mu_
  std::thread thread_;
};

// Two adjacent free ports starting at an even one, for RTP and RTCP.
uint16_t free_even_pair() { return static_cast<uint16_t>(testing::free_port_block(2)); }

// The SIP endpoint's media: PCMU + telephone-event on one socket pair, VP8
// received on another. It sends a tone to wherever the gateway sends from
// (symmetric RTP), and RFC 4733 events from captures when asked.
class EndpointMedia {
 public:
  EndpointMedia() : audio_(free_even_pair()), video_(free_even_pair()) {
    sipmix::testing::FakePeerConfig c;
    c.kind = MediaKind::kAudio;
    c.audio_codec = AudioCodec::kPcmu;
    c.payload_type = 0;
    c.ssrc = 0x5eed0001;
    peer_ = std::move(*sipmix::testing::FakePeer::create(c));
    thread_ = std::thread([this] { run(); });
  }
  ~EndpointMedia() {
    stop_ = true;
    thread_.join();
  }
  uint16_t audio_port() const { return audio_.port(); }
  uint16_t video_port() const { return video_.port(); }
  const UdpRecorder& audio() const { return audio_; }
  const UdpRecorder& video() const { return video_; }
  void set_tone(double hz, double dbfs) {
    std::lock_guard<std::mutex> lock(mu_);
    tone_hz_ = hz;
    tone_dbfs_ = dbfs;
  }
  // Queues the RTP event packets of a capture, sent one per 20 ms and stamped
  // as this endpoint's (payload type 101, its SSRC, sequence and timestamps).
  bool queue_events(const std::string& pcap_path) {
    auto pkts = sipmix::pcap::read_pcap_udp(pcap_path);
    if (!pkts.ok()) return false;
    std::lock_guard<std::mutex> lock(mu_);
    bool first = true;
    for (const auto& p : *pkts) {
      std::vector<uint8_t> rtp(p.payload.begin(), p.payload.end());
      const size_t off = rtp_payload_offset(rtp);
      if (off == 0 || rtp.size() - off != 4) continue;  // RFC 4733 event payloads are 4 bytes
      events_.push_back({std::vector<uint8_t>(rtp.begin() + off, rtp.end()), first});
      first = false;
    }
    return !first;
  }
  bool events_pending() const {
    std::lock_guard<std::mutex> lock(mu_);
    return !events_.empty();
  }
  // PCM (8 kHz) of the gateway's PCMU packets that arrived in [from, to).
  std::vector<int16_t> received_pcm(int64_t from_ms, int64_t to_ms) const {
    std::vector<int16_t> out;
    for (const auto& d : audio_.packets()) {
      if (d.t_ms < from_ms || d.t_ms >= to_ms || d.bytes.size() < 12 || (d.bytes[1] & 0x7f) != 0) continue;
      const size_t off = rtp_payload_offset(d.bytes);
      if (off == 0) continue;
      for (size_t i = off; i < d.bytes.size(); ++i) out.push_back(ulaw_to_linear(d.bytes[i]));
    }
    return out;
  }

 private:
  struct Event {
    std::vector<uint8_t> payload;
    bool first;  // of its capture: a new event with a new timestamp
  };
  void run() {
    uint16_t seq = 1;
    uint32_t ts = 0, event_ts = 0;
    int64_t next = now_ms();
    uint64_t frame = 0;
    while (!stop_) {
      std::this_thread::sleep_until(std::chrono::steady_clock::time_point(std::chrono::milliseconds(next)));
      next += 20;
      const sockaddr_in to = audio_.peer();
      if (to.sin_port == 0) continue;  // the gateway has not sent yet: we do not know its port
      std::vector<uint8_t> packet;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!events_.empty()) {
          Event e = std::move(events_.front());
          events_.erase(events_.begin());
          if (e.first) event_ts = ts;
          packet = {static_cast<uint8_t>(0x80), static_cast<uint8_t>((e.first ? 0x80 : 0) | 101)};
          packet.resize(12);
          packet[2] = static_cast<uint8_t>(seq >> 8);
          packet[3] = static_cast<uint8_t>(seq);
          for (int i = 0; i < 4; ++i) packet[4 + i] = static_cast<uint8_t>(event_ts >> (24 - 8 * i));
          for (int i = 0; i < 4; ++i) packet[8 + i] = static_cast<uint8_t>(0x5eed0001u >> (24 - 8 * i));
          packet.insert(packet.end(), e.payload.begin(), e.payload.end());
        } else {
          const auto pcm = sipmix::testing::sine(tone_hz_, tone_dbfs_, 8000, 160,
                                                  2 * M_PI * tone_hz_ * static_cast<double>(frame) * 0.02);
          peer_->header().sequence_number = seq;
          peer_->header().timestamp = ts;
          packet = peer_->audio_packet(pcm);
        }
      }
      ++seq;
      ts += 160;
      ++frame;
      audio_.send_to(to, packet.data(), packet.size());
    }
  }
  UdpRecorder audio_, audio_rtcp_{static_cast<uint16_t>(audio_.port() + 1)};
  UdpRecorder video_, video_rtcp_{static_cast<uint16_t>(video_.port() + 1)};
  std::unique_ptr<sipmix::testing::FakePeer> peer_;
  mutable std::mutex mu_;
  double tone_hz_ = 1000, tone_dbfs_ = -20;  // guarded by mu_
  std::vector<Event> events_;                // guarded by mu_
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A participant of the room as the test plays it: a remote publisher fed
// with a tone (Opus) and a plain-coloured picture (VP8), or, as a simulcast
// publisher, three layers of their own size and colour (lowest first).
struct VideoLayerSpec {
  int width, height;
  uint8_t y, u, v;
};
struct PublisherSpec {
  std::string id;
  double tone_hz;
  uint8_t y, u, v;  // the picture's colour (I420), without simulcast
  std::vector<VideoLayerSpec> simulcast = {};
};
struct TestPublisher {
  PublisherSpec spec;
  janus::RemotePublisher remote;
  std::unique_ptr<sipmix::testing::FakePeer> audio;
  std::vector<VideoLayerSpec> layers;  // one, or the simulcast layers
  std::vector<std::unique_ptr<sipmix::testing::FakePeer>> video;  // one per layer
  uint64_t frame = 0;
};

// Feeds the publishers, one socket each. A publisher starts with a keyframe
// and sends another only when Janus relays a PLI to it (Janus sends them to
// the address that last sent RTCP to the publisher's rtcp_port), as a
// browser does: a session that joins late sees video only through the
// keyframe-request path.
class Feeder {
 public:
  explicit Feeder(std::vector<TestPublisher>* pubs) : pubs_(pubs) {
    for (TestPublisher& p : *pubs_) {
      const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      fds_.push_back(fd);
      // An empty receiver report, so that Janus knows where PLIs go.
      const uint8_t rr[8] = {0x80, 201, 0, 1, 0x11, 0x22, 0x33, 0x44};
      send(fd, p.remote.rtcp_port, rr);
    }
    thread_ = std::thread([this] { run(); });
  }
  ~Feeder() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_) ::close(fd);
  }
  int plis() const { return plis_.load(); }

 private:
  static void send(int fd, uint16_t port, std::span<const uint8_t> p) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(port);
    ::sendto(fd, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  void run() {
    int64_t next = now_ms();
    const int64_t t0 = next;
    uint64_t tick = 0;
    uint8_t in[1500];
    while (!stop_) {
      std::this_thread::sleep_until(std::chrono::steady_clock::time_point(std::chrono::milliseconds(next)));
      next += 20;
      for (size_t i = 0; i < pubs_->size(); ++i) {
        TestPublisher& p = (*pubs_)[i];
        for (ssize_t n; (n = ::recv(fds_[i], in, sizeof in, 0)) >= 12;) {
          if (in[1] == 206 && (in[0] & 0x1f) == 1) {  // RTCP PSFB, FMT 1: PLI
            for (auto& v : p.video) v->request_keyframe();
            ++plis_;
          }
        }
        const double hz = p.spec.tone_hz;
        const auto pcm = sipmix::testing::sine(hz, -20, 48000, 960, 2 * M_PI * hz * static_cast<double>(p.frame) * 0.02);
        ++p.frame;
        send(fds_[i], p.remote.port, p.audio->audio_packet(pcm));
        if (tick % 4 == 0) {  // 12.5 frames a second
          for (size_t l = 0; l < p.video.size(); ++l) {
            p.video[l]->fill_picture(p.layers[l].y, p.layers[l].u, p.layers[l].v);
            for (auto pkt : p.video[l]->video_packets((now_ms() - t0) * 1000)) send(fds_[i], p.remote.port, pkt);
          }
        }
      }
      ++tick;
    }
  }
  std::vector<TestPublisher>* pubs_;
  std::vector<int> fds_;
  std::atomic<int> plis_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The VP8 frames of `packets` (payload type `pt`) as an IVF file; false if none.
bool write_ivf(const std::vector<Datagram>& packets, int pt, const std::string& path);

class BridgeJanus : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!janus_.start().ok()) GTEST_SKIP() << "janus does not start here: " << janus_.log_tail();
    ASSERT_TRUE(callbacks_ok_);
    http_port_ = testing::free_listen_port();
    const int rtp_base = 30000 + (http_port_ % 1000) * 24;
    const std::vector<std::string> args = {SIPMIXD_PATH,
                                           "--http", "127.0.0.1:" + std::to_string(http_port_),
                                           "--sip", "127.0.0.1:" + std::to_string(testing::free_listen_port()),
                                           "--rtp-ports", std::to_string(rtp_base) + "-" + std::to_string(rtp_base + 23),
                                           "--janus", janus_.url(),
                                           "--project", std::string(kProject) + ":" + kSecret,
                                           "--callback-url", "http://127.0.0.1:" + std::to_string(cb_port_) + "/cb"};
    daemon_.start(args, dir_.path(), dir_.path() + "/sipmixd.log");
    for (int i = 0; i < 250; ++i) {
      if (auto r = cli().Get("/healthz"); r && r->status == 200) break;
      std::this_thread::sleep_for(20ms);
    }
    auto r = cli().Get("/healthz");
    ASSERT_TRUE(r && r->status == 200) << daemon_log();
    jwt_ = *mint_rest_jwt(kProject, kSecret, unix_s(), 180);
  }
  void TearDown() override {
    feeder_.reset();
    room_.reset();
    client_.reset();
    // Sanitizer builds: what the daemon's runtime reported is this test's failure too.
    daemon_.stop();
    const std::string log = daemon_log();
    for (const char* marker : {"ERROR: AddressSanitizer", "WARNING: ThreadSanitizer", "runtime error:"})
      EXPECT_EQ(log.find(marker), std::string::npos) << log;
  }

  httplib::Client cli() const {
    httplib::Client c("127.0.0.1", http_port_);
    c.set_connection_timeout(5);
    c.set_read_timeout(10);
    return c;
  }
  httplib::Headers auth() const { return {{"X-OPENTOK-AUTH", jwt_}}; }
  std::string daemon_log() const { return testing::read_file(dir_.path() + "/sipmixd.log"); }
  std::string path(const std::string& tail) const { return "/v2/project/p1/session/" + session_ + tail; }

  // POST /session/create: sipmixd makes the Janus room; the test joins it.
  void create_session() {
    auto r = cli().Post("/session/create", auth(), "", "application/x-www-form-urlencoded");
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "no answer") << daemon_log();
    session_ = json::parse(r->body)[0]["session_id"];
    janus::JanusClientOptions o;
    o.url = janus_.url();
    auto c = janus::JanusClient::connect(o);
    ASSERT_TRUE(c.ok()) << c.status().message();
    client_ = std::move(*c);
    auto room = janus::VideoRoomSession::open(*client_, session_, {});
    ASSERT_TRUE(room.ok());
    room_ = std::move(*room);
    auto parts = room_->list_participants();
    ASSERT_TRUE(parts.ok()) << "sipmixd did not create room " << session_ << ": " << parts.status().message();
  }

  // Adds participants to the room and (re)starts feeding every one of them.
  void add_publishers(const std::vector<PublisherSpec>& specs) {
    feeder_.reset();
    for (const PublisherSpec& spec : specs) {
      TestPublisher p;
      p.spec = spec;
      janus::RemotePublisherRequest rq;
      rq.id = spec.id;
      rq.display = spec.id;
      rq.streams = {{janus::MediaType::kAudio, "opus", "", false},
                    {janus::MediaType::kVideo, "vp8", "", false, !spec.simulcast.empty()}};
      auto rp = room_->add_remote_publisher(rq);
      ASSERT_TRUE(rp.ok()) << rp.status().message();
      p.remote = *rp;
      sipmix::testing::FakePeerConfig a;
      a.kind = MediaKind::kAudio;
      a.payload_type = 111;
      a.ssrc = janus::remote_publisher_ssrc(0);
      p.audio = std::move(*sipmix::testing::FakePeer::create(a));
      // Without simulcast one 320x240 picture; with it, the layers with
      // SSRCs remote_publisher_ssrc(1) + 0, 1, 2, as Janus expects them.
      p.layers = spec.simulcast.empty() ? std::vector<VideoLayerSpec>{{320, 240, spec.y, spec.u, spec.v}} : spec.simulcast;
      const std::vector<VideoLayerSpec>& layers = p.layers;
      for (size_t l = 0; l < layers.size(); ++l) {
        sipmix::testing::FakePeerConfig v;
        v.kind = MediaKind::kVideo;
        v.video_codec = VideoCodec::kVp8;
        v.payload_type = 96;
        v.ssrc = janus::remote_publisher_ssrc(1) + static_cast<uint32_t>(l);
        v.width = layers[l].width;
        v.height = layers[l].height;
        v.fps = 12;
        v.keyframe_interval_s = 3600;  // keyframes only on request (the Feeder's PLIs)
        p.video.push_back(std::move(*sipmix::testing::FakePeer::create(v)));
      }
      pubs_.push_back(std::move(p));
    }
    feeder_ = std::make_unique<Feeder>(&pubs_);
  }

  // The endpoint's last grid picture, decoded by ffmpeg at 160x90: how
  // many pixels are clearly of each primary and secondary colour.
  struct Colours {
    bool decoded = false;
    int red = 0, green = 0, blue = 0, yellow = 0, magenta = 0;
  };
  Colours last_grid_colours(const EndpointMedia& ep) {
    Colours c;
    const std::string ivf = dir_.path() + "/grid.ivf";
    if (!write_ivf(ep.video().packets(), 97, ivf)) return c;
    const std::string rgb = run_command("ffmpeg -v error -i " + ivf + " -vf scale=160:90 -f rawvideo -pix_fmt rgb24 -");
    constexpr size_t kFrame = 160 * 90 * 3;
    if (rgb.size() < kFrame) return c;
    c.decoded = true;
    const uint8_t* last = reinterpret_cast<const uint8_t*>(rgb.data()) + (rgb.size() / kFrame - 1) * kFrame;
    for (size_t i = 0; i < kFrame; i += 3) {
      const bool r = last[i] > 150, g = last[i + 1] > 150, b = last[i + 2] > 150;
      const bool nr = last[i] < 90, ng = last[i + 1] < 90, nb = last[i + 2] < 90;
      c.red += r && ng && nb;
      c.green += g && nr && nb;
      c.blue += b && nr && ng;
      c.yellow += r && g && nb;
      c.magenta += r && b && ng;
    }
    return c;
  }

  struct Dialed {
    std::string id, connection_id, stream_id;
  };
  Dialed dial(const Sipp& sipp, bool video, bool observe_force_mute = true) {
    ClientTokenSpec t;
    t.project_id = kProject;
    t.secret = kSecret;
    t.session_id = session_;
    t.connection_data = "name=phone";
    json body = {{"sessionId", session_},
                 {"token", *mint_client_token(t, unix_s())},
                 {"sip", {{"uri", sipp.uri()}, {"video", video}, {"observeForceMute", observe_force_mute}}}};
    auto r = cli().Post("/v2/project/p1/dial", auth(), body.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer") << daemon_log();
    if (!r || r->status != 200) return {};
    const json j = json::parse(r->body);
    return {j["id"], j["connectionId"], j["streamId"]};
  }
  // dial(), then waits for ACTIVE; empty ids when either failed.
  Dialed dial_active(const Sipp& sipp, bool video, bool observe_force_mute = true) {
    Dialed d = dial(sipp, video, observe_force_mute);
    if (!d.connection_id.empty() && !wait_state(d.connection_id, "ACTIVE", 10000)) {
      ADD_FAILURE() << "the call never became ACTIVE\n" << daemon_log();
      return {};
    }
    return d;
  }
  std::string state_of(const std::string& connection_id) {
    auto r = cli().Get(path("/connection/" + connection_id), auth());
    if (!r) return "no answer";
    if (r->status == 404) return "gone";
    return json::parse(r->body, nullptr, false).value("state", "?");
  }
  bool wait_state(const std::string& connection_id, const std::string& want, int timeout_ms) {
    for (int waited = 0; waited < timeout_ms; waited += 50) {
      if (state_of(connection_id) == want) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  // What the session hears of the SIP leg: its remote publisher's audio,
  // forwarded by Janus to the test and decoded.
  void listen_to_leg(const std::string& stream_id) {
    leg_audio_ = std::make_unique<UdpRecorder>();
    auto fw = room_->rtp_forward(stream_id, "127.0.0.1", {{"0", leg_audio_->port(), 0, 0, -1}});
    ASSERT_TRUE(fw.ok()) << fw.status().message();
  }
  // Decoded PCM (48 kHz) of the leg's Opus packets that arrived in [from, to).
  std::vector<int16_t> leg_pcm(int64_t from_ms, int64_t to_ms) const {
    int err = 0;
    OpusDecoder* dec = opus_decoder_create(48000, 1, &err);
    std::vector<int16_t> out, frame(5760);
    for (const auto& d : leg_audio_->packets()) {
      const size_t off = rtp_payload_offset(d.bytes);
      if (off == 0 || (d.bytes[1] & 0x7f) != 111) continue;
      const int n = opus_decode(dec, d.bytes.data() + off, static_cast<int>(d.bytes.size() - off), frame.data(), 5760, 0);
      if (n > 0 && d.t_ms >= from_ms && d.t_ms < to_ms) out.insert(out.end(), frame.begin(), frame.begin() + n);
    }
    opus_decoder_destroy(dec);
    return out;
  }
  // Waits until the leg's tone is heard in the session.
  bool wait_leg_tone(double hz, int timeout_ms) {
    for (int waited = 0; waited < timeout_ms; waited += 200) {
      std::this_thread::sleep_for(200ms);
      const int64_t t = now_ms();
      const auto pcm = leg_pcm(t - 600, t);
      if (pcm.size() >= 9600 && sipmix::testing::tone_dbfs(pcm, hz, 48000) > -30) return true;
    }
    return false;
  }
  std::vector<json> callbacks(const std::string& event) {
    std::lock_guard<std::mutex> lock(cb_mu_);
    std::vector<json> out;
    for (const json& j : cb_) {
      if (j.value("event", "") == event) out.push_back(j);
    }
    return out;
  }

  JanusProcess janus_;
  TempDir dir_;
  Process daemon_;
  int http_port_ = 0;
  std::string jwt_, session_;
  std::unique_ptr<janus::JanusClient> client_;
  std::unique_ptr<janus::VideoRoomSession> room_;
  std::vector<TestPublisher> pubs_;
  std::unique_ptr<Feeder> feeder_;
  std::unique_ptr<UdpRecorder> leg_audio_;

  // Monitoring callbacks, received by a small HTTP server of the test's.
  std::mutex cb_mu_;
  std::vector<json> cb_;
  httplib::Server cb_server_;
  std::thread cb_thread_;
  int cb_port_ = cb_server_.bind_to_any_port("127.0.0.1");
  bool callbacks_ok_ = cb_port_ > 0 && [this] {
    cb_server_.Post("/cb", [this](const httplib::Request& q, httplib::Response& r) {
      std::lock_guard<std::mutex> lock(cb_mu_);
      json j = json::parse(q.body, nullptr, false);
      if (j.is_array()) {
        for (auto& e : j) cb_.push_back(e);
      } else {
        cb_.push_back(j);
      }
      r.status = 200;
    });
    cb_thread_ = std::thread([this] { cb_server_.listen_after_bind(); });
    return true;
  }();

 public:
  ~BridgeJanus() override {
    cb_server_.stop();
    if (cb_thread_.joinable()) cb_thread_.join();
  }
};

// VP8 RTP (RFC 7741) to an IVF file ffmpeg reads: frames end at the marker.
bool write_ivf(const std::vector<Datagram>& packets, int pt, const std::string& path) {
  std::vector<std::vector<uint8_t>> frames;
  std::vector<uint8_t> cur;
  bool started = false;
  for (const auto& d : packets) {
    const auto& p = d.bytes;
    const size_t off = rtp_payload_offset(p);
    if (off == 0 || (p[1] & 0x7f) != pt || p.size() <= off + 1) continue;
    size_t i = off;
    const uint8_t desc = p[i++];
    const bool start = (desc & 0x10) && (desc & 0x07) == 0;
    if (desc & 0x80) {
      const uint8_t x = p[i++];
      if (x & 0x80) i += (p[i] & 0x80) ? 2 : 1;
      if (x & 0x40) ++i;
      if (x & 0x30) ++i;
    }
    if (i > p.size()) continue;
    if (start) {
      cur.clear();
      started = true;
    }
    if (!started) continue;
    cur.insert(cur.end(), p.begin() + static_cast<long>(i), p.end());
    if (p[1] & 0x80) {
      frames.push_back(cur);
      cur.clear();
      started = false;
    }
  }
  if (frames.empty()) return false;
  std::ofstream f(path, std::ios::binary);
  auto le16 = [&](uint16_t v) { f.put(static_cast<char>(v)).put(static_cast<char>(v >> 8)); };
  auto le32 = [&](uint32_t v) { le16(static_cast<uint16_t>(v)), le16(static_cast<uint16_t>(v >> 16)); };
  f.write("DKIF", 4);
  le16(0), le16(32), f.write("VP80", 4), le16(0), le16(0), le32(30), le32(1), le32(static_cast<uint32_t>(frames.size())),
      le32(0);
  uint64_t pts = 0;
  for (const auto& fr : frames) {
    le32(static_cast<uint32_t>(fr.size()));
    le32(static_cast<uint32_t>(pts)), le32(static_cast<uint32_t>(pts >> 32));
    ++pts;
    f.write(reinterpret_cast<const char*>(fr.data()), static_cast<std::streamsize>(fr.size()));
  }
  return true;
}

TEST_F(BridgeJanus, VideoDialShowsThePublishersTilesAndTheirTonesButNotItsOwn) {
  create_session();
  add_publishers({{"alice", 440, 81, 90, 240}, {"bob", 880, 41, 240, 110}});  // red, blue
  EndpointMedia ep;
  Sipp sipp("uas_endpoint_av.xml",
            {{"AUDIO_PORT", std::to_string(ep.audio_port())},
             {"VIDEO", "m=video " + std::to_string(ep.video_port()) + " RTP/AVP 97\r\na=rtpmap:97 VP8/90000\r\na=sendrecv"}});
  ep.set_tone(1000, -20);
  const Dialed d = dial_active(sipp, /*video=*/true);
  ASSERT_FALSE(d.connection_id.empty());
  listen_to_leg(d.stream_id);
  std::this_thread::sleep_for(5s);
  const int64_t t = now_ms();

  // The leg's own audio is in the session, as Janus relays it.
  const auto leg = leg_pcm(t - 2000, t);
  ASSERT_GE(leg.size(), 48000u) << "too little of the SIP leg's audio came back from Janus";
  EXPECT_GT(sipmix::testing::tone_dbfs(leg, 1000, 48000), -30);

  // The endpoint hears both publishers, not itself.
  const auto heard = ep.received_pcm(t - 2000, t);
  ASSERT_GE(heard.size(), 8000u);
  EXPECT_GT(sipmix::testing::tone_dbfs(heard, 440, 8000), -35);
  EXPECT_GT(sipmix::testing::tone_dbfs(heard, 880, 8000), -35);
  EXPECT_LT(sipmix::testing::tone_dbfs(heard, 1000, 8000), -50) << "the leg hears itself";

  // The grid, decoded by ffmpeg: both publishers' colours fill tiles.
  const Colours c = last_grid_colours(ep);
  ASSERT_TRUE(c.decoded) << "no VP8 frame reached the endpoint, or ffmpeg decoded none";
  EXPECT_GT(c.red, 160 * 90 / 10) << "alice's red tile is missing";
  EXPECT_GT(c.blue, 160 * 90 / 10) << "bob's blue tile is missing";
  EXPECT_GE(feeder_->plis(), 2) << "the session's keyframe requests never reached the publishers";

  auto r = cli().Delete(path("/connection/" + d.connection_id), auth());
  ASSERT_TRUE(r && r->status == 204) << (r ? r->body : "");
  EXPECT_EQ(sipp.wait_exit(10000), 0) << sipp.errors();
}

// A simulcast publisher (three layers, each its own colour) beside two
// plain ones: Janus forwards its three substreams to the gateway, which
// learns their sizes from their keyframes and shows it in its 2x2 tile
// (636x356 of 1280x720) from the 640x360 layer, not the 320x180 or the
// 1280x720 one.
TEST_F(BridgeJanus, SimulcastPublisherIsShownFromTheLayerThatFitsItsTile) {
  create_session();
  add_publishers({{"alice", 440, 81, 90, 240},  // red
                  {"bob", 880, 41, 240, 110},   // blue
                  {"carol", 660, 0, 0, 0,
                   {{320, 180, 145, 54, 34},       // green
                    {640, 360, 210, 16, 146},      // yellow
                    {1280, 720, 106, 202, 222}}}});  // magenta
  EndpointMedia ep;
  Sipp sipp("uas_endpoint_av.xml",
            {{"AUDIO_PORT", std::to_string(ep.audio_port())},
             {"VIDEO", "m=video " + std::to_string(ep.video_port()) + " RTP/AVP 97\r\na=rtpmap:97 VP8/90000\r\na=sendrecv"}});
  const Dialed d = dial_active(sipp, /*video=*/true);
  ASSERT_FALSE(d.connection_id.empty());
  std::this_thread::sleep_for(5s);

  const Colours c = last_grid_colours(ep);
  ASSERT_TRUE(c.decoded) << "no VP8 frame reached the endpoint, or ffmpeg decoded none";
  EXPECT_GT(c.red, 160 * 90 / 10) << "alice's red tile is missing";
  EXPECT_GT(c.blue, 160 * 90 / 10) << "bob's blue tile is missing";
  EXPECT_GT(c.yellow, 160 * 90 / 10) << "carol's tile does not show her 640x360 layer" << daemon_log();
  EXPECT_LT(c.green, 160 * 90 / 100) << "carol's tile shows her 320x180 layer";
  EXPECT_LT(c.magenta, 160 * 90 / 100) << "carol's tile shows her 1280x720 layer";

  auto r = cli().Delete(path("/connection/" + d.connection_id), auth());
  ASSERT_TRUE(r && r->status == 204) << (r ? r->body : "");
  EXPECT_EQ(sipp.wait_exit(10000), 0) << sipp.errors();
}

// *6 from the endpoint (sip-tester's RFC 4733 captures) silences the SIP
// stream as Janus relays it, and the announcement plays to the endpoint;
// *6 again brings the leg back.
TEST_F(BridgeJanus, StarSixFromTheEndpointSilencesItsStreamInJanusAndAnnouncesIt) {
  const std::string caps = "/usr/share/sip-tester";
  if (!std::filesystem::exists(caps + "/dtmf_2833_star.pcap")) GTEST_SKIP() << "sip-tester's captures not installed";
  create_session();
  EndpointMedia ep;
  Sipp sipp("uas_endpoint_av.xml", {{"AUDIO_PORT", std::to_string(ep.audio_port())}, {"VIDEO", ""}});
  const Dialed d = dial_active(sipp, /*video=*/false);
  ASSERT_FALSE(d.connection_id.empty());
  listen_to_leg(d.stream_id);
  ASSERT_TRUE(wait_leg_tone(1000, 5000)) << "the leg's tone never reached Janus\n" << daemon_log();
  const int64_t before = now_ms();
  EXPECT_LT(sipmix::testing::rms_dbfs(ep.received_pcm(before - 1000, before)), -55) << "the room is silent";

  ASSERT_TRUE(ep.queue_events(caps + "/dtmf_2833_star.pcap"));
  ASSERT_TRUE(ep.queue_events(caps + "/dtmf_2833_6.pcap"));
  while (ep.events_pending()) std::this_thread::sleep_for(20ms);
  const int64_t sent = now_ms();
  std::this_thread::sleep_for(2500ms);
  const int64_t t = now_ms();
  EXPECT_LT(sipmix::testing::rms_dbfs(leg_pcm(t - 1500, t)), -55) << "the muted leg is still heard in Janus";
  EXPECT_GT(sipmix::testing::rms_dbfs(ep.received_pcm(sent, t)), -45) << "no announcement reached the endpoint";

  ASSERT_TRUE(ep.queue_events(caps + "/dtmf_2833_star.pcap"));
  ASSERT_TRUE(ep.queue_events(caps + "/dtmf_2833_6.pcap"));
  EXPECT_TRUE(wait_leg_tone(1000, 6000)) << "*6 again did not unmute the leg";
  EXPECT_TRUE(callbacks("muteForced").empty()) << "*6 is the caller's own mute, not a forced one";
}

// A moderator's force mute through REST does the same for a leg that
// observes force mute, with a muteForced callback.
TEST_F(BridgeJanus, RestForceMuteSilencesTheLegInJanusAndAnnouncesIt) {
  create_session();
  EndpointMedia ep;
  Sipp sipp("uas_endpoint_av.xml", {{"AUDIO_PORT", std::to_string(ep.audio_port())}, {"VIDEO", ""}});
  const Dialed d = dial_active(sipp, /*video=*/false, /*observe_force_mute=*/true);
  ASSERT_FALSE(d.connection_id.empty());
  listen_to_leg(d.stream_id);
  ASSERT_TRUE(wait_leg_tone(1000, 5000)) << "the leg's tone never reached Janus\n" << daemon_log();

  const int64_t muted_at = now_ms();
  auto r = cli().Post(path("/stream/" + d.stream_id + "/mute"), auth(), "{}", "application/json");
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "");
  std::this_thread::sleep_for(2500ms);
  const int64_t t = now_ms();
  EXPECT_LT(sipmix::testing::rms_dbfs(leg_pcm(t - 1500, t)), -55) << "the muted leg is still heard in Janus";
  EXPECT_GT(sipmix::testing::rms_dbfs(ep.received_pcm(muted_at, t)), -45) << "no announcement reached the endpoint";
  bool forced = false;
  for (int i = 0; i < 50 && !forced; ++i, std::this_thread::sleep_for(100ms))
    for (const json& j : callbacks("muteForced")) forced = forced || j.dump().find(d.connection_id) != std::string::npos;
  EXPECT_TRUE(forced) << "no muteForced callback";
}

// A session mute with `active` moderates the WebRTC side in Janus: the leg
// no longer hears the publishers, and one that joins later is muted too.
TEST_F(BridgeJanus, ActiveSessionMuteModeratesPublishersInJanusIncludingLaterOnes) {
  create_session();
  add_publishers({{"alice", 440, 81, 90, 240}});
  EndpointMedia ep;
  ep.set_tone(1000, -90);
  Sipp sipp("uas_endpoint_av.xml", {{"AUDIO_PORT", std::to_string(ep.audio_port())}, {"VIDEO", ""}});
  const Dialed d = dial_active(sipp, /*video=*/false, /*observe_force_mute=*/false);
  ASSERT_FALSE(d.connection_id.empty());
  std::this_thread::sleep_for(3s);
  int64_t t = now_ms();
  ASSERT_GT(sipmix::testing::tone_dbfs(ep.received_pcm(t - 1000, t), 440, 8000), -35) << daemon_log();

  auto r = cli().Post(path("/mute"), auth(), json{{"active", true}, {"excludedStreamIds", json::array()}}.dump(),
                      "application/json");
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "");
  std::this_thread::sleep_for(2s);
  t = now_ms();
  EXPECT_LT(sipmix::testing::tone_dbfs(ep.received_pcm(t - 1000, t), 440, 8000), -50) << "alice is still heard";
  EXPECT_EQ(state_of(d.connection_id), "ACTIVE") << "the leg does not observe force mute: it stays";

  // carol joins after the mute: she is muted as she comes.
  add_publishers({{"carol", 660, 145, 54, 34}});
  std::this_thread::sleep_for(3s);
  t = now_ms();
  EXPECT_LT(sipmix::testing::tone_dbfs(ep.received_pcm(t - 1000, t), 660, 8000), -50) << "carol is heard";
}

// play-dtmf reaches the endpoint as RFC 4733 events, as tshark decodes them.
TEST_F(BridgeJanus, PlayDtmfReachesTheEndpointAsRfc4733Events) {
  if (std::system("command -v tshark >/dev/null 2>&1") != 0) GTEST_SKIP() << "tshark not installed";
  create_session();
  EndpointMedia ep;
  Sipp sipp("uas_endpoint_av.xml", {{"AUDIO_PORT", std::to_string(ep.audio_port())}, {"VIDEO", ""}});
  const Dialed d = dial_active(sipp, /*video=*/false);
  ASSERT_FALSE(d.connection_id.empty());
  auto r = cli().Post(path("/connection/" + d.connection_id + "/play-dtmf"), auth(),
                      json{{"digits", "19*#"}}.dump(), "application/json");
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "");
  std::this_thread::sleep_for(2500ms);
  std::vector<sipmix::pcap::UdpPacket> dgrams;
  for (const auto& p : ep.audio().packets())
    dgrams.push_back({p.t_ms * 1000, sipmix::pcap::IpEndpoint::v4(127, 0, 0, 1, ntohs(p.from.sin_port)),
                      sipmix::pcap::IpEndpoint::v4(127, 0, 0, 1, ep.audio_port()), p.bytes});
  const std::string pcap_path = dir_.path() + "/endpoint.pcap";
  ASSERT_TRUE(sipmix::pcap::write_pcap_udp(pcap_path, dgrams).ok());
  const std::string out = run_command("tshark -r " + pcap_path + " -d udp.port==" + std::to_string(ep.audio_port()) +
                                      ",rtp -d rtp.pt==101,rtpevent -Y 'rtpevent && rtpevent.end_of_event == 1' "
                                      "-T fields -e rtpevent.event_id -e rtp.timestamp 2>/dev/null");
  // One event per distinct timestamp, in order.
  std::vector<std::string> digits;
  std::string last_ts;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    if (line.substr(tab + 1) == last_ts) continue;
    last_ts = line.substr(tab + 1);
    digits.push_back(line.substr(0, tab));
  }
  EXPECT_EQ(digits, (std::vector<std::string>{"1", "9", "10", "11"})) << out;
}

// Janus going away ends the bridged calls with reason 703; the daemon keeps
// serving, and dials again once Janus is back.
TEST_F(BridgeJanus, JanusRestartEndsCallsWithAReasonAndTheDaemonRecovers) {
  create_session();
  EndpointMedia ep;
  auto sipp = std::make_unique<Sipp>("uas_endpoint_av.xml", std::map<std::string, std::string>{
                                                                {"AUDIO_PORT", std::to_string(ep.audio_port())},
                                                                {"VIDEO", ""}});
  const Dialed d = dial_active(*sipp, /*video=*/false);
  ASSERT_FALSE(d.connection_id.empty());
  room_.reset();
  client_.reset();
  janus_.kill_hard();
  EXPECT_TRUE(wait_state(d.connection_id, "gone", 10000)) << daemon_log();
  int reason = 0;
  for (int i = 0; i < 50 && reason == 0; ++i, std::this_thread::sleep_for(100ms))
    for (const json& j : callbacks("callDestroyed"))
      if (j.dump().find(d.connection_id) != std::string::npos) reason = j.value("reason_code", -1);
  EXPECT_EQ(reason, 703) << daemon_log();
  auto h = cli().Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);

  ASSERT_TRUE(janus_.start().ok()) << janus_.log_tail();
  sipp = std::make_unique<Sipp>("uas_endpoint_av.xml", std::map<std::string, std::string>{
                                                           {"AUDIO_PORT", std::to_string(ep.audio_port())},
                                                           {"VIDEO", ""}});
  create_session();
  const Dialed again = dial(*sipp, /*video=*/false);
  ASSERT_FALSE(again.connection_id.empty()) << daemon_log();
  EXPECT_TRUE(wait_state(again.connection_id, "ACTIVE", 10000)) << daemon_log();
}

}  // namespace
}  // namespace sipmix::gw
