// A participant's stream: building its input pipeline, the push side, stats.
#include "session/stream.h"

#include "rtp/rtcp.h"

#include "session/codec_map.h"
#include "session/common.h"

namespace sipmix::session {

StatusOr<std::unique_ptr<Stream>> build_stream(const StreamConfig& c, const SessionConfig& session, int slot,
                                               uint64_t join_order) {
  auto s = std::make_unique<Stream>();
  s->config = c;
  if (s->config.participant.empty()) s->config.participant = c.id;
  s->slot = slot;
  s->join_order = join_order;
  s->sender_ssrc = make_ssrc(c.id, 7);
  s->rtcp_queue = std::make_unique<SpscPacketQueue>(16, kMaxPacket);
  if (c.kind == MediaKind::kAudio) {
    AudioInputConfig ac;
    ac.codec = to_engine(c.audio_codec);
    ac.payload_type = c.payload_type;
    ac.audio_level_ext_id = c.audio_level_ext_id;
    ac.skip_silent_decode = session.skip_silent_decode;
    ac.resampler_quality = session.resampler_quality;
    ac.min_delay_ms = session.jitter_min_delay_ms;
    ac.max_delay_ms = session.jitter_max_delay_ms;
    auto in = AudioInput::create(ac);
    if (!in.ok()) return Status(in.status().code(), "stream \"" + c.id + "\": " + in.status().message());
    s->audio = std::move(*in);
  } else {
    if (c.video_codec == VideoCodec::kNone) return invalid_argument("stream.video_codec: a video stream needs vp8 or h264");
    auto in = VideoInput::create(to_engine(c.video_codec), c.payload_type, session.jitter_max_delay_ms);
    if (!in.ok()) return Status(in.status().code(), "stream \"" + c.id + "\": " + in.status().message());
    s->video = std::move(*in);
  }
  return s;
}

void Stream::receive_rtp(std::span<const uint8_t> packet, int64_t now_us) {
  if (audio) (void)audio->insert(packet, now_us);
  else if (video) (void)video->insert(packet, now_us);
}

void Stream::receive_rtcp(std::span<const uint8_t> packet, int64_t now_us) {
  (void)rtcp_queue->try_push(packet, now_us);
}

void Stream::pull_audio(int64_t t_us, StageTimer& timer, audio::NMinus1Mixer& mixer,
                        audio::TalkerDetector& talkers) {
  const int64_t t0 = timer.mark();
  has_frame = audio->pull(t_us, &timer);
  timer.add(Stage::kAudioIn, t0);
  const uint32_t id = static_cast<uint32_t>(slot);
  if (has_frame) (void)mixer.set_source_frame(id, audio->frame());
  talkers.update(id, has_frame && !muted ? audio->level_dbov() : audio::TalkerDetector::kSilenceDbov);
}

void Stream::decode_video(int64_t t_us, StageTimer& timer, SessionSink& sink, bool shown) {
  const int64_t t0 = timer.mark();
  const bool wants_keyframe = video->process(t_us, &timer, shown);
  timer.add(Stage::kVideoIn, t0);
  if (!wants_keyframe) return;
  uint8_t buf[64];
  rtp::Pli pli;
  pli.sender_ssrc = sender_ssrc;
  pli.media_ssrc = video->ssrc();
  const size_t n = rtp::write_pli(pli, buf);
  if (n) sink.on_rtcp(config.id, Direction::kToStream, {buf, n});
  Event e;
  e.type = Event::Type::kKeyframeRequest;
  e.time_us = t_us;
  e.id = config.id;
  sink.on_event(e);
}

void Stream::set_muted(bool muted_now, audio::NMinus1Mixer& mixer) {
  muted = muted_now;
  if (audio) (void)mixer.set_source_muted(static_cast<uint32_t>(slot), muted);
}

void Stream::drain_rtcp() {
  uint8_t buf[kMaxPacket];
  while (rtcp_queue->try_pop(buf)) {
  }
}

StreamStats Stream::stats() const {
  StreamStats st;
  st.id = config.id;
  const JitterStats j = audio ? audio->jitter_stats() : video->jitter_stats();
  st.received = j.received;
  st.lost = j.lost > 0 ? static_cast<uint64_t>(j.lost) : 0;
  st.late = j.late;
  st.duplicate = j.duplicate;
  st.reordered = j.reordered;
  st.discarded = j.discarded;
  st.jitter_ms = j.jitter_ms;
  st.current_delay_ms = j.current_delay_ms;
  st.target_delay_ms = j.target_delay_ms;
  if (audio) {
    st.concealed_frames = audio->codec_stats().frames_concealed;
    st.decoded_frames = audio->codec_stats().frames_decoded;
    st.decode_errors = audio->codec_stats().decode_errors;
    st.level_dbfs = audio->level_dbov();
    const AccelerateStats& a = audio->accelerate_stats();
    st.accelerate_ops = a.ops;
    st.accelerated_ms = a.removed_samples * 1000 / audio::kMixSampleRateHz;
    st.playout_delay_ms = a.playout_delay_ms;
    st.skipped_silent = audio->skipped_silent();
  } else {
    st.decoded_frames = video->decoder_stats().frames_decoded;
    st.decode_errors = video->decoder_stats().decode_errors;
    st.unchanged_frames = video->decoder_stats().unchanged_frames;
    st.frames_not_shown = video->frames_not_decoded();
    st.switches = video->resumes();
    const int64_t lat = video->last_resume_latency_us();
    st.switch_latency_ms = lat < 0 ? -1 : static_cast<int>(lat / 1000);
    st.keyframe_requests = video->keyframe_requests_sent();
  }
  return st;
}

}  // namespace sipmix::session
