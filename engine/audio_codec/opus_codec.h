// Opus through libopus: 48 kHz mono decoder with PLC and in-band FEC, and a
// VOIP encoder with LBRR on. Tick thread only. The libopus state is allocated
// in create(); decode/encode/conceal allocate nothing.
#pragma once

#include "audio_codec/codec.h"

struct OpusDecoder;  // libopus
struct OpusEncoder;

namespace sipmix::audio {

class OpusAudioDecoder final : public AudioDecoder {
 public:
  static StatusOr<std::unique_ptr<OpusAudioDecoder>> create();
  ~OpusAudioDecoder() override;
  OpusAudioDecoder(const OpusAudioDecoder&) = delete;
  OpusAudioDecoder& operator=(const OpusAudioDecoder&) = delete;

  size_t decode(std::span<const uint8_t> payload, std::span<int16_t> out) override;
  size_t conceal(std::span<int16_t> out) override;
  size_t decode_fec(std::span<const uint8_t> next_payload, std::span<int16_t> out) override;
  bool supports_fec() const override { return true; }
  void reset() override;

 private:
  explicit OpusAudioDecoder(::OpusDecoder* dec);
  ::OpusDecoder* dec_;
};

class OpusAudioEncoder final : public AudioEncoder {
 public:
  // config.codec must be kOpus. Errors name the bad field.
  static StatusOr<std::unique_ptr<OpusAudioEncoder>> create(const EncoderConfig& config);
  ~OpusAudioEncoder() override;
  OpusAudioEncoder(const OpusAudioEncoder&) = delete;
  OpusAudioEncoder& operator=(const OpusAudioEncoder&) = delete;

  size_t max_payload_bytes() const override { return kMaxOpusPayloadBytes; }
  size_t encode(std::span<const int16_t> frame, std::span<uint8_t> out) override;
  void reset() override;

  // Run-time adjustments (e.g. from RTCP loss reports); cheap, no allocation.
  Status set_bitrate_bps(int bitrate_bps);
  Status set_packet_loss_perc(int perc);

  // 1275 bytes per 20 ms Opus frame, at most 3 frames in a 60 ms packet.
  static constexpr size_t kMaxOpusPayloadBytes = 3 * 1275 + 7;

 private:
  OpusAudioEncoder(::OpusEncoder* enc, size_t frame_samples);
  ::OpusEncoder* enc_;
};

// Validates the Opus fields of `config` (shared with make_audio_encoder).
Status validate_opus_config(const EncoderConfig& config);

}  // namespace sipmix::audio
