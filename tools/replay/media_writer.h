// Muxes the replay's output media into a file that ffprobe and common players
// accept: encoded video frames (H.264 Annex B or VP8) passed through, and
// audio as encoded G.711 / G.722 / Opus frames passed through or raw s16 PCM.
// Matroska by default; the container follows the file extension (.mkv, .mka,
// .webm, .ogg, .wav...). Output goes to `<path>.part` and is renamed by
// finish(); abort() or destruction without finish() removes it. One writer,
// one thread; the writer owns its libavformat context.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sipmix/status.h"

namespace sipmix::replay {

enum class VideoOutCodec { kNone, kH264, kVp8 };
enum class AudioOutCodec { kNone, kPcmu, kPcma, kG722, kOpus, kPcmS16 };
const char* audio_out_codec_name(AudioOutCodec codec);  // ffprobe's codec_name
const char* video_out_codec_name(VideoOutCodec codec);

struct MediaWriterConfig {
  std::string path;  // final name; the extension picks the container (none: Matroska)
  VideoOutCodec video = VideoOutCodec::kNone;
  int width = 0, height = 0;   // video size
  int frame_rate = 30;         // nominal, for the container's metadata
  AudioOutCodec audio = AudioOutCodec::kNone;
  // Audio clock: 8000 for G.711, 16000 for G.722 (its nominal rate), 48000
  // for Opus; any rate for s16 PCM. Mono unless `channels` says otherwise.
  int sample_rate_hz = 8000;
  int channels = 1;
  int opus_pre_skip = 0;       // samples at 48 kHz, written into OpusHead
};

class MediaWriter {
 public:
  // Validates the configuration (codec/container support) and creates the
  // `.part` file. Errors name the path or the field.
  static StatusOr<std::unique_ptr<MediaWriter>> create(const MediaWriterConfig& config);
  ~MediaWriter();
  MediaWriter(const MediaWriter&) = delete;
  MediaWriter& operator=(const MediaWriter&) = delete;

  // One encoded video frame. H.264: an Annex B access unit; the container
  // header is written at the first keyframe carrying SPS and PPS, and frames
  // before it are dropped (counted). Timestamps must not go backwards.
  Status write_video(std::span<const uint8_t> frame, int64_t pts_us, bool keyframe);
  // One encoded audio frame of `samples` samples at the configured rate
  // (G.722: samples at 16 kHz, i.e. 2 per byte).
  Status write_audio(std::span<const uint8_t> frame, int64_t pts_us, int samples);
  // Raw PCM for AudioOutCodec::kPcmS16 (interleaved if channels > 1).
  Status write_audio_pcm(std::span<const int16_t> samples, int64_t pts_us);

  // Writes the trailer and renames `<path>.part` to `path`.
  Status finish();
  void abort();

  int64_t video_frames() const { return video_frames_; }
  int64_t audio_frames() const { return audio_frames_; }
  int64_t dropped_video_frames() const { return dropped_video_; }

 private:
  struct Impl;
  explicit MediaWriter(std::unique_ptr<Impl> impl);
  Status start(const std::string& why);
  Status mux(int stream, std::span<const uint8_t> data, int64_t pts_us, int64_t duration_us, bool key);
  std::unique_ptr<Impl> impl_;
  int64_t video_frames_ = 0, audio_frames_ = 0, dropped_video_ = 0;
};

// Finds the SPS and PPS NAL units of an Annex B access unit and returns them
// as Annex B (start code + NAL each), or empty if either is missing.
std::vector<uint8_t> h264_parameter_sets(std::span<const uint8_t> access_unit);

}  // namespace sipmix::replay
