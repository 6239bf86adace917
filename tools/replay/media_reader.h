// Reads a participant's media file (anything libavformat opens: webm, mkv,
// mp4, ogg, wav, ivf...) as a sequence of packets in decode-timestamp order,
// ready to packetize to RTP. Opus, VP8 and H.264 (converted to Annex B) come
// out as encoded frames; any other audio is decoded to 48 kHz mono int16 in
// 20 ms frames. One reader per file, used by one thread; it owns its buffers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sipmix/status.h"

namespace sipmix::replay {

enum class MediaKind { kAudio, kVideo };

enum class MediaCodec {
  kOpus,   // encoded Opus frame (one packet as in the file)
  kVp8,    // encoded VP8 frame
  kH264,   // encoded H.264 access unit, Annex B (start codes), SPS/PPS before IDRs
  kPcm,    // decoded audio: MediaPacket::pcm holds kPcmFrameSamples at 48 kHz mono
  kOther,  // anything else, passed through as in the file; see av_codec_id
};
const char* media_codec_name(MediaCodec codec);

inline constexpr int kPcmSampleRateHz = 48000;
inline constexpr int kPcmFrameSamples = 960;  // 20 ms

struct MediaStreamInfo {
  int index = 0;            // index in MediaReader::streams() and MediaPacket::stream
  MediaKind kind = MediaKind::kAudio;
  MediaCodec codec = MediaCodec::kOther;
  int av_codec_id = 0;      // libavcodec's AVCodecID of the stream in the file
  std::string codec_name;   // libavcodec's name ("opus", "vp8", "h264", "pcm_s16le", ...)
  int width = 0, height = 0;              // video
  int sample_rate_hz = 0, channels = 0;   // audio, as in the file (kPcm output is 48000 / 1)
  int64_t duration_us = -1;               // -1 when unknown
};

struct MediaPacket {
  int stream = 0;  // index into MediaReader::streams()
  MediaKind kind = MediaKind::kAudio;
  MediaCodec codec = MediaCodec::kOther;
  int av_codec_id = 0;
  // Times are relative to the file's start time, so the first frame is at
  // about 0 (dts may be slightly negative for H.264 with B-frames).
  int64_t pts_us = 0;   // presentation time
  int64_t dts_us = 0;   // decode time (the order packets come out in)
  int64_t duration_us = 0;  // 0 when unknown
  bool keyframe = false;    // video: a frame a decoder can start from; audio: always true
  std::vector<uint8_t> data;  // encoded frame (empty for kPcm)
  std::vector<int16_t> pcm;   // kPcm only: kPcmFrameSamples samples
};

class MediaReader {
 public:
  // Opens `path` and selects every audio and video stream. Errors name the
  // path: kNotFound (missing), kUnavailable (unreadable / not a media file),
  // kInvalidArgument (no audio or video stream). With `decode_all_audio`,
  // Opus audio is decoded to kPcm like every other audio codec.
  static StatusOr<std::unique_ptr<MediaReader>> open(const std::string& path, bool decode_all_audio = false);
  ~MediaReader();
  MediaReader(const MediaReader&) = delete;
  MediaReader& operator=(const MediaReader&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<MediaStreamInfo>& streams() const { return streams_; }
  // First stream of that kind, or -1.
  int find_stream(MediaKind kind) const;

  // Reads the next packet of any stream into `out` (its buffers are reused).
  // Returns true for a packet, false at the end of the file, or an error that
  // names the path. Packets come in non-decreasing dts order across streams
  // (up to a reordering window of one second in badly interleaved files).
  StatusOr<bool> next(MediaPacket& out);

  // Packets whose data the reader dropped as undecodable (decoder errors).
  int64_t dropped() const { return dropped_; }

 private:
  struct Impl;
  MediaReader(std::string path, std::unique_ptr<Impl> impl);
  std::string path_;
  std::vector<MediaStreamInfo> streams_;
  std::unique_ptr<Impl> impl_;
  int64_t dropped_ = 0;
};

// Reads a whole audio file as 48 kHz mono int16 (decoding Opus too). For
// prompts and looped speech sources; errors name the path.
StatusOr<std::vector<int16_t>> read_audio_file_48k_mono(const std::string& path);

}  // namespace sipmix::replay
