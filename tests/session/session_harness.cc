#include "session_harness.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "audio_dsp/resampler.h"
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

std::vector<uint8_t> make_rtp(uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, std::span<const uint8_t> payload,
                              bool marker = false) {
  std::vector<uint8_t> out(rtp::kRtpHeaderSize + payload.size());
  rtp::RtpHeader h;
  h.payload_type = pt;
  h.sequence_number = seq;
  h.timestamp = ts;
  h.ssrc = ssrc;
  h.marker = marker;
  out.resize(rtp::write_rtp(h, {}, payload, out));
  return out;
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
  audio::EncoderConfig ec;
  ec.codec = audio::AudioCodec::kOpus;
  ec.bitrate_bps = 48000;
  p->opus = std::move(*audio::make_audio_encoder(ec));
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
    video::VideoEncoderConfig vc;
    vc.codec = video::VideoCodec::kVp8;
    vc.width = 320;
    vc.height = 240;
    vc.fps = 30;
    vc.bitrate_bps = 300000;
    auto enc = video::VideoEncoder::create(vc);
    EXPECT_TRUE(enc.ok()) << enc.status().message();
    p->vp8 = std::move(*enc);
    video::PacketizerConfig pc;
    pc.payload_type = 100;
    pc.ssrc = 0x5000 + static_cast<uint32_t>(participants.size());
    p->packetizer.emplace(*video::vp8::Packetizer::create(pc));
    p->picture.reset(320, 240);
    p->picture.fill(color_y, 128, 128);
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
  audio::EncoderConfig ec;
  ec.codec = session::to_engine(config.audio_codec);
  leg_encoder = std::move(*audio::make_audio_encoder(ec));
  return leg_handle;
}

void SessionHarness::run_ms(int ms) {
  std::vector<int16_t> pcm48(960);
  std::vector<uint8_t> payload(4000);
  video::RtpPacketList packets;
  for (int step = 0; step < ms / 20; ++step) {
    for (auto& pp : participants) {
      Participant& p = *pp;
      if (!p.sending) continue;
      fill_tone(pcm48, p.tone_hz, 48000, &p.phase);
      const size_t n = p.opus->encode(pcm48, payload);
      auto pkt = make_rtp(111, p.seq++, p.ts, 0x1000 + static_cast<uint32_t>(p.audio.slot), {payload.data(), n});
      p.ts += 960;
      session->push_rtp(p.audio, pkt);
    }
    // Video at 30 fps: a frame whenever a 33.3 ms boundary falls in this step.
    const int t0 = video_phase_ms, t1 = video_phase_ms + 20;
    if ((t1 * 3) / 100 > (t0 * 3) / 100 || t0 == 0) {
      for (auto& pp : participants) {
        Participant& p = *pp;
        if (!p.vp8 || !p.sending) continue;
        video::EncodedFrame ef;
        const int64_t t_us = clock.now_us();
        if (!p.vp8->encode(p.picture.view(), t_us, &ef) || ef.data.empty()) continue;
        packets.clear();
        if (!p.packetizer->packetize(ef.data, static_cast<uint32_t>(t_us * 9 / 100), packets)) continue;
        for (size_t i = 0; i < packets.size(); ++i) session->push_rtp(p.video, packets[i]);
      }
    }
    video_phase_ms = t1;
    if (leg_handle.valid() && leg_sending_audio) {
      const size_t samples = leg_encoder->frame_samples();
      std::vector<int16_t> pcm(samples);
      fill_tone(pcm, leg_tone_hz, leg_encoder->sample_rate_hz(), &leg_phase);
      const size_t n = leg_encoder->encode(pcm, payload);
      std::vector<uint8_t> pkt = make_rtp(leg.audio_payload_type, leg_seq++, leg_ts, 0xAB5, {payload.data(), n});
      leg_ts += static_cast<uint32_t>(leg.audio_clock_hz / 50);
      if (leg_transform) pkt.resize(leg_transform(pkt));
      if (!pkt.empty()) session->push_rtp(leg_handle, pkt);
    }
    clock.advance_us(20000);
    session->tick();
  }
}

std::vector<int16_t> SessionHarness::leg_audio(const std::string& leg_id, int from_ms, int to_ms) const {
  auto dec = audio::make_audio_decoder(leg_encoder->codec());
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

OpusToneStream::OpusToneStream(double tone_hz, uint32_t ssrc_, uint16_t seq_, uint32_t ts_)
    : ssrc(ssrc_), seq(seq_), ts(ts_), tone_hz_(tone_hz) {
  audio::EncoderConfig ec;
  ec.codec = audio::AudioCodec::kOpus;
  ec.bitrate_bps = 48000;
  opus_ = std::move(*audio::make_audio_encoder(ec));
}

std::vector<uint8_t> OpusToneStream::next(double amplitude) {
  std::vector<int16_t> pcm(960);
  for (auto& s : pcm) {
    s = static_cast<int16_t>(std::lround(amplitude * std::sin(phase_)));
    phase_ += 2 * std::numbers::pi * tone_hz_ / 48000;
  }
  phase_ = std::fmod(phase_, 2 * std::numbers::pi);
  std::vector<uint8_t> payload(1500);
  payload.resize(opus_->encode(pcm, payload));
  rtp::RtpHeader h;
  h.payload_type = 111;
  h.sequence_number = seq++;
  h.timestamp = ts;
  ts += 960;
  h.ssrc = ssrc;
  std::vector<uint8_t> pkt(rtp::kRtpHeaderSize + payload.size());
  pkt.resize(rtp::write_rtp(h, {}, payload, pkt));
  return pkt;
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

int count_events(const RecordingSink& s, Event::Type t, const std::string& id) {
  return static_cast<int>(
      std::count_if(s.events.begin(), s.events.end(), [&](const Event& e) { return e.type == t && e.id == id; }));
}

}  // namespace sipmix::testing
