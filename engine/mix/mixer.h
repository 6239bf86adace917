// N-1 audio mixer at 48 kHz, 20 ms ticks: one int32 accumulation over every
// included source, then each output = total - own + private frame -> limiter.
// Configure and tick from one thread (the session's tick thread); it owns its
// buffers, the caller owns the source and private frames for one mix() call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "mix/limiter.h"
#include "base/aligned_buffer.h"
#include "simd/mix.h"
#include "sipmix/status.h"

namespace sipmix::audio {

inline constexpr int kMixSampleRateHz = 48000;
inline constexpr size_t kMixFrameSamples = 960;  // 20 ms at 48 kHz
inline constexpr uint32_t kNoSource = 0xFFFFFFFFu;

struct MixerConfig {
  size_t max_sources = 32;
  size_t max_outputs = 32;
  LimiterConfig limiter;  // one limiter per output, all with this configuration
};

// What the last mix() did.
struct MixStats {
  uint32_t sources_mixed = 0;   // frames accumulated into the total
  uint32_t limiter_passes = 0;  // == distinct mixes
  uint32_t shared_outputs = 0;  // outputs served by another output's pass
};

class NMinus1Mixer {
 public:
  // Validates `config` (the error names the field). `dsp` defaults to the
  // process-wide table; a benchmark may pass a scalar one. It must outlive
  // the mixer.
  static StatusOr<std::unique_ptr<NMinus1Mixer>> create(const MixerConfig& config,
                                                        const simd::MixDsp* dsp = nullptr);

  // Configuration: between ticks. Ids are the caller's (e.g. stream ids).
  Status add_source(uint32_t source_id);
  Status remove_source(uint32_t source_id);
  // A muted source leaves the mix (the mute gate); its own output still runs.
  Status set_source_muted(uint32_t source_id, bool muted);
  // `own_source_id` is the source this output never hears (its leg's own
  // input), or kNoSource. It may be registered before or after the output.
  Status add_output(uint32_t output_id, uint32_t own_source_id = kNoSource);
  Status remove_output(uint32_t output_id);

  // Per tick. `frame` holds kMixFrameSamples samples and stays valid until
  // mix() returns. A source without a frame this tick (absent, DTX, silent)
  // is skipped at no cost. No allocation, no locks.
  Status set_source_frame(uint32_t source_id, const int16_t* frame);
  // A frame heard by this output only (an announcement), over its mix.
  Status set_private_frame(uint32_t output_id, const int16_t* frame);
  // Mixes the frames set since the last mix(), then forgets them.
  void mix();

  // Results of the last mix(), valid until the next mix() or configuration
  // call. Empty span for an unknown id.
  std::span<const int16_t> output(uint32_t output_id) const;
  // Outputs with equal mix_group() got bit-identical frames (one limiter
  // pass): encode once per group. The group id is the output id of the
  // output that ran the pass; it stays the same while membership does.
  // kNoSource for an unknown id.
  uint32_t mix_group(uint32_t output_id) const;
  const MixStats& stats() const { return stats_; }
  // Samples the output lags the input (the limiter's look-ahead).
  size_t delay_samples() const;
  // The limiter's release bound, for docs and tests.
  double limiter_release_time_ms() const;

 private:
  struct Source {
    uint32_t id = 0;
    bool used = false;
    bool muted = false;
    const int16_t* frame = nullptr;
  };
  struct Output {
    Output(const LimiterConfig& c, const simd::MixDsp& dsp)
        : limiter(c, kMixFrameSamples, dsp), out(kMixFrameSamples) {}
    uint32_t id = 0;
    bool used = false;
    uint32_t own_id = kNoSource;
    int own_slot = -1;  // resolved from own_id
    const int16_t* private_frame = nullptr;
    Limiter limiter;
    AlignedBuffer<int16_t> out;
    const int16_t* result = nullptr;  // out.data() or the group leader's
    int leader = -1;                  // slot of the output whose pass this one shares
  };
  struct IdSlot {
    uint32_t id;
    int slot;
  };

  NMinus1Mixer(const MixerConfig& config, const simd::MixDsp& dsp);
  int find(const std::vector<IdSlot>& index, uint32_t id) const;
  static void insert(std::vector<IdSlot>& index, uint32_t id, int slot);
  static void erase(std::vector<IdSlot>& index, uint32_t id);
  void resolve_own();

  MixerConfig config_;
  const simd::MixDsp* dsp_;
  std::vector<Source> sources_;
  std::vector<Output> outputs_;
  std::vector<IdSlot> source_index_, output_index_;  // sorted by id
  std::vector<int> leaders_, followers_;              // scratch, capacity max_outputs
  AlignedBuffer<int32_t> total_;
  MixStats stats_;
};

}  // namespace sipmix::audio
