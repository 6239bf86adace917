// LegBuilder: turns a LegConfig into a ready Leg. Validates the config
// (errors name the field), builds the receive pipeline, DTMF, SRTP, the
// audio and video send sides, and holds the session's announcement prompts,
// which every leg shares. Tick thread (the session's control calls).
#pragma once

#include <cstdint>
#include <memory>

#include "audio_dsp/prompt.h"
#include "session/leg.h"
#include "sipmix/clock.h"
#include "sipmix/session.h"

namespace sipmix::session {

class LegBuilder {
 public:
  LegBuilder(const SessionConfig& config, Clock* clock) : config_(config), clock_(clock) {}

  // The config on its own; `id_taken`: a stream or leg already has its id.
  Status validate(const LegConfig& c, bool id_taken) const;
  // A validated config to a leg in push slot `slot` with mixer id `mixer_id`.
  // Errors start with `leg "<id>": `.
  StatusOr<std::unique_ptr<Leg>> build(const LegConfig& c, int slot, uint32_t mixer_id);

 private:
  Status build_receive_side(Leg& leg);
  Status build_audio_send_side(Leg& leg);
  Status build_video_send_side(Leg& leg);
  // Prompts are shared by every leg that names the same files.
  Status load_prompts(const audio::MutePromptPaths& paths);

  const SessionConfig config_;
  Clock* clock_;
  std::unique_ptr<audio::MutePrompts> prompts_;
  audio::MutePromptPaths prompt_paths_;
};

}  // namespace sipmix::session
