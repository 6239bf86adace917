// The leg's own receive side: demux of what the SIP side sends (network
// thread), and the draining of its queues on the tick thread.
#include "session/leg.h"

#include <cstring>

#include "rtp/rtp_packet.h"
#include "session/packet_output.h"

namespace sipmix::session {

void Leg::receive_rtp(std::span<const uint8_t> packet, int64_t now_us) {
  std::span<const uint8_t> clear = packet;
  if (srtp) {
    if (packet.empty() || packet.size() > push_scratch.size()) return;
    std::memcpy(push_scratch.data(), packet.data(), packet.size());
    const srtp::SrtpOutput r = srtp->unprotect_rtp({push_scratch.data(), packet.size()});
    if (!r.ok()) return;  // counted by the SRTP session; no state changed
    clear = {push_scratch.data(), r.size};
  }
  if (clear.size() < rtp::kRtpHeaderSize) return;
  const uint8_t pt = clear[1] & 0x7F;
  const LegConfig& c = config;
  if (c.telephone_event_payload_type >= 0 && pt == c.telephone_event_payload_type) {
    if (!event_queue->try_push(clear, now_us)) queue_overflows.fetch_add(1, std::memory_order_relaxed);
  } else if (pt == c.audio_payload_type) {
    (void)audio_in->insert(clear, now_us);
  } else if (c.video && pt == c.video_payload_type && video_queue) {
    if (!video_queue->try_push(clear, now_us)) queue_overflows.fetch_add(1, std::memory_order_relaxed);
  } else {
    unknown_payload_type.fetch_add(1, std::memory_order_relaxed);
  }
}

void Leg::receive_rtcp(std::span<const uint8_t> packet, int64_t now_us) {
  if (srtp) {
    if (packet.size() > push_scratch.size()) return;
    std::memcpy(push_scratch.data(), packet.data(), packet.size());
    const srtp::SrtpOutput r = srtp->unprotect_rtcp({push_scratch.data(), packet.size()});
    if (!r.ok()) return;
    (void)rtcp_queue->try_push({push_scratch.data(), r.size}, now_us);
    return;
  }
  (void)rtcp_queue->try_push(packet, now_us);
}

void Leg::drain_events(int64_t t_ms, SessionSink& sink, dtmf::MuteController& mute) {
  if (!dtmf_rx) {
    while (event_queue->try_pop({pop_buffer.data(), pop_buffer.size()})) {
    }
    return;
  }
  for (;;) {
    const size_t n = event_queue->try_pop({pop_buffer.data(), pop_buffer.size()});
    if (!n) break;
    dtmf_rx->on_packet(std::span<const uint8_t>(pop_buffer.data(), n), t_ms);
  }
  dtmf_rx->poll(t_ms);
  dtmf::DtmfEvent d;
  while (dtmf_rx->pop_event(d)) {
    ++stats.dtmf_events_received;
    Event e;
    e.type = Event::Type::kDigit;
    e.time_us = t_ms * 1000;
    e.id = config.id;
    e.digit = d.digit;
    e.duration_ms = static_cast<int>(d.duration_ms);
    sink.on_event(e);
    if (matcher && matcher->on_digit(d.digit, d.start_ms, d.end_ms)) (void)mute.on_self_mute_toggle(config.id);
  }
}

void Leg::pull_audio(int64_t t_us, StageTimer& timer, audio::NMinus1Mixer& mixer, audio::TalkerDetector& talkers) {
  int64_t t0 = timer.mark();
  has_audio_frame = audio_in->pull(t_us, &timer);
  t0 = timer.add(Stage::kAudioIn, t0);
  if (has_audio_frame) (void)mixer.set_source_frame(mixer_id, audio_in->frame());
  talkers.update(mixer_id, has_audio_frame && !muted ? audio_in->level_dbov() : audio::TalkerDetector::kSilenceDbov);
  if (prompt.playing()) {
    prompt.next_frame({prompt_frame.data(), audio::kMixFrameSamples});
    (void)mixer.set_private_frame(mixer_id, prompt_frame.data());
  }
  timer.add(Stage::kMix, t0);
}

void Leg::set_muted(bool muted_now, audio::NMinus1Mixer& mixer) {
  muted = muted_now;
  (void)mixer.set_source_muted(mixer_id, muted);
  prompt.start(muted ? prompts->muted : prompts->unmuted);
}

void Leg::drain_rtcp() {
  for (;;) {
    const size_t n = rtcp_queue->try_pop({pop_buffer.data(), pop_buffer.size()});
    if (!n) break;
    (void)rtp::parse_rtcp({pop_buffer.data(), n}, *this);
  }
}

void Leg::on_pli(const rtp::Pli&) {
  if (video_encoder) video_encoder->request_keyframe();
}

void Leg::on_fir(const rtp::Fir&) {
  if (video_encoder) video_encoder->request_keyframe();
}

void Leg::forward_video(PacketOutput& out) {
  if (!video_queue) return;
  for (;;) {
    const size_t n = video_queue->try_pop({pop_buffer.data(), pop_buffer.size()});
    if (!n) break;
    out.emit_rtp(config.id, Direction::kToSession, {pop_buffer.data(), n});
  }
}

LegStats Leg::report() const {
  LegStats st = stats;
  st.id = config.id;
  st.muted = muted;
  if (video_encoder) {
    st.video_frames_skipped = video_encoder->stats().frames_skipped;
    st.video_frames_partial = video_encoder->stats().partial_frames;
  }
  if (srtp) {
    const srtp::SrtpStats ss = srtp->stats();
    st.srtp_auth_failures = ss.auth_failures;
    st.srtp_replays = ss.replays;
  }
  return st;
}

}  // namespace sipmix::session
