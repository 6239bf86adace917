// The gateway's Janus VideoRoom client against a real Janus 1.1.2 on
// 127.0.0.1: rooms with string ids, remote publishers announced before any
// media, rtp_forward carrying their RTP back, moderation, PLI through a
// forwarder, and surviving a Janus that is killed mid-session.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <opus.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/janus/janus_client.h"
#include "gateway/janus/rtcp_feedback.h"
#include "gateway/janus/video_room.h"
#include "tests/gateway/janus_process.h"

namespace sipmix::gw::janus {
namespace {

using namespace std::chrono_literals;
using testing::JanusProcess;
using testing::JanusProcessOptions;

constexpr const char* kApiSecret = "sipmix-test-api-secret";
constexpr const char* kAdminKey = "sipmix-test-admin-key";

std::string uuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  uint64_t a = rng(), b = rng();
  snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-a%03x-%012llx", static_cast<unsigned>(a >> 32),
           static_cast<unsigned>(a >> 16) & 0xffff, static_cast<unsigned>(a) & 0xfff,
           static_cast<unsigned>(b >> 48) & 0xfff, static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

// A UDP socket on 127.0.0.1 with an ephemeral port.
class UdpSocket {
 public:
  UdpSocket() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~UdpSocket() { close(fd_); }
  uint16_t port() const { return port_; }
  int fd() const { return fd_; }
  void send_to(uint16_t port, const std::vector<uint8_t>& data) const {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(port);
    sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  }
  // Every datagram that arrives until `quiet` passes without one (or `max` ends).
  std::vector<std::vector<uint8_t>> drain(std::chrono::milliseconds quiet, std::chrono::milliseconds max = 10s) const {
    std::vector<std::vector<uint8_t>> out;
    auto end = std::chrono::steady_clock::now() + max;
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(quiet.count())) <= 0) break;
      std::vector<uint8_t> buf(2048);
      ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      buf.resize(static_cast<size_t>(n));
      out.push_back(std::move(buf));
    }
    return out;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

struct Rtp {
  int pt = -1;
  uint32_t ssrc = 0;
  std::vector<uint8_t> payload;
};

std::optional<Rtp> parse_rtp(const std::vector<uint8_t>& d) {
  if (d.size() < 12 || (d[0] >> 6) != 2) return std::nullopt;
  size_t off = 12 + 4 * (d[0] & 0x0f);
  if (d[0] & 0x10) {
    if (d.size() < off + 4) return std::nullopt;
    off += 4 + 4 * ((d[off + 2] << 8) | d[off + 3]);
  }
  if (d.size() < off) return std::nullopt;
  Rtp r;
  r.pt = d[1] & 0x7f;
  r.ssrc = (uint32_t{d[8]} << 24) | (uint32_t{d[9]} << 16) | (uint32_t{d[10]} << 8) | d[11];
  r.payload.assign(d.begin() + static_cast<long>(off), d.end());
  return r;
}

std::vector<uint8_t> rtp_packet(int pt, uint16_t seq, uint32_t ts, uint32_t ssrc, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> p = {0x80,
                            static_cast<uint8_t>(pt),
                            static_cast<uint8_t>(seq >> 8),
                            static_cast<uint8_t>(seq),
                            static_cast<uint8_t>(ts >> 24),
                            static_cast<uint8_t>(ts >> 16),
                            static_cast<uint8_t>(ts >> 8),
                            static_cast<uint8_t>(ts),
                            static_cast<uint8_t>(ssrc >> 24),
                            static_cast<uint8_t>(ssrc >> 16),
                            static_cast<uint8_t>(ssrc >> 8),
                            static_cast<uint8_t>(ssrc)};
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

// 20 ms Opus frames of a 440 Hz tone at 48 kHz, encoded with libopus.
std::vector<std::vector<uint8_t>> opus_tone_frames(int count) {
  int err = 0;
  OpusEncoder* enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_AUDIO, &err);
  EXPECT_EQ(err, OPUS_OK);
  std::vector<std::vector<uint8_t>> frames;
  std::vector<int16_t> pcm(960);
  for (int f = 0; f < count; ++f) {
    for (int i = 0; i < 960; ++i) {
      double t = (f * 960 + i) / 48000.0;
      pcm[static_cast<size_t>(i)] = static_cast<int16_t>(8000 * std::sin(2 * M_PI * 440 * t));
    }
    std::vector<uint8_t> out(1500);
    int n = opus_encode(enc, pcm.data(), 960, out.data(), static_cast<opus_int32>(out.size()));
    EXPECT_GT(n, 0);
    out.resize(static_cast<size_t>(std::max(n, 0)));
    frames.push_back(std::move(out));
  }
  opus_encoder_destroy(enc);
  return frames;
}

// Sends `frames` as RTP (PT 111, the remote publisher's SSRC) at 20 ms pace.
void send_opus(const UdpSocket& from, uint16_t port, uint32_t ssrc, const std::vector<std::vector<uint8_t>>& frames,
               uint16_t first_seq = 0) {
  for (size_t i = 0; i < frames.size(); ++i) {
    uint16_t seq = static_cast<uint16_t>(first_seq + i);
    from.send_to(port, rtp_packet(111, seq, static_cast<uint32_t>(seq) * 960u, ssrc, frames[i]));
    std::this_thread::sleep_for(20ms);
  }
}

// Records what the listener handle reports.
class RecordingObserver : public VideoRoomObserver {
 public:
  void on_publisher(const Publisher& p) override { add([&] { publishers.push_back(p); }); }
  void on_publisher_gone(const std::string& id) override { add([&] { gone.push_back(id); }); }
  void on_moderated(const std::string& id, const std::string& mid, bool muted) override {
    add([&] { moderations.push_back(id + "/" + mid + (muted ? "/muted" : "/unmuted")); });
  }
  void on_room_destroyed() override { add([&] { ++destroyed; }); }
  void on_janus_lost(const Status& why) override {
    add([&] {
      ++lost;
      lost_reason = why;
    });
  }

  bool wait(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, pred);
  }
  bool has_publisher(const std::string& id) const {
    for (const auto& p : publishers) {
      if (p.id == id) return true;
    }
    return false;
  }

  std::mutex mu;
  std::condition_variable cv;
  std::vector<Publisher> publishers;
  std::vector<std::string> gone;
  std::vector<std::string> moderations;
  int destroyed = 0;
  int lost = 0;
  Status lost_reason;

 private:
  void add(const std::function<void()>& f) {
    {
      std::lock_guard lock(mu);
      f();
    }
    cv.notify_all();
  }
};

JanusClientOptions client_options(const JanusProcess& janus) {
  JanusClientOptions o;
  o.url = janus.url();
  o.api_secret = kApiSecret;
  o.request_timeout = 3s;
  return o;
}

RoomOptions room_options() {
  RoomOptions r;
  r.admin_key = kAdminKey;
  r.secret = "room-secret";
  return r;
}

// One Janus for the suite (each test process runs one test under ctest).
class JanusVideoRoom : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    janus_ = new JanusProcess(JanusProcessOptions{kApiSecret, kAdminKey});
    Status s = janus_->start();
    ASSERT_TRUE(s.ok()) << s.message();
  }
  static void TearDownTestSuite() {
    delete janus_;
    janus_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(janus_ && janus_->running());
    auto c = JanusClient::connect(client_options(*janus_));
    ASSERT_TRUE(c.ok()) << c.status().message();
    client_ = std::move(*c);
    auto room = VideoRoomSession::open(*client_, uuid(), room_options());
    ASSERT_TRUE(room.ok()) << room.status().message();
    room_ = std::move(*room);
    Status s = room_->create_room();
    ASSERT_TRUE(s.ok()) << s.message();
  }
  void TearDown() override {
    if (room_) (void)room_->destroy_room();
    room_.reset();
    client_.reset();
  }

  // An Opus-only remote publisher and a UDP socket its forwarded audio reaches.
  struct AudioPublisher {
    RemotePublisher pub;
    Forwarder forwarder;
  };
  AudioPublisher add_forwarded_audio_publisher(const UdpSocket& sink) {
    RemotePublisherRequest req;
    req.display = "sip-leg";
    req.streams = {{MediaType::kAudio, "opus", "", false}};
    auto pub = room_->add_remote_publisher(req);
    EXPECT_TRUE(pub.ok()) << pub.status().message();
    if (!pub.ok()) return {};
    auto fw = room_->rtp_forward(pub->id, "127.0.0.1", {{"0", sink.port(), 0, 0, -1}});
    EXPECT_TRUE(fw.ok()) << fw.status().message();
    if (!fw.ok() || fw->size() != 1) return {*pub, {}};
    return {*pub, (*fw)[0]};
  }

  static JanusProcess* janus_;
  RecordingObserver obs_;  // declared first: the room's listener may call it until room_ goes
  std::unique_ptr<JanusClient> client_;
  std::unique_ptr<VideoRoomSession> room_;
};
JanusProcess* JanusVideoRoom::janus_ = nullptr;

TEST_F(JanusVideoRoom, CreatingAnExistingRoomFailsNamingTheRequestAndJanusCode) {
  auto again = VideoRoomSession::open(*client_, room_->room_id(), room_options());
  ASSERT_TRUE(again.ok()) << again.status().message();
  Status s = (*again)->create_room();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(janus_error_code(s), 427) << s.message();
  EXPECT_NE(s.message().find("\"create\""), std::string::npos) << s.message();
  auto list = room_->list_participants();
  ASSERT_TRUE(list.ok()) << list.status().message();
  EXPECT_TRUE(list->empty());
}

TEST_F(JanusVideoRoom, RequestsWithoutTheAdminKeyAreRefusedByTheLockedPlugin) {
  RoomOptions no_key = room_options();
  no_key.admin_key.clear();
  auto room = VideoRoomSession::open(*client_, uuid(), no_key);
  ASSERT_TRUE(room.ok());
  Status s = (*room)->create_room();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
  EXPECT_TRUE(janus_error_code(s).has_value()) << s.message();
}

TEST_F(JanusVideoRoom, WrongApiSecretIsRejectedWithJanusReason) {
  JanusClientOptions o = client_options(*janus_);
  o.api_secret = "wrong";
  auto c = JanusClient::connect(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(janus_error_code(c.status()), kJanusErrorUnauthorized) << c.status().message();
  EXPECT_NE(c.status().message().find("create session"), std::string::npos) << c.status().message();
}

TEST_F(JanusVideoRoom, RemotePublisherIsAnnouncedBeforeAnyMediaAndListedAsRemote) {
  RecordingObserver& obs = obs_;  // outlives room_
  Status s = room_->listen(&obs);
  ASSERT_TRUE(s.ok()) << s.message();

  RemotePublisherRequest req;
  req.id = uuid();
  req.display = "sip:+15550100@example.test";
  req.streams = {{MediaType::kAudio, "opus", "", false}, {MediaType::kVideo, "vp8", "", false}};
  auto pub = room_->add_remote_publisher(req);
  ASSERT_TRUE(pub.ok()) << pub.status().message();
  EXPECT_EQ(pub->id, req.id);
  EXPECT_GT(pub->port, 0);
  EXPECT_GT(pub->rtcp_port, 0);
  ASSERT_EQ(pub->streams.size(), 2u);
  EXPECT_EQ(pub->streams[0].ssrc, 1000u);
  EXPECT_EQ(pub->streams[0].pt, 111);
  EXPECT_EQ(pub->streams[1].ssrc, 1010u);
  EXPECT_EQ(pub->streams[1].pt, 96);

  ASSERT_TRUE(obs.wait([&] { return obs.has_publisher(req.id); })) << "no publisher event for the remote publisher";
  {
    std::lock_guard lock(obs.mu);
    const Publisher* p = nullptr;
    for (const auto& x : obs.publishers) {
      if (x.id == req.id) p = &x;
    }
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->display, req.display);
    ASSERT_EQ(p->streams.size(), 2u);
    EXPECT_EQ(p->streams[0].type, MediaType::kAudio);
    EXPECT_EQ(p->streams[0].mid, "0");
    EXPECT_EQ(p->streams[0].codec, "opus");
    EXPECT_EQ(p->streams[1].type, MediaType::kVideo);
    EXPECT_EQ(p->streams[1].mid, "1");
    EXPECT_EQ(p->streams[1].codec, "vp8");
  }

  auto list = room_->list_participants();
  ASSERT_TRUE(list.ok()) << list.status().message();
  bool found = false;
  for (const auto& p : *list) {
    if (p.id != req.id) continue;
    found = true;
    EXPECT_TRUE(p.remote);
    EXPECT_TRUE(p.publisher);
  }
  EXPECT_TRUE(found) << "remote publisher missing from listparticipants";
}

TEST_F(JanusVideoRoom, ForwardedAudioCarriesTheRemotePublishersOpusPayload) {
  UdpSocket sink, sender;
  auto ap = add_forwarded_audio_publisher(sink);
  ASSERT_FALSE(ap.pub.id.empty());
  ASSERT_GT(ap.forwarder.stream_id, 0u);
  EXPECT_EQ(ap.forwarder.port, sink.port());

  auto frames = opus_tone_frames(100);
  std::set<std::vector<uint8_t>> sent(frames.begin(), frames.end());
  std::thread tx([&] { send_opus(sender, ap.pub.port, ap.pub.streams[0].ssrc, frames); });
  auto got = sink.drain(1000ms, 10s);
  tx.join();

  int matching = 0;
  for (const auto& d : got) {
    auto rtp = parse_rtp(d);
    ASSERT_TRUE(rtp.has_value());
    EXPECT_EQ(rtp->pt, 111);
    if (sent.count(rtp->payload)) ++matching;
  }
  EXPECT_GE(matching, 90) << "of 100 Opus packets sent, " << got.size() << " forwarded";
}

TEST_F(JanusVideoRoom, ForwarderRewritesSsrcAndPayloadTypeWhenAsked) {
  UdpSocket sink, sender;
  RemotePublisherRequest req;
  req.streams = {{MediaType::kAudio, "opus", "", false}};
  auto pub = room_->add_remote_publisher(req);
  ASSERT_TRUE(pub.ok()) << pub.status().message();
  auto fw = room_->rtp_forward(pub->id, "127.0.0.1", {{"0", sink.port(), 0, 0x5a5a0001, 100}});
  ASSERT_TRUE(fw.ok()) << fw.status().message();
  send_opus(sender, pub->port, pub->streams[0].ssrc, opus_tone_frames(25));
  auto got = sink.drain(500ms);
  ASSERT_GE(got.size(), 20u);
  for (const auto& d : got) {
    auto rtp = parse_rtp(d);
    ASSERT_TRUE(rtp.has_value());
    EXPECT_EQ(rtp->ssrc, 0x5a5a0001u);
    EXPECT_EQ(rtp->pt, 100);
  }
}

TEST_F(JanusVideoRoom, TooManyCodecsForJanusAreRefusedByName) {
  RoomOptions o = room_options();
  o.audiocodec = "opus,pcmu,pcma,g722,isac16,isac32";
  auto room = VideoRoomSession::open(*client_, uuid(), o);
  ASSERT_FALSE(room.ok());
  EXPECT_EQ(room.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(room.status().message().find("room.audiocodec"), std::string::npos) << room.status().message();
}

TEST_F(JanusVideoRoom, ConcurrentSessionsOnOneClientEachHearOnlyTheirOwnPublishers) {
  constexpr int kRooms = 4;
  std::vector<std::unique_ptr<RecordingObserver>> observers;
  for (int i = 0; i < kRooms; ++i) observers.push_back(std::make_unique<RecordingObserver>());
  std::vector<std::unique_ptr<VideoRoomSession>> rooms(kRooms);
  std::vector<std::string> ids(kRooms);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRooms; ++i) {
    threads.emplace_back([&, i] {
      auto room = VideoRoomSession::open(*client_, uuid(), room_options());
      ASSERT_TRUE(room.ok()) << room.status().message();
      ASSERT_TRUE((*room)->create_room().ok());
      ASSERT_TRUE((*room)->listen(observers[static_cast<size_t>(i)].get()).ok());
      RemotePublisherRequest req;
      req.display = "leg-" + std::to_string(i);
      req.streams = {{MediaType::kAudio, "pcma", "", false}};
      auto pub = (*room)->add_remote_publisher(req);
      ASSERT_TRUE(pub.ok()) << pub.status().message();
      ids[static_cast<size_t>(i)] = pub->id;
      rooms[static_cast<size_t>(i)] = std::move(*room);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kRooms; ++i) {
    auto& obs = *observers[static_cast<size_t>(i)];
    ASSERT_TRUE(obs.wait([&] { return obs.has_publisher(ids[static_cast<size_t>(i)]); })) << "room " << i;
    std::this_thread::sleep_for(100ms);  // let a stray event from another room arrive
    std::lock_guard lock(obs.mu);
    for (const auto& p : obs.publishers) EXPECT_EQ(p.display, "leg-" + std::to_string(i));
  }
  for (auto& r : rooms) {
    if (r) (void)r->destroy_room();
    r.reset();
  }
}

TEST_F(JanusVideoRoom, ModerateMuteStopsTheForwardedAudioAndUnmuteResumesIt) {
  RecordingObserver& obs = obs_;  // outlives room_
  ASSERT_TRUE(room_->listen(&obs).ok());
  UdpSocket sink, sender;
  auto ap = add_forwarded_audio_publisher(sink);
  ASSERT_FALSE(ap.pub.id.empty());
  auto frames = opus_tone_frames(50);
  const uint32_t ssrc = ap.pub.streams[0].ssrc;

  send_opus(sender, ap.pub.port, ssrc, frames, 0);
  EXPECT_GE(sink.drain(500ms).size(), 40u) << "audio not forwarded before the mute";

  Status s = room_->moderate(ap.pub.id, "0", true);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(obs.wait([&] {
    for (const auto& m : obs.moderations) {
      if (m == ap.pub.id + "/0/muted") return true;
    }
    return false;
  })) << "no moderation event on the listener";
  send_opus(sender, ap.pub.port, ssrc, frames, 50);
  EXPECT_EQ(sink.drain(500ms).size(), 0u) << "muted audio still forwarded";

  s = room_->moderate(ap.pub.id, "0", false);
  ASSERT_TRUE(s.ok()) << s.message();
  send_opus(sender, ap.pub.port, ssrc, frames, 100);
  EXPECT_GE(sink.drain(500ms).size(), 40u) << "audio not forwarded after the unmute";
}

TEST_F(JanusVideoRoom, ListenReportsThePublishersAlreadyInTheRoomBeforeReturning) {
  RemotePublisherRequest req;
  req.streams = {{MediaType::kAudio, "g722", "", false}};
  auto pub = room_->add_remote_publisher(req);
  ASSERT_TRUE(pub.ok()) << pub.status().message();
  RecordingObserver& obs = obs_;
  ASSERT_TRUE(room_->listen(&obs).ok());
  std::lock_guard lock(obs.mu);
  ASSERT_TRUE(obs.has_publisher(pub->id));
  EXPECT_EQ(obs.publishers.back().streams.at(0).codec, "g722");
}

TEST_F(JanusVideoRoom, ListeningToAnUnknownRoomIsNotFound) {
  auto other = VideoRoomSession::open(*client_, uuid(), room_options());
  ASSERT_TRUE(other.ok());
  RecordingObserver obs;
  Status s = (*other)->listen(&obs);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.message();
  other->reset();  // before obs
}

TEST_F(JanusVideoRoom, ModeratingAnUnknownPublisherIsNotFound) {
  Status s = room_->moderate(uuid(), "0", true);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.message();
  EXPECT_NE(s.message().find("\"moderate\""), std::string::npos) << s.message();
}

TEST_F(JanusVideoRoom, StoppedForwarderForwardsNothing) {
  UdpSocket sink, sender;
  auto ap = add_forwarded_audio_publisher(sink);
  ASSERT_FALSE(ap.pub.id.empty());
  Status s = room_->stop_rtp_forward(ap.pub.id, ap.forwarder.stream_id);
  ASSERT_TRUE(s.ok()) << s.message();
  send_opus(sender, ap.pub.port, ap.pub.streams[0].ssrc, opus_tone_frames(25));
  EXPECT_EQ(sink.drain(500ms).size(), 0u);
}

TEST_F(JanusVideoRoom, RemovingARemotePublisherAnnouncesItsLeaving) {
  RecordingObserver& obs = obs_;  // outlives room_
  ASSERT_TRUE(room_->listen(&obs).ok());
  RemotePublisherRequest req;
  req.display = "sip-leg";
  req.streams = {{MediaType::kAudio, "pcmu", "", false}};
  auto pub = room_->add_remote_publisher(req);
  ASSERT_TRUE(pub.ok()) << pub.status().message();
  EXPECT_EQ(pub->streams[0].pt, 0);
  ASSERT_TRUE(obs.wait([&] { return obs.has_publisher(pub->id); }));

  Status s = room_->remove_remote_publisher(pub->id);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(obs.wait([&] {
    for (const auto& g : obs.gone) {
      if (g == pub->id) return true;
    }
    return false;
  })) << "no leaving event";
  auto list = room_->list_participants();
  ASSERT_TRUE(list.ok());
  for (const auto& p : *list) EXPECT_NE(p.id, pub->id);
}

TEST_F(JanusVideoRoom, UpdateRemotePublisherAddsAVideoStreamAnnouncedToTheListener) {
  RecordingObserver& obs = obs_;  // outlives room_
  ASSERT_TRUE(room_->listen(&obs).ok());
  RemotePublisherRequest req;
  req.streams = {{MediaType::kAudio, "opus", "", false}};
  auto pub = room_->add_remote_publisher(req);
  ASSERT_TRUE(pub.ok()) << pub.status().message();
  ASSERT_TRUE(obs.wait([&] { return obs.has_publisher(pub->id); }));
  Status s = room_->update_remote_publisher(pub->id, std::string("sip-leg-with-video"),
                                            {{MediaType::kAudio, "opus", "", false},
                                             {MediaType::kVideo, "h264", "", false}});
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(obs.wait([&] {
    for (const auto& p : obs.publishers) {
      if (p.id == pub->id && p.streams.size() == 2 && p.streams[1].codec == "h264" &&
          p.display == "sip-leg-with-video")
        return true;
    }
    return false;
  })) << "no updated publisher event";
}

TEST_F(JanusVideoRoom, KickedRemotePublisherLeavesTheRoom) {
  RecordingObserver& obs = obs_;  // outlives room_
  ASSERT_TRUE(room_->listen(&obs).ok());
  RemotePublisherRequest req;
  req.streams = {{MediaType::kAudio, "opus", "", false}};
  auto pub = room_->add_remote_publisher(req);
  ASSERT_TRUE(pub.ok()) << pub.status().message();
  ASSERT_TRUE(obs.wait([&] { return obs.has_publisher(pub->id); }));
  Status s = room_->kick(pub->id);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(obs.wait([&] {
    for (const auto& g : obs.gone) {
      if (g == pub->id) return true;
    }
    return false;
  }));
}

TEST_F(JanusVideoRoom, PliToTheForwardersRtcpPortReachesTheRemotePublisher) {
  RemotePublisherRequest req;
  req.streams = {{MediaType::kAudio, "opus", "", false}, {MediaType::kVideo, "vp8", "", false}};
  auto pub = room_->add_remote_publisher(req);
  ASSERT_TRUE(pub.ok()) << pub.status().message();
  // The SIP side: send RTCP to rtcp_port first so Janus knows where PLIs go.
  UdpSocket leg_rtcp, video_sink, video_sink_rtcp;
  auto latch = build_rtcp_pli(0x5151, 0);
  latch[1] = 201;  // an empty-ish receiver report is enough to latch
  latch[0] = 0x80;
  latch[3] = 1;
  leg_rtcp.send_to(pub->rtcp_port, std::vector<uint8_t>(latch.begin(), latch.begin() + 8));

  auto fw = room_->rtp_forward(pub->id, "127.0.0.1", {{"1", video_sink.port(), video_sink_rtcp.port(), 0, -1}});
  ASSERT_TRUE(fw.ok()) << fw.status().message();
  ASSERT_EQ(fw->size(), 1u);
  ASSERT_GT((*fw)[0].local_rtcp_port, 0) << "forwarder has no local_rtcp_port";
  leg_rtcp.drain(1500ms, 3s);  // whatever Janus sends on its own

  // A receiver report to the forwarder is not a keyframe request.
  UdpSocket gw_rtcp;
  gw_rtcp.send_to((*fw)[0].local_rtcp_port, std::vector<uint8_t>(latch.begin(), latch.begin() + 8));
  EXPECT_EQ(leg_rtcp.drain(1500ms, 3s).size(), 0u);

  Status s = send_rtcp_pli("127.0.0.1", (*fw)[0].local_rtcp_port, 0x5151, 0);
  ASSERT_TRUE(s.ok()) << s.message();
  auto got = leg_rtcp.drain(2000ms, 4s);
  ASSERT_GE(got.size(), 1u) << "no PLI reached the remote publisher";
  const auto& p = got[0];
  ASSERT_GE(p.size(), 12u);
  EXPECT_EQ(p[0] & 0x1f, 1);  // FMT 1: PLI
  EXPECT_EQ(p[1], 206);       // PSFB
  uint32_t media = (uint32_t{p[8]} << 24) | (uint32_t{p[9]} << 16) | (uint32_t{p[10]} << 8) | p[11];
  EXPECT_EQ(media, remote_publisher_ssrc(1));
}

TEST(JanusRestart, KilledJanusIsReportedCallsFailFastAndARestartedOneServesANewClient) {
  JanusProcess janus(JanusProcessOptions{kApiSecret, kAdminKey});
  Status s = janus.start();
  ASSERT_TRUE(s.ok()) << s.message();

  std::mutex mu;
  std::condition_variable cv;
  int client_lost = 0;
  JanusClientOptions o = client_options(janus);
  o.on_janus_lost = [&](const Status&) {
    std::lock_guard lock(mu);
    ++client_lost;
    cv.notify_all();
  };
  auto client = JanusClient::connect(o);
  ASSERT_TRUE(client.ok()) << client.status().message();
  RecordingObserver obs;  // declared before the room: it outlives the listener
  auto room = VideoRoomSession::open(**client, uuid(), room_options());
  ASSERT_TRUE(room.ok());
  ASSERT_TRUE((*room)->create_room().ok());
  ASSERT_TRUE((*room)->listen(&obs).ok());
  RemotePublisherRequest req;
  req.streams = {{MediaType::kAudio, "opus", "", false}};
  ASSERT_TRUE((*room)->add_remote_publisher(req).ok());

  janus.kill_hard();
  EXPECT_TRUE(obs.wait([&] { return obs.lost > 0; }, 10s)) << "listener never heard Janus was lost";
  {
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, 5s, [&] { return client_lost == 1; }));
  }
  EXPECT_EQ(obs.lost_reason.code(), StatusCode::kUnavailable);
  EXPECT_TRUE((*client)->lost());

  auto t0 = std::chrono::steady_clock::now();
  auto list = (*room)->list_participants();
  auto elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), StatusCode::kUnavailable) << list.status().message();
  EXPECT_NE(list.status().message().find("listparticipants"), std::string::npos) << list.status().message();
  EXPECT_LT(elapsed, 3s) << "a call on a lost Janus blocked";

  ASSERT_TRUE(janus.start().ok()) << janus.log_tail();
  auto fresh = JanusClient::connect(client_options(janus));
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  auto room2 = VideoRoomSession::open(**fresh, (*room)->room_id(), room_options());
  ASSERT_TRUE(room2.ok());
  s = (*room2)->create_room();
  EXPECT_TRUE(s.ok()) << "the restarted Janus forgot the room, so it can be created again: " << s.message();

  // Tearing down the stale objects neither hangs nor crashes.
  room->reset();
  client->reset();
  room2->reset();
  fresh->reset();
}

TEST(JanusRestart, FrozenJanusTimesCallsOutAndIsReportedLost) {
  JanusProcess janus(JanusProcessOptions{kApiSecret, kAdminKey});
  ASSERT_TRUE(janus.start().ok());
  JanusClientOptions o = client_options(janus);
  o.request_timeout = 1s;
  RecordingObserver obs;
  auto client = JanusClient::connect(o);
  ASSERT_TRUE(client.ok()) << client.status().message();
  auto room = VideoRoomSession::open(**client, uuid(), room_options());
  ASSERT_TRUE(room.ok());
  ASSERT_TRUE((*room)->create_room().ok());
  ASSERT_TRUE((*room)->listen(&obs).ok());

  janus.freeze();
  auto t0 = std::chrono::steady_clock::now();
  Status s = (*room)->moderate(uuid(), "0", true);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.message();
  EXPECT_LT(elapsed, 5s) << "a call to a frozen Janus was not bounded by request_timeout";
  // The event thread is cut out of its long poll and reports the loss.
  EXPECT_TRUE(obs.wait([&] { return obs.lost > 0; }, 5s)) << "loss of a frozen Janus not reported";
  s = (*room)->kick(uuid());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.message();
  janus.thaw();
  room->reset();
  client->reset();
}

TEST(JanusKeepalive, SessionOutlivesJanusSessionTimeoutWhileIdle) {
  JanusProcess janus(JanusProcessOptions{kApiSecret, kAdminKey, /*session_timeout_s=*/3});
  ASSERT_TRUE(janus.start().ok());
  JanusClientOptions o = client_options(janus);
  o.keepalive_interval = 1s;
  RecordingObserver obs;
  auto client = JanusClient::connect(o);
  ASSERT_TRUE(client.ok()) << client.status().message();
  auto room = VideoRoomSession::open(**client, uuid(), room_options());
  ASSERT_TRUE(room.ok());
  ASSERT_TRUE((*room)->create_room().ok());
  ASSERT_TRUE((*room)->listen(&obs).ok());

  std::this_thread::sleep_for(8s);  // well past the 3 s timeout, inside one long poll
  EXPECT_FALSE((*client)->lost()) << obs.lost_reason.message();
  RemotePublisherRequest req;
  req.streams = {{MediaType::kAudio, "opus", "", false}};
  auto pub = (*room)->add_remote_publisher(req);
  ASSERT_TRUE(pub.ok()) << pub.status().message();
  EXPECT_TRUE(obs.wait([&] { return obs.has_publisher(pub->id); })) << "listener handle stopped hearing events";
  room->reset();
  client->reset();
}

TEST(JanusDown, ConnectToADeadJanusFailsWithUnavailableWithinTheTimeout) {
  JanusProcess janus;
  ASSERT_TRUE(janus.start().ok());
  JanusClientOptions o;
  o.url = janus.url();
  o.request_timeout = 2s;
  janus.kill_hard();
  auto c = JanusClient::connect(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable) << c.status().message();
}

TEST(RtcpPli, HasRfc4585Layout) {
  auto p = build_rtcp_pli(0x01020304, 0xa0b0c0d0);
  const std::array<uint8_t, 12> want = {0x81, 206, 0, 2, 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0};
  EXPECT_EQ(p, want);
}

}  // namespace
}  // namespace sipmix::gw::janus
