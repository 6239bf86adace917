#include "audio_codec/codec.h"

#include <cctype>
#include <string>

#include "audio_codec/g7xx_codec.h"
#include "audio_codec/opus_codec.h"

namespace sipmix::audio {

namespace {
constexpr CodecInfo kInfo[] = {
    {"opus", 48000, 48000, -1, 960},
    {"PCMU", 8000, 8000, 0, 160},
    {"PCMA", 8000, 8000, 8, 160},
    {"G722", 16000, 8000, 9, 320},
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}
}  // namespace

const CodecInfo& codec_info(AudioCodec codec) { return kInfo[static_cast<size_t>(codec)]; }

StatusOr<AudioCodec> codec_from_name(std::string_view name) {
  for (AudioCodec c : {AudioCodec::kOpus, AudioCodec::kPcmu, AudioCodec::kPcma, AudioCodec::kG722}) {
    if (iequals(name, codec_info(c).name)) return c;
  }
  return invalid_argument("audio codec: unknown encoding name '" + std::string(name) +
                          "' (expected opus, PCMU, PCMA or G722)");
}

StatusOr<std::unique_ptr<AudioDecoder>> make_audio_decoder(AudioCodec codec) {
  if (codec == AudioCodec::kOpus) {
    auto d = OpusAudioDecoder::create();
    if (!d.ok()) return d.status();
    return std::unique_ptr<AudioDecoder>(std::move(d).value());
  }
  if (codec == AudioCodec::kG722) {
    auto d = LavcAudioDecoder::create(codec);
    if (!d.ok()) return d.status();
    return std::unique_ptr<AudioDecoder>(std::move(d).value());
  }
  auto d = G711AudioDecoder::create(codec);
  if (!d.ok()) return d.status();
  return std::unique_ptr<AudioDecoder>(std::move(d).value());
}

StatusOr<std::unique_ptr<AudioEncoder>> make_audio_encoder(const EncoderConfig& config) {
  if (config.codec == AudioCodec::kOpus) {
    auto e = OpusAudioEncoder::create(config);
    if (!e.ok()) return e.status();
    return std::unique_ptr<AudioEncoder>(std::move(e).value());
  }
  if (config.codec == AudioCodec::kG722) {
    auto e = LavcAudioEncoder::create(config);
    if (!e.ok()) return e.status();
    return std::unique_ptr<AudioEncoder>(std::move(e).value());
  }
  auto e = G711AudioEncoder::create(config);
  if (!e.ok()) return e.status();
  return std::unique_ptr<AudioEncoder>(std::move(e).value());
}

}  // namespace sipmix::audio
