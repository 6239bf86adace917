#include "audio_codec/g7xx_codec.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
}

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>
#include <string>

namespace sipmix::audio {

namespace {

AVCodecID lavc_id(AudioCodec codec) {
  switch (codec) {
    case AudioCodec::kPcmu: return AV_CODEC_ID_PCM_MULAW;
    case AudioCodec::kPcma: return AV_CODEC_ID_PCM_ALAW;
    case AudioCodec::kG722: return AV_CODEC_ID_ADPCM_G722;
    case AudioCodec::kOpus: break;
  }
  return AV_CODEC_ID_NONE;
}

constexpr size_t kPacketBufferBytes = kMaxPayloadBytes + AV_INPUT_BUFFER_PADDING_SIZE;

std::string av_error(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof(buf));
  return buf;
}

// Opens a mono S16 context. frame_samples > 0 for encoders (G.722 needs it).
StatusOr<AVCodecContext*> open_context(AudioCodec codec, bool encoder, int frame_samples) {
  const char* what = encoder ? " encoder" : " decoder";
  const std::string name = std::string(codec_info(codec).name) + what;
  const AVCodecID id = lavc_id(codec);
  if (id == AV_CODEC_ID_NONE) return invalid_argument(name + ": not a libavcodec codec");
  const AVCodec* c = encoder ? avcodec_find_encoder(id) : avcodec_find_decoder(id);
  if (c == nullptr) return unavailable(name + ": libavcodec was built without it");
  AVCodecContext* ctx = avcodec_alloc_context3(c);
  if (ctx == nullptr) return unavailable(name + ": out of memory");
  ctx->sample_rate = codec_info(codec).sample_rate_hz;
  av_channel_layout_default(&ctx->ch_layout, 1);
  ctx->sample_fmt = AV_SAMPLE_FMT_S16;
  // Push libavcodec's messages for this context below AV_LOG_TRACE: bad media
  // is counted, and the hot path never writes to stderr.
  ctx->log_level_offset = 64;
  if (codec == AudioCodec::kG722) ctx->bits_per_coded_sample = 8;  // 64 kbit/s mode
  if (encoder) {
    ctx->frame_size = frame_samples;
    ctx->bit_rate = 64000;  // both G.711 and G.722 (mode 1)
  }
  const int rc = avcodec_open2(ctx, c, nullptr);
  if (rc < 0) {
    avcodec_free_context(&ctx);
    return unavailable(name + ": avcodec_open2 failed: " + av_error(rc));
  }
  if (ctx->sample_fmt != AV_SAMPLE_FMT_S16) {
    avcodec_free_context(&ctx);
    return unavailable(name + ": libavcodec does not use 16-bit interleaved samples");
  }
  return ctx;
}

}  // namespace

// ---------------------------------------------------------------- decoder

StatusOr<std::unique_ptr<LavcAudioDecoder>> LavcAudioDecoder::create(AudioCodec codec) {
  auto ctx = open_context(codec, /*encoder=*/false, 0);
  if (!ctx.ok()) return ctx.status();
  AVPacket* pkt = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  // The packet owns a refcounted buffer, so avcodec_send_packet() references
  // it instead of copying each payload into a fresh one.
  if (pkt == nullptr || frame == nullptr || av_new_packet(pkt, static_cast<int>(kMaxPayloadBytes)) < 0) {
    av_packet_free(&pkt);
    av_frame_free(&frame);
    AVCodecContext* c = *ctx;
    avcodec_free_context(&c);
    return unavailable(std::string(codec_info(codec).name) + " decoder: out of memory");
  }
  return std::unique_ptr<LavcAudioDecoder>(new LavcAudioDecoder(codec, *ctx, pkt, frame));
}

LavcAudioDecoder::LavcAudioDecoder(AudioCodec codec, AVCodecContext* ctx, AVPacket* pkt, AVFrame* frame)
    : AudioDecoder(codec),
      ctx_(ctx),
      pkt_(pkt),
      frame_(frame),
      samples_per_byte_(codec == AudioCodec::kG722 ? 2 : 1),
      plc_(codec_info(codec).sample_rate_hz) {}

LavcAudioDecoder::~LavcAudioDecoder() {
  av_frame_free(&frame_);
  av_packet_free(&pkt_);
  avcodec_free_context(&ctx_);
}

void LavcAudioDecoder::reset() {
  // G.711 is stateless. G.722's ADPCM predictors are not cleared by
  // avcodec_flush_buffers(), so reopen the context (configuration time).
  if (codec_ == AudioCodec::kG722) {
    auto fresh = open_context(codec_, false, 0);
    if (fresh.ok()) {
      avcodec_free_context(&ctx_);
      ctx_ = *fresh;
    }
  } else {
    avcodec_flush_buffers(ctx_);
  }
  plc_.reset();
  frame_samples_ = static_cast<size_t>(codec_info(codec_).samples_per_20ms);
}

size_t LavcAudioDecoder::fail_and_conceal(std::span<int16_t> out) {
  ++stats_.decode_errors;
  return conceal(out);
}

size_t LavcAudioDecoder::decode(std::span<const uint8_t> payload, std::span<int16_t> out) {
  // An empty packet would mean end-of-stream to libavcodec: reject it here.
  if (payload.empty() || payload.size() > kMaxPayloadBytes) return fail_and_conceal(out);
  const size_t expected = payload.size() * samples_per_byte_;
  if (expected > out.size()) return fail_and_conceal(out);
  // libavcodec releases its reference once the frames are received, so the
  // buffer is ours again; if it ever were not, get a fresh one (rare path).
  if (!av_buffer_is_writable(pkt_->buf) || pkt_->buf->size < kPacketBufferBytes) {
    av_packet_unref(pkt_);
    if (av_new_packet(pkt_, static_cast<int>(kMaxPayloadBytes)) < 0) return fail_and_conceal(out);
  }
  std::memcpy(pkt_->data, payload.data(), payload.size());
  std::memset(pkt_->data + payload.size(), 0, AV_INPUT_BUFFER_PADDING_SIZE);
  pkt_->size = static_cast<int>(payload.size());
  if (avcodec_send_packet(ctx_, pkt_) < 0) return fail_and_conceal(out);
  size_t got = 0;
  bool overflow = false;
  while (avcodec_receive_frame(ctx_, frame_) == 0) {
    const size_t n = static_cast<size_t>(std::max(frame_->nb_samples, 0));
    const size_t take = std::min(n, out.size() - got);
    overflow |= take < n;
    std::memcpy(out.data() + got, frame_->data[0], take * sizeof(int16_t));
    got += take;
    av_frame_unref(frame_);
  }
  if (got == 0 || overflow) return fail_and_conceal(out);
  plc_.on_decoded(out.first(got));
  frame_samples_ = got;
  ++stats_.frames_decoded;
  return got;
}

size_t LavcAudioDecoder::conceal(std::span<int16_t> out) {
  const size_t n = std::min(frame_samples_, out.size());
  if (n == 0) return 0;
  plc_.conceal(out.first(n));
  ++stats_.frames_concealed;
  return n;
}

// ---------------------------------------------------------------- encoder

StatusOr<std::unique_ptr<LavcAudioEncoder>> LavcAudioEncoder::create(const EncoderConfig& config) {
  const AudioCodec codec = config.codec;
  const std::string name = std::string(codec_info(codec).name) + " encoder";
  if (lavc_id(codec) == AV_CODEC_ID_NONE) return invalid_argument(name + ": not a libavcodec codec");
  if (config.frame_ms != 10 && config.frame_ms != 20 && config.frame_ms != 40 && config.frame_ms != 60)
    return invalid_argument(name + ": frame_ms must be 10, 20, 40 or 60, got " + std::to_string(config.frame_ms));
  const int frame_samples = codec_info(codec).sample_rate_hz / 1000 * config.frame_ms;
  auto ctx = open_context(codec, /*encoder=*/true, frame_samples);
  if (!ctx.ok()) return ctx.status();
  AVPacket* pkt = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  bool ok = pkt != nullptr && frame != nullptr;
  if (ok) {
    frame->format = AV_SAMPLE_FMT_S16;
    frame->sample_rate = codec_info(codec).sample_rate_hz;
    frame->nb_samples = frame_samples;
    ok = av_channel_layout_copy(&frame->ch_layout, &(*ctx)->ch_layout) == 0 && av_frame_get_buffer(frame, 0) == 0;
  }
  if (!ok) {
    av_packet_free(&pkt);
    av_frame_free(&frame);
    AVCodecContext* c = *ctx;
    avcodec_free_context(&c);
    return unavailable(name + ": out of memory");
  }
  return std::unique_ptr<LavcAudioEncoder>(
      new LavcAudioEncoder(codec, static_cast<size_t>(frame_samples), *ctx, pkt, frame));
}

LavcAudioEncoder::LavcAudioEncoder(AudioCodec codec, size_t frame_samples, AVCodecContext* ctx, AVPacket* pkt,
                                   AVFrame* frame)
    : AudioEncoder(codec, frame_samples),
      ctx_(ctx),
      pkt_(pkt),
      frame_(frame),
      max_payload_bytes_(codec == AudioCodec::kG722 ? frame_samples / 2 : frame_samples) {}

LavcAudioEncoder::~LavcAudioEncoder() {
  av_frame_free(&frame_);
  av_packet_free(&pkt_);
  avcodec_free_context(&ctx_);
}

void LavcAudioEncoder::reset() {
  if (codec_ != AudioCodec::kG722) return;  // G.711 keeps no state
  auto fresh = open_context(codec_, true, static_cast<int>(frame_samples_));
  if (fresh.ok()) {
    avcodec_free_context(&ctx_);
    ctx_ = *fresh;
  }
}

size_t LavcAudioEncoder::encode(std::span<const int16_t> frame, std::span<uint8_t> out) {
  if (frame.size() != frame_samples_ || av_frame_make_writable(frame_) < 0) {
    ++stats_.encode_errors;
    return 0;
  }
  std::memcpy(frame_->data[0], frame.data(), frame.size() * sizeof(int16_t));
  if (avcodec_send_frame(ctx_, frame_) < 0) {
    ++stats_.encode_errors;
    return 0;
  }
  size_t total = 0;
  bool overflow = false;
  while (avcodec_receive_packet(ctx_, pkt_) == 0) {
    const size_t n = static_cast<size_t>(std::max(pkt_->size, 0));
    if (total + n <= out.size()) {
      std::memcpy(out.data() + total, pkt_->data, n);
      total += n;
    } else {
      overflow = true;
    }
    av_packet_unref(pkt_);
  }
  if (total == 0 || overflow) {
    ++stats_.encode_errors;
    return 0;
  }
  ++stats_.frames_encoded;
  return total;
}

// ---------------------------------------------------------------- G.711 tables

namespace {

// Runs one libavcodec encode and one decode over every possible input.
Status build_g711_tables(AudioCodec codec, G711Tables* t) {
  EncoderConfig cfg;
  cfg.codec = codec;
  cfg.frame_ms = 10;
  auto enc = LavcAudioEncoder::create(cfg);
  if (!enc.ok()) return enc.status();
  auto dec = LavcAudioDecoder::create(codec);
  if (!dec.ok()) return dec.status();
  const size_t frame = (*enc)->frame_samples();
  std::vector<int16_t> pcm(frame);
  std::vector<uint8_t> bytes(frame);
  for (size_t base = 0; base < 65536; base += frame) {
    for (size_t i = 0; i < frame; ++i) pcm[i] = static_cast<int16_t>(static_cast<uint16_t>(base + i));
    if ((*enc)->encode(pcm, bytes) != frame)
      return unavailable(std::string(codec_info(codec).name) + " encoder: libavcodec failed building the table");
    std::memcpy(t->encode + base, bytes.data(), frame);
  }
  uint8_t codes[256];
  for (int i = 0; i < 256; ++i) codes[i] = static_cast<uint8_t>(i);
  std::vector<int16_t> out(kMaxDecodedSamples);
  if ((*dec)->decode(codes, out) != 256 || (*dec)->stats().decode_errors != 0)
    return unavailable(std::string(codec_info(codec).name) + " decoder: libavcodec failed building the table");
  std::memcpy(t->decode, out.data(), sizeof(t->decode));
  return {};
}

}  // namespace

StatusOr<const G711Tables*> g711_tables(AudioCodec codec) {
  if (codec != AudioCodec::kPcmu && codec != AudioCodec::kPcma) return invalid_argument("G.711 tables: not G.711");
  static G711Tables tables[2];
  static Status status[2];
  static std::once_flag once[2];
  const int law = codec == AudioCodec::kPcmu ? 0 : 1;
  std::call_once(once[law], [&] { status[law] = build_g711_tables(codec, &tables[law]); });
  if (!status[law].ok()) return status[law];
  return &tables[law];
}

StatusOr<std::unique_ptr<G711AudioDecoder>> G711AudioDecoder::create(AudioCodec codec) {
  auto t = g711_tables(codec);
  if (!t.ok()) return t.status();
  return std::unique_ptr<G711AudioDecoder>(new G711AudioDecoder(codec, *t));
}

G711AudioDecoder::G711AudioDecoder(AudioCodec codec, const G711Tables* tables)
    : AudioDecoder(codec), tables_(tables), plc_(codec_info(codec).sample_rate_hz) {}

void G711AudioDecoder::reset() {
  plc_.reset();
  frame_samples_ = static_cast<size_t>(codec_info(codec_).samples_per_20ms);
}

size_t G711AudioDecoder::decode(std::span<const uint8_t> payload, std::span<int16_t> out) {
  if (payload.empty() || payload.size() > kMaxPayloadBytes || payload.size() > out.size()) {
    ++stats_.decode_errors;
    return conceal(out);
  }
  for (size_t i = 0; i < payload.size(); ++i) out[i] = tables_->decode[payload[i]];
  plc_.on_decoded(out.first(payload.size()));
  frame_samples_ = payload.size();
  ++stats_.frames_decoded;
  return payload.size();
}

size_t G711AudioDecoder::conceal(std::span<int16_t> out) {
  const size_t n = std::min(frame_samples_, out.size());
  if (n == 0) return 0;
  plc_.conceal(out.first(n));
  ++stats_.frames_concealed;
  return n;
}

StatusOr<std::unique_ptr<G711AudioEncoder>> G711AudioEncoder::create(const EncoderConfig& config) {
  const std::string name = std::string(codec_info(config.codec).name) + " encoder";
  if (config.codec != AudioCodec::kPcmu && config.codec != AudioCodec::kPcma)
    return invalid_argument(name + ": not G.711");
  if (config.frame_ms != 10 && config.frame_ms != 20 && config.frame_ms != 40 && config.frame_ms != 60)
    return invalid_argument(name + ": frame_ms must be 10, 20, 40 or 60, got " + std::to_string(config.frame_ms));
  auto t = g711_tables(config.codec);
  if (!t.ok()) return t.status();
  return std::unique_ptr<G711AudioEncoder>(
      new G711AudioEncoder(config.codec, static_cast<size_t>(8 * config.frame_ms), *t));
}

G711AudioEncoder::G711AudioEncoder(AudioCodec codec, size_t frame_samples, const G711Tables* tables)
    : AudioEncoder(codec, frame_samples), tables_(tables) {}

size_t G711AudioEncoder::encode(std::span<const int16_t> frame, std::span<uint8_t> out) {
  if (frame.size() != frame_samples_ || out.size() < frame_samples_) {
    ++stats_.encode_errors;
    return 0;
  }
  for (size_t i = 0; i < frame_samples_; ++i) out[i] = tables_->encode[static_cast<uint16_t>(frame[i])];
  ++stats_.frames_encoded;
  return frame_samples_;
}

}  // namespace sipmix::audio
