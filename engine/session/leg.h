// One SIP leg inside a Session: the state of its receive side (SRTP
// unprotect, demux by payload type into audio jitter buffer / telephone-event
// queue / video and RTCP queues), its DTMF receiver and sender, prompt player,
// and of its send side (mixed audio encode, composed video encode, the leg's
// own audio published into the session as Opus). The leg runs its own receive
// side (receive_*, drain_*, forward_video); LegBuilder makes it and
// LegAudioSender / LegVideoSender send for it. Owned by the Session;
// push-side members are touched only by the leg's network thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <variant>

#include "audio_codec/codec.h"
#include "audio_dsp/prompt.h"
#include "audio_dsp/resampler.h"
#include "base/aligned_buffer.h"
#include "base/spsc_queue.h"
#include "base/stage_timer.h"
#include "base/thread_checker.h"
#include "dtmf/feature_code_matcher.h"
#include "dtmf/rfc4733_receiver.h"
#include "dtmf/rfc4733_sender.h"
#include "dtmf/mute_controller.h"
#include "mix/mixer.h"
#include "mix/talker.h"
#include "receive/audio_input.h"
#include "rtp/rtcp.h"
#include "sipmix/session.h"
#include "srtp/srtp_session.h"
#include "compose/compositor.h"
#include "rtp_payload/h264_packetizer.h"
#include "compose/layout.h"
#include "video_codec/video_encoder.h"
#include "rtp_payload/vp8_packetizer.h"

namespace sipmix::session {

// RTP header state of one outgoing stream.
struct RtpSendState {
  uint32_t ssrc = 0;
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
};

class PacketOutput;

struct Leg final : private rtp::RtcpVisitor {
  // --- receive side, network thread ---------------------------------------
  // SRTP unprotect (secure legs), then by payload type into the audio input,
  // the telephone-event queue or the video queue.
  void receive_rtp(std::span<const uint8_t> packet, int64_t now_us);
  void receive_rtcp(std::span<const uint8_t> packet, int64_t now_us);

  // --- receive side, tick thread --------------------------------------------
  // Telephone events to digits (events to the sink) and *6 to `mute`.
  void drain_events(int64_t t_ms, SessionSink& sink, dtmf::MuteController& mute);
  // The leg's audio of this tick into the mixer and the talker detector, and
  // the next frame of a playing announcement into its own mix.
  void pull_audio(int64_t t_us, StageTimer& timer, audio::NMinus1Mixer& mixer, audio::TalkerDetector& talkers);
  // Moderation: its mute state, applied to its mixer source, announced to it.
  void set_muted(bool muted_now, audio::NMinus1Mixer& mixer);
  // PLI/FIR from the leg ask for a keyframe of its composed video.
  void drain_rtcp();
  // The SIP leg's video goes into the session as it is.
  void forward_video(PacketOutput& out);
  // Its stats, with the SRTP counters read now.
  LegStats report() const;

  LegConfig config;
  int slot = -1;
  uint32_t generation = 0;  // of the PushHandle given out for it
  uint32_t mixer_id = 0;  // its mixer output and, for its own audio, mixer source
  ProducerChecker producer;  // debug builds: one network thread at a time

  // --- receive side: network thread -------------------------------------
  std::unique_ptr<srtp::SrtpSession> srtp;
  AlignedBuffer<uint8_t> push_scratch;  // unprotect in place (network thread only)
  std::unique_ptr<AudioInput> audio_in;
  std::unique_ptr<SpscPacketQueue> event_queue;  // telephone-event RTP
  std::unique_ptr<SpscPacketQueue> video_queue;  // the leg's video, forwarded to the session
  std::unique_ptr<SpscPacketQueue> rtcp_queue;   // PLI/FIR asking for our canvas
  std::atomic<uint64_t> unknown_payload_type{0};
  std::atomic<uint64_t> queue_overflows{0};

  // --- tick thread ------------------------------------------------------
  std::optional<dtmf::Rfc4733Receiver> dtmf_rx;
  std::optional<dtmf::FeatureCodeMatcher> matcher;
  std::optional<dtmf::Rfc4733Sender> dtmf_tx;
  audio::PromptPlayer prompt;
  const audio::MutePrompts* prompts = nullptr;  // the session's set, held by LegBuilder
  AlignedBuffer<int16_t> prompt_frame;
  bool muted = false;
  bool has_audio_frame = false;

  // Mixed audio to the leg.
  std::unique_ptr<audio::AudioEncoder> encoder;
  std::optional<audio::Resampler> to_leg_rate;
  AlignedBuffer<int16_t> leg_rate_frame;
  AlignedBuffer<uint8_t> payload;
  size_t payload_size = 0;
  RtpSendState audio_out;

  // The leg's audio into the session, as Opus.
  std::unique_ptr<audio::AudioEncoder> session_encoder;
  RtpSendState session_out;
  AlignedBuffer<int16_t> silence;

  // Composed video to the leg.
  std::optional<video::LayoutManager> layout;
  uint64_t layout_signature = 0;  // of the candidates the layout was last built from
  bool layout_valid = false;
  std::unique_ptr<video::Compositor> compositor;
  std::unique_ptr<video::VideoEncoder> video_encoder;
  AlignedBuffer<uint8_t> changed_mbs;  // the canvas's macroblocks the last compose changed
  std::variant<std::monostate, video::h264::Packetizer, video::vp8::Packetizer> packetizer;
  std::unique_ptr<video::RtpPacketList> video_packets;
  int64_t next_video_us = 0;
  int64_t video_frame_us = 0;
  uint32_t video_ssrc = 0;

  AlignedBuffer<uint8_t> send_buffer;  // one outgoing packet (+ SRTP trailer)
  AlignedBuffer<uint8_t> pop_buffer;   // one packet taken off a queue

  LegStats stats;

 private:
  void on_pli(const rtp::Pli&) override;
  void on_fir(const rtp::Fir&) override;
};

}  // namespace sipmix::session
