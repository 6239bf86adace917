// The receive side of one audio stream: jitter buffer -> decode (PLC, FEC)
// -> 48 kHz mono 20 ms frames, with the stream's speech level. Used for the
// participants' audio and for a SIP leg's own audio. insert() runs on the
// stream's network thread, everything else on the session's tick thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "audio_codec/codec.h"
#include "mix/mixer.h"
#include "audio_dsp/resampler.h"
#include "audio_dsp/time_stretch.h"
#include "base/aligned_buffer.h"
#include "jitter/jitter_buffer.h"
#include "base/stage_timer.h"
#include "sipmix/status.h"

namespace sipmix::session {

// What accelerate (time compression of audible audio while the playout
// delay is above the target; docs/jitter.md) has done. Tick thread.
struct AccelerateStats {
  uint64_t ops = 0;              // operations that removed samples (at most one per tick)
  uint64_t removed_samples = 0;  // 48 kHz samples removed by them (/48 = ms)
  uint64_t periodic_ops = 0;     // ... of which removed a period of a periodic signal
  uint64_t declined = 0;         // attempts that removed nothing (a transient: onset, decay)
  bool active = false;           // the delay is above the target and being brought down
  // The jitter buffer's current delay plus the 48 kHz samples queued ahead
  // of the last packet pulled: the delay the listener actually gets.
  int32_t playout_delay_ms = 0;
};

struct AudioInputConfig {
  audio::AudioCodec codec = audio::AudioCodec::kOpus;
  uint8_t payload_type = 111;
  uint8_t audio_level_ext_id = 0;  // RFC 6464, 0 = measure
  int resampler_quality = 5;
  int min_delay_ms = 20;
  int max_delay_ms = 500;
  // Accelerate non-silent audio while the playout delay exceeds the target
  // by more than accelerate_start_ms, until it is within accelerate_stop_ms;
  // only once the stream has played accelerate_after_ms without a silent
  // frame: speech, whose talk spurts average about 1 s, is brought down in
  // its pauses by the jitter buffer, inaudibly; longer spurts and audio that
  // never pauses by accelerate. At most 25 % of the audio is removed.
  bool accelerate = true;
  // With RFC 6464 levels on an Opus stream: from the second packet in a row
  // whose level says silence (below -60 dBov) the stream plays digital
  // silence without decoding; when sound returns the decoder first decodes
  // the last skipped packet, then the new one. Most of a conference's
  // participants are silent most of the time; this saves their decodes.
  bool skip_silent_decode = true;
  int accelerate_start_ms = 10;
  int accelerate_stop_ms = 5;
  int accelerate_after_ms = 1200;
};

class AudioInput {
 public:
  static StatusOr<std::unique_ptr<AudioInput>> create(const AudioInputConfig& config);

  // Network thread.
  InsertResult insert(std::span<const uint8_t> packet, int64_t arrival_us) { return jitter_->insert(packet, arrival_us); }

  // Tick thread, once per 20 ms: produces this tick's 48 kHz frame. Returns
  // false when the stream has nothing to play (not started, underrun).
  // With a `timer`, the decoder's time moves from Stage::kAudioIn to
  // Stage::kAudioDecode.
  bool pull(int64_t now_us, StageTimer* timer = nullptr);
  const int16_t* frame() const { return frame_.data(); }
  // Speech level of the last frame in dBov: RFC 6464 when the sender gives
  // it, else measured.
  float level_dbov() const { return level_dbov_; }

  JitterStats jitter_stats() const { return jitter_->stats(); }
  const audio::CodecStats& codec_stats() const { return decoder_->stats(); }
  uint64_t wrong_payload_type() const { return wrong_pt_; }
  // Packets not decoded because their RFC 6464 level said silence.
  uint64_t skipped_silent() const { return skipped_silent_; }
  // Tick thread.
  const AccelerateStats& accelerate_stats() const { return accel_; }

 private:
  AudioInput(const AudioInputConfig& config, std::unique_ptr<JitterBuffer> jitter,
             std::unique_ptr<audio::AudioDecoder> decoder, audio::Resampler resampler, audio::TimeStretch stretch);
  // Decoded codec-rate samples -> 48 kHz into the FIFO.
  void push_decoded(size_t samples);
  // One jitter-buffer turn decoded into the FIFO; false when nothing was due.
  bool pull_one(int64_t now_us, StageTimer* timer);
  // Decoding one packet whose level says silence / one with sound; both
  // return the samples written into decoded_.
  size_t decode_quiet(std::span<const uint8_t> payload);
  size_t decode_sound(std::span<const uint8_t> payload, bool quiet = false);
  size_t silence(size_t samples);
  // Excess of the playout delay over the target, in 48 kHz samples; updates
  // accel_.active with hysteresis. Returns how many samples accelerate may
  // remove this tick (0: not now).
  size_t accelerate_allowance();

  AudioInputConfig config_;
  std::unique_ptr<JitterBuffer> jitter_;
  std::unique_ptr<audio::AudioDecoder> decoder_;
  audio::Resampler resampler_;
  AlignedBuffer<int16_t> decoded_;  // codec rate, one packet
  AlignedBuffer<int16_t> fifo_;     // 48 kHz samples waiting to be played
  size_t fifo_size_ = 0;
  AlignedBuffer<int16_t> frame_;    // this tick's 960 samples
  float level_dbov_ = -127.0f;
  std::optional<uint8_t> last_rfc6464_;
  bool silent_ = true;
  uint64_t wrong_pt_ = 0;
  bool quiet_before_ = false;  // the last packet decoded or skipped was quiet
  bool skipping_ = false;      // playing silence instead of decoding
  AlignedBuffer<uint8_t> skipped_{JitterBuffer::kMaxPacketBytes};  // the last skipped payload
  size_t skipped_size_ = 0;
  uint64_t skipped_silent_ = 0;
  audio::TimeStretch stretch_;
  AccelerateStats accel_;
  // FIFO samples queued ahead of the first sample of the last packet pulled
  // (at that tick); the jitter buffer's delay is that packet's.
  size_t ahead_samples_ = 0;
  // Rate limit: samples accelerate may still remove; refilled every tick.
  size_t accel_credit_ = 0;
  // Audio played since the last silent frame (an underrun is no silence of
  // the stream's own).
  int64_t nonsilent_ms_ = 0;
};

}  // namespace sipmix::session
