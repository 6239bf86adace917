#include "session_harness.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "audio_codec/codec.h"
#include "rtp/rtp_packet.h"
#include "session/codec_map.h"

namespace sipmix::testing {
namespace {

void fill_tone(std::vector<int16_t>& out, double hz, int rate, double* phase, double amp = 6000) {
  for (auto& s : out) {
    s = hz > 0 ? static_cast<int16_t>(std::lround(amp * std::sin(*phase))) : 0;
    *phase += 2 * std::numbers::pi * hz / rate;
  }
  *phase = std::fmod(*phase, 2 * std::numbers::pi);
}

}  // namespace

SessionHarness::SessionHarness(SessionConfig cfg) {
  sink.clock = &clock;
  auto s = Session::create(cfg, &clock, &sink);
  EXPECT_TRUE(s.ok()) << s.status().message();
  session = std::move(*s);
}

Participant& SessionHarness::add_participant(const std::string& id, double tone_hz, uint8_t color_y) {
  auto p = std::make_unique<Participant>();
  p->id = id;
  p->tone_hz = tone_hz;
  p->color_y = color_y;
  StreamConfig a;
  a.id = id + "/audio";
  a.participant = id;
  a.kind = MediaKind::kAudio;
  auto h = session->add_stream(a);
  EXPECT_TRUE(h.ok()) << h.status().message();
  p->audio = *h;
  FakePeerConfig ac;
  ac.audio_bitrate_bps = 48000;
  ac.payload_type = 111;
  ac.ssrc = 0x1000 + static_cast<uint32_t>(p->audio.slot);
  ac.first_sequence_number = 1000;
  ac.first_timestamp = 5000;
  auto opus = FakePeer::create(ac);
  EXPECT_TRUE(opus.ok()) << opus.status().message();
  p->opus = std::move(*opus);
  if (color_y) {
    StreamConfig v;
    v.id = id + "/video";
    v.participant = id;
    v.kind = MediaKind::kVideo;
    v.video_codec = VideoCodec::kVp8;
    v.payload_type = 100;
    v.clock_rate_hz = 90000;
    auto vh = session->add_stream(v);
    EXPECT_TRUE(vh.ok()) << vh.status().message();
    p->video = *vh;
    FakePeerConfig vc;
    vc.kind = MediaKind::kVideo;
    vc.video_codec = VideoCodec::kVp8;
    vc.width = 320;
    vc.height = 240;
    vc.fps = 30;
    vc.video_bitrate_bps = 300000;
    vc.payload_type = 100;
    vc.ssrc = 0x5000 + static_cast<uint32_t>(participants.size());
    auto vp8 = FakePeer::create(vc);
    EXPECT_TRUE(vp8.ok()) << vp8.status().message();
    p->vp8 = std::move(*vp8);
    p->vp8->fill_picture(color_y, 128, 128);
  }
  participants.push_back(std::move(p));
  return *participants.back();
}

PushHandle SessionHarness::add_leg(const LegConfig& config, double tone_hz) {
  leg = config;
  leg_tone_hz = tone_hz;
  auto h = session->add_leg(config);
  EXPECT_TRUE(h.ok()) << h.status().message();
  if (!h.ok()) return {};
  leg_handle = *h;
  FakePeerConfig lc;
  lc.audio_codec = config.audio_codec;
  lc.payload_type = static_cast<uint8_t>(config.audio_payload_type);
  lc.clock_rate_hz = config.audio_clock_hz;
  lc.ssrc = 0xAB5;
  lc.first_sequence_number = 100;
  lc.first_timestamp = 800;
  auto peer = FakePeer::create(lc);
  EXPECT_TRUE(peer.ok()) << peer.status().message();
  if (peer.ok()) leg_peer = std::move(*peer);
  return leg_handle;
}

void SessionHarness::run_ms(int ms) {
  std::vector<int16_t> pcm48(960);
  for (int step = 0; step < ms / 20; ++step) {
    for (auto& pp : participants) {
      Participant& p = *pp;
      if (!p.sending) continue;
      fill_tone(pcm48, p.tone_hz, 48000, &p.phase);
      session->push_rtp(p.audio, p.opus->audio_packet(pcm48));
    }
    // Video at 30 fps: a frame whenever a 33.3 ms boundary falls in this step.
    const int t0 = video_phase_ms, t1 = video_phase_ms + 20;
    if ((t1 * 3) / 100 > (t0 * 3) / 100 || t0 == 0) {
      for (auto& pp : participants) {
        Participant& p = *pp;
        if (!p.vp8 || !p.sending) continue;
        for (std::span<const uint8_t> pkt : p.vp8->video_packets(clock.now_us())) {
          if (p.video_loss > 0 && std::uniform_real_distribution<double>(0, 1)(loss_rng) < p.video_loss) continue;
          session->push_rtp(p.video, pkt);
        }
      }
    }
    video_phase_ms = t1;
    if (leg_handle.valid() && leg_sending_audio) {
      std::vector<int16_t> pcm(leg_peer->frame_samples());
      fill_tone(pcm, leg_tone_hz, leg_peer->sample_rate_hz(), &leg_phase);
      std::vector<uint8_t> pkt = leg_peer->audio_packet(pcm);
      if (leg_transform) pkt.resize(leg_transform(pkt));
      if (!pkt.empty()) session->push_rtp(leg_handle, pkt);
    }
    clock.advance_us(20000);
    session->tick();
    for (; answer_keyframe_requests && rtcp_answered < sink.rtcp.size(); ++rtcp_answered) {
      const RecordingSink::Packet& r = sink.rtcp[rtcp_answered];
      if (r.dir != Direction::kToStream) continue;
      for (auto& pp : participants)
        if (pp->vp8 && r.id == pp->id + "/video") pp->vp8->request_keyframe();
    }
  }
}

std::vector<int16_t> SessionHarness::leg_audio(const std::string& leg_id, int from_ms, int to_ms) const {
  auto dec = audio::make_audio_decoder(session::to_engine(leg.audio_codec));
  std::vector<int16_t> out, buf(audio::kMaxDecodedSamples);
  for (const auto& p : sink.rtp) {
    if (p.id != leg_id || p.dir != Direction::kToLeg) continue;
    auto v = rtp::parse_rtp(p.data);
    if (!v || v->payload_type != leg.audio_payload_type) continue;
    const size_t n = (*dec)->decode(v->payload, buf);
    const int64_t t_ms = (p.time_us - start_us) / 1000;
    if (t_ms < from_ms || t_ms >= to_ms) continue;
    out.insert(out.end(), buf.begin(), buf.begin() + n);
  }
  return out;
}

std::vector<int16_t> SessionHarness::session_audio(const std::string& leg_id, int from_ms, int to_ms) const {
  auto dec = audio::make_audio_decoder(audio::AudioCodec::kOpus);
  std::vector<int16_t> out(static_cast<size_t>(to_ms - from_ms) * 48, 0), buf(audio::kMaxDecodedSamples);
  for (const auto& p : sink.rtp) {
    if (p.id != leg_id || p.dir != Direction::kToSession) continue;
    auto v = rtp::parse_rtp(p.data);
    if (!v) continue;
    const size_t n = (*dec)->decode(v->payload, buf);
    const int64_t t_ms = (p.time_us - start_us) / 1000 - 20;  // the packet carries the previous 20 ms
    if (t_ms < from_ms || t_ms + 20 > to_ms) continue;
    std::copy(buf.begin(), buf.begin() + n, out.begin() + (t_ms - from_ms) * 48);
  }
  return out;
}

OpusToneStream::OpusToneStream(double tone_hz, uint32_t ssrc, uint16_t seq, uint32_t ts) : tone_hz_(tone_hz) {
  FakePeerConfig c;
  c.audio_bitrate_bps = 48000;
  c.payload_type = 111;
  c.ssrc = ssrc;
  c.first_sequence_number = seq;
  c.first_timestamp = ts;
  peer_ = std::move(*FakePeer::create(c));
}

std::vector<uint8_t> OpusToneStream::next(double amplitude) {
  std::vector<int16_t> pcm(960);
  for (auto& s : pcm) {
    s = static_cast<int16_t>(std::lround(amplitude * std::sin(phase_)));
    phase_ += 2 * std::numbers::pi * tone_hz_ / 48000;
  }
  phase_ = std::fmod(phase_, 2 * std::numbers::pi);
  return peer_->audio_packet(pcm);
}

LegConfig pcmu_leg(bool observe_force_mute) {
  LegConfig c;
  c.id = "sip";
  c.audio_codec = AudioCodec::kPcmu;
  c.audio_payload_type = 0;
  c.audio_clock_hz = 8000;
  c.telephone_event_payload_type = 101;
  c.telephone_event_clock_hz = 8000;
  c.observe_force_mute = observe_force_mute;
  return c;
}

LegConfig video_leg(VideoCodec codec) {
  LegConfig c;
  c.id = "sip";
  c.participant = "caller";
  c.video = true;
  c.video_codec = codec;
  c.video_payload_type = 96;
  c.width = 640;
  c.height = 360;
  c.fps = 30;
  c.video_bitrate_bps = 800000;
  return c;
}

int count_events(const RecordingSink& s, Event::Type t, const std::string& id) {
  return static_cast<int>(
      std::count_if(s.events.begin(), s.events.end(), [&](const Event& e) { return e.type == t && e.id == id; }));
}

}  // namespace sipmix::testing
