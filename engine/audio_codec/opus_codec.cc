#include "audio_codec/opus_codec.h"

#include <opus/opus.h>

#include <algorithm>
#include <string>

namespace sipmix::audio {

namespace {

constexpr int kOpusRateHz = 48000;
constexpr size_t kPlcStepSamples = 120;  // libopus conceals in multiples of 2.5 ms

// Largest multiple of 2.5 ms that fits both `want` and `cap`.
size_t plc_samples(size_t want, size_t cap) {
  const size_t n = std::min({want, cap, kMaxDecodedSamples});
  return n / kPlcStepSamples * kPlcStepSamples;
}

int as_int(size_t n) { return static_cast<int>(std::min<size_t>(n, 1u << 30)); }

}  // namespace

// ---------------------------------------------------------------- decoder

StatusOr<std::unique_ptr<OpusAudioDecoder>> OpusAudioDecoder::create() {
  int err = OPUS_OK;
  ::OpusDecoder* dec = opus_decoder_create(kOpusRateHz, 1, &err);
  if (err != OPUS_OK || dec == nullptr) {
    return unavailable(std::string("opus decoder: opus_decoder_create failed: ") + opus_strerror(err));
  }
  return std::unique_ptr<OpusAudioDecoder>(new OpusAudioDecoder(dec));
}

OpusAudioDecoder::OpusAudioDecoder(::OpusDecoder* dec) : AudioDecoder(AudioCodec::kOpus), dec_(dec) {}

OpusAudioDecoder::~OpusAudioDecoder() { opus_decoder_destroy(dec_); }

void OpusAudioDecoder::reset() {
  opus_decoder_ctl(dec_, OPUS_RESET_STATE);
  frame_samples_ = static_cast<size_t>(codec_info(codec_).samples_per_20ms);
}

size_t OpusAudioDecoder::decode(std::span<const uint8_t> payload, std::span<int16_t> out) {
  // RFC 7587: an Opus RTP payload holds at least the TOC byte. An empty one
  // would make libopus run PLC silently; count it instead.
  if (payload.empty() || payload.size() > kMaxPayloadBytes) {
    ++stats_.decode_errors;
    return conceal(out);
  }
  const int n = opus_decode(dec_, payload.data(), as_int(payload.size()), out.data(),
                            as_int(std::min(out.size(), kMaxDecodedSamples)), 0);
  if (n <= 0) {
    ++stats_.decode_errors;
    return conceal(out);
  }
  frame_samples_ = static_cast<size_t>(n);
  ++stats_.frames_decoded;
  return frame_samples_;
}

size_t OpusAudioDecoder::conceal(std::span<int16_t> out) {
  const size_t n = plc_samples(frame_samples_, out.size());
  if (n == 0) return 0;
  const int got = opus_decode(dec_, nullptr, 0, out.data(), as_int(n), 0);
  ++stats_.frames_concealed;
  if (got <= 0) {  // cannot happen for a valid size; stay silent rather than fail
    std::fill_n(out.begin(), n, int16_t{0});
    return n;
  }
  return static_cast<size_t>(got);
}

size_t OpusAudioDecoder::decode_fec(std::span<const uint8_t> next_payload, std::span<int16_t> out) {
  if (next_payload.empty() || next_payload.size() > kMaxPayloadBytes) return conceal(out);
  // The LBRR data in a packet covers the frame before it, for the same duration.
  const int next_samples =
      opus_packet_get_nb_samples(next_payload.data(), as_int(next_payload.size()), kOpusRateHz);
  if (next_samples <= 0) return conceal(out);  // the bad packet is counted when decoded
  const size_t n = plc_samples(static_cast<size_t>(next_samples), out.size());
  if (n == 0) return 0;
  const int got = opus_decode(dec_, next_payload.data(), as_int(next_payload.size()), out.data(), as_int(n), 1);
  if (got <= 0) return conceal(out);
  ++stats_.frames_fec;
  return static_cast<size_t>(got);
}

// ---------------------------------------------------------------- encoder

namespace {
// OPUS_BANDWIDTH_* for a top audio frequency, -1 if it names none.
int opus_bandwidth(int max_audio_bandwidth_hz) {
  switch (max_audio_bandwidth_hz) {
    case 4000: return OPUS_BANDWIDTH_NARROWBAND;
    case 6000: return OPUS_BANDWIDTH_MEDIUMBAND;
    case 8000: return OPUS_BANDWIDTH_WIDEBAND;
    case 12000: return OPUS_BANDWIDTH_SUPERWIDEBAND;
    case 20000: return OPUS_BANDWIDTH_FULLBAND;
    default: return -1;
  }
}
}  // namespace

Status validate_opus_config(const EncoderConfig& c) {
  if (c.codec != AudioCodec::kOpus) return invalid_argument("opus encoder: codec must be opus");
  if (c.frame_ms != 10 && c.frame_ms != 20 && c.frame_ms != 40 && c.frame_ms != 60)
    return invalid_argument("opus encoder: frame_ms must be 10, 20, 40 or 60, got " + std::to_string(c.frame_ms));
  if (c.bitrate_bps < 6000 || c.bitrate_bps > 510000)
    return invalid_argument("opus encoder: bitrate_bps must be in [6000, 510000], got " +
                            std::to_string(c.bitrate_bps));
  if (c.packet_loss_perc < 0 || c.packet_loss_perc > 100)
    return invalid_argument("opus encoder: packet_loss_perc must be in [0, 100], got " +
                            std::to_string(c.packet_loss_perc));
  if (c.complexity < 0 || c.complexity > 10)
    return invalid_argument("opus encoder: complexity must be in [0, 10], got " + std::to_string(c.complexity));
  if (opus_bandwidth(c.max_audio_bandwidth_hz) < 0)
    return invalid_argument("opus encoder: max_audio_bandwidth_hz must be 4000, 6000, 8000, 12000 or 20000, got " +
                            std::to_string(c.max_audio_bandwidth_hz));
  return {};
}

StatusOr<std::unique_ptr<OpusAudioEncoder>> OpusAudioEncoder::create(const EncoderConfig& c) {
  if (Status s = validate_opus_config(c); !s.ok()) return s;
  int err = OPUS_OK;
  ::OpusEncoder* enc = opus_encoder_create(kOpusRateHz, 1, OPUS_APPLICATION_VOIP, &err);
  if (err != OPUS_OK || enc == nullptr) {
    return unavailable(std::string("opus encoder: opus_encoder_create failed: ") + opus_strerror(err));
  }
  std::unique_ptr<OpusAudioEncoder> e(new OpusAudioEncoder(enc, static_cast<size_t>(kOpusRateHz / 1000 * c.frame_ms)));
  const int rc[] = {
      opus_encoder_ctl(enc, OPUS_SET_BITRATE(c.bitrate_bps)),
      opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(c.inband_fec ? 1 : 0)),
      opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(c.packet_loss_perc)),
      opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(c.complexity)),
      opus_encoder_ctl(enc, OPUS_SET_DTX(c.dtx ? 1 : 0)),
      opus_encoder_ctl(enc, OPUS_SET_MAX_BANDWIDTH(opus_bandwidth(c.max_audio_bandwidth_hz))),
  };
  for (int r : rc) {
    if (r != OPUS_OK) return invalid_argument(std::string("opus encoder: opus_encoder_ctl failed: ") + opus_strerror(r));
  }
  return e;
}

OpusAudioEncoder::OpusAudioEncoder(::OpusEncoder* enc, size_t frame_samples)
    : AudioEncoder(AudioCodec::kOpus, frame_samples), enc_(enc) {}

OpusAudioEncoder::~OpusAudioEncoder() { opus_encoder_destroy(enc_); }

void OpusAudioEncoder::reset() { opus_encoder_ctl(enc_, OPUS_RESET_STATE); }

Status OpusAudioEncoder::set_bitrate_bps(int bitrate_bps) {
  if (bitrate_bps < 6000 || bitrate_bps > 510000)
    return invalid_argument("opus encoder: bitrate_bps must be in [6000, 510000], got " + std::to_string(bitrate_bps));
  opus_encoder_ctl(enc_, OPUS_SET_BITRATE(bitrate_bps));
  return {};
}

Status OpusAudioEncoder::set_packet_loss_perc(int perc) {
  if (perc < 0 || perc > 100)
    return invalid_argument("opus encoder: packet_loss_perc must be in [0, 100], got " + std::to_string(perc));
  opus_encoder_ctl(enc_, OPUS_SET_PACKET_LOSS_PERC(perc));
  return {};
}

size_t OpusAudioEncoder::encode(std::span<const int16_t> frame, std::span<uint8_t> out) {
  if (frame.size() != frame_samples_ || out.empty()) {
    ++stats_.encode_errors;
    return 0;
  }
  const int n = opus_encode(enc_, frame.data(), as_int(frame_samples_), out.data(),
                            as_int(std::min(out.size(), kMaxOpusPayloadBytes)));
  if (n <= 0) {
    ++stats_.encode_errors;
    return 0;
  }
  ++stats_.frames_encoded;
  return static_cast<size_t>(n);
}

}  // namespace sipmix::audio
