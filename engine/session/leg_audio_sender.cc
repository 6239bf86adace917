#include "session/leg_audio_sender.h"

#include <cstring>

#include "rtp/rtp_packet.h"
#include "session/common.h"

namespace sipmix::session {

void LegAudioSender::send_to_session(Leg& leg) {
  const uint32_t ts = leg.session_out.timestamp;
  leg.session_out.timestamp += 960;
  if (leg.muted && leg.config.stop_stream_when_muted) return;
  const int16_t* pcm = leg.muted || !leg.has_audio_frame ? leg.silence.data() : leg.audio_in->frame();
  int64_t t0 = timer_->mark();
  const size_t n = leg.session_encoder->encode({pcm, audio::kMixFrameSamples}, {leg.payload.data(), leg.payload.size()});
  t0 = timer_->add(Stage::kAudioEncode, t0);
  if (n == 0) return;
  rtp::RtpHeader h;
  h.payload_type = leg.config.session_opus_payload_type;
  h.sequence_number = leg.session_out.sequence_number++;
  h.timestamp = ts;
  h.ssrc = leg.session_out.ssrc;
  uint8_t packet[kMaxPacket];
  const size_t size = rtp::write_rtp(h, {}, {leg.payload.data(), n}, packet);
  timer_->add(Stage::kSend, t0);
  if (size == 0) return;
  ++leg.stats.session_packets_sent;
  out_->emit_rtp(leg.config.id, Direction::kToSession, {packet, size});
}

void LegAudioSender::mix_and_send(const std::vector<std::unique_ptr<Leg>>& legs) {
  const int64_t t0 = timer_->mark();
  mixer_->mix();
  timer_->add(Stage::kMix, t0);

  // Encode once per distinct (mix, codec): followers reuse the payload.
  for (size_t i = 0; i < legs.size(); ++i) {
    if (!legs[i]) continue;
    Leg& leg = *legs[i];
    const uint32_t group = mixer_->mix_group(leg.mixer_id);
    const Leg* shared = nullptr;
    for (size_t j = 0; j < i && !shared; ++j)
      if (legs[j] && legs[j]->payload_size && mixer_->mix_group(legs[j]->mixer_id) == group &&
          legs[j]->config.audio_codec == leg.config.audio_codec)
        shared = legs[j].get();
    send_mix_to_leg(leg, shared);
  }
}

void LegAudioSender::send_mix_to_leg(Leg& leg, const Leg* shared) {
  const audio::CodecInfo& info = audio::codec_info(leg.encoder->codec());
  const uint32_t ts_step = static_cast<uint32_t>(info.rtp_clock_hz / 50);
  const uint32_t ts = leg.audio_out.timestamp;
  leg.audio_out.timestamp += ts_step;
  int64_t t0 = timer_->mark();
  if (leg.dtmf_tx) {
    const size_t n = leg.dtmf_tx->on_audio_tick(ts, leg.audio_out.sequence_number,
                                                {leg.send_buffer.data(), leg.send_buffer.size()});
    t0 = timer_->add(Stage::kSend, t0);
    if (n > 0) {
      ++leg.stats.dtmf_packets_sent;
      leg.payload_size = 0;
      out_->send_to_leg(leg, n);
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
    t0 = timer_->add(Stage::kMix, t0);
    leg.payload_size = n == leg.encoder->frame_samples()
                           ? leg.encoder->encode({leg.leg_rate_frame.data(), n}, {leg.payload.data(), leg.payload.size()})
                           : 0;
    t0 = timer_->add(Stage::kAudioEncode, t0);
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
  timer_->add(Stage::kSend, t0);
  if (n == 0) return;
  ++leg.stats.audio_packets_sent;
  out_->send_to_leg(leg, n);
}

}  // namespace sipmix::session
