#include "receive/audio_input.h"

#include <algorithm>
#include <cstring>

#include "mix/talker.h"
#include "rtp/rtp_packet.h"

namespace sipmix::session {
namespace {
// Accelerate fills the FIFO to two frames: room to search two 15 ms
// segments and still play a whole frame after removing one.
constexpr size_t kAccelerateFillSamples = 2 * audio::kMixFrameSamples;
// 48 kHz FIFO: one 120 ms Opus packet on top of that, plus slack.
constexpr size_t kFifoSamples = audio::kMaxDecodedSamples + kAccelerateFillSamples + 64;
constexpr float kSilentDbov = -60.0f;
constexpr size_t kSamplesPerMs = audio::kMixSampleRateHz / 1000;
// Accelerate removes at most a quarter of the audio played (5 ms per 20 ms
// tick on average): an operation may take up to one 15 ms period, then the
// next waits until the credit is full again.
constexpr size_t kAccelerateCreditPerTick = audio::kMixFrameSamples / 4;
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
  if (config.accelerate_stop_ms < 0 || config.accelerate_start_ms < config.accelerate_stop_ms)
    return invalid_argument("audio input: need 0 <= accelerate_stop_ms <= accelerate_start_ms");
  if (config.accelerate_after_ms < 0) return invalid_argument("audio input: accelerate_after_ms must be >= 0");
  auto stretch = audio::TimeStretch::create();
  if (!stretch.ok()) return stretch.status();
  return std::unique_ptr<AudioInput>(new AudioInput(config, std::move(*jitter), std::move(*decoder),
                                                    std::move(*resampler), std::move(*stretch)));
}

AudioInput::AudioInput(const AudioInputConfig& config, std::unique_ptr<JitterBuffer> jitter,
                       std::unique_ptr<audio::AudioDecoder> decoder, audio::Resampler resampler,
                       audio::TimeStretch stretch)
    : config_(config),
      jitter_(std::move(jitter)),
      decoder_(std::move(decoder)),
      resampler_(std::move(resampler)),
      decoded_(audio::kMaxDecodedSamples),
      fifo_(kFifoSamples),
      frame_(audio::kMixFrameSamples),
      stretch_(std::move(stretch)) {}

void AudioInput::push_decoded(size_t samples) {
  const size_t room = fifo_.size() - fifo_size_;
  const size_t needed = (samples * static_cast<size_t>(resampler_.out_rate_hz()) + resampler_.in_rate_hz() - 1) /
                            static_cast<size_t>(resampler_.in_rate_hz()) + 16;
  if (room < needed) return;  // cannot happen with 10..120 ms packets
  fifo_size_ += resampler_.process({decoded_.data(), samples}, {fifo_.data() + fifo_size_, room});
}

bool AudioInput::pull_one(int64_t now_us, StageTimer* timer) {
  const Playout p = jitter_->pull_audio(now_us, silent_);
  ahead_samples_ = fifo_size_;
  if (p.kind == PlayoutKind::kNotYet) return false;
  size_t n = 0;
  const int64_t t0 = timer ? timer->mark() : 0;
  if (p.kind == PlayoutKind::kPacket) {
    if (p.packet.payload_type != config_.payload_type) {
      ++wrong_pt_;
      n = decoder_->conceal({decoded_.data(), decoded_.size()});
    } else {
      bool quiet = false;
      if (config_.audio_level_ext_id != 0) {
        if (auto view = rtp::parse_rtp(p.packet.data))
          if (auto lvl = rtp::parse_audio_level(*view, config_.audio_level_ext_id)) {
            last_rfc6464_ = lvl->level_dbov;
            quiet = audio::TalkerDetector::level_from_rfc6464(lvl->level_dbov) < kSilentDbov;
          }
      }
      n = quiet ? decode_quiet(p.packet.payload) : decode_sound(p.packet.payload);
    }
  } else if (skipping_) {  // a lost packet inside silence: more silence
    n = silence(decoder_->frame_samples());
    jitter_->report_concealed(1);
  } else {  // kMissing: FEC from the next packet when it is here, else PLC
    JitterPacket next;
    if (decoder_->supports_fec() && jitter_->peek_next(&next) && next.payload_type == config_.payload_type)
      n = decoder_->decode_fec(next.payload, {decoded_.data(), decoded_.size()});
    else
      n = decoder_->conceal({decoded_.data(), decoded_.size()});
    jitter_->report_concealed(1);
  }
  if (timer && timer->enabled()) timer->move(Stage::kAudioIn, Stage::kAudioDecode, StageTimer::now_ns() - t0);
  push_decoded(n);
  return true;
}

size_t AudioInput::silence(size_t samples) {
  samples = std::min(samples, decoded_.size());
  std::fill_n(decoded_.data(), samples, int16_t{0});
  return samples;
}

size_t AudioInput::decode_quiet(std::span<const uint8_t> payload) {
  // The first quiet packet is decoded, so that the decoder has heard the
  // fade into silence; from the second on the stream plays digital silence
  // and keeps only the latest packet, to warm the decoder up with.
  if (!config_.skip_silent_decode || decoder_->codec() != audio::AudioCodec::kOpus || !quiet_before_)
    return decode_sound(payload, /*quiet=*/true);
  skipping_ = true;
  ++skipped_silent_;
  const size_t keep = std::min(payload.size(), skipped_.size());
  std::copy_n(payload.data(), keep, skipped_.data());
  skipped_size_ = keep;
  return silence(decoder_->frame_samples());
}

size_t AudioInput::decode_sound(std::span<const uint8_t> payload, bool quiet) {
  if (skipping_ && skipped_size_ > 0) {
    // Sound again: let the decoder hear the last skipped packet first, so
    // that its state (and the overlap into this packet) is that of silence
    // just before, not of the sound before the pause.
    (void)decoder_->decode({skipped_.data(), skipped_size_}, {decoded_.data(), decoded_.size()});
  }
  skipping_ = false;
  skipped_size_ = 0;
  quiet_before_ = quiet;
  return decoder_->decode(payload, {decoded_.data(), decoded_.size()});
}

size_t AudioInput::accelerate_allowance() {
  const size_t full = stretch_.config().max_lag_samples;
  accel_credit_ = std::min(accel_credit_ + kAccelerateCreditPerTick, full);
  // The jitter buffer's delay is that of the last packet pulled; the FIFO
  // samples queued ahead of it play first, so they add to it.
  const JitterDelay d = jitter_->delay();
  const int64_t ahead = static_cast<int64_t>(ahead_samples_);
  accel_.playout_delay_ms = d.current_delay_ms + static_cast<int32_t>(ahead / static_cast<int64_t>(kSamplesPerMs));
  const int64_t excess = int64_t{d.current_delay_ms - d.target_delay_ms} * static_cast<int64_t>(kSamplesPerMs) + ahead;
  const int64_t start = int64_t{config_.accelerate_start_ms} * static_cast<int64_t>(kSamplesPerMs);
  const int64_t stop = std::max<int64_t>(int64_t{config_.accelerate_stop_ms} * static_cast<int64_t>(kSamplesPerMs),
                                         stretch_.config().min_lag_samples);
  if (!config_.accelerate) {
    accel_.active = false;
  } else if (excess > start) {
    accel_.active = true;
  } else if (excess < stop) {
    accel_.active = false;
  }
  // Silent frames are the jitter buffer's business (it drops them); wait
  // for a full credit so that each operation may take a long period.
  if (!accel_.active || silent_ || nonsilent_ms_ < config_.accelerate_after_ms || accel_credit_ < full || excess <= 0)
    return 0;
  return std::min(accel_credit_, static_cast<size_t>(excess));
}

bool AudioInput::pull(int64_t now_us, StageTimer* timer) {
  const size_t allowance = accelerate_allowance();
  while (fifo_size_ < audio::kMixFrameSamples) {
    if (!pull_one(now_us, timer)) break;
  }
  if (allowance >= static_cast<size_t>(stretch_.config().min_lag_samples) && fifo_size_ >= audio::kMixFrameSamples) {
    // Take the packets that are already here (pull_audio hands out the next
    // in-sequence packet on each call), so the delay drops by what is
    // removed; never declare one missing early for this.
    JitterPacket next;
    while (fifo_size_ < kAccelerateFillSamples && jitter_->peek_next(&next)) {
      if (!pull_one(now_us, timer)) break;
    }
    if (fifo_size_ >= kAccelerateFillSamples) {
      const size_t max_remove = std::min(allowance, fifo_size_ - audio::kMixFrameSamples);
      const audio::StretchResult r = stretch_.accelerate({fifo_.data(), fifo_size_}, max_remove);
      if (r.removed_samples > 0) {
        fifo_size_ -= r.removed_samples;
        ahead_samples_ = ahead_samples_ > r.removed_samples ? ahead_samples_ - r.removed_samples : 0;
        accel_credit_ -= std::min(accel_credit_, r.removed_samples);
        ++accel_.ops;
        accel_.removed_samples += r.removed_samples;
        if (r.kind == audio::StretchKind::kPeriodic) ++accel_.periodic_ops;
      } else {
        ++accel_.declined;
      }
    }
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
  nonsilent_ms_ = silent_ ? 0 : nonsilent_ms_ + static_cast<int64_t>(audio::kMixFrameSamples / kSamplesPerMs);
  return true;
}

}  // namespace sipmix::session
