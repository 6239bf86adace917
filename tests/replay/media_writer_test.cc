// The SIP leg's output files: every codec combination muxes into a file that
// ffprobe reads with the right streams and duration, and that ffmpeg decodes
// without errors; nothing half-written is left behind.
#include "tools/replay/media_writer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "tests/support/signal.h"
#include "tests/replay/replay_io_test_util.h"
#include "tools/replay/synth.h"

namespace sipmix::replay {
namespace {

using testing::EncodedFrame;
using testing::ScratchDir;

constexpr int kFps = 25;
constexpr int kSeconds = 2;

std::vector<EncodedFrame> make_video(const std::string& encoder) {
  VideoSynth synth(1, "P1", 320, 240);
  std::vector<Picture> pics;
  std::vector<PictureView> views;
  for (int i = 0; i < kFps * kSeconds; ++i) {
    const PictureView v = synth.render(i);
    pics.emplace_back(v.width, v.height);
    MutablePictureView m = pics.back().mutable_view();
    for (int y = 0; y < v.height; ++y) std::copy_n(v.y + y * v.stride_y, v.width, m.y + y * m.stride_y);
    for (int y = 0; y < v.height / 2; ++y) {
      std::copy_n(v.u + y * v.stride_u, v.width / 2, m.u + y * m.stride_u);
      std::copy_n(v.v + y * v.stride_v, v.width / 2, m.v + y * m.stride_v);
    }
  }
  for (auto& p : pics) views.push_back(p.view());
  return testing::encode_video(encoder, views, kFps);
}

struct ProbedStream {
  std::string codec_type, codec_name;
  int sample_rate = 0, width = 0;
  double duration = -1;
};

// ffprobe -show_streams, parsed per stream; plus the container duration.
std::vector<ProbedStream> probe(const std::string& path, double* format_duration, int* rc) {
  const std::string out = testing::run("ffprobe -v error -show_streams -show_format '" + path + "'", rc);
  std::vector<ProbedStream> streams;
  size_t pos = 0;
  bool in_format = false;
  while (pos < out.size()) {
    size_t eol = out.find('\n', pos);
    if (eol == std::string::npos) eol = out.size();
    const std::string line = out.substr(pos, eol - pos);
    pos = eol + 1;
    if (line == "[STREAM]") {
      streams.emplace_back();
      in_format = false;
    } else if (line == "[FORMAT]") {
      in_format = true;
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (in_format) {
      if (key == "duration" && value != "N/A") *format_duration = std::atof(value.c_str());
      continue;
    }
    if (streams.empty()) continue;
    ProbedStream& s = streams.back();
    if (key == "codec_type") s.codec_type = value;
    if (key == "codec_name") s.codec_name = value;
    if (key == "sample_rate") s.sample_rate = std::atoi(value.c_str());
    if (key == "width") s.width = std::atoi(value.c_str());
    if (key == "duration" && value != "N/A") s.duration = std::atof(value.c_str());
  }
  return streams;
}

// ffmpeg decodes every frame of the file without a single error message.
void expect_decodes_cleanly(const std::string& path) {
  int rc = -1;
  const std::string err = testing::run("ffmpeg -v error -nostdin -i '" + path + "' -f null - 2>&1", &rc);
  EXPECT_EQ(rc, 0) << path;
  EXPECT_EQ(err, "") << path;
}

struct AudioCase {
  AudioOutCodec codec;
  const char* encoder;
  int rate_hz;
  const char* probe_name;
  int probe_rate;
};

std::vector<EncodedFrame> make_audio(const AudioCase& c) {
  const auto pcm = sipmix::testing::sine(700, -12, c.rate_hz, static_cast<size_t>(c.rate_hz) * kSeconds);
  return testing::encode_audio(c.encoder, pcm, c.rate_hz);
}

void write_all(MediaWriter& w, const std::vector<EncodedFrame>& video, const std::vector<EncodedFrame>& audio) {
  // Interleave by time like the replay tick does.
  size_t vi = 0, ai = 0;
  while (vi < video.size() || ai < audio.size()) {
    if (ai >= audio.size() || (vi < video.size() && video[vi].pts_us <= audio[ai].pts_us)) {
      ASSERT_TRUE(w.write_video(video[vi].data, video[vi].pts_us, video[vi].keyframe).ok());
      ++vi;
    } else {
      ASSERT_TRUE(w.write_audio(audio[ai].data, audio[ai].pts_us, audio[ai].samples).ok());
      ++ai;
    }
  }
}

class MediaWriterAudioTest : public ::testing::TestWithParam<AudioCase> {};

TEST_P(MediaWriterAudioTest, H264PlusAudioInMatroskaPassesFfprobe) {
  const AudioCase c = GetParam();
  ScratchDir dir(std::string("mw_") + c.probe_name);
  const std::string path = dir.file("leg.mkv");
  const auto video = make_video("libx264");
  const auto audio = make_audio(c);
  ASSERT_FALSE(video.empty());
  ASSERT_FALSE(audio.empty());
  auto w = MediaWriter::create({.path = path, .video = VideoOutCodec::kH264, .width = 320, .height = 240,
                                .frame_rate = kFps, .audio = c.codec, .sample_rate_hz = c.rate_hz});
  ASSERT_TRUE(w.ok()) << w.status().message();
  write_all(**w, video, audio);
  EXPECT_TRUE(std::filesystem::exists(path + ".part"));
  EXPECT_FALSE(std::filesystem::exists(path));
  ASSERT_TRUE((*w)->finish().ok());
  EXPECT_EQ(dir.list(), std::vector<std::string>{"leg.mkv"});

  double duration = -1;
  int rc = -1;
  const auto streams = probe(path, &duration, &rc);
  ASSERT_EQ(rc, 0);
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_EQ(streams[0].codec_type, "video");
  EXPECT_EQ(streams[0].codec_name, "h264");
  EXPECT_EQ(streams[0].width, 320);
  EXPECT_EQ(streams[1].codec_type, "audio");
  EXPECT_EQ(streams[1].codec_name, c.probe_name);
  EXPECT_EQ(streams[1].sample_rate, c.probe_rate);
  EXPECT_NEAR(duration, kSeconds, 0.15);
  expect_decodes_cleanly(path);
}

INSTANTIATE_TEST_SUITE_P(
    Codecs, MediaWriterAudioTest,
    ::testing::Values(AudioCase{AudioOutCodec::kPcmu, "pcm_mulaw", 8000, "pcm_mulaw", 8000},
                      AudioCase{AudioOutCodec::kPcma, "pcm_alaw", 8000, "pcm_alaw", 8000},
                      AudioCase{AudioOutCodec::kG722, "g722", 16000, "adpcm_g722", 16000},
                      AudioCase{AudioOutCodec::kOpus, "libopus", 48000, "opus", 48000}),
    [](const auto& info) { return std::string(info.param.probe_name); });

TEST(MediaWriter, Vp8AndOpusInWebm) {
  ScratchDir dir("mw_webm");
  const std::string path = dir.file("leg.webm");
  const auto video = make_video("libvpx");
  const auto audio = make_audio({AudioOutCodec::kOpus, "libopus", 48000, "opus", 48000});
  auto w = MediaWriter::create({.path = path, .video = VideoOutCodec::kVp8, .width = 320, .height = 240,
                                .frame_rate = kFps, .audio = AudioOutCodec::kOpus, .sample_rate_hz = 48000});
  ASSERT_TRUE(w.ok()) << w.status().message();
  write_all(**w, video, audio);
  ASSERT_TRUE((*w)->finish().ok());
  double duration = -1;
  int rc = -1;
  const auto streams = probe(path, &duration, &rc);
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_EQ(streams[0].codec_name, "vp8");
  EXPECT_EQ(streams[1].codec_name, "opus");
  EXPECT_NEAR(duration, kSeconds, 0.15);
  expect_decodes_cleanly(path);
}

TEST(MediaWriter, RawPcmAndAudioOnlyContainers) {
  ScratchDir dir("mw_audio_only");
  const auto pcm = sipmix::testing::sine(500, -10, 48000, 48000 * kSeconds);
  // s16 PCM in .wav and .mka.
  for (const char* name : {"sip.wav", "sip_pcm.mka"}) {
    auto w = MediaWriter::create({.path = dir.file(name), .audio = AudioOutCodec::kPcmS16, .sample_rate_hz = 48000});
    ASSERT_TRUE(w.ok()) << w.status().message();
    for (size_t i = 0; i + 960 <= pcm.size(); i += 960) {
      ASSERT_TRUE((*w)->write_audio_pcm(std::span(pcm).subspan(i, 960), static_cast<int64_t>(i) * 1000 / 48).ok());
    }
    ASSERT_TRUE((*w)->finish().ok());
    double duration = -1;
    int rc = -1;
    const auto streams = probe(dir.file(name), &duration, &rc);
    ASSERT_EQ(streams.size(), 1u) << name;
    EXPECT_EQ(streams[0].codec_name, "pcm_s16le");
    EXPECT_EQ(streams[0].sample_rate, 48000);
    EXPECT_NEAR(duration, kSeconds, 0.05) << name;
    expect_decodes_cleanly(dir.file(name));
  }
  // Opus passthrough in .ogg and .mka (the SIP stream into the session).
  const auto opus = make_audio({AudioOutCodec::kOpus, "libopus", 48000, "opus", 48000});
  for (const char* name : {"sip.ogg", "sip.mka"}) {
    auto w = MediaWriter::create({.path = dir.file(name), .audio = AudioOutCodec::kOpus, .sample_rate_hz = 48000});
    ASSERT_TRUE(w.ok()) << w.status().message();
    write_all(**w, {}, opus);
    ASSERT_TRUE((*w)->finish().ok());
    double duration = -1;
    int rc = -1;
    const auto streams = probe(dir.file(name), &duration, &rc);
    ASSERT_EQ(streams.size(), 1u) << name;
    EXPECT_EQ(streams[0].codec_name, "opus");
    EXPECT_NEAR(duration, kSeconds, 0.1) << name;
    expect_decodes_cleanly(dir.file(name));
  }
  // G.711 in .wav.
  const auto ulaw = make_audio({AudioOutCodec::kPcmu, "pcm_mulaw", 8000, "pcm_mulaw", 8000});
  auto w = MediaWriter::create({.path = dir.file("sip_ulaw.wav"), .audio = AudioOutCodec::kPcmu});
  ASSERT_TRUE(w.ok()) << w.status().message();
  write_all(**w, {}, ulaw);
  ASSERT_TRUE((*w)->finish().ok());
  double duration = -1;
  int rc = -1;
  const auto streams = probe(dir.file("sip_ulaw.wav"), &duration, &rc);
  ASSERT_EQ(streams.size(), 1u);
  EXPECT_EQ(streams[0].codec_name, "pcm_mulaw");
  EXPECT_NEAR(duration, kSeconds, 0.05);
}

TEST(MediaWriter, FramesBeforeFirstKeyframeAreDroppedAndCounted) {
  ScratchDir dir("mw_nokey");
  const std::string path = dir.file("leg.mkv");
  const auto video = make_video("libx264");
  ASSERT_TRUE(video[0].keyframe);
  auto w = MediaWriter::create({.path = path, .video = VideoOutCodec::kH264, .width = 320, .height = 240});
  ASSERT_TRUE(w.ok());
  // Start mid-GOP: frames 1..24 are not decodable alone.
  for (size_t i = 1; i < video.size(); ++i) {
    ASSERT_TRUE((*w)->write_video(video[i].data, video[i].pts_us, video[i].keyframe).ok());
  }
  ASSERT_TRUE((*w)->finish().ok());
  EXPECT_EQ((*w)->dropped_video_frames(), kFps - 1);
  EXPECT_EQ((*w)->video_frames(), static_cast<int64_t>(video.size()) - kFps);
  expect_decodes_cleanly(path);
}

TEST(MediaWriter, AbortAndDestructionLeaveNothingBehind) {
  ScratchDir dir("mw_abort");
  const auto audio = make_audio({AudioOutCodec::kPcmu, "pcm_mulaw", 8000, "pcm_mulaw", 8000});
  {
    auto w = MediaWriter::create({.path = dir.file("a.mka"), .audio = AudioOutCodec::kPcmu});
    ASSERT_TRUE(w.ok());
    write_all(**w, {}, audio);
    (*w)->abort();
    EXPECT_FALSE((*w)->write_audio(audio[0].data, 10'000'000, 160).ok());
  }
  {
    auto w = MediaWriter::create({.path = dir.file("b.mka"), .audio = AudioOutCodec::kPcmu});
    ASSERT_TRUE(w.ok());
    write_all(**w, {}, audio);
  }  // destroyed without finish()
  EXPECT_TRUE(dir.list().empty());
}

TEST(MediaWriter, BadConfigurationNamesPathOrField) {
  ScratchDir dir("mw_bad");
  auto w = MediaWriter::create({.path = dir.file("x.webm"), .video = VideoOutCodec::kH264, .width = 320,
                                .height = 240});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(w.status().message().find("x.webm"), std::string::npos);
  EXPECT_NE(w.status().message().find("h264"), std::string::npos);

  w = MediaWriter::create({.path = dir.file("no/such/dir/x.mkv"), .audio = AudioOutCodec::kPcmu});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(w.status().message().find("no/such/dir/x.mkv"), std::string::npos);

  w = MediaWriter::create({.path = dir.file("x.mkv"), .video = VideoOutCodec::kVp8});
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("width"), std::string::npos);

  auto ok = MediaWriter::create({.path = dir.file("y.mka"), .audio = AudioOutCodec::kPcmu});
  ASSERT_TRUE(ok.ok());
  const uint8_t frame[160] = {};
  ASSERT_TRUE((*ok)->write_audio(frame, 20'000, 160).ok());
  EXPECT_EQ((*ok)->write_audio(frame, 20'000, 160).code(), StatusCode::kInvalidArgument);  // not increasing
  (*ok)->abort();
  EXPECT_TRUE(dir.list().empty());
}

TEST(MediaWriter, H264ParameterSetsAreFound) {
  const auto video = make_video("libx264");
  const auto ps = h264_parameter_sets(video[0].data);
  ASSERT_GE(ps.size(), 10u);
  EXPECT_EQ(ps[4] & 0x1f, 7);  // SPS first
  EXPECT_TRUE(h264_parameter_sets(video[1].data).empty());
}

}  // namespace
}  // namespace sipmix::replay
