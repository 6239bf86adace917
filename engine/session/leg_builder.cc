// LegBuilder: validation and construction of a leg, in the order the
// session has always built it (the prompts load before the video side, so a
// bad video config after good prompts leaves the prompts loaded).
#include "session/leg_builder.h"

#include <algorithm>
#include <string>

#include "session/codec_map.h"
#include "session/common.h"

namespace sipmix::session {

Status LegBuilder::validate(const LegConfig& c, bool id_taken) const {
  if (c.id.empty()) return invalid_argument("leg.id: must not be empty");
  if (id_taken) return invalid_argument("leg.id: \"" + c.id + "\" already exists");
  if (c.audio_payload_type > 127) return invalid_argument("leg.audio_payload_type: must be 0..127");
  const int want_clock = c.audio_codec == AudioCodec::kOpus ? 48000 : 8000;
  if (c.audio_clock_hz != want_clock)
    return invalid_argument("leg.audio_clock_hz: " + std::string(to_string(c.audio_codec)) + " uses " +
                            std::to_string(want_clock));
  if (c.telephone_event_payload_type > 127) return invalid_argument("leg.telephone_event_payload_type: must be -1..127");
  if (c.telephone_event_payload_type >= 0 && c.telephone_event_payload_type == c.audio_payload_type)
    return invalid_argument("leg.telephone_event_payload_type: equals the audio payload type");
  if (c.telephone_event_payload_type >= 0 && c.telephone_event_clock_hz != c.audio_clock_hz)
    return invalid_argument("leg.telephone_event_clock_hz: must equal the audio clock (" +
                            std::to_string(c.audio_clock_hz) + ")");
  if (c.video) {
    if (c.video_codec == VideoCodec::kNone) return invalid_argument("leg.video_codec: video on needs vp8 or h264");
    if (c.width < 64 || c.height < 64 || c.width % 2 || c.height % 2)
      return invalid_argument("leg.width/height: must be even and at least 64");
    if (c.fps < 1 || c.fps > 60) return invalid_argument("leg.fps: must be 1..60");
  }
  if (c.secure && (c.srtp_key_to_leg.empty() || c.srtp_key_from_leg.empty()))
    return invalid_argument("leg.srtp_key_to_leg/srtp_key_from_leg: a secure leg needs both SDES keys");
  return {};
}

StatusOr<std::unique_ptr<Leg>> LegBuilder::build(const LegConfig& c, int slot, uint32_t mixer_id) {
  auto leg = std::make_unique<Leg>();
  leg->config = c;
  if (leg->config.participant.empty()) leg->config.participant = c.id;
  leg->slot = slot;
  leg->mixer_id = mixer_id;
  Status st = build_receive_side(*leg);
  if (st.ok()) st = build_audio_send_side(*leg);
  if (st.ok() && leg->config.video) st = build_video_send_side(*leg);
  if (!st.ok()) return Status(st.code(), "leg \"" + c.id + "\": " + st.message());
  return leg;
}

// SRTP, the audio input, the event/RTCP/video queues and the DTMF receiver.
Status LegBuilder::build_receive_side(Leg& leg) {
  const LegConfig& c = leg.config;
  leg.push_scratch.reset(kMaxPacket + srtp::kSrtpMaxOverhead);
  leg.send_buffer.reset(kMaxPacket + srtp::kSrtpMaxOverhead);
  leg.pop_buffer.reset(kMaxPacket);
  if (c.secure) {
    const srtp::SrtpSuite suite = to_engine(c.srtp_suite);
    auto out_key = srtp::parse_sdes_key(suite, c.srtp_key_to_leg);
    if (!out_key.ok()) return invalid_argument("srtp_key_to_leg: " + out_key.status().message());
    auto in_key = srtp::parse_sdes_key(suite, c.srtp_key_from_leg);
    if (!in_key.ok()) return invalid_argument("srtp_key_from_leg: " + in_key.status().message());
    auto s = srtp::SrtpSession::create(*out_key, *in_key);
    if (!s.ok()) return s.status();
    leg.srtp = std::move(*s);
  }
  AudioInputConfig ac;
  ac.codec = to_engine(c.audio_codec);
  ac.payload_type = c.audio_payload_type;
  ac.resampler_quality = config_.resampler_quality;
  ac.min_delay_ms = config_.jitter_min_delay_ms;
  ac.max_delay_ms = config_.jitter_max_delay_ms;
  auto in = AudioInput::create(ac);
  if (!in.ok()) return in.status();
  leg.audio_in = std::move(*in);
  leg.event_queue = std::make_unique<SpscPacketQueue>(64, kMaxPacket);
  leg.rtcp_queue = std::make_unique<SpscPacketQueue>(16, kMaxPacket);
  if (c.video) leg.video_queue = std::make_unique<SpscPacketQueue>(1024, kMaxPacket);

  if (c.telephone_event_payload_type >= 0) {
    dtmf::Rfc4733ReceiverConfig rc;
    rc.payload_type = static_cast<uint8_t>(c.telephone_event_payload_type);
    rc.clock_rate_hz = static_cast<uint32_t>(c.telephone_event_clock_hz);
    auto rx = dtmf::Rfc4733Receiver::create(rc);
    if (!rx.ok()) return rx.status();
    leg.dtmf_rx.emplace(std::move(*rx));
    dtmf::FeatureCodeConfig fc;
    fc.inter_digit_timeout_ms = config_.dtmf_inter_digit_timeout_ms;
    auto m = dtmf::FeatureCodeMatcher::create(fc);
    if (!m.ok()) return m.status();
    leg.matcher.emplace(*m);
  }
  return {};
}

// The mix at the leg's codec rate, RFC 4733 out, the leg's audio into the
// session as Opus, and the announcements.
Status LegBuilder::build_audio_send_side(Leg& leg) {
  const LegConfig& c = leg.config;
  const audio::AudioCodec codec = to_engine(c.audio_codec);
  audio::EncoderConfig ec;
  ec.codec = codec;
  auto enc = audio::make_audio_encoder(ec);
  if (!enc.ok()) return enc.status();
  leg.encoder = std::move(*enc);
  auto rs = audio::Resampler::create(audio::kMixSampleRateHz, audio::codec_info(codec).sample_rate_hz,
                                     config_.resampler_quality);
  if (!rs.ok()) return rs.status();
  leg.to_leg_rate.emplace(std::move(*rs));
  leg.leg_rate_frame.reset(audio::kMixFrameSamples);
  leg.payload.reset(std::max<size_t>(leg.encoder->max_payload_bytes(), 1500));
  leg.audio_out.ssrc = make_ssrc(c.id, 1);
  leg.audio_out.sequence_number = static_cast<uint16_t>(make_ssrc(c.id, 11));
  leg.audio_out.timestamp = make_ssrc(c.id, 12);
  if (leg.dtmf_rx) {
    dtmf::Rfc4733SenderConfig sc;
    sc.payload_type = static_cast<uint8_t>(c.telephone_event_payload_type);
    sc.clock_rate_hz = static_cast<uint32_t>(c.telephone_event_clock_hz);
    sc.ssrc = leg.audio_out.ssrc;
    auto tx = dtmf::Rfc4733Sender::create(sc);
    if (!tx.ok()) return tx.status();
    leg.dtmf_tx.emplace(std::move(*tx));
  }

  // The leg's own audio published into the session as Opus, coded only up
  // to the band its codec carries (SILK alone for 8 kHz codecs).
  audio::EncoderConfig oc;
  oc.codec = audio::AudioCodec::kOpus;
  const int leg_rate_hz = audio::codec_info(codec).sample_rate_hz;
  oc.max_audio_bandwidth_hz = leg_rate_hz <= 8000 ? 4000 : leg_rate_hz <= 16000 ? 8000 : 20000;
  auto oenc = audio::make_audio_encoder(oc);
  if (!oenc.ok()) return oenc.status();
  leg.session_encoder = std::move(*oenc);
  leg.session_out.ssrc = make_ssrc(c.id, 2);
  leg.session_out.sequence_number = static_cast<uint16_t>(make_ssrc(c.id, 21));
  leg.session_out.timestamp = make_ssrc(c.id, 22);
  leg.silence.reset(audio::kMixFrameSamples);

  // Announcements: loaded now so a missing file is a configuration error.
  audio::MutePromptPaths paths;
  if (!c.muted_prompt_path.empty()) paths.muted = c.muted_prompt_path;
  if (!c.unmuted_prompt_path.empty()) paths.unmuted = c.unmuted_prompt_path;
  if (Status st = load_prompts(paths); !st.ok()) return st;
  leg.prompts = prompts_.get();
  leg.prompt_frame.reset(audio::kMixFrameSamples);
  return {};
}

// Layout, compositor, encoder and packetizer of the leg's composed video.
Status LegBuilder::build_video_send_side(Leg& leg) {
  const LegConfig& c = leg.config;
  video::LayoutOptions lo;
  lo.canvas_width = c.width;
  lo.canvas_height = c.height;
  lo.fit = c.crop_to_fill ? video::FitMode::kCrop : video::FitMode::kLetterbox;
  lo.highlight_active_speaker = true;
  // Small canvases (validate accepts 64x64) get a thinner speaker border, or
  // none, instead of failing the layout's 3x3 check.
  while (lo.highlight_px > 0 && 6 * lo.highlight_px >= std::min(c.width, c.height) / 3) lo.highlight_px -= 2;
  if (Status st = video::validate(lo); !st.ok()) return st;
  leg.layout.emplace(lo);
  video::CompositorConfig cc;
  cc.layout = lo;
  leg.compositor = std::make_unique<video::Compositor>();
  if (Status st = leg.compositor->configure(cc); !st.ok()) return st;
  video::VideoEncoderConfig vc;
  vc.codec = to_engine(c.video_codec);
  vc.width = c.width;
  vc.height = c.height;
  vc.fps = c.fps;
  vc.bitrate_bps = c.video_bitrate_bps;
  vc.h264_preset = c.h264_preset;
  vc.skip_unchanged = config_.skip_unchanged_video;
  auto venc = video::VideoEncoder::create(vc);
  if (!venc.ok()) return venc.status();
  leg.video_encoder = std::move(*venc);
  leg.changed_mbs.reset(static_cast<size_t>(leg.video_encoder->mb_cols()) * leg.video_encoder->mb_rows());
  video::PacketizerConfig pc;
  pc.payload_type = c.video_payload_type;
  pc.ssrc = leg.video_ssrc = make_ssrc(c.id, 3);
  pc.first_sequence_number = static_cast<uint16_t>(make_ssrc(c.id, 31));
  if (c.video_codec == VideoCodec::kH264) {
    auto p = video::h264::Packetizer::create(pc);
    if (!p.ok()) return p.status();
    leg.packetizer = *p;
  } else {
    auto p = video::vp8::Packetizer::create(pc);
    if (!p.ok()) return p.status();
    leg.packetizer = *p;
  }
  leg.video_packets = std::make_unique<video::RtpPacketList>();
  leg.video_frame_us = 1000000 / c.fps;
  leg.next_video_us = clock_->now_us();
  return {};
}

Status LegBuilder::load_prompts(const audio::MutePromptPaths& paths) {
  if (prompts_ && prompt_paths_.muted == paths.muted && prompt_paths_.unmuted == paths.unmuted) return {};
  if (prompts_) {
    // A second set for another leg: keep it simple and precise, one set per session.
    return invalid_argument("prompts: every leg of a session uses the same prompt files");
  }
  auto p = audio::load_mute_prompts(paths, config_.resampler_quality);
  if (!p.ok()) return p.status();
  prompts_ = std::make_unique<audio::MutePrompts>(std::move(*p));
  prompt_paths_ = paths;
  return {};
}

}  // namespace sipmix::session
