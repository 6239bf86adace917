// Where the tick thread's time goes, stage by stage, when the embedder asks
// for it (SessionConfig::measure_stages). Tick thread only. Steady clock
// (a vDSO read, about 25 ns); when off, each probe is one predictable branch
// and no clock read.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

#include "sipmix/session.h"

namespace sipmix::session {

enum class Stage : uint8_t {
  kAudioDecode,
  kAudioIn,  // jitter buffer, resampling to 48 kHz, levels (decode excluded)
  kMix,
  kAudioEncode,
  kVideoDecode,
  kVideoIn,  // jitter buffer, depacketizing, frame assembly (decode excluded)
  kCompose,
  kVideoEncode,
  kSend,
  kSink,
  kCount
};

class StageTimer {
 public:
  explicit StageTimer(bool enabled) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }

  // A start mark; 0 when off.
  int64_t mark() const { return enabled_ ? now_ns() : 0; }
  // Adds the time since `from` to `stage` and returns the new mark.
  int64_t add(Stage stage, int64_t from) {
    if (!enabled_) return 0;
    const int64_t t = now_ns();
    ns_[static_cast<size_t>(stage)] += t - from;
    return t;
  }
  // For a stage measured inside another (a decoder inside an input): moves
  // `ns` from `outer` to `inner`.
  void move(Stage outer, Stage inner, int64_t ns) {
    ns_[static_cast<size_t>(outer)] -= ns;
    ns_[static_cast<size_t>(inner)] += ns;
  }
  void add_total(int64_t ns) { total_ns_ += ns; }

  StageTimes times() const {
    auto us = [&](Stage s) { return ns_[static_cast<size_t>(s)] / 1000; };
    StageTimes t;
    t.audio_decode_us = us(Stage::kAudioDecode);
    t.audio_in_us = us(Stage::kAudioIn);
    t.mix_us = us(Stage::kMix);
    t.audio_encode_us = us(Stage::kAudioEncode);
    t.video_decode_us = us(Stage::kVideoDecode);
    t.video_in_us = us(Stage::kVideoIn);
    t.compose_us = us(Stage::kCompose);
    t.video_encode_us = us(Stage::kVideoEncode);
    t.send_us = us(Stage::kSend);
    t.sink_us = us(Stage::kSink);
    t.total_us = total_ns_ / 1000;
    int64_t sum = 0;
    for (int64_t v : ns_) sum += v;
    t.other_us = (total_ns_ - sum) / 1000;
    return t;
  }

  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

 private:
  bool enabled_;
  std::array<int64_t, static_cast<size_t>(Stage::kCount)> ns_{};
  int64_t total_ns_ = 0;
};

}  // namespace sipmix::session
