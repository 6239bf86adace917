// Helpers for the replay I/O tests: a scratch directory per test, running a
// command and capturing its output, and small libavcodec encoders that make
// real H.264 / VP8 / audio frames to feed the writers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sipmix/picture.h"

namespace sipmix::replay::testing {

// A fresh empty directory under the system temp dir, removed by the destructor.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name);
  ~ScratchDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Every file name in the directory (to check nothing half-written remains).
  std::vector<std::string> list() const;

 private:
  std::string path_;
};

// Runs `command` through the shell; returns its stdout (stderr is merged when
// `merge_stderr`). `exit_code` gets the exit status.
std::string run(const std::string& command, int* exit_code = nullptr, bool merge_stderr = false);
bool have_program(const std::string& name);

struct EncodedFrame {
  std::vector<uint8_t> data;
  int64_t pts_us;
  bool keyframe;
  int samples = 0;  // audio
};

// Encodes `frames` I420 pictures (all `width` x `height`) at `fps` with the
// named libavcodec encoder ("libx264": Annex B, baseline, zerolatency;
// "libvpx": VP8).
std::vector<EncodedFrame> encode_video(const std::string& encoder, const std::vector<PictureView>& pictures,
                                       int fps);

// Encodes mono int16 audio at `rate_hz` with the named encoder ("pcm_mulaw",
// "pcm_alaw", "g722", "libopus") into 20 ms frames.
std::vector<EncodedFrame> encode_audio(const std::string& encoder, std::span<const int16_t> pcm, int rate_hz);

}  // namespace sipmix::replay::testing
