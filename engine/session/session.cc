// Session: ties the audio, video and DTMF paths to one media tick.
// See engine/include/sipmix/session.h for the threading contract.
#include "sipmix/session.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <variant>

#include "mix/mixer.h"
#include "mix/talker.h"
#include "dtmf/mute_controller.h"
#include "rtp/rtcp.h"
#include "rtp/rtp_packet.h"
#include "receive/audio_input.h"
#include "session/codec_map.h"
#include "session/leg.h"
#include "base/stage_timer.h"
#include "receive/video_input.h"

namespace sipmix {

const char* to_string(AudioCodec c) {
  switch (c) {
    case AudioCodec::kOpus: return "opus";
    case AudioCodec::kPcmu: return "pcmu";
    case AudioCodec::kPcma: return "pcma";
    case AudioCodec::kG722: return "g722";
  }
  return "?";
}

const char* to_string(VideoCodec c) {
  switch (c) {
    case VideoCodec::kNone: return "none";
    case VideoCodec::kVp8: return "vp8";
    case VideoCodec::kH264: return "h264";
  }
  return "?";
}

namespace session {
namespace {

constexpr int64_t kAudioTickUs = 20000;
constexpr size_t kMaxPacket = 1500;
constexpr uint32_t kLegIdBase = 1u << 16;  // mixer/talker ids of legs; streams use their slot



// Deterministic SSRCs (FNV-1a of the id and a role), so replays are
// bit-identical run to run.
uint32_t make_ssrc(const std::string& id, uint32_t role) {
  uint32_t h = 2166136261u ^ role;
  for (unsigned char c : id) h = (h ^ c) * 16777619u;
  return h == 0 ? 1 : h;
}

struct Stream {
  StreamConfig config;
  int slot = -1;
  std::unique_ptr<AudioInput> audio;
  std::unique_ptr<VideoInput> video;
  std::unique_ptr<SpscPacketQueue> rtcp_queue;
  bool has_frame = false;  // audio: a frame this tick
  bool muted = false;
  int64_t last_active_ms = -1;  // audio: last tick its speaker was active
  uint64_t join_order = 0;
  uint32_t sender_ssrc = 0;  // for PLIs we send it
};

class SessionImpl final : public Session, private rtp::RtcpVisitor {
 public:
  SessionImpl(const SessionConfig& config, Clock* clock, SessionSink* sink,
              std::unique_ptr<audio::NMinus1Mixer> mixer, std::unique_ptr<audio::TalkerDetector> talkers)
      : config_(config),
        clock_(clock),
        sink_(sink),
        mixer_(std::move(mixer)),
        talkers_(std::move(talkers)),
        mute_({}, [this](const dtmf::MuteEvent& e) { on_mute_event(e); }),
        streams_(static_cast<size_t>(config.max_streams)),
        legs_(static_cast<size_t>(config.max_legs)),
        timer_(config.measure_stages) {
    next_audio_us_ = clock_->now_us();
  }

  // ---- control -------------------------------------------------------------

  StatusOr<PushHandle> add_stream(const StreamConfig& c) override {
    if (c.id.empty()) return invalid_argument("stream.id: must not be empty");
    if (find_stream(c.id) || find_leg(c.id)) return invalid_argument("stream.id: \"" + c.id + "\" already exists");
    if (c.payload_type > 127) return invalid_argument("stream.payload_type: must be 0..127");
    int slot = -1;
    for (size_t i = 0; i < streams_.size(); ++i)
      if (!streams_[i]) {
        slot = static_cast<int>(i);
        break;
      }
    if (slot < 0) return invalid_argument("stream: the session is full (max_streams = " + std::to_string(config_.max_streams) + ")");
    auto s = std::make_unique<Stream>();
    s->config = c;
    if (s->config.participant.empty()) s->config.participant = c.id;
    s->slot = slot;
    s->join_order = ++join_counter_;
    s->sender_ssrc = make_ssrc(c.id, 7);
    s->rtcp_queue = std::make_unique<SpscPacketQueue>(16, kMaxPacket);
    if (c.kind == MediaKind::kAudio) {
      AudioInputConfig ac;
      ac.codec = to_engine(c.audio_codec);
      ac.payload_type = c.payload_type;
      ac.audio_level_ext_id = c.audio_level_ext_id;
      ac.skip_silent_decode = config_.skip_silent_decode;
      ac.resampler_quality = config_.resampler_quality;
      ac.min_delay_ms = config_.jitter_min_delay_ms;
      ac.max_delay_ms = config_.jitter_max_delay_ms;
      auto in = AudioInput::create(ac);
      if (!in.ok()) return Status(in.status().code(), "stream \"" + c.id + "\": " + in.status().message());
      s->audio = std::move(*in);
      const uint32_t id = static_cast<uint32_t>(slot);
      if (Status st = mixer_->add_source(id); !st.ok()) return st;
      if (Status st = talkers_->add_source(id); !st.ok()) return st;
    } else {
      if (c.video_codec == VideoCodec::kNone) return invalid_argument("stream.video_codec: a video stream needs vp8 or h264");
      auto in = VideoInput::create(to_engine(c.video_codec), c.payload_type, config_.jitter_max_delay_ms);
      if (!in.ok()) return Status(in.status().code(), "stream \"" + c.id + "\": " + in.status().message());
      s->video = std::move(*in);
    }
    if (Status st = mute_.add_member(c.id, {dtmf::MemberKind::kStream, true, false}); !st.ok()) return st;
    streams_[slot] = std::move(s);
    apply_mute(*streams_[slot]);
    emit_simple(Event::Type::kJoined, c.id);
    return PushHandle{slot};
  }

  Status remove_stream(const std::string& id) override {
    Stream* s = find_stream(id);
    if (!s) return not_found("stream \"" + id + "\": no such stream");
    if (s->audio) {
      (void)mixer_->remove_source(static_cast<uint32_t>(s->slot));
      (void)talkers_->remove_source(static_cast<uint32_t>(s->slot));
    }
    (void)mute_.remove_member(id);
    streams_[s->slot].reset();
    emit_simple(Event::Type::kLeft, id);
    return {};
  }

  StatusOr<PushHandle> add_leg(const LegConfig& c) override {
    if (Status st = validate_leg(c); !st.ok()) return st;
    int index = -1;
    for (size_t i = 0; i < legs_.size(); ++i)
      if (!legs_[i]) {
        index = static_cast<int>(i);
        break;
      }
    if (index < 0) return invalid_argument("leg: the session is full (max_legs = " + std::to_string(config_.max_legs) + ")");
    auto leg = std::make_unique<Leg>();
    leg->config = c;
    if (leg->config.participant.empty()) leg->config.participant = c.id;
    leg->slot = config_.max_streams + index;
    leg->mixer_id = kLegIdBase + static_cast<uint32_t>(index);
    if (Status st = build_leg(*leg); !st.ok()) return Status(st.code(), "leg \"" + c.id + "\": " + st.message());
    if (Status st = mixer_->add_source(leg->mixer_id); !st.ok()) return st;
    if (Status st = mixer_->add_output(leg->mixer_id, leg->mixer_id); !st.ok()) return st;
    if (Status st = talkers_->add_source(leg->mixer_id); !st.ok()) return st;
    dtmf::MemberOptions mo;
    mo.kind = dtmf::MemberKind::kSipLeg;
    mo.observe_force_mute = c.observe_force_mute;
    mo.telephone_event = c.telephone_event_payload_type >= 0;
    legs_[index] = std::move(leg);
    if (Status st = mute_.add_member(c.id, mo); !st.ok()) {
      legs_[index].reset();
      return st;
    }
    emit_simple(Event::Type::kJoined, c.id);
    return PushHandle{config_.max_streams + index};
  }

  Status remove_leg(const std::string& id) override {
    Leg* leg = find_leg(id);
    if (!leg) return not_found("leg \"" + id + "\": no such leg");
    (void)mixer_->remove_output(leg->mixer_id);
    (void)mixer_->remove_source(leg->mixer_id);
    (void)talkers_->remove_source(leg->mixer_id);
    (void)mute_.remove_member(id);
    legs_[leg->slot - config_.max_streams].reset();
    emit_simple(Event::Type::kLeft, id);
    return {};
  }

  Status force_mute(const std::string& id, bool muted) override {
    auto r = mute_.force_mute(id, muted);
    return r.ok() ? Status() : r.status();
  }

  Status force_mute_session(bool muted, bool active, const std::vector<std::string>& excluded) override {
    mute_.force_mute_session(muted, active, excluded);
    return {};
  }

  Status play_dtmf(const std::string& leg_id, const std::string& digits) override {
    Leg* leg = find_leg(leg_id);
    if (!leg) return not_found("play_dtmf: no such leg \"" + leg_id + "\"");
    if (!leg->dtmf_tx) return invalid_argument("play_dtmf: leg \"" + leg_id + "\" has no telephone-event negotiated");
    return leg->dtmf_tx->play(digits);
  }

  Status request_keyframe(const std::string& leg_id) override {
    Leg* leg = find_leg(leg_id);
    if (!leg) return not_found("request_keyframe: no such leg \"" + leg_id + "\"");
    if (leg->video_encoder) leg->video_encoder->request_keyframe();
    return {};
  }

  // ---- network threads -----------------------------------------------------

  void push_rtp(PushHandle h, std::span<const uint8_t> packet) override {
    const int64_t now = clock_->now_us();
    if (h.slot < 0) return;
    if (h.slot < config_.max_streams) {
      Stream* s = streams_[h.slot].get();
      if (!s) return;
      if (s->audio) (void)s->audio->insert(packet, now);
      else if (s->video) (void)s->video->insert(packet, now);
      return;
    }
    const size_t index = static_cast<size_t>(h.slot - config_.max_streams);
    if (index >= legs_.size() || !legs_[index]) return;
    Leg& leg = *legs_[index];
    std::span<const uint8_t> clear = packet;
    if (leg.srtp) {
      if (packet.empty() || packet.size() > leg.push_scratch.size()) return;
      std::memcpy(leg.push_scratch.data(), packet.data(), packet.size());
      const srtp::SrtpOutput r = leg.srtp->unprotect_rtp({leg.push_scratch.data(), packet.size()});
      if (!r.ok()) return;  // counted by the SRTP session; no state changed
      clear = {leg.push_scratch.data(), r.size};
    }
    if (clear.size() < rtp::kRtpHeaderSize) return;
    const uint8_t pt = clear[1] & 0x7F;
    const LegConfig& c = leg.config;
    if (c.telephone_event_payload_type >= 0 && pt == c.telephone_event_payload_type) {
      if (!leg.event_queue->try_push(clear, now)) leg.queue_overflows.fetch_add(1, std::memory_order_relaxed);
    } else if (pt == c.audio_payload_type) {
      (void)leg.audio_in->insert(clear, now);
    } else if (c.video && pt == c.video_payload_type && leg.video_queue) {
      if (!leg.video_queue->try_push(clear, now)) leg.queue_overflows.fetch_add(1, std::memory_order_relaxed);
    } else {
      leg.unknown_payload_type.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void push_rtcp(PushHandle h, std::span<const uint8_t> packet) override {
    const int64_t now = clock_->now_us();
    // An empty packet is no RTCP; queued, it would read as "queue empty".
    if (h.slot < 0 || packet.empty()) return;
    if (h.slot < config_.max_streams) {
      if (Stream* s = streams_[h.slot].get()) (void)s->rtcp_queue->try_push(packet, now);
      return;
    }
    const size_t index = static_cast<size_t>(h.slot - config_.max_streams);
    if (index >= legs_.size() || !legs_[index]) return;
    Leg& leg = *legs_[index];
    if (leg.srtp) {
      if (packet.size() > leg.push_scratch.size()) return;
      std::memcpy(leg.push_scratch.data(), packet.data(), packet.size());
      const srtp::SrtpOutput r = leg.srtp->unprotect_rtcp({leg.push_scratch.data(), packet.size()});
      if (!r.ok()) return;
      (void)leg.rtcp_queue->try_push({leg.push_scratch.data(), r.size}, now);
      return;
    }
    (void)leg.rtcp_queue->try_push(packet, now);
  }

  // ---- tick ----------------------------------------------------------------

  void tick() override {
    const int64_t now = clock_->now_us();
    const int64_t t0 = timer_.mark();
    run_due_ticks(now);
    if (timer_.enabled()) timer_.add_total(StageTimer::now_ns() - t0);
  }

  SessionStats stats() const override {
    SessionStats out;
    out.ticks = ticks_;
    out.distinct_audio_encodes = distinct_encodes_;
    out.stages = timer_.times();
    for (const auto& s : streams_) {
      if (!s) continue;
      StreamStats st;
      st.id = s->config.id;
      const JitterStats j = s->audio ? s->audio->jitter_stats() : s->video->jitter_stats();
      st.received = j.received;
      st.lost = j.lost > 0 ? static_cast<uint64_t>(j.lost) : 0;
      st.late = j.late;
      st.duplicate = j.duplicate;
      st.reordered = j.reordered;
      st.discarded = j.discarded;
      st.jitter_ms = j.jitter_ms;
      st.current_delay_ms = j.current_delay_ms;
      st.target_delay_ms = j.target_delay_ms;
      if (s->audio) {
        st.concealed_frames = s->audio->codec_stats().frames_concealed;
        st.decoded_frames = s->audio->codec_stats().frames_decoded;
        st.decode_errors = s->audio->codec_stats().decode_errors;
        st.level_dbfs = s->audio->level_dbov();
        const AccelerateStats& a = s->audio->accelerate_stats();
        st.accelerate_ops = a.ops;
        st.accelerated_ms = a.removed_samples * 1000 / audio::kMixSampleRateHz;
        st.playout_delay_ms = a.playout_delay_ms;
        st.skipped_silent = s->audio->skipped_silent();
      } else {
        st.decoded_frames = s->video->decoder_stats().frames_decoded;
        st.decode_errors = s->video->decoder_stats().decode_errors;
        st.keyframe_requests = s->video->keyframe_requests_sent();
      }
      out.streams.push_back(st);
    }
    for (const auto& l : legs_) {
      if (!l) continue;
      LegStats st = l->stats;
      st.id = l->config.id;
      st.muted = l->muted;
      if (l->srtp) {
        const srtp::SrtpStats ss = l->srtp->stats();
        st.srtp_auth_failures = ss.auth_failures;
        st.srtp_replays = ss.replays;
      }
      out.legs.push_back(st);
    }
    return out;
  }

 private:
  // ---- configuration helpers ------------------------------------------------

  Status validate_leg(const LegConfig& c) {
    if (c.id.empty()) return invalid_argument("leg.id: must not be empty");
    if (find_leg(c.id) || find_stream(c.id)) return invalid_argument("leg.id: \"" + c.id + "\" already exists");
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

  Status build_leg(Leg& leg) {
    const LegConfig& c = leg.config;
    leg.push_scratch.reset(kMaxPacket + srtp::kSrtpMaxOverhead);
    leg.send_buffer.reset(kMaxPacket + srtp::kSrtpMaxOverhead);
    leg.pop_buffer.reset(kMaxPacket);
    if (c.secure) {
      const srtp::SrtpSuite suite = c.srtp_suite == "AES_CM_128_HMAC_SHA1_32" ? srtp::SrtpSuite::kAesCm128HmacSha1_32
                                                                                 : srtp::SrtpSuite::kAesCm128HmacSha1_80;
      if (c.srtp_suite != "AES_CM_128_HMAC_SHA1_32" && c.srtp_suite != "AES_CM_128_HMAC_SHA1_80")
        return invalid_argument("srtp_suite: must be AES_CM_128_HMAC_SHA1_80 or AES_CM_128_HMAC_SHA1_32");
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

    // Send side: the mix at the leg's codec rate.
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
    leg.prompt_frame.reset(audio::kMixFrameSamples);

    if (c.video) {
      video::LayoutOptions lo;
      lo.canvas_width = c.width;
      lo.canvas_height = c.height;
      lo.fit = c.crop_to_fill ? video::FitMode::kCrop : video::FitMode::kLetterbox;
      lo.highlight_active_speaker = true;
      // Small canvases (validate_leg accepts 64x64) get a thinner speaker
      // border, or none, instead of failing the layout's 3x3 check.
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
      auto venc = video::VideoEncoder::create(vc);
      if (!venc.ok()) return venc.status();
      leg.video_encoder = std::move(*venc);
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
    }
    return {};
  }

  // Prompts are shared by every leg that names the same files.
  Status load_prompts(const audio::MutePromptPaths& paths) {
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

  Stream* find_stream(const std::string& id) {
    for (auto& s : streams_)
      if (s && s->config.id == id) return s.get();
    return nullptr;
  }
  Leg* find_leg(const std::string& id) {
    for (auto& l : legs_)
      if (l && l->config.id == id) return l.get();
    return nullptr;
  }

  // ---- moderation -----------------------------------------------------------

  void apply_mute(Stream& s) {
    s.muted = mute_.is_muted(s.config.id);
    if (s.audio) (void)mixer_->set_source_muted(static_cast<uint32_t>(s.slot), s.muted);
  }

  void on_mute_event(const dtmf::MuteEvent& e) {
    const std::string id(e.stream_id);
    Event ev;
    ev.type = Event::Type::kMuteChanged;
    ev.time_us = clock_->now_us();
    ev.id = id;
    ev.muted = e.muted;
    ev.cause = dtmf::to_string(e.cause);
    if (Leg* leg = find_leg(id)) {
      leg->muted = e.muted;
      (void)mixer_->set_source_muted(leg->mixer_id, e.muted);
      leg->prompt.start(e.muted ? prompts_->muted : prompts_->unmuted);
      sink_->on_event(ev);
      Event a;
      a.type = Event::Type::kAnnouncement;
      a.time_us = ev.time_us;
      a.id = id;
      a.muted = e.muted;
      sink_->on_event(a);
      return;
    }
    if (Stream* s = find_stream(id)) {
      s->muted = e.muted;
      if (s->audio) (void)mixer_->set_source_muted(static_cast<uint32_t>(s->slot), e.muted);
    }
    sink_->on_event(ev);
  }

  void emit_simple(Event::Type t, const std::string& id) {
    Event e;
    e.type = t;
    e.time_us = clock_->now_us();
    e.id = id;
    sink_->on_event(e);
  }

  // Runs every audio and video tick due by `now`.
  void run_due_ticks(int64_t now) {
    for (;;) {
      // The earliest due tick first, audio before video at the same instant.
      int64_t next = next_audio_us_;
      Leg* video_leg = nullptr;
      for (auto& l : legs_)
        if (l && l->video_encoder && l->next_video_us < next) {
          next = l->next_video_us;
          video_leg = l.get();
        }
      if (next > now) break;
      if (video_leg) {
        video_tick(*video_leg, video_leg->next_video_us);
        video_leg->next_video_us += video_leg->video_frame_us;
      } else {
        audio_tick(next_audio_us_);
        next_audio_us_ += kAudioTickUs;
      }
    }
  }

  // ---- audio tick -------------------------------------------------------------

  void audio_tick(int64_t t_us) {
    ++ticks_;
    const int64_t t_ms = t_us / 1000;
    // Participants' audio.
    for (auto& sp : streams_) {
      if (!sp || !sp->audio) continue;
      Stream& s = *sp;
      const int64_t t0 = timer_.mark();
      s.has_frame = s.audio->pull(t_us, &timer_);
      timer_.add(Stage::kAudioIn, t0);
      const uint32_t id = static_cast<uint32_t>(s.slot);
      if (s.has_frame) (void)mixer_->set_source_frame(id, s.audio->frame());
      talkers_->update(id, s.has_frame && !s.muted ? s.audio->level_dbov() : audio::TalkerDetector::kSilenceDbov);
      drain_stream_rtcp(s);
    }
    // Legs: events, their own audio in, prompts.
    for (auto& lp : legs_) {
      if (!lp) continue;
      Leg& leg = *lp;
      drain_leg_events(leg, t_ms);
      drain_leg_rtcp(leg);
      forward_leg_video(leg);
      int64_t t0 = timer_.mark();
      leg.has_audio_frame = leg.audio_in->pull(t_us, &timer_);
      t0 = timer_.add(Stage::kAudioIn, t0);
      if (leg.has_audio_frame) (void)mixer_->set_source_frame(leg.mixer_id, leg.audio_in->frame());
      talkers_->update(leg.mixer_id, leg.has_audio_frame && !leg.muted ? leg.audio_in->level_dbov()
                                                                       : audio::TalkerDetector::kSilenceDbov);
      if (leg.prompt.playing()) {
        leg.prompt.next_frame({leg.prompt_frame.data(), audio::kMixFrameSamples});
        (void)mixer_->set_private_frame(leg.mixer_id, leg.prompt_frame.data());
      }
      timer_.add(Stage::kMix, t0);
      send_to_session(leg);
    }
    const int64_t t0 = timer_.mark();
    talkers_->end_tick();
    for (auto& sp : streams_)
      if (sp && sp->audio && talkers_->is_active(static_cast<uint32_t>(sp->slot))) sp->last_active_ms = t_ms;

    mixer_->mix();
    timer_.add(Stage::kMix, t0);

    // Encode once per distinct (mix, codec): followers reuse the payload.
    for (size_t i = 0; i < legs_.size(); ++i) {
      if (!legs_[i]) continue;
      Leg& leg = *legs_[i];
      const uint32_t group = mixer_->mix_group(leg.mixer_id);
      const Leg* shared = nullptr;
      for (size_t j = 0; j < i && !shared; ++j)
        if (legs_[j] && legs_[j]->payload_size && mixer_->mix_group(legs_[j]->mixer_id) == group &&
            legs_[j]->config.audio_codec == leg.config.audio_codec)
          shared = legs_[j].get();
      send_mix_to_leg(leg, shared);
    }
  }

  void send_mix_to_leg(Leg& leg, const Leg* shared) {
    const audio::CodecInfo& info = audio::codec_info(leg.encoder->codec());
    const uint32_t ts_step = static_cast<uint32_t>(info.rtp_clock_hz / 50);
    const uint32_t ts = leg.audio_out.timestamp;
    leg.audio_out.timestamp += ts_step;
    int64_t t0 = timer_.mark();
    if (leg.dtmf_tx) {
      const size_t n = leg.dtmf_tx->on_audio_tick(ts, leg.audio_out.sequence_number,
                                                  {leg.send_buffer.data(), leg.send_buffer.size()});
      t0 = timer_.add(Stage::kSend, t0);
      if (n > 0) {
        ++leg.stats.dtmf_packets_sent;
        leg.payload_size = 0;
        send_to_leg_rtp(leg, n);
        return;
      }
    }
    if (shared) {
      std::memcpy(leg.payload.data(), shared->payload.data(), shared->payload_size);
      leg.payload_size = shared->payload_size;
      ++leg.stats.audio_encodes_shared;
    } else {
      const std::span<const int16_t> mix = mixer_->output(leg.mixer_id);
      const size_t n = leg.to_leg_rate->process(mix, {leg.leg_rate_frame.data(), leg.leg_rate_frame.size()});
      t0 = timer_.add(Stage::kMix, t0);
      leg.payload_size = n == leg.encoder->frame_samples()
                             ? leg.encoder->encode({leg.leg_rate_frame.data(), n}, {leg.payload.data(), leg.payload.size()})
                             : 0;
      t0 = timer_.add(Stage::kAudioEncode, t0);
      ++distinct_encodes_;
    }
    if (leg.payload_size == 0) return;
    rtp::RtpHeader h;
    h.payload_type = leg.config.audio_payload_type;
    h.sequence_number = leg.audio_out.sequence_number++;
    h.timestamp = ts;
    h.ssrc = leg.audio_out.ssrc;
    const size_t n = rtp::write_rtp(h, {}, {leg.payload.data(), leg.payload_size},
                                    {leg.send_buffer.data(), kMaxPacket});
    timer_.add(Stage::kSend, t0);
    if (n == 0) return;
    ++leg.stats.audio_packets_sent;
    send_to_leg_rtp(leg, n);
  }

  // Protects (secure legs) and hands one packet in send_buffer to the sink.
  void send_to_leg_rtp(Leg& leg, size_t size) {
    std::span<uint8_t> buf{leg.send_buffer.data(), leg.send_buffer.size()};
    if (leg.srtp) {
      const int64_t t0 = timer_.mark();
      const srtp::SrtpOutput r = leg.srtp->protect_rtp(buf, size);
      timer_.add(Stage::kSend, t0);
      if (!r.ok()) return;
      size = r.size;
    }
    emit_rtp(leg.config.id, Direction::kToLeg, buf.first(size));
  }

  // Every RTP packet leaves through here, so the embedder's time is counted.
  void emit_rtp(const std::string& id, Direction dir, std::span<const uint8_t> packet) {
    const int64_t t0 = timer_.mark();
    sink_->on_rtp(id, dir, packet);
    timer_.add(Stage::kSink, t0);
  }

  void send_to_session(Leg& leg) {
    const uint32_t ts = leg.session_out.timestamp;
    leg.session_out.timestamp += 960;
    if (leg.muted && leg.config.stop_stream_when_muted) return;
    const int16_t* pcm = leg.muted || !leg.has_audio_frame ? leg.silence.data() : leg.audio_in->frame();
    int64_t t0 = timer_.mark();
    const size_t n = leg.session_encoder->encode({pcm, audio::kMixFrameSamples}, {leg.payload.data(), leg.payload.size()});
    t0 = timer_.add(Stage::kAudioEncode, t0);
    if (n == 0) return;
    rtp::RtpHeader h;
    h.payload_type = leg.config.session_opus_payload_type;
    h.sequence_number = leg.session_out.sequence_number++;
    h.timestamp = ts;
    h.ssrc = leg.session_out.ssrc;
    uint8_t packet[kMaxPacket];
    const size_t size = rtp::write_rtp(h, {}, {leg.payload.data(), n}, packet);
    timer_.add(Stage::kSend, t0);
    if (size == 0) return;
    ++leg.stats.session_packets_sent;
    emit_rtp(leg.config.id, Direction::kToSession, {packet, size});
  }

  void drain_leg_events(Leg& leg, int64_t t_ms) {
    if (!leg.dtmf_rx) {
      while (leg.event_queue->try_pop({leg.pop_buffer.data(), leg.pop_buffer.size()})) {
      }
      return;
    }
    for (;;) {
      const size_t n = leg.event_queue->try_pop({leg.pop_buffer.data(), leg.pop_buffer.size()});
      if (!n) break;
      leg.dtmf_rx->on_packet(std::span<const uint8_t>(leg.pop_buffer.data(), n), t_ms);
    }
    leg.dtmf_rx->poll(t_ms);
    dtmf::DtmfEvent d;
    while (leg.dtmf_rx->pop_event(d)) {
      ++leg.stats.dtmf_events_received;
      Event e;
      e.type = Event::Type::kDigit;
      e.time_us = t_ms * 1000;
      e.id = leg.config.id;
      e.digit = d.digit;
      e.duration_ms = static_cast<int>(d.duration_ms);
      sink_->on_event(e);
      if (leg.matcher && leg.matcher->on_digit(d.digit, d.start_ms, d.end_ms)) (void)mute_.on_self_mute_toggle(leg.config.id);
    }
  }

  // PLI/FIR from the leg ask for a keyframe of its composed video.
  void drain_leg_rtcp(Leg& leg) {
    for (;;) {
      const size_t n = leg.rtcp_queue->try_pop({leg.pop_buffer.data(), leg.pop_buffer.size()});
      if (!n) break;
      rtcp_leg_ = &leg;
      (void)rtp::parse_rtcp({leg.pop_buffer.data(), n}, *this);
      rtcp_leg_ = nullptr;
    }
  }
  void on_pli(const rtp::Pli&) override {
    if (rtcp_leg_ && rtcp_leg_->video_encoder) rtcp_leg_->video_encoder->request_keyframe();
  }
  void on_fir(const rtp::Fir&) override {
    if (rtcp_leg_ && rtcp_leg_->video_encoder) rtcp_leg_->video_encoder->request_keyframe();
  }

  // Participants' RTCP: nothing here needs it yet beyond draining.
  void drain_stream_rtcp(Stream& s) {
    uint8_t buf[kMaxPacket];
    while (s.rtcp_queue->try_pop(buf)) {
    }
  }

  // The SIP leg's video goes into the session as it is.
  void forward_leg_video(Leg& leg) {
    if (!leg.video_queue) return;
    for (;;) {
      const size_t n = leg.video_queue->try_pop({leg.pop_buffer.data(), leg.pop_buffer.size()});
      if (!n) break;
      emit_rtp(leg.config.id, Direction::kToSession, {leg.pop_buffer.data(), n});
    }
  }

  // ---- video tick -------------------------------------------------------------

  void decode_video(int64_t t_us) {
    if (t_us <= last_video_decode_us_) return;
    last_video_decode_us_ = t_us;
    for (auto& sp : streams_) {
      if (!sp || !sp->video) continue;
      const int64_t t0 = timer_.mark();
      const bool pli = sp->video->process(t_us, &timer_);
      timer_.add(Stage::kVideoIn, t0);
      if (pli) send_pli(*sp, t_us);
    }
  }

  void send_pli(Stream& s, int64_t t_us) {
    uint8_t buf[64];
    rtp::Pli pli;
    pli.sender_ssrc = s.sender_ssrc;
    pli.media_ssrc = s.video->ssrc();
    const size_t n = rtp::write_pli(pli, buf);
    if (n) sink_->on_rtcp(s.config.id, Direction::kToStream, {buf, n});
    Event e;
    e.type = Event::Type::kKeyframeRequest;
    e.time_us = t_us;
    e.id = s.config.id;
    sink_->on_event(e);
  }

  // Last time the participant behind `participant` was an active speaker.
  std::optional<int64_t> participant_active_ms(const std::string& participant) const {
    std::optional<int64_t> best;
    for (const auto& sp : streams_)
      if (sp && sp->audio && sp->config.participant == participant && sp->last_active_ms >= 0)
        best = std::max(best.value_or(-1), sp->last_active_ms);
    return best;
  }

  void video_tick(Leg& leg, int64_t t_us) {
    decode_video(t_us);
    int64_t t0 = timer_.mark();
    // Candidates: every video stream except the leg's own.
    std::array<video::StreamCandidate, 64> cand;
    size_t n = 0;
    for (const auto& sp : streams_) {
      if (!sp || !sp->video || sp->config.participant == leg.config.participant || n == cand.size()) continue;
      cand[n].stream_id = static_cast<uint64_t>(sp->slot);
      cand[n].join_order = sp->join_order;
      cand[n].last_active_ms = participant_active_ms(sp->config.participant);
      ++n;
    }
    // The layout depends only on who is there, their join order and who spoke
    // last; re-run it (it allocates) only when one of those changed.
    uint64_t sig = 1469598103934665603ull ^ n;
    int64_t newest = -1;
    uint64_t speaker = ~uint64_t{0};
    for (size_t i = 0; i < n; ++i) {
      sig = (sig ^ (cand[i].stream_id * 0x9E3779B97F4A7C15ull + cand[i].join_order)) * 1099511628211ull;
      if (cand[i].last_active_ms && *cand[i].last_active_ms > newest) {
        newest = *cand[i].last_active_ms;
        speaker = cand[i].stream_id;
      }
    }
    sig ^= speaker * 0xC2B2AE3D27D4EB4Full;
    if (!leg.layout_valid || sig != leg.layout_signature || n > static_cast<size_t>(video::kMaxTiles)) {
      (void)leg.layout->update({cand.data(), n}, std::nullopt);
      leg.layout_signature = sig;
      leg.layout_valid = true;
    }
    std::array<video::TileInput, video::kMaxTiles> tiles;
    size_t count = 0;
    for (const video::LayoutSlot& slot : leg.layout->slots()) {
      const Stream& s = *streams_[slot.stream_id];
      video::TileInput& t = tiles[count++];
      t.stream_id = slot.stream_id;
      t.cell = slot.cell;
      t.frame = s.video->frame();
      t.generation = s.video->generation();
      t.no_video = s.video->last_frame_us() < 0 ? false
                                                 : t_us - s.video->last_frame_us() > int64_t{config_.no_video_timeout_ms} * 1000;
      t.highlight = slot.highlight;
    }
    (void)leg.compositor->compose({tiles.data(), count});
    t0 = timer_.add(Stage::kCompose, t0);
    if (sink_->wants_composed_frame(leg.config.id, t_us)) {
      const video::I420View c = leg.compositor->canvas();
      sink_->on_composed_frame(leg.config.id, t_us, {c.y, c.u, c.v, c.stride_y, c.stride_u, c.stride_v, c.width, c.height});
      t0 = timer_.add(Stage::kSink, t0);
    }
    video::EncodedFrame ef;
    const bool encoded = leg.video_encoder->encode(leg.compositor->canvas(), t_us, &ef);
    t0 = timer_.add(Stage::kVideoEncode, t0);
    if (!encoded || ef.data.empty()) return;
    ++leg.stats.video_frames_encoded;
    if (ef.keyframe) ++leg.stats.video_keyframes;
    const uint32_t ts = static_cast<uint32_t>(t_us * 9 / 100);
    leg.video_packets->clear();
    const bool ok = std::visit(
        [&](auto& p) {
          if constexpr (std::is_same_v<std::decay_t<decltype(p)>, std::monostate>) return false;
          else return p.packetize(ef.data, ts, *leg.video_packets);
        },
        leg.packetizer);
    timer_.add(Stage::kSend, t0);
    if (!ok) return;
    for (size_t i = 0; i < leg.video_packets->size(); ++i) {
      const auto pkt = (*leg.video_packets)[i];
      if (!leg.srtp) {  // clear legs take the packet where the packetizer wrote it
        emit_rtp(leg.config.id, Direction::kToLeg, pkt);
        continue;
      }
      std::memcpy(leg.send_buffer.data(), pkt.data(), pkt.size());
      send_to_leg_rtp(leg, pkt.size());
    }
  }

  SessionConfig config_;
  Clock* clock_;
  SessionSink* sink_;
  std::unique_ptr<audio::NMinus1Mixer> mixer_;
  std::unique_ptr<audio::TalkerDetector> talkers_;
  dtmf::MuteController mute_;
  std::unique_ptr<audio::MutePrompts> prompts_;
  audio::MutePromptPaths prompt_paths_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<std::unique_ptr<Leg>> legs_;
  Leg* rtcp_leg_ = nullptr;
  int64_t next_audio_us_ = 0;
  int64_t last_video_decode_us_ = -1;
  StageTimer timer_;
  uint64_t join_counter_ = 0;
  uint64_t ticks_ = 0;
  uint64_t distinct_encodes_ = 0;
};

}  // namespace
}  // namespace session

StatusOr<std::unique_ptr<Session>> Session::create(const SessionConfig& config, Clock* clock, SessionSink* sink) {
  if (!clock) return invalid_argument("clock: must not be null");
  if (!sink) return invalid_argument("sink: must not be null");
  if (config.resampler_quality < 3 || config.resampler_quality > 10)
    return invalid_argument("resampler_quality: must be 3..10");
  if (config.max_streams < 1 || config.max_streams > 256) return invalid_argument("max_streams: must be 1..256");
  if (config.max_legs < 1 || config.max_legs > 64) return invalid_argument("max_legs: must be 1..64");
  if (config.no_video_timeout_ms < 1) return invalid_argument("no_video_timeout_ms: must be positive");
  if (config.dtmf_inter_digit_timeout_ms < 100) return invalid_argument("dtmf_inter_digit_timeout_ms: must be >= 100");
  if (config.jitter_min_delay_ms < 0 || config.jitter_max_delay_ms < config.jitter_min_delay_ms)
    return invalid_argument("jitter_min_delay_ms/jitter_max_delay_ms: need 0 <= min <= max");
  audio::MixerConfig mc;
  mc.max_sources = static_cast<size_t>(config.max_streams + config.max_legs);
  mc.max_outputs = static_cast<size_t>(config.max_legs);
  auto mixer = audio::NMinus1Mixer::create(mc);
  if (!mixer.ok()) return mixer.status();
  audio::TalkerConfig tc;
  tc.max_sources = mc.max_sources;
  auto talkers = audio::TalkerDetector::create(tc);
  if (!talkers.ok()) return talkers.status();
  return std::unique_ptr<Session>(
      new session::SessionImpl(config, clock, sink, std::move(*mixer), std::move(*talkers)));
}

}  // namespace sipmix
