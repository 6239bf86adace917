// libFuzzer target, structure-aware: the input drives a whole Session on a
// SimulatedClock. Byte 0 picks the variant (leg secure or clear, PCMU or
// Opus, VP8 video or not, observe_force_mute; video streams present or not);
// the rest is a program of ops:
// valid or mutated RTP on each audio/video stream and on the leg (audio,
// telephone-event), garbage RTP and RTCP on any handle, clock advances with
// tick(), force mute, play_dtmf, remove/re-add of streams and of the leg,
// keyframe requests and stats(). Valid media comes from packets encoded once
// at start-up (Opus tone, VP8 and H.264 64x64 pictures) by the fake peer of
// tests/support, which also stamps every stream's packets, so one execution
// costs no encode beyond what the session itself does.
//
// Properties: no crash or sanitizer report; every packet the session sends
// to a clear leg parses as RTP with a negotiated payload type and fits the
// MTU; the leg's published audio is Opus RTP; tick() produces exactly one
// audio tick per 20 ms of simulated time.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rtp/rtcp.h"
#include "rtp/rtp_packet.h"
#include "sipmix/session.h"
#include "srtp/srtp_session.h"
#include "tests/support/fake_peer.h"

#define SIPMIX_FUZZ_CHECK(cond)                                                     \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

namespace sipmix::fuzz {
namespace {

constexpr const char* kKeyToLeg = "inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";
constexpr const char* kKeyFromLeg = "inline:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CB";
constexpr uint8_t kOpusPt = 111, kVp8Pt = 100, kH264Pt = 102, kTePt = 101, kLegVideoPt = 96;
constexpr int64_t kMaxSimulatedUs = 1'500'000;  // bounds one execution's cost
constexpr size_t kMaxOps = 4000;
constexpr size_t kMtu = 1500;

using testing::FakePeer;
using testing::FakePeerConfig;
using testing::PacketOptions;

// One packetized video packet, re-stamped when sent.
struct VideoPacket {
  std::vector<uint8_t> payload;  // after the 12-byte header the packetizer writes
  bool marker = false;
  uint32_t frame = 0;  // frame index
};

// Media encoded once: RTP payloads (Opus) and video packets.
struct Media {
  std::vector<std::vector<uint8_t>> opus;  // 20 ms payloads
  std::vector<VideoPacket> vp8, h264;      // in order
};

void encode_video(VideoCodec codec, std::vector<VideoPacket>* out) {
  FakePeerConfig c;
  c.kind = MediaKind::kVideo;
  c.video_codec = codec;
  c.width = 64;
  c.height = 64;
  c.fps = 10;
  c.video_bitrate_bps = 100000;
  c.keyframe_interval_s = 1;
  c.payload_type = codec == VideoCodec::kVp8 ? kVp8Pt : kH264Pt;
  c.ssrc = 0x7000;
  auto peer = FakePeer::create(c);
  SIPMIX_FUZZ_CHECK(peer.ok());
  for (uint32_t f = 0; f < 12; ++f) {
    (*peer)->fill_picture(static_cast<uint8_t>(40 + 15 * f), 128, static_cast<uint8_t>(100 + f));
    for (std::span<const uint8_t> p : (*peer)->video_packets(int64_t{f} * 100000)) {
      SIPMIX_FUZZ_CHECK(p.size() > rtp::kRtpHeaderSize);
      out->push_back({{p.begin() + rtp::kRtpHeaderSize, p.end()}, (p[1] & 0x80) != 0, f});
    }
  }
  SIPMIX_FUZZ_CHECK(!out->empty());
}

const Media& media() {
  static const Media m = [] {
    Media m;
    auto enc = FakePeer::create({});
    SIPMIX_FUZZ_CHECK(enc.ok());
    std::vector<int16_t> pcm(960);
    double phase = 0;
    for (int f = 0; f < 8; ++f) {
      for (auto& s : pcm) {
        s = static_cast<int16_t>(8000 * __builtin_sin(phase));
        phase += 2 * 3.141592653589793 * 440 / 48000;
      }
      m.opus.push_back((*enc)->encode_audio(pcm));
      SIPMIX_FUZZ_CHECK(!m.opus.back().empty());
    }
    encode_video(VideoCodec::kVp8, &m.vp8);
    encode_video(VideoCodec::kH264, &m.h264);
    return m;
  }();
  return m;
}

// A 100 ms 8 kHz WAV prompt: the Debian prompts would be loaded and
// resampled on every execution.
const std::string& prompt_path() {
  static const std::string& path = *new std::string([] {
    const std::string p = "/tmp/sipmix_fuzz_session_prompt_" + std::to_string(::getpid()) + ".wav";
    std::FILE* f = std::fopen(p.c_str(), "wb");
    SIPMIX_FUZZ_CHECK(f);
    const uint32_t samples = 800, data_bytes = samples * 2;
    auto u32 = [&](uint32_t v) { std::fwrite(&v, 4, 1, f); };
    auto u16 = [&](uint16_t v) { std::fwrite(&v, 2, 1, f); };
    std::fwrite("RIFF", 1, 4, f);
    u32(36 + data_bytes);
    std::fwrite("WAVEfmt ", 1, 8, f);
    u32(16);
    u16(1);      // PCM
    u16(1);      // mono
    u32(8000);
    u32(16000);  // byte rate
    u16(2);
    u16(16);
    std::fwrite("data", 1, 4, f);
    u32(data_bytes);
    for (uint32_t i = 0; i < samples; ++i) u16(static_cast<uint16_t>(static_cast<int16_t>((i % 16) * 500 - 4000)));
    std::fclose(f);
    std::atexit([] { std::remove(prompt_path().c_str()); });
    return p;
  }());
  return path;
}

class Input {
 public:
  Input(const uint8_t* d, size_t n) : p_(d), n_(n) {}
  bool empty() const { return n_ == 0; }
  uint8_t u8() {
    if (!n_) return 0;
    --n_;
    return *p_++;
  }
  uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
  std::span<const uint8_t> bytes(size_t want) {
    const size_t k = want < n_ ? want : n_;
    std::span<const uint8_t> out(p_, k);
    p_ += k;
    n_ -= k;
    return out;
  }

 private:
  const uint8_t* p_;
  size_t n_;
};

struct CheckingSink : SessionSink {
  void on_rtp(const std::string& id, Direction dir, std::span<const uint8_t> p) override {
    SIPMIX_FUZZ_CHECK(!id.empty());
    SIPMIX_FUZZ_CHECK(p.size() <= kMtu + srtp::kSrtpMaxOverhead);
    if (dir == Direction::kToLeg && !secure) {
      const auto v = rtp::parse_rtp(p);
      SIPMIX_FUZZ_CHECK(v.has_value());
      SIPMIX_FUZZ_CHECK(v->payload_type == leg_audio_pt || v->payload_type == kTePt ||
                        (leg_video && v->payload_type == kLegVideoPt));
      SIPMIX_FUZZ_CHECK(v->payload_type != kLegVideoPt || p.size() <= 1200);
    }
    if (dir == Direction::kToSession && !leg_video) {
      // Without leg video, all the leg publishes is its Opus audio.
      const auto v = rtp::parse_rtp(p);
      SIPMIX_FUZZ_CHECK(v.has_value() && v->payload_type == kOpusPt);
    }
  }
  void on_rtcp(const std::string& id, Direction, std::span<const uint8_t> p) override {
    SIPMIX_FUZZ_CHECK(!id.empty());
    SIPMIX_FUZZ_CHECK(rtp::looks_like_rtcp(p));
  }
  void on_event(const Event& e) override { SIPMIX_FUZZ_CHECK(!e.id.empty()); }

  bool secure = false;
  bool leg_video = false;
  uint8_t leg_audio_pt = 0;
};

struct StreamState {
  std::string id;
  PushHandle handle;
  std::unique_ptr<FakePeer> rtp;  // stamps the stream's packets: seq from 1, ts from 1000
  uint32_t frame = 0;  // video: next frame index to send
  bool present = false;
};

// A peer that stamps media encoded elsewhere.
std::unique_ptr<FakePeer> stamping_peer(const FakePeerConfig& base, uint8_t pt, uint32_t ssrc) {
  FakePeerConfig c = base;
  c.encode = false;
  c.payload_type = pt;
  c.ssrc = ssrc;
  c.first_sequence_number = 1;
  c.first_timestamp = 1000;
  c.max_packets_per_frame = 1;  // packets come from media()
  auto p = FakePeer::create(c);
  SIPMIX_FUZZ_CHECK(p.ok());
  return std::move(*p);
}

class Driver {
 public:
  explicit Driver(Input& in) : in_(in) {}

  void run() {
    const uint8_t variant = in_.u8();
    SessionConfig sc;
    sc.max_streams = 8;
    sc.max_legs = 2;
    auto s = Session::create(sc, &clock_, &sink_);
    SIPMIX_FUZZ_CHECK(s.ok());
    session_ = std::move(*s);

    leg_ = LegConfig{};
    leg_.id = "sip";
    leg_.participant = "a1";
    leg_.secure = variant & 1;
    leg_.video = variant & 2;
    leg_.observe_force_mute = variant & 8;
    leg_.stop_stream_when_muted = variant & 32;
    if (variant & 4) {
      leg_.audio_codec = AudioCodec::kOpus;
      leg_.audio_payload_type = kOpusPt;
      leg_.audio_clock_hz = 48000;
      leg_.telephone_event_clock_hz = 48000;
    }
    leg_.telephone_event_payload_type = kTePt;
    // VP8 only: an x264 encoder per execution would dominate the cost (the
    // H.264 receive path is covered by stream v1).
    leg_.video_codec = VideoCodec::kVp8;
    leg_.muted_prompt_path = prompt_path();
    leg_.unmuted_prompt_path = prompt_path();
    leg_.video_payload_type = kLegVideoPt;
    leg_.width = 64;
    leg_.height = 64;
    leg_.fps = 5;
    leg_.video_bitrate_bps = 50000;
    leg_.h264_preset = "ultrafast";
    leg_.srtp_key_to_leg = kKeyToLeg;
    leg_.srtp_key_from_leg = kKeyFromLeg;
    sink_.secure = leg_.secure;
    sink_.leg_video = leg_.video;
    sink_.leg_audio_pt = leg_.audio_payload_type;
    if (leg_.secure) {
      auto k_in = srtp::parse_sdes_key(srtp::SrtpSuite::kAesCm128HmacSha1_80, kKeyToLeg);
      auto k_out = srtp::parse_sdes_key(srtp::SrtpSuite::kAesCm128HmacSha1_80, kKeyFromLeg);
      SIPMIX_FUZZ_CHECK(k_in.ok() && k_out.ok());
      auto phone = srtp::SrtpSession::create(*k_out, *k_in);
      SIPMIX_FUZZ_CHECK(phone.ok());
      phone_ = std::move(*phone);
    }

    // Video streams only with bit 6: their buffers (a 2048-packet jitter
    // ring, the frame assembler) cost more to set up than a whole audio run.
    const char* ids[] = {"a0", "a1", "v0", "v1"};
    for (int k = 0; k < 4; ++k) {
      streams_[k].id = ids[k];
      FakePeerConfig c;
      if (k >= 2) {
        c.kind = MediaKind::kVideo;
        c.video_codec = k == 2 ? VideoCodec::kVp8 : VideoCodec::kH264;
      }
      streams_[k].rtp = stamping_peer(c, k < 2 ? kOpusPt : k == 2 ? kVp8Pt : kH264Pt, 0x1000 + static_cast<uint32_t>(k));
      if (k < 2 || (variant & 64)) add_stream(k);
    }
    leg_state_.id = "sip";
    FakePeerConfig lc;
    lc.audio_codec = leg_.audio_codec;
    lc.clock_rate_hz = leg_.audio_clock_hz;
    leg_state_.rtp = stamping_peer(lc, static_cast<uint8_t>(leg_.audio_payload_type), 0xAB5);
    add_leg();
    start_us_ = clock_.now_us();

    size_t ops = 0;
    while (!in_.empty() && ops++ < kMaxOps && clock_.now_us() - start_us_ < kMaxSimulatedUs) step();
    // Let everything queued play out.
    advance_ms(100);
    (void)session_->stats();
  }

 private:
  void add_stream(int k) {
    StreamState& st = streams_[k];
    StreamConfig c;
    c.id = st.id;
    if (k < 2) {
      c.kind = MediaKind::kAudio;
      c.payload_type = kOpusPt;
      c.audio_level_ext_id = k == 1 ? 1 : 0;
    } else {
      c.kind = MediaKind::kVideo;
      c.video_codec = k == 2 ? VideoCodec::kVp8 : VideoCodec::kH264;
      c.payload_type = k == 2 ? kVp8Pt : kH264Pt;
      c.clock_rate_hz = 90000;
      c.participant = k == 2 ? "a0" : "a1";
    }
    auto h = session_->add_stream(c);
    SIPMIX_FUZZ_CHECK(h.ok());
    st.handle = *h;
    st.present = true;
  }

  void add_leg() {
    auto h = session_->add_leg(leg_);
    if (!h.ok()) std::fprintf(stderr, "add_leg: %s\n", h.status().message().c_str());
    SIPMIX_FUZZ_CHECK(h.ok());
    leg_state_.handle = *h;
    leg_state_.present = true;
  }

  void advance_ms(int ms) {
    clock_.advance_us(int64_t{ms} * 1000);
    session_->tick();
    // One audio tick at creation and one per 20 ms since, whatever the steps.
    const uint64_t want = static_cast<uint64_t>((clock_.now_us() - creation_us_) / 20000 + 1);
    SIPMIX_FUZZ_CHECK(session_->stats().ticks == want);
  }

  // Sends one RTP packet on the leg, SRTP-protected by the phone when the
  // leg is secure (unless `raw`).
  void push_leg(std::vector<uint8_t>& pkt, bool raw) {
    if (!leg_state_.present) return;
    if (leg_.secure && !raw) {
      const size_t n = pkt.size();
      pkt.resize(n + srtp::kSrtpMaxOverhead);
      const srtp::SrtpOutput r = phone_->protect_rtp(pkt, n);
      if (!r.ok()) return;
      pkt.resize(r.size);
    }
    session_->push_rtp(leg_state_.handle, pkt);
  }

  // Sequence/timestamp/SSRC perturbations shared by the media ops.
  void perturb(StreamState& st, uint8_t flags) {
    testing::RtpFields& h = st.rtp->header();
    if (flags & 1) h.sequence_number = static_cast<uint16_t>(h.sequence_number + in_.u16());
    if (flags & 2) h.timestamp += static_cast<uint32_t>(in_.u16()) << (in_.u8() & 15);
    if (flags & 4) h.ssrc = 0x1000 + in_.u8();
    if (flags & 8) h.sequence_number = static_cast<uint16_t>(h.sequence_number - 1 - (in_.u8() & 7));  // late / duplicate
  }

  void mutate(std::vector<uint8_t>& pkt, uint8_t flags) {
    if (!(flags & 16) || pkt.empty()) return;
    const size_t pos = in_.u16() % pkt.size();
    pkt[pos] ^= in_.u8() | 1;
  }

  void op_audio() {
    StreamState& st = streams_[in_.u8() & 1];
    const auto& m = media();
    const auto& payload = m.opus[in_.u8() % m.opus.size()];
    const uint8_t flags = in_.u8();
    perturb(st, flags);
    PacketOptions o;
    if (flags & 32) o.payload_type = in_.u8() & 0x7F;
    o.marker = flags & 64;
    const uint8_t level = in_.u8();
    if (flags & 128) {
      o.audio_level_ext_id = 1;
      o.voice_activity = level & 0x80;
      o.audio_level_dbov = level & 0x7F;
    }
    auto pkt = st.rtp->packet(payload, o);  // the timestamp advances by 960
    mutate(pkt, flags);
    if (st.present) session_->push_rtp(st.handle, pkt);
  }

  void op_video() {
    const bool vp8 = !(in_.u8() & 1);
    StreamState& st = streams_[vp8 ? 2 : 3];
    const auto& m = media();
    const auto& list = vp8 ? m.vp8 : m.h264;
    const uint8_t flags = in_.u8();
    perturb(st, flags);
    // Send the next frame's packets (or a single one with flag 32).
    const uint32_t f = st.frame++ % (list.back().frame + 1);
    for (const VideoPacket& vp : list) {
      if (vp.frame != f) continue;
      PacketOptions o;
      o.marker = vp.marker;
      auto pkt = st.rtp->packet(vp.payload, o);
      mutate(pkt, flags);
      if (st.present && !(flags & 64)) session_->push_rtp(st.handle, pkt);
      if (flags & 32) break;
    }
    st.rtp->header().timestamp += 9000;
  }

  void op_leg_audio() {
    const uint8_t flags = in_.u8();
    perturb(leg_state_, flags);
    std::vector<uint8_t> pkt;  // the timestamp advances by 20 ms at the leg's clock
    if (leg_.audio_codec == AudioCodec::kOpus) {
      const auto& m = media();
      pkt = leg_state_.rtp->packet(m.opus[in_.u8() % m.opus.size()]);
    } else {
      std::vector<uint8_t> pcmu(160);
      const uint8_t base = in_.u8();
      for (size_t i = 0; i < pcmu.size(); ++i) pcmu[i] = static_cast<uint8_t>(base + (i * 37 & 0x3F));
      pkt = leg_state_.rtp->packet(pcmu);
    }
    mutate(pkt, flags);
    push_leg(pkt, flags & 64);
  }

  // RFC 4733: event, E/volume, duration; flag bits choose a new event
  // timestamp, a marker, an extra block, and a repeated (same seq) send.
  void op_leg_event() {
    const uint8_t flags = in_.u8();
    testing::RtpFields& h = leg_state_.rtp->header();
    if (flags & 1) h.timestamp += static_cast<uint32_t>(in_.u16());
    if (flags & 8) --h.sequence_number;  // sent again with the last sequence number
    PacketOptions o;
    o.payload_type = kTePt;
    o.keep_timestamp = true;
    o.marker = flags & 2;
    if (flags & 4) o.ssrc = 0xE0E0;
    uint8_t block[8];
    block[0] = flags & 64 ? static_cast<uint8_t>(in_.u8() % 12) : in_.u8();
    block[1] = in_.u8();
    const uint16_t d = in_.u16();
    block[2] = static_cast<uint8_t>(d >> 8);
    block[3] = static_cast<uint8_t>(d);
    for (int i = 4; i < 8; ++i) block[i] = in_.u8();
    auto pkt = leg_state_.rtp->packet(std::span<const uint8_t>(block, flags & 16 ? 8 : 4 - (flags & 32 ? in_.u8() % 4 : 0)), o);
    push_leg(pkt, flags & 128);
  }

  PushHandle pick_handle(uint8_t b) {
    const int k = b % 6;
    if (k < 4) return streams_[k].present ? streams_[k].handle : PushHandle{};
    if (k == 4) return leg_state_.present ? leg_state_.handle : PushHandle{};
    return PushHandle{static_cast<int>(b)};  // stale or out-of-range handles
  }

  void op_garbage_rtp() {
    const uint8_t target = in_.u8();
    const uint8_t flags = in_.u8();
    const size_t len = flags & 1 ? in_.u16() % 1600 : in_.u8();
    auto b = in_.bytes(len);
    std::vector<uint8_t> pkt(b.begin(), b.end());
    if ((flags & 2) && pkt.size() >= 2) pkt[0] = static_cast<uint8_t>(0x80 | (pkt[0] & 0x3F));  // looks like RTP v2
    if (target % 6 == 4) {
      push_leg(pkt, !(flags & 4));
      return;
    }
    session_->push_rtp(pick_handle(target), pkt);
  }

  void op_rtcp() {
    const uint8_t target = in_.u8();
    const uint8_t flags = in_.u8();
    std::vector<uint8_t> pkt;
    if (flags & 1) {
      pkt.resize(64);
      if (flags & 2) {
        rtp::Pli pli;
        pli.sender_ssrc = in_.u16();
        pli.media_ssrc = in_.u16();
        pkt.resize(rtp::write_pli(pli, pkt));
      } else {
        rtp::Fir fir;
        pkt.resize(rtp::write_fir(fir, pkt));
      }
    } else {
      auto b = in_.bytes(in_.u8());
      pkt.assign(b.begin(), b.end());
    }
    if (target % 6 == 4 && leg_.secure && (flags & 4) && leg_state_.present) {
      const size_t n = pkt.size();
      pkt.resize(n + srtp::kSrtpMaxOverhead + 8);
      const srtp::SrtpOutput r = phone_->protect_rtcp(pkt, n);
      if (!r.ok()) return;
      pkt.resize(r.size);
    }
    session_->push_rtcp(pick_handle(target), pkt);
  }

  const std::string& pick_id(uint8_t b) {
    static const std::string kUnknown = "nobody";
    const int k = b % 6;
    if (k < 4) return streams_[k].id;
    if (k == 4) return leg_state_.id;
    return kUnknown;
  }

  void step() {
    switch (in_.u8() % 14) {
      case 0: return op_audio();
      case 1: return op_video();
      case 2: return op_leg_audio();
      case 3: return op_leg_event();
      case 4: return op_garbage_rtp();
      case 5: return op_rtcp();
      case 6:
      case 7: return advance_ms(in_.u8());
      case 8: {
        const std::string& id = pick_id(in_.u8());
        (void)session_->force_mute(id, in_.u8() & 1);
        return;
      }
      case 9: {
        const uint8_t f = in_.u8();
        std::vector<std::string> excluded;
        for (int k = 0; k < 6; ++k)
          if (f & (4 << k)) excluded.push_back(pick_id(static_cast<uint8_t>(k)));
        (void)session_->force_mute_session(f & 1, f & 2, excluded);
        return;
      }
      case 10: {
        static const char kDigits[] = "0123456789*#pABx";
        std::string digits;
        for (int n = in_.u8() % 6; n > 0; --n) digits += kDigits[in_.u8() % 16];
        (void)session_->play_dtmf(pick_id(4 + (in_.u8() & 1)), digits);
        return;
      }
      case 11: {
        const int k = in_.u8() % 4;
        if (streams_[k].present) {
          SIPMIX_FUZZ_CHECK(session_->remove_stream(streams_[k].id).ok());
          streams_[k].present = false;
        } else {
          add_stream(k);
        }
        return;
      }
      case 12:
        if (in_.u8() & 1) {
          (void)session_->request_keyframe(pick_id(4 + (in_.u8() & 1)));
        } else {
          const SessionStats st = session_->stats();
          for (const auto& s : st.streams) SIPMIX_FUZZ_CHECK(s.current_delay_ms >= 0);
        }
        return;
      case 13:
        if (leg_state_.present) {
          SIPMIX_FUZZ_CHECK(session_->remove_leg(leg_state_.id).ok());
          leg_state_.present = false;
        } else {
          add_leg();
        }
        return;
    }
  }

  Input& in_;
  SimulatedClock clock_{1'000'000};
  const int64_t creation_us_ = 1'000'000;
  CheckingSink sink_;
  std::unique_ptr<Session> session_;
  LegConfig leg_;
  std::unique_ptr<srtp::SrtpSession> phone_;
  StreamState streams_[4];
  StreamState leg_state_;
  int64_t start_us_ = 0;
};

}  // namespace
}  // namespace sipmix::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)sipmix::fuzz::media();
  sipmix::fuzz::Input in(data, size);
  sipmix::fuzz::Driver d(in);
  d.run();
  return 0;
}
