// WAV reading and announcement prompts: the real Debian prompts load at the
// expected rate and length, bad files give errors that name the path, and a
// PromptPlayer plays a prompt in 20 ms chunks and restarts on a new start().
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include "audio_dsp/prompt.h"
#include "audio_dsp/wav_file.h"
#include "tests/support/signal.h"
#include "tests/support/test_paths.h"

namespace sipmix::audio {
namespace {

namespace fs = std::filesystem;
using sipmix::testing::rms_dbfs;
using sipmix::testing::snr_db;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("sipmix_wav_test_" + std::to_string(::getpid()));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  if (!b.empty()) {
    ASSERT_EQ(std::fwrite(b.data(), 1, b.size(), f), b.size());
  }
  std::fclose(f);
}

void put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x));
  v.push_back(static_cast<uint8_t>(x >> 8));
}
void put32(std::vector<uint8_t>& v, uint32_t x) {
  put16(v, static_cast<uint16_t>(x));
  put16(v, static_cast<uint16_t>(x >> 16));
}

// A WAV with the given fmt fields and raw data, plus an optional LIST chunk
// before fmt (real files have them).
std::vector<uint8_t> make_wav(uint16_t format, uint16_t channels, uint32_t rate, uint16_t bits,
                              const std::vector<uint8_t>& data, bool list_chunk = false) {
  std::vector<uint8_t> v = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E'};
  if (list_chunk) {
    v.insert(v.end(), {'L', 'I', 'S', 'T'});
    put32(v, 3);
    v.insert(v.end(), {'a', 'b', 'c', 0});  // odd size + pad byte
  }
  v.insert(v.end(), {'f', 'm', 't', ' '});
  put32(v, 16);
  put16(v, format);
  put16(v, channels);
  put32(v, rate);
  put32(v, rate * channels * bits / 8);
  put16(v, static_cast<uint16_t>(channels * bits / 8));
  put16(v, bits);
  v.insert(v.end(), {'d', 'a', 't', 'a'});
  put32(v, static_cast<uint32_t>(data.size()));
  v.insert(v.end(), data.begin(), data.end());
  const uint32_t riff = static_cast<uint32_t>(v.size() - 8);
  for (int i = 0; i < 4; ++i) v[4 + i] = static_cast<uint8_t>(riff >> (8 * i));
  return v;
}

std::string prompt_path(const char* name) { return std::string(sipmix::testing::kPromptDir) + "/" + name; }

TEST(WavFile, ReadsTheRealMutedPrompt) {
  const std::string path = prompt_path("conf-muted.wav");
  auto wav = read_wav(path);
  ASSERT_TRUE(wav.ok()) << wav.status().message();
  EXPECT_EQ(wav->sample_rate_hz, 8000);
  EXPECT_EQ(wav->channels, 1);
  EXPECT_EQ(wav->bits_per_sample, 16);
  // 16-bit mono: the data is the file minus its headers.
  const size_t file_bytes = fs::file_size(path);
  EXPECT_LE(wav->samples.size() * 2, file_bytes - 44);
  EXPECT_GE(wav->samples.size() * 2, file_bytes - 200);
  const double seconds = static_cast<double>(wav->samples.size()) / 8000;
  EXPECT_GT(seconds, 0.5);
  EXPECT_LT(seconds, 3.0);
  EXPECT_GT(rms_dbfs(wav->samples), -40.0);  // speech, not silence
}

TEST(WavFile, ConvertsStereoAnd8BitToMono16) {
  TempDir dir;
  // Stereo 16-bit: L=1000, R=3000 -> 2000.
  std::vector<uint8_t> d;
  for (int i = 0; i < 4; ++i) {
    put16(d, 1000);
    put16(d, 3000);
  }
  write_bytes(dir.file("s.wav"), make_wav(1, 2, 44100, 16, d, /*list_chunk=*/true));
  auto s = read_wav(dir.file("s.wav"));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->sample_rate_hz, 44100);
  EXPECT_EQ(s->channels, 2);
  ASSERT_EQ(s->samples.size(), 4u);
  EXPECT_EQ(s->samples[0], 2000);
  // 8-bit unsigned: 128 is silence, 255 near full scale, 0 is -32768.
  write_bytes(dir.file("u8.wav"), make_wav(1, 1, 8000, 8, {128, 255, 0}));
  auto u = read_wav(dir.file("u8.wav"));
  ASSERT_TRUE(u.ok()) << u.status().message();
  ASSERT_EQ(u->samples.size(), 3u);
  EXPECT_EQ(u->samples[0], 0);
  EXPECT_EQ(u->samples[1], 127 * 256);
  EXPECT_EQ(u->samples[2], -32768);
}

TEST(WavFile, WriteThenReadIsExact) {
  TempDir dir;
  const auto x = sipmix::testing::sine(440.0, -3.0, 16000, 1234);
  ASSERT_TRUE(write_wav(dir.file("w.wav"), 16000, x).ok());
  auto w = read_wav(dir.file("w.wav"));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->sample_rate_hz, 16000);
  EXPECT_EQ(w->samples, x);
}

TEST(WavFile, BadFilesGiveErrorsNamingThePath) {
  TempDir dir;
  const std::string missing = dir.file("nope.wav");
  auto r = read_wav(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(missing), std::string::npos) << r.status().message();

  auto d = read_wav(dir.file(""));  // a directory
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kUnavailable);

  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    const char* says;
  };
  std::vector<uint8_t> pcm16(320, 0);
  std::vector<uint8_t> truncated = make_wav(1, 1, 8000, 16, pcm16);
  truncated.resize(30);
  const std::vector<Case> cases = {
      {"text.wav", {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!', '\n'}, "not a RIFF/WAVE"},
      {"empty.wav", {}, "not a RIFF/WAVE"},
      {"float.wav", make_wav(3, 1, 8000, 32, pcm16), "unsupported format tag 3"},
      {"s24.wav", make_wav(1, 1, 8000, 24, std::vector<uint8_t>(300, 0)), "unsupported 24-bit"},
      {"six.wav", make_wav(1, 6, 8000, 16, std::vector<uint8_t>(120, 0)), "unsupported channel count 6"},
      {"nodata.wav", make_wav(1, 1, 8000, 16, {}), "no audio"},
      {"trunc.wav", truncated, "truncated fmt"},
  };
  for (const auto& c : cases) {
    const std::string path = dir.file(c.name);
    write_bytes(path, c.bytes);
    auto w = read_wav(path);
    ASSERT_FALSE(w.ok()) << c.name;
    EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(w.status().message().find(path), std::string::npos) << w.status().message();
    EXPECT_NE(w.status().message().find(c.says), std::string::npos) << w.status().message();
  }
}

TEST(WavFile, GarbageNeverCrashesTheParser) {
  std::vector<uint8_t> base = make_wav(1, 2, 8000, 16, std::vector<uint8_t>(64, 7), true);
  uint32_t seed = 3;
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> b = base;
    for (int k = 0; k < 4; ++k) {
      seed = seed * 1664525u + 1013904223u;
      b[(seed >> 8) % b.size()] = static_cast<uint8_t>(seed >> 24);
    }
    const size_t len = b.size() - (seed >> 4) % 8;  // and truncate a little
    auto w = parse_wav(std::span(b).first(len), "fuzz");
    if (w.ok()) {
      EXPECT_GT(w->samples.size(), 0u);
      EXPECT_LE(w->samples.size(), b.size());
    }
  }
}

TEST(Prompt, LoadsAndResamplesTo48k) {
  const std::string path = prompt_path("conf-muted.wav");
  auto wav = read_wav(path);
  ASSERT_TRUE(wav.ok());
  auto p = Prompt::load(path);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->samples().size(), wav->samples.size() * 6);
  EXPECT_EQ(p->source_rate_hz(), 8000);
  EXPECT_EQ(p->frame_count(), (wav->samples.size() * 6 + 959) / 960);
  EXPECT_EQ(p->name(), path);
  // Same speech, same loudness, and in time with the source (the filter
  // delay is removed): every 6th sample tracks the original closely.
  EXPECT_NEAR(rms_dbfs(p->samples()), rms_dbfs(wav->samples), 0.5);
  std::vector<int16_t> decimated;
  for (size_t i = 0; i < p->samples().size(); i += 6) decimated.push_back(p->samples()[i]);
  size_t delay = 99;
  const double snr = snr_db(wav->samples, decimated, 4, &delay);
  EXPECT_EQ(delay, 0u);
  EXPECT_GE(snr, 20.0);
}

TEST(Prompt, DefaultMutePromptsLoad) {
  auto p = load_mute_prompts(MutePromptPaths{});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_GT(p->muted.duration_ms(), 500);
  EXPECT_GT(p->unmuted.duration_ms(), 500);
  EXPECT_NE(p->muted.samples().size(), p->unmuted.samples().size());
}

TEST(Prompt, MissingPromptIsAConfigurationError) {
  MutePromptPaths paths;
  paths.unmuted = "/nonexistent/sounds/conf-unmuted.wav";
  auto p = load_mute_prompts(paths);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kNotFound);
  EXPECT_NE(p.status().message().find("unmuted prompt"), std::string::npos) << p.status().message();
  EXPECT_NE(p.status().message().find(paths.unmuted), std::string::npos);
  EXPECT_FALSE(Prompt::load(prompt_path("conf-muted.wav"), 2).ok());  // quality below 3
}

TEST(PromptPlayer, PlaysIn20msChunksThenStops) {
  std::vector<int16_t> src(8000 / 50 * 3 + 40, 1000);  // 3 chunks and a bit at 8 kHz
  auto p = Prompt::from_samples(src, 8000, "test");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->frame_count(), 4u);
  PromptPlayer player;
  std::vector<int16_t> out(kPromptFrameSamples, 123);
  EXPECT_FALSE(player.next_frame(out));
  EXPECT_EQ(rms_dbfs(out), -200);  // idle writes silence
  player.start(*p);
  int chunks = 0;
  while (player.playing()) {
    ASSERT_TRUE(player.next_frame(out));
    ++chunks;
  }
  EXPECT_EQ(chunks, 4);
  // The last chunk is 240 samples of prompt and zero padding.
  EXPECT_EQ(out[kPromptFrameSamples - 1], 0);
  EXPECT_NE(out[100], 0);
  EXPECT_FALSE(player.next_frame(out));
}

TEST(PromptPlayer, NewStartRestartsFromTheBeginning) {
  std::vector<int16_t> ramp(16000);
  for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<int16_t>(i % 2000);
  auto a = Prompt::from_samples(ramp, 16000, "ramp");
  auto b = Prompt::from_samples(std::vector<int16_t>(1600, -500), 16000, "flat");
  ASSERT_TRUE(a.ok() && b.ok());
  PromptPlayer player;
  std::vector<int16_t> first(kPromptFrameSamples), out(kPromptFrameSamples);
  player.start(*a);
  ASSERT_TRUE(player.next_frame(first));
  ASSERT_TRUE(player.next_frame(out));
  ASSERT_TRUE(player.next_frame(out));
  player.start(*a);  // same prompt again: from the top
  ASSERT_TRUE(player.next_frame(out));
  EXPECT_EQ(out, first);
  player.start(*b);  // another prompt replaces it
  ASSERT_TRUE(player.next_frame(out));
  EXPECT_EQ(player.current(), &*b);
  EXPECT_NEAR(out[480], -500, 5);
}

}  // namespace
}  // namespace sipmix::audio
