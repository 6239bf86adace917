#include "session/audio_input.h"

#include <algorithm>
#include <cstring>

#include "audio/talker.h"
#include "rtp/rtp_packet.h"

namespace sipmix::session {
namespace {
// 48 kHz FIFO: one 120 ms Opus packet plus a frame of slack.
constexpr size_t kFifoSamples = audio::kMaxDecodedSamples + audio::kMixFrameSamples;
constexpr float kSilentDbov = -60.0f;
}  // namespace

StatusOr<std::unique_ptr<AudioInput>> AudioInput::create(const AudioInputConfig& config) {
  const audio::CodecInfo& info = audio::codec_info(config.codec);
  JitterBufferConfig jc;
  jc.capacity_packets = 128;
  jc.clock_rate_hz = static_cast<uint32_t>(info.rtp_clock_hz);
  jc.min_delay_ms = config.min_delay_ms;
  jc.max_delay_ms = config.max_delay_ms;
  auto jitter = JitterBuffer::create(jc);
  if (!jitter.ok()) return jitter.status();
  auto decoder = audio::make_audio_decoder(config.codec);
  if (!decoder.ok()) return decoder.status();
  auto resampler = audio::Resampler::create(info.sample_rate_hz, audio::kMixSampleRateHz, config.resampler_quality);
  if (!resampler.ok()) return resampler.status();
  return std::unique_ptr<AudioInput>(
      new AudioInput(config, std::move(*jitter), std::move(*decoder), std::move(*resampler)));
}

AudioInput::AudioInput(const AudioInputConfig& config, std::unique_ptr<JitterBuffer> jitter,
                       std::unique_ptr<audio::AudioDecoder> decoder, audio::Resampler resampler)
    : config_(config),
      jitter_(std::move(jitter)),
      decoder_(std::move(decoder)),
      resampler_(std::move(resampler)),
      decoded_(audio::kMaxDecodedSamples),
      fifo_(kFifoSamples),
      frame_(audio::kMixFrameSamples) {}

void AudioInput::push_decoded(size_t samples) {
  const size_t room = fifo_.size() - fifo_size_;
  const size_t needed = (samples * static_cast<size_t>(resampler_.out_rate_hz()) + resampler_.in_rate_hz() - 1) /
                            static_cast<size_t>(resampler_.in_rate_hz()) + 16;
  if (room < needed) return;  // cannot happen with 10..120 ms packets
  fifo_size_ += resampler_.process({decoded_.data(), samples}, {fifo_.data() + fifo_size_, room});
}

bool AudioInput::pull(int64_t now_us) {
  while (fifo_size_ < audio::kMixFrameSamples) {
    const Playout p = jitter_->pull_audio(now_us, silent_);
    if (p.kind == PlayoutKind::kNotYet) break;
    size_t n = 0;
    if (p.kind == PlayoutKind::kPacket) {
      if (p.packet.payload_type != config_.payload_type) {
        ++wrong_pt_;
        n = decoder_->conceal({decoded_.data(), decoded_.size()});
      } else {
        n = decoder_->decode(p.packet.payload, {decoded_.data(), decoded_.size()});
        if (config_.audio_level_ext_id != 0) {
          if (auto view = rtp::parse_rtp(p.packet.data))
            if (auto lvl = rtp::parse_audio_level(*view, config_.audio_level_ext_id)) last_rfc6464_ = lvl->level_dbov;
        }
      }
    } else {  // kMissing: FEC from the next packet when it is here, else PLC
      JitterPacket next;
      if (decoder_->supports_fec() && jitter_->peek_next(&next) && next.payload_type == config_.payload_type)
        n = decoder_->decode_fec(next.payload, {decoded_.data(), decoded_.size()});
      else
        n = decoder_->conceal({decoded_.data(), decoded_.size()});
      jitter_->report_concealed(1);
    }
    push_decoded(n);
  }
  if (fifo_size_ < audio::kMixFrameSamples) {
    level_dbov_ = audio::TalkerDetector::kSilenceDbov;
    silent_ = true;
    return false;
  }
  std::memcpy(frame_.data(), fifo_.data(), audio::kMixFrameSamples * sizeof(int16_t));
  fifo_size_ -= audio::kMixFrameSamples;
  std::memmove(fifo_.data(), fifo_.data() + audio::kMixFrameSamples, fifo_size_ * sizeof(int16_t));
  level_dbov_ = last_rfc6464_ ? audio::TalkerDetector::level_from_rfc6464(*last_rfc6464_)
                              : audio::TalkerDetector::measure_dbov({frame_.data(), audio::kMixFrameSamples});
  silent_ = level_dbov_ < kSilentDbov;
  return true;
}

}  // namespace sipmix::session
