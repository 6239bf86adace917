// G.711 mu-law / A-law (8 kHz) and G.722 (16 kHz audio, 8 kHz RTP clock)
// through libavcodec, both directions. Tick thread only.
// - Lavc*: one libavcodec context per stream; AVPacket/AVFrame and their
//   buffers are allocated in create() and reused, but avcodec_send_*/receive_*
//   still allocate 4-5 small bookkeeping blocks per call (libavcodec API).
//   The factory uses these for G.722, whose ADPCM state needs a live codec.
// - G711*: G.711 is memoryless, so create() runs libavcodec's encoder over
//   all 65536 inputs and its decoder over all 256 codes once per process, and
//   each frame is a lookup in those tables: bit-exact with libavcodec, and no
//   allocation per frame. The factory uses these for PCMU/PCMA.
#pragma once

#include "audio_codec/codec.h"
#include "audio_codec/codec_plc.h"

struct AVCodecContext;  // libavcodec
struct AVPacket;
struct AVFrame;

namespace sipmix::audio {

class LavcAudioDecoder final : public AudioDecoder {
 public:
  // codec: kPcmu, kPcma or kG722.
  static StatusOr<std::unique_ptr<LavcAudioDecoder>> create(AudioCodec codec);
  ~LavcAudioDecoder() override;
  LavcAudioDecoder(const LavcAudioDecoder&) = delete;
  LavcAudioDecoder& operator=(const LavcAudioDecoder&) = delete;

  size_t decode(std::span<const uint8_t> payload, std::span<int16_t> out) override;
  size_t conceal(std::span<int16_t> out) override;
  void reset() override;

 private:
  LavcAudioDecoder(AudioCodec codec, AVCodecContext* ctx, AVPacket* pkt, AVFrame* frame);
  size_t fail_and_conceal(std::span<int16_t> out);

  AVCodecContext* ctx_;
  AVPacket* pkt_;    // owns a kMaxPayloadBytes buffer; payloads are copied in
  AVFrame* frame_;
  size_t samples_per_byte_;
  RepeatConcealer plc_;
};

class LavcAudioEncoder final : public AudioEncoder {
 public:
  // config.codec: kPcmu, kPcma or kG722; only frame_ms is used.
  static StatusOr<std::unique_ptr<LavcAudioEncoder>> create(const EncoderConfig& config);
  ~LavcAudioEncoder() override;
  LavcAudioEncoder(const LavcAudioEncoder&) = delete;
  LavcAudioEncoder& operator=(const LavcAudioEncoder&) = delete;

  // G.711: one byte per sample; G.722: one byte per two samples.
  size_t max_payload_bytes() const override { return max_payload_bytes_; }
  size_t encode(std::span<const int16_t> frame, std::span<uint8_t> out) override;
  void reset() override;

 private:
  LavcAudioEncoder(AudioCodec codec, size_t frame_samples, AVCodecContext* ctx, AVPacket* pkt, AVFrame* frame);

  AVCodecContext* ctx_;
  AVPacket* pkt_;
  AVFrame* frame_;   // frame_samples() S16 samples, allocated once
  size_t max_payload_bytes_;
};

// Tables produced by libavcodec for one G.711 law (built once, immutable).
struct G711Tables {
  uint8_t encode[65536];  // index: uint16_t(sample)
  int16_t decode[256];
};
// kPcmu or kPcma. Thread-safe; the first call per law runs libavcodec.
StatusOr<const G711Tables*> g711_tables(AudioCodec codec);

class G711AudioDecoder final : public AudioDecoder {
 public:
  static StatusOr<std::unique_ptr<G711AudioDecoder>> create(AudioCodec codec);

  size_t decode(std::span<const uint8_t> payload, std::span<int16_t> out) override;
  size_t conceal(std::span<int16_t> out) override;
  void reset() override;

 private:
  G711AudioDecoder(AudioCodec codec, const G711Tables* tables);
  const G711Tables* tables_;
  RepeatConcealer plc_;
};

class G711AudioEncoder final : public AudioEncoder {
 public:
  static StatusOr<std::unique_ptr<G711AudioEncoder>> create(const EncoderConfig& config);

  size_t max_payload_bytes() const override { return frame_samples_; }
  size_t encode(std::span<const int16_t> frame, std::span<uint8_t> out) override;
  void reset() override {}

 private:
  G711AudioEncoder(AudioCodec codec, size_t frame_samples, const G711Tables* tables);
  const G711Tables* tables_;
};

}  // namespace sipmix::audio
