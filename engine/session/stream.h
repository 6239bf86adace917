// A participant's stream inside a Session: its receive pipeline (audio or
// video input), its RTCP queue and what the tick knows of it (mute, last
// active time, join order). Owned by the Session; the push side of `audio`,
// `video` and `rtcp_queue` is used by the stream's network thread, the rest
// by the tick thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "base/spsc_queue.h"
#include "base/stage_timer.h"
#include "base/thread_checker.h"
#include "receive/audio_input.h"
#include "mix/mixer.h"
#include "mix/talker.h"
#include "receive/video_input.h"
#include "sipmix/session.h"

namespace sipmix::session {

struct Stream {
  StreamConfig config;
  int slot = -1;
  uint32_t generation = 0;  // of the PushHandle given out for it
  std::unique_ptr<AudioInput> audio;
  // Video: one input per simulcast layer (one without simulcast), in the
  // order of config.simulcast. The network thread pushes into `layers` by
  // SSRC; `video` is the layer on screen, used by the tick thread only.
  std::array<std::unique_ptr<VideoInput>, kMaxSimulcastLayers> layers;
  std::array<uint32_t, kMaxSimulcastLayers> layer_ssrcs{};  // network thread: configured or learned by rid
  int layer_count = 0;
  // Tick thread: config.simulcast with the sizes the layers' pictures gave.
  std::vector<SimulcastLayer> layer_info;
  VideoInput* video = nullptr;
  int shown_layer = 0;
  int pending_layer = -1;            // being brought up, decoded beside the shown one
  uint64_t pending_from_frames = 0;  // its decoded frames when it was asked for
  uint64_t layer_switches = 0;
  std::unique_ptr<SpscPacketQueue> rtcp_queue;
  ProducerChecker producer;  // debug builds: one network thread at a time
  bool has_frame = false;  // audio: a frame this tick
  bool muted = false;
  int64_t last_active_ms = -1;  // audio: last tick its speaker was active
  uint64_t join_order = 0;
  uint32_t sender_ssrc = 0;  // for PLIs we send it

  // Network thread: the packet into its input pipeline or RTCP queue.
  void receive_rtp(std::span<const uint8_t> packet, int64_t now_us);
  // Network thread: the simulcast layer whose rid the packet carries (its
  // SSRC is then that layer's), or -1.
  int learn_layer_by_rid(std::span<const uint8_t> packet, uint32_t ssrc);
  void receive_rtcp(std::span<const uint8_t> packet, int64_t now_us);
  // Tick thread. Audio: this tick's frame into the mixer and its level to
  // the talker detector.
  void pull_audio(int64_t t_us, StageTimer& timer, audio::NMinus1Mixer& mixer, audio::TalkerDetector& talkers);
  // Participants' RTCP: nothing needs it yet beyond draining.
  void drain_rtcp();
  // Video: the pictures due by `t_us` (decoded only when `shown` on some
  // leg's canvas); a PLI (and an event) when the input asks the participant
  // for a keyframe. A simulcast stream decodes the layer chosen for its
  // largest tile, `tile_w` x `tile_h` (0 x 0: on no canvas, the top layer),
  // or the top layer when `choose_layer` is false.
  void decode_video(int64_t t_us, StageTimer& timer, SessionSink& sink, bool shown = true, int tile_w = 0,
                    int tile_h = 0, bool choose_layer = true);
  // Video: changes whenever the picture on screen changes, across layer
  // switches too (the compositor redraws a tile when it changes).
  uint64_t picture_generation() const { return (layer_switches << 48) + video->generation(); }
  void send_pli(uint32_t media_ssrc, int64_t t_us, SessionSink& sink);
  // Moderation: its mute state, applied to its mixer source.
  void set_muted(bool muted_now, audio::NMinus1Mixer& mixer);
  StreamStats stats() const;
};

// The simulcast layer to decode for a tile of `tile_w` x `tile_h`: the
// smallest that covers it, else the largest; with 0 x 0, the largest. Only
// the layers whose bit is set in `usable` count (all when none is usable).
int choose_simulcast_layer(std::span<const SimulcastLayer> layers, int tile_w, int tile_h, unsigned usable = ~0u);

// A simulcast layer with no packet for this long is passed over by the
// choice (publishers drop their upper layers when their bandwidth falls).
inline constexpr int64_t kSimulcastLayerSilenceUs = 1'000'000;

// Validates what only the stream decides (its video codec) and builds its
// input pipeline. The caller has checked the id, the payload type and found
// the slot.
StatusOr<std::unique_ptr<Stream>> build_stream(const StreamConfig& config, const SessionConfig& session,
                                               int slot, uint64_t join_order);

}  // namespace sipmix::session
