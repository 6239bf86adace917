// Audio codec interfaces: one decoder and one encoder per RTP stream, created
// at configuration by make_audio_decoder()/make_audio_encoder(). Every method
// is called on the session's tick thread only; the caller owns the buffers.
// decode/conceal/encode allocate nothing of their own and never throw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "sipmix/status.h"

namespace sipmix::audio {

enum class AudioCodec : uint8_t { kOpus, kPcmu, kPcma, kG722 };

struct CodecInfo {
  const char* name;          // SDP encoding name: "opus", "PCMU", "PCMA", "G722"
  int sample_rate_hz;        // rate of the decoded / encoded samples (always mono)
  int rtp_clock_hz;          // RTP timestamp clock; differs from sample_rate_hz for G.722
  int static_payload_type;   // RFC 3551 static payload type, -1 when dynamic
  int samples_per_20ms;      // at sample_rate_hz
};

// G.722 samples audio at 16 kHz but its RTP clock runs at 8000 Hz (RFC 3551
// section 4.5.2, an erratum kept for compatibility): a 20 ms packet holds 320
// samples and advances the RTP timestamp by 160.
const CodecInfo& codec_info(AudioCodec codec);

// SDP encoding name (case-insensitive) -> codec. "G722" and "opus" included.
StatusOr<AudioCodec> codec_from_name(std::string_view name);

// The longest Opus packet is 120 ms: 5760 samples at 48 kHz. A decode output
// span this long fits any packet of any supported codec.
inline constexpr size_t kMaxDecodedSamples = 5760;
// RTP payloads longer than this are rejected as corrupt (counted, concealed).
inline constexpr size_t kMaxPayloadBytes = 1500;

// Counters for one decoder or encoder. Plain integers: read them on the tick
// thread, or copy them out there.
struct CodecStats {
  uint64_t frames_decoded = 0;     // payloads decoded without error
  uint64_t frames_concealed = 0;   // conceal() calls and errors replaced by concealment
  uint64_t frames_fec = 0;         // frames recovered through decode_fec()
  uint64_t decode_errors = 0;      // empty, oversized or undecodable payloads
  uint64_t frames_encoded = 0;
  uint64_t encode_errors = 0;      // wrong frame size, output too small, codec failure
};

class AudioDecoder {
 public:
  virtual ~AudioDecoder() = default;

  AudioCodec codec() const { return codec_; }
  int sample_rate_hz() const { return codec_info(codec_).sample_rate_hz; }
  // Duration of the last decoded packet in samples (20 ms before the first):
  // what conceal() produces.
  size_t frame_samples() const { return frame_samples_; }
  const CodecStats& stats() const { return stats_; }

  // Decodes one RTP payload into `out` (mono, sample_rate_hz()). Returns the
  // number of samples written. A bad payload (empty, too long, undecodable, or
  // more audio than `out` holds) is counted in decode_errors and replaced by
  // concealment, so the return value is only 0 when `out` is too short for
  // any audio. kMaxDecodedSamples always suffices.
  virtual size_t decode(std::span<const uint8_t> payload, std::span<int16_t> out) = 0;

  // Audio for one missing packet: frame_samples() samples, or fewer if `out`
  // is shorter. Opus uses its own PLC; G.711/G.722 repeat the last pitch
  // period with a fade-out and cross-fade back into the next good packet.
  virtual size_t conceal(std::span<int16_t> out) = 0;

  // Audio for a missing packet when the next packet is already here: Opus
  // recovers it from the in-band FEC (LBRR) that `next_payload` carries, for
  // the duration of that packet; without FEC data libopus falls back to PLC.
  // Codecs without FEC conceal. `next_payload` must still be decode()d after.
  virtual size_t decode_fec(std::span<const uint8_t> next_payload, std::span<int16_t> out) {
    (void)next_payload;
    return conceal(out);
  }
  virtual bool supports_fec() const { return false; }

  // Forgets all history (new SSRC, stream reset). Keeps the counters. Not a
  // per-frame call: the G.722 decoder reopens its libavcodec context.
  virtual void reset() = 0;

 protected:
  explicit AudioDecoder(AudioCodec codec)
      : codec_(codec), frame_samples_(static_cast<size_t>(codec_info(codec).samples_per_20ms)) {}

  AudioCodec codec_;
  size_t frame_samples_;
  CodecStats stats_;
};

struct EncoderConfig {
  AudioCodec codec = AudioCodec::kOpus;
  int frame_ms = 20;               // 10, 20, 40 or 60
  // Opus only. The input is always 48 kHz mono; the application is VOIP.
  int bitrate_bps = 32000;         // 6000 .. 510000
  bool inband_fec = true;          // LBRR, so that a receiver can decode_fec()
  int packet_loss_perc = 10;       // expected loss, 0 .. 100; steers FEC strength
  int complexity = 5;              // 0 .. 10
  bool dtx = false;
  // Highest audio frequency worth coding: 4000 (narrowband), 6000, 8000
  // (wideband), 12000 or 20000 (fullband, the default). Audio that came
  // through an 8 kHz codec has nothing above 4 kHz; capping the band there
  // lets Opus code it with SILK alone, which costs about a third less CPU.
  int max_audio_bandwidth_hz = 20000;
};

class AudioEncoder {
 public:
  virtual ~AudioEncoder() = default;

  AudioCodec codec() const { return codec_; }
  int sample_rate_hz() const { return codec_info(codec_).sample_rate_hz; }
  // Input samples per encode() call: sample_rate_hz() * frame_ms / 1000.
  size_t frame_samples() const { return frame_samples_; }
  // An output span this long always suffices.
  virtual size_t max_payload_bytes() const = 0;
  const CodecStats& stats() const { return stats_; }

  // Encodes exactly frame_samples() samples into `out`. Returns the payload
  // size; 0 on error (wrong input length, `out` too small, codec failure),
  // which is counted in encode_errors.
  virtual size_t encode(std::span<const int16_t> frame, std::span<uint8_t> out) = 0;

  // New stream. Not a per-frame call (G.722 reopens its context).
  virtual void reset() = 0;

 protected:
  AudioEncoder(AudioCodec codec, size_t frame_samples) : codec_(codec), frame_samples_(frame_samples) {}

  AudioCodec codec_;
  size_t frame_samples_;
  CodecStats stats_;
};

// Configuration time. The error names the codec and what failed.
StatusOr<std::unique_ptr<AudioDecoder>> make_audio_decoder(AudioCodec codec);
StatusOr<std::unique_ptr<AudioEncoder>> make_audio_encoder(const EncoderConfig& config);

}  // namespace sipmix::audio
