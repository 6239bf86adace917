// The receive side of one audio stream: jitter buffer -> decode (PLC, FEC)
// -> 48 kHz mono 20 ms frames, with the stream's speech level. Used for the
// participants' audio and for a SIP leg's own audio. insert() runs on the
// stream's network thread, everything else on the session's tick thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "audio/codec.h"
#include "audio/mixer.h"
#include "audio/resampler.h"
#include "base/aligned_buffer.h"
#include "jitter/jitter_buffer.h"
#include "sipmix/status.h"

namespace sipmix::session {

struct AudioInputConfig {
  audio::AudioCodec codec = audio::AudioCodec::kOpus;
  uint8_t payload_type = 111;
  uint8_t audio_level_ext_id = 0;  // RFC 6464, 0 = measure
  int resampler_quality = 5;
  int min_delay_ms = 20;
  int max_delay_ms = 500;
};

class AudioInput {
 public:
  static StatusOr<std::unique_ptr<AudioInput>> create(const AudioInputConfig& config);

  // Network thread.
  InsertResult insert(std::span<const uint8_t> packet, int64_t arrival_us) { return jitter_->insert(packet, arrival_us); }

  // Tick thread, once per 20 ms: produces this tick's 48 kHz frame. Returns
  // false when the stream has nothing to play (not started, underrun).
  bool pull(int64_t now_us);
  const int16_t* frame() const { return frame_.data(); }
  // Speech level of the last frame in dBov: RFC 6464 when the sender gives
  // it, else measured.
  float level_dbov() const { return level_dbov_; }

  JitterStats jitter_stats() const { return jitter_->stats(); }
  const audio::CodecStats& codec_stats() const { return decoder_->stats(); }
  uint64_t wrong_payload_type() const { return wrong_pt_; }

 private:
  AudioInput(const AudioInputConfig& config, std::unique_ptr<JitterBuffer> jitter,
             std::unique_ptr<audio::AudioDecoder> decoder, audio::Resampler resampler);
  // Decoded codec-rate samples -> 48 kHz into the FIFO.
  void push_decoded(size_t samples);

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
};

}  // namespace sipmix::session
