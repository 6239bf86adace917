// One SIP leg inside a Session: its receive side (SRTP unprotect, demux by
// payload type into audio jitter buffer / telephone-event queue / video and
// RTCP queues), its DTMF receiver and sender, prompt player, and its send
// side (mixed audio encode, composed video encode, the leg's own audio
// published into the session as Opus). Owned by the Session; push-side
// members are touched only by the leg's network thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <variant>

#include "audio_codec/codec.h"
#include "audio_dsp/prompt.h"
#include "audio_dsp/resampler.h"
#include "base/aligned_buffer.h"
#include "base/spsc_queue.h"
#include "dtmf/feature_code_matcher.h"
#include "dtmf/rfc4733_receiver.h"
#include "dtmf/rfc4733_sender.h"
#include "receive/audio_input.h"
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

struct Leg {
  LegConfig config;
  int slot = -1;
  uint32_t mixer_id = 0;  // its mixer output and, for its own audio, mixer source

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
  std::variant<std::monostate, video::h264::Packetizer, video::vp8::Packetizer> packetizer;
  std::unique_ptr<video::RtpPacketList> video_packets;
  int64_t next_video_us = 0;
  int64_t video_frame_us = 0;
  uint32_t video_ssrc = 0;

  AlignedBuffer<uint8_t> send_buffer;  // one outgoing packet (+ SRTP trailer)
  AlignedBuffer<uint8_t> pop_buffer;   // one packet taken off a queue

  LegStats stats;
};

}  // namespace sipmix::session
