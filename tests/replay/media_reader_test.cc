// Participants' media files: encoded Opus/VP8/H.264 come out as frames ready
// to packetize (H.264 as Annex B), other audio as 48 kHz mono 20 ms PCM that
// still holds the file's tone; bad paths give errors that name the path.
#include "tools/replay/media_reader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/signal.h"
#include "tests/support/test_paths.h"
#include "tests/replay/replay_io_test_util.h"

namespace sipmix::replay {
namespace {

using testing::ScratchDir;

std::string make_file(const ScratchDir& dir, const std::string& name, const std::string& args) {
  const std::string path = dir.file(name);
  int rc = -1;
  const std::string out =
      testing::run("ffmpeg -v error -nostdin -y " + args + " '" + path + "'", &rc, /*merge_stderr=*/true);
  EXPECT_EQ(rc, 0) << out;
  return path;
}

struct Collected {
  std::vector<MediaPacket> video, audio;
  bool dts_ordered = true;
};

Collected read_all(MediaReader& r) {
  Collected c;
  MediaPacket p;
  int64_t last_dts = INT64_MIN;
  for (;;) {
    auto more = r.next(p);
    EXPECT_TRUE(more.ok()) << more.status().message();
    if (!more.ok() || !more.value()) break;
    if (p.dts_us < last_dts) c.dts_ordered = false;
    last_dts = p.dts_us;
    (p.kind == MediaKind::kVideo ? c.video : c.audio).push_back(p);
  }
  return c;
}

bool has_nal(const std::vector<uint8_t>& au, int type) {
  for (size_t i = 0; i + 3 < au.size(); ++i) {
    if (au[i] == 0 && au[i + 1] == 0 && au[i + 2] == 1 && (au[i + 3] & 0x1f) == type) return true;
  }
  return false;
}

TEST(MediaReader, Mp4H264BecomesAnnexBAndAacBecomes48kPcm) {
  ScratchDir dir("mr_mp4");
  const std::string path = make_file(dir, "in.mp4",
                                     "-f lavfi -i testsrc=size=160x120:rate=25 -f lavfi -i "
                                     "'aevalsrc=0.125*sin(2*PI*440*t)|0.125*sin(2*PI*440*t):s=44100' -t 2 "
                                     "-c:v libx264 -preset ultrafast -g 25 -c:a aac");
  auto r = MediaReader::open(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ((*r)->streams().size(), 2u);
  const int vs = (*r)->find_stream(MediaKind::kVideo);
  ASSERT_GE(vs, 0);
  EXPECT_EQ((*r)->streams()[vs].codec, MediaCodec::kH264);
  EXPECT_EQ((*r)->streams()[vs].width, 160);
  const int as = (*r)->find_stream(MediaKind::kAudio);
  EXPECT_EQ((*r)->streams()[as].codec, MediaCodec::kPcm);
  EXPECT_EQ((*r)->streams()[as].codec_name, "aac");

  const Collected c = read_all(**r);
  EXPECT_TRUE(c.dts_ordered);
  ASSERT_EQ(c.video.size(), 50u);
  // Annex B with SPS, PPS and IDR in the first access unit.
  const auto& first = c.video.front().data;
  ASSERT_GE(first.size(), 4u);
  EXPECT_TRUE(first[0] == 0 && first[1] == 0 && (first[2] == 1 || (first[2] == 0 && first[3] == 1)));
  EXPECT_TRUE(c.video.front().keyframe);
  EXPECT_TRUE(has_nal(first, 7));
  EXPECT_TRUE(has_nal(first, 8));
  EXPECT_TRUE(has_nal(first, 5));
  EXPECT_TRUE(c.video[25].keyframe);
  EXPECT_FALSE(c.video[1].keyframe);
  EXPECT_NEAR(static_cast<double>(c.video.front().pts_us), 0, 50'000);

  // Audio: 20 ms frames at 48 kHz, contiguous times; the stereo 440 Hz tone at
  // -18 dBFS (amplitude 1/8) keeps its level in the mono mix.
  ASSERT_GE(c.audio.size(), 95u);
  std::vector<int16_t> pcm;
  for (size_t i = 0; i < c.audio.size(); ++i) {
    ASSERT_EQ(c.audio[i].codec, MediaCodec::kPcm);
    ASSERT_EQ(c.audio[i].pcm.size(), static_cast<size_t>(kPcmFrameSamples));
    if (i > 0) {
      EXPECT_EQ(c.audio[i].pts_us - c.audio[i - 1].pts_us, 20'000);
    }
    pcm.insert(pcm.end(), c.audio[i].pcm.begin(), c.audio[i].pcm.end());
  }
  const std::span<const int16_t> middle(pcm.data() + 24000, 48000);
  EXPECT_NEAR(sipmix::testing::tone_dbfs(middle, 440, 48000), -18.1, 1.5);
  EXPECT_LT(sipmix::testing::tone_dbfs(middle, 880, 48000), -50);
}

TEST(MediaReader, WebmVp8AndOpusPassThrough) {
  ScratchDir dir("mr_webm");
  const std::string path = make_file(dir, "in.webm",
                                     "-f lavfi -i testsrc=size=160x120:rate=30 -f lavfi -i sine=frequency=600 -t 1 "
                                     "-c:v libvpx -deadline realtime -g 15 -c:a libopus -ar 48000");
  auto r = MediaReader::open(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Collected c = read_all(**r);
  EXPECT_TRUE(c.dts_ordered);
  ASSERT_EQ(c.video.size(), 30u);
  EXPECT_EQ(c.video[0].codec, MediaCodec::kVp8);
  EXPECT_TRUE(c.video[0].keyframe);
  EXPECT_EQ(c.video[0].data[0] & 1, 0);  // VP8 key frame bit (0 = key)
  EXPECT_TRUE(c.video[15].keyframe);
  ASSERT_GE(c.audio.size(), 49u);
  EXPECT_EQ(c.audio[0].codec, MediaCodec::kOpus);
  EXPECT_FALSE(c.audio[0].data.empty());
  EXPECT_TRUE(c.audio[0].pcm.empty());
  for (size_t i = 1; i < c.video.size(); ++i) EXPECT_GT(c.video[i].pts_us, c.video[i - 1].pts_us);
}

TEST(MediaReader, Wav8kIsResampledTo48kMono) {
  ScratchDir dir("mr_wav");
  const std::string path = make_file(dir, "in.wav", "-f lavfi -i sine=frequency=1000:sample_rate=8000 -t 1 -c:a pcm_s16le");
  auto pcm = read_audio_file_48k_mono(path);
  ASSERT_TRUE(pcm.ok()) << pcm.status().message();
  EXPECT_NEAR(static_cast<double>(pcm->size()), 48000, 960);
  const std::span<const int16_t> middle(pcm->data() + 9600, 28800);
  EXPECT_NEAR(sipmix::testing::tone_dbfs(middle, 1000, 48000), -18.1, 1.5);
  // No imaging from a missing anti-alias filter: 8 kHz - 1 kHz stays absent.
  EXPECT_LT(sipmix::testing::tone_dbfs(middle, 7000, 48000), -60);
}

TEST(MediaReader, RealPromptDecodes) {
  const std::string prompt = std::string(sipmix::testing::kPromptDir) + "/conf-muted.wav";
  if (!sipmix::testing::file_exists(prompt)) GTEST_SKIP() << "asterisk-core-sounds-en-wav not installed";
  auto pcm = read_audio_file_48k_mono(prompt);
  ASSERT_TRUE(pcm.ok()) << pcm.status().message();
  EXPECT_GT(pcm->size(), 48000u / 2);
  EXPECT_GT(sipmix::testing::rms_dbfs(*pcm), -40);
}

TEST(MediaReader, ErrorsNameThePath) {
  ScratchDir dir("mr_err");
  auto r = MediaReader::open(dir.file("missing.webm"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("missing.webm"), std::string::npos);

  const std::string garbage = dir.file("garbage.mkv");
  {
    std::ofstream(garbage) << "this is not a media file at all, just some text\n";
  }
  r = MediaReader::open(garbage);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("garbage.mkv"), std::string::npos);

  const std::string subs = dir.file("subs.srt");
  {
    std::ofstream(subs) << "1\n00:00:00,000 --> 00:00:01,000\nhello\n\n";
  }
  r = MediaReader::open(subs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("subs.srt"), std::string::npos);

  if (geteuid() != 0) {  // root reads anything
    const std::string locked = make_file(dir, "locked.wav", "-f lavfi -i sine -t 0.1");
    std::filesystem::permissions(locked, std::filesystem::perms::none);
    r = MediaReader::open(locked);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(r.status().message().find("locked.wav"), std::string::npos);
  }
}

}  // namespace
}  // namespace sipmix::replay
