// Talker detection: per-source speech level (RFC 6464 when the sender gives
// it, else measured), smoothed, and an "active speakers" ranking with
// hysteresis for the video grid. Tick thread only; no allocation per tick.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "sipmix/status.h"

namespace sipmix::audio {

struct TalkerConfig {
  size_t max_sources = 32;
  int tick_ms = 20;
  // A source becomes active when its smoothed level stays at or above
  // on_dbov for activate_ms, and inactive after hang_ms below off_dbov.
  // The 10 dB gap and the hang time keep the ranking from flapping.
  float on_dbov = -42.0f;
  float off_dbov = -52.0f;
  int activate_ms = 60;
  int hang_ms = 800;
  // Level smoothing: fast rise, slow fall (one-pole time constants).
  float rise_ms = 20.0f;
  float fall_ms = 200.0f;
  // The dominant speaker changes only to an active source that has been
  // louder by margin_db for dominant_hold_ms, or when it goes inactive.
  float dominant_margin_db = 3.0f;
  int dominant_hold_ms = 300;
};

class TalkerDetector {
 public:
  static constexpr float kSilenceDbov = -127.0f;

  static StatusOr<std::unique_ptr<TalkerDetector>> create(const TalkerConfig& config);

  // Configuration: between ticks. Join order breaks ranking ties.
  Status add_source(uint32_t source_id);
  Status remove_source(uint32_t source_id);

  // Per tick, before end_tick(): the source's level in dBov (0 = overload,
  // -127 = silence). A source without an update this tick counts as silent.
  void update(uint32_t source_id, float level_dbov);
  // Advances one tick: smoothing, activity, ranking and dominant speaker.
  void end_tick();

  // RFC 6464: the 7-bit level is -dBov.
  static float level_from_rfc6464(uint8_t level) { return -static_cast<float>(level & 0x7F); }
  // RMS of a frame in dBov (a full-scale square wave is 0, a full-scale
  // sine -3.01), clamped to [-127, 0], as RFC 6464 defines the level.
  static float measure_dbov(std::span<const int16_t> frame);

  // Every source: active and recently active speakers first (most recent
  // activation first), then never-active sources in join order.
  std::span<const uint32_t> ranking() const { return ranking_; }
  std::optional<uint32_t> dominant() const;
  bool is_active(uint32_t source_id) const;
  float smoothed_dbov(uint32_t source_id) const;

 private:
  struct Source {
    uint32_t id = 0;
    bool used = false;
    uint64_t join_seq = 0;
    float pending_dbov = kSilenceDbov;  // this tick's update
    float smoothed_dbov = kSilenceDbov;
    bool active = false;
    int above_ticks = 0;   // consecutive ticks at or above on_dbov
    int below_ticks = 0;   // consecutive ticks below off_dbov
    uint64_t last_activation = 0;  // tick of the last inactive->active change; 0 = never
    uint64_t last_active = 0;      // last tick it was active
  };

  explicit TalkerDetector(const TalkerConfig& config);
  int find(uint32_t id) const;
  void rebuild_ranking();

  TalkerConfig config_;
  float rise_coef_ = 0, fall_coef_ = 0;
  int activate_ticks_ = 1, hang_ticks_ = 1, dominant_hold_ticks_ = 1;
  std::vector<Source> sources_;
  std::vector<int> order_;         // scratch for the ranking sort
  std::vector<uint32_t> ranking_;  // capacity max_sources
  uint64_t tick_ = 0, join_seq_ = 0;
  int dominant_ = -1;              // slot
  int challenger_ = -1, challenger_ticks_ = 0;
};

}  // namespace sipmix::audio
