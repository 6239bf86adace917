// A secure call (SDES SRTP) to a real baresip that auto-answers: media flows
// both ways. baresip plays a 1 kHz tone; the session's stream of the leg
// (decoded here from the Opus packets the session sends toward Janus)
// carries that tone. A participant's stream in the session plays 600 Hz;
// baresip's recording of what it decoded from us holds that tone and not
// its own.
#include <gtest/gtest.h>
#include <opus/opus.h>

#include <cstdio>
#include <cstring>
#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>

#include "gateway/media/call_manager.h"
#include "tests/support/signal.h"
#include "tests/gateway/sip_test_support.h"

namespace sipmix::gw {
namespace {

using testing::Process;
using testing::RecordingObserver;
using testing::TempDir;

void write_wav(const std::string& path, const std::vector<int16_t>& pcm, int rate_hz) {
  std::ofstream f(path, std::ios::binary);
  auto u32 = [&f](uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&f](uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
  const uint32_t data_bytes = static_cast<uint32_t>(pcm.size() * 2);
  f.write("RIFF", 4);
  u32(36 + data_bytes);
  f.write("WAVEfmt ", 8);
  u32(16);
  u16(1);
  u16(1);
  u32(static_cast<uint32_t>(rate_hz));
  u32(static_cast<uint32_t>(rate_hz * 2));
  u16(2);
  u16(16);
  f.write("data", 4);
  u32(data_bytes);
  f.write(reinterpret_cast<const char*>(pcm.data()), data_bytes);
}

// The samples of a 16-bit mono WAV file (any chunk layout).
std::vector<int16_t> read_wav(const std::string& path) {
  const std::string bytes = testing::read_file(path);
  std::vector<int16_t> out;
  size_t pos = 12;
  while (pos + 8 <= bytes.size()) {
    uint32_t size = 0;
    std::memcpy(&size, bytes.data() + pos + 4, 4);
    if (bytes.compare(pos, 4, "data") == 0) {
      const size_t n = std::min<size_t>(size, bytes.size() - pos - 8) / 2;
      out.resize(n);
      std::memcpy(out.data(), bytes.data() + pos + 8, n * 2);
      return out;
    }
    pos += 8 + size + (size & 1);
  }
  return out;
}

// A participant's Opus stream in real time (20 ms packets) until stopped.
class OpusTonePublisher {
 public:
  OpusTonePublisher(std::shared_ptr<SessionStream> stream, double freq_hz) : stream_(std::move(stream)) {
    thread_ = std::thread([this, freq_hz] {
      int err = 0;
      OpusEncoder* enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_AUDIO, &err);
      const std::vector<int16_t> pcm = ::sipmix::testing::sine(freq_hz, -10, 48000, 48000 * 60);
      uint8_t packet[1500] = {0x80, 111};
      auto next = std::chrono::steady_clock::now();
      for (uint32_t i = 0; !stop_.load() && (i + 1) * 960 <= pcm.size(); ++i) {
        const uint16_t seq = static_cast<uint16_t>(i);
        const uint32_t ts = i * 960;
        packet[2] = seq >> 8, packet[3] = seq & 0xff;
        packet[4] = ts >> 24, packet[5] = (ts >> 16) & 0xff, packet[6] = (ts >> 8) & 0xff, packet[7] = ts & 0xff;
        packet[8] = 0x11, packet[9] = 0x22, packet[10] = 0x33, packet[11] = 0x44;
        const int n = opus_encode(enc, pcm.data() + i * 960, 960, packet + 12, sizeof packet - 12);
        if (n > 0) stream_->push_rtp(std::span<const uint8_t>(packet, static_cast<size_t>(12 + n)));
        next += std::chrono::milliseconds(20);
        std::this_thread::sleep_until(next);
      }
      opus_encoder_destroy(enc);
    });
  }
  ~OpusTonePublisher() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::shared_ptr<SessionStream> stream_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(SipBaresipSrtpTest, SecureCallCarriesMediaBothWays) {
  TempDir dir;
  const std::string d = dir.path();
  write_wav(d + "/tone8k.wav", ::sipmix::testing::sine(1000, -12, 8000, 8000 * 30), 8000);
  const int port = testing::free_listen_port();
  std::ofstream(d + "/config") << "sip_listen 127.0.0.1:" << port << "\n"
                               << "net_interface 127.0.0.1\n"
                               << "audio_source aufile," << d << "/tone8k.wav\n"
                               << "audio_player aufile,nil\n"
                               << "module_path /usr/lib/baresip/modules\n"
                               << "module g711.so\nmodule aufile.so\nmodule srtp.so\nmodule sndfile.so\n"
                               << "snd_path " << d << "\n"
                               << "module_tmp account.so\n";
  std::ofstream(d + "/accounts")
      << "<sip:bob@127.0.0.1>;answermode=auto;regint=0;mediaenc=srtp-mand;audio_codecs=pcmu\n";
  Process baresip({"baresip", "-f", d}, d, d + "/baresip.log");
  for (int i = 0; i < 150 && !testing::udp_port_taken(port); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(testing::udp_port_taken(port)) << testing::read_file(d + "/baresip.log");

  std::mutex mu;
  std::vector<std::vector<uint8_t>> opus_payloads;  // the leg's audio toward the session
  CallManagerConfig c;
  c.sip.bind_ip = "127.0.0.1";
  c.sip.port = 0;
  c.media_ip = "127.0.0.1";
  c.rtp_port_min = 30000 + (getpid() % 300) * 100;
  c.rtp_port_max = c.rtp_port_min + 99;
  c.session_workers = 1;
  c.media_hook = [&](const std::string&, const std::string&, Direction dir, bool rtcp, std::span<const uint8_t> p) {
    if (dir != Direction::kToSession || rtcp || p.size() <= 12) return;
    const size_t header = 12 + 4 * (p[0] & 0x0f);
    std::lock_guard<std::mutex> lock(mu);
    opus_payloads.emplace_back(p.begin() + static_cast<long>(header), p.end());
  };
  RecordingObserver observer;
  auto m = CallManager::create(c, &observer);
  ASSERT_TRUE(m.ok()) << m.status().message();
  CallManager& manager = **m;

  StreamConfig alice;
  alice.id = "alice/audio";
  alice.participant = "alice";
  auto alice_stream = manager.add_stream("s-srtp", alice);
  ASSERT_TRUE(alice_stream.ok()) << alice_stream.status().message();
  OpusTonePublisher publisher(*alice_stream, 600);

  DialRequest r;
  r.project_id = "p1";
  r.session_id = "s-srtp";
  r.uri = "sip:bob@127.0.0.1:" + std::to_string(port);
  r.secure = true;
  ASSERT_TRUE(manager.dial(CallIds{"call-s", "conn-s", "stream-s"}, r).ok());
  ASSERT_TRUE(observer.wait_event("conn-s", "ACTIVE", 10000)) << testing::read_file(d + "/baresip.log");
  auto ms = manager.media_stats("conn-s");
  ASSERT_TRUE(ms);
  EXPECT_TRUE(ms->secure);
  EXPECT_EQ(ms->negotiated_codec, "pcmu");

  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  ms = manager.media_stats("conn-s");
  EXPECT_GT(ms->rtp_received, 50u);
  EXPECT_GT(ms->sent, 50u);
  auto stats = manager.session_stats("s-srtp");
  ASSERT_TRUE(stats);
  ASSERT_EQ(stats->legs.size(), 1u);
  EXPECT_EQ(stats->legs[0].srtp_auth_failures, 0u);

  // The tone baresip sends is in the leg's stream toward the session.
  std::vector<int16_t> pcm;
  {
    std::lock_guard<std::mutex> lock(mu);
    int err = 0;
    OpusDecoder* dec = opus_decoder_create(48000, 1, &err);
    ASSERT_EQ(err, OPUS_OK);
    std::vector<int16_t> frame(5760);
    for (const auto& payload : opus_payloads) {
      const int n = opus_decode(dec, payload.data(), static_cast<int>(payload.size()), frame.data(), 5760, 0);
      if (n > 0) pcm.insert(pcm.end(), frame.begin(), frame.begin() + n);
    }
    opus_decoder_destroy(dec);
  }
  ASSERT_GT(pcm.size(), 48000u);
  const std::span<const int16_t> last_second(pcm.data() + pcm.size() - 48000, 48000);
  const double tone = ::sipmix::testing::tone_dbfs(last_second, 1000, 48000);
  const double off = ::sipmix::testing::tone_dbfs(last_second, 1700, 48000);
  std::printf("leg stream toward the session: 1 kHz at %.1f dBFS, 1.7 kHz at %.1f dBFS, %zu samples\n", tone, off, pcm.size());
  EXPECT_GT(tone, -25.0);
  EXPECT_GT(tone - off, 30.0);

  ASSERT_TRUE(manager.hang_up("s-srtp", "conn-s").ok());
  auto destroyed = observer.wait_destroyed("conn-s", 5000);
  ASSERT_TRUE(destroyed);
  EXPECT_EQ(destroyed->code, kReasonNormal);
  baresip.stop();

  publisher.stop();
  EXPECT_TRUE(manager.remove_stream(*alice_stream).ok());

  // baresip decoded what we sent it (SRTP from us authenticated there): the
  // session's 600 Hz participant, and not baresip's own 1 kHz (N-1).
  std::string dec_path;
  for (auto& e : std::filesystem::directory_iterator(d))
    if (e.path().filename().string().find("-dec.wav") != std::string::npos) dec_path = e.path();
  ASSERT_FALSE(dec_path.empty()) << "baresip wrote no recording";
  const std::vector<int16_t> heard = read_wav(dec_path);
  ASSERT_GT(heard.size(), 8000u * 2) << "baresip recorded less than two seconds of our audio";
  // One second near the end: the start may hold silence while the session's
  // jitter buffer fills, the last moments the hang-up.
  const std::span<const int16_t> second(heard.data() + heard.size() - 8000 - 2000, 8000);
  const double session_tone = ::sipmix::testing::tone_dbfs(second, 600, 8000);
  const double own_tone = ::sipmix::testing::tone_dbfs(second, 1000, 8000);
  std::printf("baresip heard: 600 Hz at %.1f dBFS, its own 1 kHz at %.1f dBFS\n", session_tone, own_tone);
  EXPECT_GT(session_tone, -30.0);
  EXPECT_LT(own_tone, session_tone - 30.0);
}

}  // namespace
}  // namespace sipmix::gw
