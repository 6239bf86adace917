// Capacity macro benchmarks, each beside the bare codec work it cannot avoid:
// - BM_AudioTick10Sources: one 20 ms audio tick of a 10-source session (10
//   Opus participants -> one PCMU SIP leg, which talks and publishes its own
//   audio as Opus; `sipmix_leg_silent`: the leg sends nothing) against 10
//   Opus decodes, 1 PCMU encode and 1 Opus encode of sound (narrowband, as
//   the session codes a PCMU leg's stream). Counter `sessions_per_core` is
//   20 ms / CPU time per tick. BM_AudioTick10Sources/interleaved and
//   BM_AudioTick10Sources_8_silent/interleaved alternate the session with its
//   baseline (bench/interleave.h).
// - BM_VideoLeg: one second of a video SIP leg (9 participants with 640x360
//   VP8 at 30 fps and Opus -> 1280x720 @ 30 H.264 veryfast 1.5 Mb/s + PCMU)
//   against 270 VP8 decodes, the same composition and 30 H.264 encodes. Counter
//   `legs_per_core` is 1 s / CPU time per media second.
//   BM_VideoLeg/interleaved alternates the two (bench/interleave.h).
// - BM_StillCanvas/interleaved: that leg with still pictures, in motion, and
//   still with skip_unchanged_video off, interleaved (see below).
// - BM_ShownDecode/interleaved: 16 publishers, 9 shown, decode_shown_only on
//   and off, interleaved.
// - BM_RealisticSession/interleaved: 16 publishers (3 simulcast), 2 video
//   and 2 audio legs, every optimisation on against all off, interleaved
//   (and /interleaved_all_simulcast, /interleaved_one_encoding: 12 or none;
//   /interleaved_camera: the 12 cameras from real webcam footage).
// The sessions run with measure_stages on; counters `share_<stage>` give the
// fraction of the session's tick time per stage.
#include <benchmark/benchmark.h>

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "audio_codec/codec.h"
#include "interleave.h"
#include "compose/compositor.h"
#include "compose/layout.h"
#include "sipmix/session.h"
#include "tests/support/fake_peer.h"
#include "video_codec/video_decoder.h"
#include "video_codec/video_encoder.h"

namespace sipmix {
namespace {

using testing::FakePeer;
using testing::FakePeerConfig;

constexpr int kSources = 10;

struct NullSink : SessionSink {
  void on_rtp(const std::string&, Direction, std::span<const uint8_t>) override {}
  void on_rtcp(const std::string&, Direction, std::span<const uint8_t>) override {}
  void on_event(const Event&) override {}
};

// 50 distinct 20 ms Opus frames per source (a tone each), looped; the first
// `silent` sources send Opus-coded digital silence instead.
std::vector<std::vector<std::vector<uint8_t>>> opus_frames(int silent = 0) {
  auto enc = std::move(*FakePeer::create({}));
  std::vector<std::vector<std::vector<uint8_t>>> out(kSources);
  std::vector<int16_t> pcm(960);
  for (int s = 0; s < kSources; ++s) {
    double ph = 0;
    for (int f = 0; f < 50; ++f) {
      for (auto& v : pcm) {
        v = s < silent ? 0 : static_cast<int16_t>(3000 * std::sin(ph));
        ph += 2 * M_PI * (300 + 100 * s) / 48000;
      }
      out[s].push_back(enc->encode_audio(pcm));
    }
  }
  return out;
}

// A peer that stamps media encoded up front: Opus PT 111 (or PCMU PT 0),
// sequence and timestamp from 0.
std::unique_ptr<FakePeer> stamping_peer(uint32_t ssrc, AudioCodec codec = AudioCodec::kOpus) {
  FakePeerConfig c;
  c.encode = false;
  c.audio_codec = codec;
  c.payload_type = codec == AudioCodec::kOpus ? 111 : 0;
  c.ssrc = ssrc;
  return std::move(*FakePeer::create(c));
}

void set_sessions_per_core(benchmark::State& state) {
  state.counters["sessions_per_core"] =
      benchmark::Counter(0.020 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// Fractions of the session's tick time per stage, as counters.
void set_stage_shares(benchmark::State& state, const StageTimes& t) {
  if (t.total_us <= 0) return;
  const double total = static_cast<double>(t.total_us);
  auto share = [&](const char* name, int64_t us) { state.counters[name] = static_cast<double>(us) / total; };
  share("share_audio_decode", t.audio_decode_us);
  share("share_audio_in", t.audio_in_us);
  share("share_mix", t.mix_us);
  share("share_audio_encode", t.audio_encode_us);
  share("share_video_decode", t.video_decode_us);
  share("share_video_in", t.video_in_us);
  share("share_compose", t.compose_us);
  share("share_video_encode", t.video_encode_us);
  share("share_send", t.send_us + t.sink_us);
  share("share_other", t.other_us);
}

class AudioTickRig {
 public:
  AudioTickRig(bool leg_talking, int silent, bool skip)
      : leg_talking_(leg_talking), silent_(silent), frames_(opus_frames(silent)), clock_(1'000'000) {
    SessionConfig config;
    config.measure_stages = true;
    config.skip_silent_decode = skip;
    session_ = std::move(*Session::create(config, &clock_, &sink_));
    for (int s = 0; s < kSources; ++s) {
      StreamConfig c;
      c.id = "p" + std::to_string(s);
      if (silent > 0) c.audio_level_ext_id = 1;
      h_.push_back(*session_->add_stream(c));
      peers_.push_back(stamping_peer(100 + static_cast<uint32_t>(s)));
    }
    LegConfig leg;
    leg.id = "sip";
    leg_handle_ = *session_->add_leg(leg);
    // 50 frames of a 440 Hz tone in PCMU, looped (50 x 20 ms holds whole periods).
    FakePeerConfig pc;
    pc.audio_codec = AudioCodec::kPcmu;
    auto pcmu = std::move(*FakePeer::create(pc));
    std::vector<int16_t> pcm(160);
    for (int f = 0; f < 50; ++f) {
      for (int i = 0; i < 160; ++i)
        pcm[static_cast<size_t>(i)] = static_cast<int16_t>(4000 * std::sin(2 * M_PI * 440 * (f * 160 + i) / 8000.0));
      leg_frames_.push_back(pcmu->encode_audio(pcm));
    }
    leg_peer_ = stamping_peer(4242, AudioCodec::kPcmu);
  }

  // One 20 ms tick: a packet from every source (and the leg), then tick().
  void tick() {
    for (int s = 0; s < kSources; ++s) {
      testing::PacketOptions level;
      if (silent_ > 0) {
        level.audio_level_ext_id = 1;
        level.audio_level_dbov = s < silent_ ? 127 : 30;
      }
      session_->push_rtp(h_[static_cast<size_t>(s)],
                         {pkt_, peers_[static_cast<size_t>(s)]->write_packet(frames_[static_cast<size_t>(s)][seq_ % 50], pkt_, level)});
    }
    if (leg_talking_) session_->push_rtp(leg_handle_, {pkt_, leg_peer_->write_packet(leg_frames_[seq_ % 50], pkt_)});
    ++seq_;
    clock_.advance_us(20000);
    session_->tick();
  }

  Session& session() { return *session_; }

 private:
  bool leg_talking_;
  int silent_;
  std::vector<std::vector<std::vector<uint8_t>>> frames_;
  SimulatedClock clock_;
  NullSink sink_;
  std::unique_ptr<Session> session_;
  std::vector<PushHandle> h_;
  std::vector<std::unique_ptr<FakePeer>> peers_;
  PushHandle leg_handle_;
  std::vector<std::vector<uint8_t>> leg_frames_;
  std::unique_ptr<FakePeer> leg_peer_;
  uint8_t pkt_[1500];
  uint16_t seq_ = 0;
};

// The leg talks (a PCMU tone, so its Opus stream into the session codes
// sound, as the baseline does) or sends nothing (the stream codes silence).
// With `silent` > 0 every packet carries its RFC 6464 level and the first
// `silent` sources are silent; `skip` lets the session skip their decode.
void run_audio_tick(benchmark::State& state, bool leg_talking, int silent = 0, bool skip = true) {
  AudioTickRig rig(leg_talking, silent, skip);
  for (auto _ : state) rig.tick();
  set_sessions_per_core(state);
  set_stage_shares(state, rig.session().stats().stages);
}

void BM_AudioTick10Sources_sipmix(benchmark::State& state) { run_audio_tick(state, true); }
BENCHMARK(BM_AudioTick10Sources_sipmix)->Name("BM_AudioTick10Sources/sipmix");
void BM_AudioTick10Sources_leg_silent(benchmark::State& state) { run_audio_tick(state, false); }
BENCHMARK(BM_AudioTick10Sources_leg_silent)->Name("BM_AudioTick10Sources/sipmix_leg_silent");
// A conference as it mostly is: 2 of the 10 talk, 8 are silent (RFC 6464
// levels on every packet), the leg talks. Baseline: the same with every
// packet decoded.
void BM_AudioTick10Sources_8_silent(benchmark::State& state) { run_audio_tick(state, true, 8, true); }
BENCHMARK(BM_AudioTick10Sources_8_silent)->Name("BM_AudioTick10Sources/sipmix_8_silent");
void BM_AudioTick10Sources_8_silent_decode_all(benchmark::State& state) { run_audio_tick(state, true, 8, false); }
BENCHMARK(BM_AudioTick10Sources_8_silent_decode_all)->Name("BM_AudioTick10Sources/sipmix_8_silent_decode_all");

// The codec work one tick cannot avoid: 10 Opus decodes, 1 PCMU encode and
// 1 narrowband Opus encode.
class AudioCodecsOnly {
 public:
  AudioCodecsOnly() : frames_(opus_frames()), pcm_(audio::kMaxDecodedSamples), low_(160), out_(1500) {
    for (int s = 0; s < kSources; ++s) dec_.push_back(std::move(*audio::make_audio_decoder(audio::AudioCodec::kOpus)));
    audio::EncoderConfig pc;
    pc.codec = audio::AudioCodec::kPcmu;
    pcmu_ = std::move(*audio::make_audio_encoder(pc));
    audio::EncoderConfig oc;
    oc.max_audio_bandwidth_hz = 4000;
    opus_ = std::move(*audio::make_audio_encoder(oc));
  }
  void tick() {
    for (int s = 0; s < kSources; ++s) dec_[static_cast<size_t>(s)]->decode(frames_[static_cast<size_t>(s)][f_ % 50], pcm_);
    std::copy_n(pcm_.begin(), 160, low_.begin());  // any 160 samples: only the encode cost counts
    benchmark::DoNotOptimize(pcmu_->encode(low_, out_));
    benchmark::DoNotOptimize(opus_->encode({pcm_.data(), 960}, out_));
    ++f_;
  }

 private:
  std::vector<std::vector<std::vector<uint8_t>>> frames_;
  std::vector<std::unique_ptr<audio::AudioDecoder>> dec_;
  std::unique_ptr<audio::AudioEncoder> pcmu_, opus_;
  std::vector<int16_t> pcm_, low_;
  std::vector<uint8_t> out_;
  int f_ = 0;
};

void BM_AudioTick10Sources_codecs_only(benchmark::State& state) {
  AudioCodecsOnly work;
  for (auto _ : state) work.tick();
  set_sessions_per_core(state);
}
BENCHMARK(BM_AudioTick10Sources_codecs_only)->Name("BM_AudioTick10Sources/codecs_only");

// BM_AudioTick10Sources/interleaved: the talking-leg tick (sipmix) against
// codecs_only; BM_AudioTick10Sources_8_silent/interleaved: the 8-silent tick
// against the same session decoding every packet (decode_all).
const bool kAudioTickInterleaved = [] {
  bench::InterleavedBenchmark("BM_AudioTick10Sources/interleaved",
                              [](benchmark::State&, std::vector<bench::Side>* sides) {
                                auto rig = std::make_shared<AudioTickRig>(true, 0, true);
                                auto work = std::make_shared<AudioCodecsOnly>();
                                sides->push_back(bench::Side::whole("sipmix", [rig](int64_t n) {
                                  for (int64_t i = 0; i < n; ++i) rig->tick();
                                }));
                                sides->push_back(bench::Side::whole("codecs_only", [work](int64_t n) {
                                  for (int64_t i = 0; i < n; ++i) work->tick();
                                }));
                              });
  bench::InterleavedBenchmark("BM_AudioTick10Sources_8_silent/interleaved",
                              [](benchmark::State&, std::vector<bench::Side>* sides) {
                                auto rig = std::make_shared<AudioTickRig>(true, 8, true);
                                auto all = std::make_shared<AudioTickRig>(true, 8, false);
                                sides->push_back(bench::Side::whole("sipmix", [rig](int64_t n) {
                                  for (int64_t i = 0; i < n; ++i) rig->tick();
                                }));
                                sides->push_back(bench::Side::whole("decode_all", [all](int64_t n) {
                                  for (int64_t i = 0; i < n; ++i) all->tick();
                                }));
                              });
  return true;
}();

// ---- video leg -------------------------------------------------------------

constexpr int kVideoSources = 9;
constexpr int kInputFrames = 60;  // 2 s per participant, looped from its keyframe

// A moving, textured 640x360 picture per participant: diagonal bands that
// scroll, a bright block that moves, and fixed noise, so that the encoders
// have real detail to code, as from a camera. Without `noise`, a picture the
// VP8 encoder converges on within a few frames (a slide, a still scene).
void draw_input(int who, int frame, const testing::PeerPicture& v, bool noise = true) {
  uint32_t seed = 0x9E3779B9u * static_cast<uint32_t>(who + 1);
  const int bx = (frame * 7 + who * 50) % v.width, by = (frame * 3 + who * 30) % v.height;
  for (int y = 0; y < v.height; ++y)
    for (int x = 0; x < v.width; ++x) {
      seed = seed * 1664525u + 1013904223u;
      const int band = ((x + y + frame * (3 + who)) / 24) & 1;
      int luma = 40 + 15 * who + band * 70 + (noise ? static_cast<int>(seed >> 28) : 0);
      if (std::abs(x - bx) < 40 && std::abs(y - by) < 40) luma = 235;
      v.y[y * v.stride_y + x] = static_cast<uint8_t>(std::min(luma, 255));
    }
  for (int y = 0; y < (v.height + 1) / 2; ++y)
    for (int x = 0; x < (v.width + 1) / 2; ++x) {
      v.u[y * v.stride_u + x] = static_cast<uint8_t>(128 + 12 * (who - 4) + ((x + frame) & 15));
      v.v[y * v.stride_v + x] = static_cast<uint8_t>(128 - 10 * (who - 4) + ((y + frame) & 7));
    }
}

// `frames` VP8 frames per participant (the first a keyframe) at that size and
// bit rate, of the pictures draw(who, frame, picture) paints.
template <typename Draw>
std::vector<std::vector<std::vector<uint8_t>>> encode_vp8_loops(int width, int height, int bitrate_bps, int frames,
                                                                 Draw draw) {
  std::vector<std::vector<std::vector<uint8_t>>> out(kVideoSources);
  for (int who = 0; who < kVideoSources; ++who) {
    FakePeerConfig ec;
    ec.kind = MediaKind::kVideo;
    ec.video_codec = VideoCodec::kVp8;
    ec.width = width;
    ec.height = height;
    ec.video_bitrate_bps = bitrate_bps;
    auto enc = std::move(*FakePeer::create(ec));
    for (int f = 0; f < frames; ++f) {
      draw(who, f, enc->picture());
      std::vector<uint8_t> frame = enc->encode_video(int64_t{f} * 33333);
      if (frame.empty()) continue;
      out[static_cast<size_t>(who)].push_back(std::move(frame));
    }
  }
  return out;
}

// kInputFrames VP8 frames per participant of draw_input's scene.
std::vector<std::vector<std::vector<uint8_t>>> encode_vp8_inputs(int width, int height, int bitrate_bps) {
  return encode_vp8_loops(width, height, bitrate_bps, kInputFrames,
                          [](int who, int f, const testing::PeerPicture& v) { draw_input(who, f, v); });
}

// 640x360 at 600 kb/s: the publishers of every video benchmark.
const std::vector<std::vector<std::vector<uint8_t>>>& vp8_inputs() {
  static const auto inputs = encode_vp8_inputs(640, 360, 600'000);
  return inputs;
}

// The other two encodings of a simulcast publisher whose middle one is
// vp8_inputs(): 1280x720 at 2 Mb/s and 320x180 at 150 kb/s (draw_input's
// scene drawn at that size: the same bands and box, in pixels).
const std::vector<std::vector<std::vector<uint8_t>>>& vp8_inputs_720p() {
  static const auto inputs = encode_vp8_inputs(1280, 720, 2'000'000);
  return inputs;
}
const std::vector<std::vector<std::vector<uint8_t>>>& vp8_inputs_180p() {
  static const auto inputs = encode_vp8_inputs(320, 180, 150'000);
  return inputs;
}

// ---- real camera footage ---------------------------------------------------

// A webcam as a meeting shows it: the camera inset of movie-hello.mp4 from
// Debian's forensics-samples-files (a person with a headset talking in a
// room, 30 fps, 248x140 from (116,100) of the 1280x720 recording), cropped
// and scaled by ffmpeg to each encoding's size. Every participant starts at
// another point of the clip, and every second one is mirrored, so that no
// two tiles show the same picture.
constexpr const char* kCameraClip = "/usr/share/forensics-samples/original-files/movie2/movie-hello.mp4";
constexpr int kCameraFrames = 240;  // 8 s, looped from the keyframe

// kCameraFrames I420 pictures of width x height (both even), back to back;
// empty if the clip or ffmpeg is missing.
std::vector<uint8_t> camera_frames(int width, int height) {
  const std::string cmd = std::string("ffmpeg -v error -nostdin -i ") + kCameraClip + " -vf crop=248:140:116:100,scale=" +
                          std::to_string(width) + ":" + std::to_string(height) + ":flags=bicubic -frames:v " +
                          std::to_string(kCameraFrames) + " -f rawvideo -pix_fmt yuv420p - 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return {};
  std::vector<uint8_t> out(static_cast<size_t>(width) * height * 3 / 2 * kCameraFrames);
  const size_t got = fread(out.data(), 1, out.size(), pipe);
  const int status = pclose(pipe);
  if (got != out.size() || status != 0) return {};
  return out;
}

// draw_input's counterpart for camera_frames(): participant `who`'s picture at `frame`.
void copy_camera_frame(const std::vector<uint8_t>& raw, int who, int frame, const testing::PeerPicture& v) {
  const size_t luma = static_cast<size_t>(v.width) * v.height, size = luma * 3 / 2;
  const uint8_t* src = raw.data() + size * static_cast<size_t>((frame + who * 27) % kCameraFrames);
  const bool mirror = who & 1;
  auto plane = [mirror](const uint8_t* from, int w, int h, uint8_t* to, int stride) {
    for (int y = 0; y < h; ++y, from += w, to += stride)
      if (mirror)
        std::reverse_copy(from, from + w, to);
      else
        std::memcpy(to, from, static_cast<size_t>(w));
  };
  plane(src, v.width, v.height, v.y, v.stride_y);
  plane(src + luma, v.width / 2, v.height / 2, v.u, v.stride_u);
  plane(src + luma + luma / 4, v.width / 2, v.height / 2, v.v, v.stride_v);
}

// kCameraFrames VP8 frames per participant (the first a keyframe) of the
// camera footage at that size and bit rate; empty if the footage is missing.
std::vector<std::vector<std::vector<uint8_t>>> encode_vp8_camera_inputs(int width, int height, int bitrate_bps) {
  const std::vector<uint8_t> raw = camera_frames(width, height);
  if (raw.empty()) return {};
  return encode_vp8_loops(width, height, bitrate_bps, kCameraFrames,
                          [&raw](int who, int f, const testing::PeerPicture& v) { copy_camera_frame(raw, who, f, v); });
}

// The three encodings of a camera publisher, as vp8_inputs*() are of draw_input's scene.
struct CameraInputs {
  std::vector<std::vector<std::vector<uint8_t>>> mid = encode_vp8_camera_inputs(640, 360, 600'000);
  std::vector<std::vector<std::vector<uint8_t>>> top = encode_vp8_camera_inputs(1280, 720, 2'000'000);
  std::vector<std::vector<std::vector<uint8_t>>> low = encode_vp8_camera_inputs(320, 180, 150'000);
};
const CameraInputs& camera_inputs() {
  static const CameraInputs inputs;
  return inputs;
}

void set_legs_per_core(benchmark::State& state) {
  state.counters["legs_per_core"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// Who talks in a VideoLegRig: everyone (a tone each), or one at a time,
// the speaker moving on every speaker_period_s, the others sending Opus-coded
// silence, every packet with its RFC 6464 level (as browsers send).
struct RigTalk {
  int speaker_period_s = 0;  // 0: everyone talks, no levels
};

// Simulcast publishers in a VideoLegRig: the first `sources` send, beside
// their input (the 640x360 layer), these two encodings per source, as
// three SSRCs of one stream (StreamConfig::simulcast).
struct RigSimulcast {
  const std::vector<std::vector<std::vector<uint8_t>>>* top = nullptr;  // 1280x720
  const std::vector<std::vector<std::vector<uint8_t>>>* low = nullptr;  // 320x180
  size_t sources = 0;
};

// One video leg (720p30 H.264 veryfast 1.5 Mb/s + PCMU; or `legs`) over
// `inputs.size()` participants with VP8 (looped from frame `loop_from[i]`
// after the first pass) and Opus, on a simulated clock. run_seconds(n) feeds
// and ticks n seconds of media.
class VideoLegRig {
 public:
  VideoLegRig(const std::vector<std::vector<std::vector<uint8_t>>>& inputs, std::vector<size_t> loop_from,
              SessionConfig config, std::vector<LegConfig> legs = {}, RigTalk talk = {}, RigSimulcast simulcast = {})
      : video_in_(inputs),
        loop_from_(std::move(loop_from)),
        talk_(talk),
        simulcast_(simulcast),
        audio_in_(opus_frames()),
        silence_in_(opus_frames(kSources)),
        clock_(1'000'000) {
    loop_from_.resize(inputs.size(), 0);
    config.measure_stages = true;
    session_ = std::move(*Session::create(config, &clock_, &sink_));
    for (size_t s = 0; s < video_in_.size(); ++s) {
      StreamConfig a;
      a.id = "p" + std::to_string(s) + "-audio";
      a.participant = "p" + std::to_string(s);
      if (talk_.speaker_period_s > 0) a.audio_level_ext_id = 1;
      audio_h_.push_back(*session_->add_stream(a));
      a.audio_level_ext_id = 0;
      StreamConfig v = a;
      v.id = "p" + std::to_string(s) + "-video";
      v.kind = MediaKind::kVideo;
      v.video_codec = VideoCodec::kVp8;
      v.payload_type = 96;
      v.clock_rate_hz = 90000;
      const uint32_t ssrc = 1000 + static_cast<uint32_t>(s);
      if (s < simulcast_.sources)
        v.simulcast = {{ssrc, "", 640, 360}, {ssrc + 2000, "", 1280, 720}, {ssrc + 4000, "", 320, 180}};
      video_h_.push_back(*session_->add_stream(v));
      audio_peers_.push_back(stamping_peer(100 + static_cast<uint32_t>(s)));
      FakePeerConfig pc;
      pc.kind = MediaKind::kVideo;
      pc.encode = false;
      pc.video_codec = VideoCodec::kVp8;
      pc.payload_type = 96;
      pc.ssrc = ssrc;
      video_peers_.push_back(std::move(*FakePeer::create(pc)));
      if (s < simulcast_.sources) {
        pc.ssrc = ssrc + 2000;
        top_peers_.push_back(std::move(*FakePeer::create(pc)));
        pc.ssrc = ssrc + 4000;
        low_peers_.push_back(std::move(*FakePeer::create(pc)));
      }
    }
    if (legs.empty()) {
      legs.emplace_back();
      legs[0].id = "sip";
      legs[0].video = true;
    }
    for (const LegConfig& leg : legs) (void)*session_->add_leg(leg);
  }

  void run_seconds(int seconds) {
    for (int tick = 0; tick < 50 * seconds; ++tick) {
      const int64_t next_us = media_us_ + 20000;
      const size_t speaker =
          talk_.speaker_period_s > 0 ? static_cast<size_t>(media_us_ / (int64_t{talk_.speaker_period_s} * 1000000)) % audio_h_.size() : 0;
      for (size_t s = 0; s < audio_h_.size(); ++s) {
        testing::PacketOptions level;
        const bool talks = talk_.speaker_period_s == 0 || s == speaker;
        if (talk_.speaker_period_s > 0) {
          level.audio_level_ext_id = 1;
          level.audio_level_dbov = talks ? 30 : 127;
        }
        const auto& f = (talks ? audio_in_ : silence_in_)[s % audio_in_.size()][seq_ % 50];
        session_->push_rtp(audio_h_[s], {pkt_, audio_peers_[s]->write_packet(f, pkt_, level)});
      }
      ++seq_;
      while (int64_t{video_frame_} * 1000000 / 30 < next_us) {  // frames captured in this tick
        const uint32_t vts = static_cast<uint32_t>(int64_t{video_frame_} * 3000);
        for (size_t s = 0; s < video_h_.size(); ++s) {
          send_frame(video_in_[s], loop_from_[s], *video_peers_[s], video_h_[s], vts);
          if (s >= simulcast_.sources) continue;
          send_frame((*simulcast_.top)[s % simulcast_.top->size()], 0, *top_peers_[s], video_h_[s], vts);
          send_frame((*simulcast_.low)[s % simulcast_.low->size()], 0, *low_peers_[s], video_h_[s], vts);
        }
        ++video_frame_;
      }
      media_us_ = next_us;
      clock_.advance_us(20000);
      session_->tick();
    }
  }

  Session& session() { return *session_; }

 private:
  // This video instant's frame of one encoding, looped from `loop_from`.
  void send_frame(const std::vector<std::vector<uint8_t>>& frames, size_t loop_from, FakePeer& peer, PushHandle h,
                  uint32_t vts) {
    size_t i = static_cast<size_t>(video_frame_);
    if (i >= frames.size()) i = loop_from + (i - frames.size()) % (frames.size() - loop_from);
    for (std::span<const uint8_t> p : peer.packetize_video(frames[i], vts)) session_->push_rtp(h, p);
  }

  const std::vector<std::vector<std::vector<uint8_t>>>& video_in_;
  std::vector<size_t> loop_from_;
  RigTalk talk_;
  RigSimulcast simulcast_;
  std::vector<std::vector<std::vector<uint8_t>>> audio_in_, silence_in_;
  SimulatedClock clock_;
  NullSink sink_;
  std::unique_ptr<Session> session_;
  std::vector<PushHandle> audio_h_, video_h_;
  std::vector<std::unique_ptr<FakePeer>> audio_peers_, video_peers_, top_peers_, low_peers_;
  uint8_t pkt_[1500];
  uint16_t seq_ = 0;
  int64_t media_us_ = 0;
  int video_frame_ = 0;
};

void BM_VideoLeg_sipmix(benchmark::State& state) {
  VideoLegRig rig(vp8_inputs(), {}, SessionConfig{});
  for (auto _ : state) rig.run_seconds(1);  // one second of media: 50 audio ticks, 30 video frames
  set_legs_per_core(state);
  set_stage_shares(state, rig.session().stats().stages);
}
BENCHMARK(BM_VideoLeg_sipmix)->Name("BM_VideoLeg/sipmix")->Unit(benchmark::kMillisecond)->MinTime(5.0);

// ---- still canvases ------------------------------------------------------------

// VP8 frames per participant of one unchanging picture (a still camera, a
// shared slide), as an encoder sends it once it has converged: a keyframe,
// then kStillFrames - 1 inter frames that code no change (libvpx with an
// all-inactive map: every macroblock skipped), which decode to the same
// pixels. The rig loops the inter frames.
constexpr int kStillFrames = 60;

struct StillInputs {
  std::vector<std::vector<std::vector<uint8_t>>> frames;
  std::vector<size_t> loop_from;
};

const StillInputs& vp8_still_inputs() {
  static const StillInputs inputs = [] {
    StillInputs in;
    in.frames.resize(kVideoSources);
    for (int who = 0; who < kVideoSources; ++who) {
      video::VideoEncoderConfig ec;
      ec.codec = video::VideoCodec::kVp8;
      ec.width = 640;
      ec.height = 360;
      ec.bitrate_bps = 600'000;
      ec.settle_frames = 0;
      ec.still_repeat_interval_us = 0;  // every frame: a repeat that codes nothing
      auto enc = std::move(*video::VideoEncoder::create(ec));
      video::I420Buffer pic(640, 360);
      const video::I420MutableView m = pic.mutable_view();
      draw_input(who, 0, {m.y, m.u, m.v, m.stride_y, m.stride_u, m.stride_v, 640, 360});
      std::vector<uint8_t> changed(static_cast<size_t>(enc->mb_cols() * enc->mb_rows()), 1);
      for (int f = 0; f < kStillFrames; ++f) {
        video::EncodedFrame ef;
        (void)enc->encode(pic.view(), int64_t{f} * 33333, &ef, changed.data());
        std::fill(changed.begin(), changed.end(), uint8_t{0});
        in.frames[static_cast<size_t>(who)].emplace_back(ef.data.begin(), ef.data.end());
      }
      in.loop_from.push_back(1);
    }
    return in;
  }();
  return inputs;
}

double thread_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// One side of an interleaved comparison of whole sessions: its rig and, per
// round, the media-second averages of what it spent.
struct RigSide {
  RigSide(std::string side, std::unique_ptr<VideoLegRig> r) : name(std::move(side)), rig(std::move(r)) {}
  std::string name;
  std::unique_ptr<VideoLegRig> rig;
  std::vector<double> encode_ms, decode_ms, compose_ms, cpu_ms;  // per media second, per round
};

// Rounds of `seconds` of media of each side in turn (A, B, C, A, B, C...);
// encode, decode and compose from the session's StageTimes, CPU from the
// thread's clock.
void run_rig_rounds(std::vector<RigSide>& sides, int rounds, int seconds) {
  for (int r = 0; r < rounds; ++r)
    for (RigSide& s : sides) {
      const StageTimes t0 = s.rig->session().stats().stages;
      const double cpu0 = thread_cpu_s();
      s.rig->run_seconds(seconds);
      s.cpu_ms.push_back(1e3 * (thread_cpu_s() - cpu0) / seconds);
      const StageTimes t1 = s.rig->session().stats().stages;
      s.encode_ms.push_back(1e-3 * static_cast<double>(t1.video_encode_us - t0.video_encode_us) / seconds);
      s.decode_ms.push_back(1e-3 * static_cast<double>(t1.video_decode_us - t0.video_decode_us) / seconds);
      s.compose_ms.push_back(1e-3 * static_cast<double>(t1.compose_us - t0.compose_us) / seconds);
    }
}

// The benchmark loop of an interleaved comparison of whole sessions: rounds
// (state.range(0)) of `seconds` of media of each side, after which each side
// reports the medians over rounds as cpu_ms_per_s_<side>, encode_ms_per_s_<side>,
// decode_ms_per_s_<side> and compose_ms_per_s_<side>. The benchmark's own time
// is the first side's CPU per media second. Warm the sides up (warm_up) first.
void warm_up(std::vector<RigSide>& sides) {
  for (RigSide& s : sides) s.rig->run_seconds(2);
}
void run_and_report(benchmark::State& state, std::vector<RigSide>& sides, int seconds) {
  for (auto _ : state) {
    run_rig_rounds(sides, static_cast<int>(state.range(0)), seconds);
    state.SetIterationTime(bench::detail::median(sides[0].cpu_ms) / 1e3);
  }
  for (const RigSide& s : sides) {
    state.counters["cpu_ms_per_s_" + s.name] = bench::detail::median(s.cpu_ms);
    state.counters["encode_ms_per_s_" + s.name] = bench::detail::median(s.encode_ms);
    state.counters["decode_ms_per_s_" + s.name] = bench::detail::median(s.decode_ms);
    state.counters["compose_ms_per_s_" + s.name] = bench::detail::median(s.compose_ms);
  }
  state.counters["rounds"] = static_cast<double>(state.range(0));
}

// Counter `name`: the median over rounds of a[r] / b[r], with _min and _max.
void set_ratio(benchmark::State& state, const std::string& name, const std::vector<double>& a,
               const std::vector<double>& b) {
  std::vector<double> r;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) r.push_back(b[i] > 0 ? a[i] / b[i] : 0);
  if (r.empty()) return;
  std::sort(r.begin(), r.end());
  state.counters[name] = bench::detail::median(r);
  state.counters[name + "_min"] = r.front();
  state.counters[name + "_max"] = r.back();
}

// BM_StillCanvas/interleaved: the BM_VideoLeg session (9 x 360p VP8 -> 720p30
// H.264) with every publisher's picture still, against the same session in
// motion and the still session with SessionConfig::skip_unchanged_video off.
// Each round runs 10 s of media of each, in that order (after 2 s of warm-up
// each). Counters, medians over the rounds:
//   encode_ms_per_s_<side>   the leg's video encode (StageTimes) per media second
//   cpu_ms_per_s_<side>      the benchmark thread's CPU per media second
//   encode_ratio_still_motion (_min/_max)   still / motion encode time, per round
//   encode_ratio_still_off   still / still_off encode time, per round
//   skipped_share_still      frames the still leg did not encode
//   ratio_motion, ratio_still_off   the same ratios the other way up (baseline / sipmix)
// The benchmark's own time is the still session's CPU per media second.
void BM_StillCanvas_interleaved(benchmark::State& state) {
  SessionConfig off;
  off.skip_unchanged_video = false;
  const StillInputs& still = vp8_still_inputs();
  std::vector<RigSide> sides;
  sides.push_back({"still", std::make_unique<VideoLegRig>(still.frames, still.loop_from, SessionConfig{})});
  sides.push_back({"motion", std::make_unique<VideoLegRig>(vp8_inputs(), std::vector<size_t>{}, SessionConfig{})});
  sides.push_back({"still_off", std::make_unique<VideoLegRig>(still.frames, still.loop_from, off)});
  warm_up(sides);
  const LegStats l0 = sides[0].rig->session().stats().legs[0];
  run_and_report(state, sides, 10);
  set_ratio(state, "encode_ratio_still_motion", sides[0].encode_ms, sides[1].encode_ms);
  // The contract's form (design.md): baseline / sipmix, sipmix being the still leg.
  set_ratio(state, "ratio_motion", sides[1].encode_ms, sides[0].encode_ms);
  set_ratio(state, "ratio_still_off", sides[2].encode_ms, sides[0].encode_ms);
  set_ratio(state, "encode_ratio_still_off", sides[0].encode_ms, sides[2].encode_ms);
  set_ratio(state, "cpu_ratio_still_motion", sides[0].cpu_ms, sides[1].cpu_ms);
  const LegStats l = sides[0].rig->session().stats().legs[0];
  const double skipped = static_cast<double>(l.video_frames_skipped - l0.video_frames_skipped);
  state.counters["skipped_share_still"] =
      skipped / (skipped + static_cast<double>(l.video_frames_encoded - l0.video_frames_encoded));
  uint64_t decoded = 0, unchanged = 0;
  for (const StreamStats& st : sides[0].rig->session().stats().streams) {
    if (!st.id.ends_with("-video")) continue;
    decoded += st.decoded_frames;
    unchanged += st.unchanged_frames;
  }
  state.counters["unchanged_share_still_decodes"] = decoded ? static_cast<double>(unchanged) / decoded : 0;
}
BENCHMARK(BM_StillCanvas_interleaved)
    ->Name("BM_StillCanvas/interleaved")
    ->Arg(5)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// A video leg of the whole-session benchmarks: 1280x720 H.264 at the default
// rate, or 640x360 VP8 at 600 kb/s.
LegConfig video_leg(const std::string& id, VideoCodec codec) {
  LegConfig leg;
  leg.id = id;
  leg.video = true;
  if (codec == VideoCodec::kVp8) {
    leg.video_codec = VideoCodec::kVp8;
    leg.width = 640;
    leg.height = 360;
    leg.video_bitrate_bps = 600'000;
  }
  return leg;
}

// BM_PartlyStillCanvas/interleaved_<codec>: the BM_VideoLeg session with 3
// publishers in motion and 6 still (cameras off, still speakers, a slide), so
// that every frame changes somewhere and none is skipped. Sides: the defaults
// (the encoder tells the codec which macroblocks need no coding: x264's
// X264_MBINFO_CONSTANT, libvpx's active map) and skip_unchanged_video off
// (every macroblock analysed), 5 s of media of each per round. The leg is
// 1280x720 H.264 (`h264`) or 640x360 VP8 at 600 kb/s (`vp8`).
// Counters: encode_ms_per_s_<side>, cpu_ms_per_s_<side>, ratio_no_map
// (_min/_max): no_map / map encode time per round (baseline / sipmix),
// cpu_ratio_no_map likewise for the thread's CPU, partial_share_map: the
// map side's frames coded with a map.
void partly_still_canvas(benchmark::State& state, VideoCodec codec) {
  constexpr size_t kMoving = 3;
  static const auto inputs = [] {
    std::vector<std::vector<std::vector<uint8_t>>> out;
    for (size_t s = 0; s < kVideoSources; ++s)
      out.push_back(s < kMoving ? vp8_inputs()[s] : vp8_still_inputs().frames[s]);
    return out;
  }();
  std::vector<size_t> loop_from = vp8_still_inputs().loop_from;
  std::fill_n(loop_from.begin(), kMoving, size_t{0});  // the moving inputs loop whole
  const std::vector<LegConfig> legs = {video_leg("sip", codec)};
  SessionConfig off;
  off.skip_unchanged_video = false;
  std::vector<RigSide> sides;
  sides.push_back({"map", std::make_unique<VideoLegRig>(inputs, loop_from, SessionConfig{}, legs)});
  sides.push_back({"no_map", std::make_unique<VideoLegRig>(inputs, loop_from, off, legs)});
  warm_up(sides);
  const LegStats l0 = sides[0].rig->session().stats().legs[0];
  run_and_report(state, sides, 5);
  set_ratio(state, "ratio_no_map", sides[1].encode_ms, sides[0].encode_ms);  // baseline / sipmix
  set_ratio(state, "cpu_ratio_no_map", sides[1].cpu_ms, sides[0].cpu_ms);
  const LegStats l = sides[0].rig->session().stats().legs[0];
  const double encoded = static_cast<double>(l.video_frames_encoded - l0.video_frames_encoded);
  state.counters["skipped_frames_map"] = static_cast<double>(l.video_frames_skipped - l0.video_frames_skipped);
  state.counters["partial_share_map"] =
      encoded > 0 ? static_cast<double>(l.video_frames_partial - l0.video_frames_partial) / encoded : 0;
}
void BM_PartlyStillCanvas_h264(benchmark::State& state) { partly_still_canvas(state, VideoCodec::kH264); }
void BM_PartlyStillCanvas_vp8(benchmark::State& state) { partly_still_canvas(state, VideoCodec::kVp8); }
BENCHMARK(BM_PartlyStillCanvas_h264)
    ->Name("BM_PartlyStillCanvas/interleaved_h264")
    ->Arg(5)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PartlyStillCanvas_vp8)
    ->Name("BM_PartlyStillCanvas/interleaved_vp8")
    ->Arg(5)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// 16 participants' VP8 (the BM_VideoLeg pictures, participant i showing
// picture i % 9) for BM_ShownDecode.
const std::vector<std::vector<std::vector<uint8_t>>>& vp8_inputs_16() {
  static const auto inputs = [] {
    std::vector<std::vector<std::vector<uint8_t>>> out;
    for (int s = 0; s < 16; ++s) out.push_back(vp8_inputs()[static_cast<size_t>(s % kVideoSources)]);
    return out;
  }();
  return inputs;
}

// BM_ShownDecode/interleaved: 16 publishers (360p VP8 in motion, Opus), one
// 720p H.264 leg showing 9 of them, with SessionConfig::decode_shown_only on
// (`shown_only`) and off (`decode_all`), 5 s of media of each per round.
// Counters: decode_ms_per_s_<side> (StageTimes video_decode), cpu_ms_per_s_<side>,
// decode_ratio_shown_all (_min/_max): shown_only / decode_all decode time per
// round (ratio_decode_all: its inverse); cpu_ratio_shown_all likewise for the
// thread's CPU.
void BM_ShownDecode_interleaved(benchmark::State& state) {
  SessionConfig all;
  all.decode_shown_only = false;
  std::vector<RigSide> sides;
  sides.push_back({"shown_only", std::make_unique<VideoLegRig>(vp8_inputs_16(), std::vector<size_t>{}, SessionConfig{})});
  sides.push_back({"decode_all", std::make_unique<VideoLegRig>(vp8_inputs_16(), std::vector<size_t>{}, all)});
  warm_up(sides);
  run_and_report(state, sides, 5);
  set_ratio(state, "decode_ratio_shown_all", sides[0].decode_ms, sides[1].decode_ms);
  set_ratio(state, "ratio_decode_all", sides[1].decode_ms, sides[0].decode_ms);  // baseline / sipmix
  set_ratio(state, "cpu_ratio_shown_all", sides[0].cpu_ms, sides[1].cpu_ms);
  int decoding = 0;
  for (const StreamStats& st : sides[0].rig->session().stats().streams)
    if (st.id.ends_with("-video") && st.frames_not_shown == 0) ++decoding;
  state.counters["streams_decoded"] = decoding;
}
BENCHMARK(BM_ShownDecode_interleaved)
    ->Name("BM_ShownDecode/interleaved")
    ->Arg(5)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// BM_RealisticSession/interleaved: a meeting as the SIP side sees it. 16
// publishers with Opus (one talking at a time, the speaker moving on every
// 4 s, RFC 6464 levels on every packet) and VP8: 12 cameras in motion, 3 of
// them simulcast publishers (1280x720, 640x360 and 320x180, three SSRCs) and
// 9 sending 640x360 only, and 4 cameras off (a still 640x360 picture, one
// encoding, as a browser sends for a disabled track). Legs: 1280x720 H.264, 640x360 VP8, and 2 audio-only
// PCMU legs. Sides: every optimisation on (the defaults: the 3x3 tiles take
// the 640x360 layer) and all off (skip_silent_decode, skip_unchanged_video,
// decode_shown_only, choose_simulcast_layer: every stream decoded, in its top
// layer), 8 s of media of each per round. The publishers' frames are
// pre-encoded loops (keyframe every 2 s) and do not answer PLIs.
// BM_RealisticSession/interleaved_all_simulcast: the same with all 12 moving
// cameras simulcast; /interleaved_one_encoding: with none;
// /interleaved_camera: 3 simulcast as in /interleaved, but the 12 cameras show
// real webcam footage (camera_inputs(), 8 s loops from one keyframe) instead
// of draw_input's scene, whose bands scroll across the whole picture.
// Counters: cpu_ms_per_s_<side>, cpu_ratio_off_on (_min/_max): all-off /
// all-on CPU per round (goal >= 2; also as ratio_off),
// decode/encode/compose_ms_per_s_<side> (StageTimes).
void realistic_session(benchmark::State& state, size_t simulcast_publishers, bool camera = false) {
  using Frames = std::vector<std::vector<std::vector<uint8_t>>>;
  const Frames *moving = &vp8_inputs(), *top = &vp8_inputs_720p(), *low = &vp8_inputs_180p();
  if (camera) {
    const CameraInputs& c = camera_inputs();
    if (c.mid.empty() || c.top.empty() || c.low.empty()) {
      state.SkipWithError("the camera footage needs ffmpeg and Debian's forensics-samples-files");
      return;
    }
    moving = &c.mid, top = &c.top, low = &c.low;
  }
  Frames inputs;
  for (int s = 0; s < 16; ++s)
    inputs.push_back(s < 12 ? (*moving)[static_cast<size_t>(s % kVideoSources)]
                            : vp8_still_inputs().frames[static_cast<size_t>(s % kVideoSources)]);
  std::vector<size_t> loop_from(16, 0);
  for (int s = 12; s < 16; ++s) loop_from[static_cast<size_t>(s)] = 1;
  std::vector<LegConfig> legs(4);
  legs[0] = video_leg("sip-720p-h264", VideoCodec::kH264);
  legs[1] = video_leg("sip-360p-vp8", VideoCodec::kVp8);
  legs[2].id = "sip-audio-1";
  legs[3].id = "sip-audio-2";
  SessionConfig off;
  off.skip_silent_decode = false;
  off.skip_unchanged_video = false;
  off.decode_shown_only = false;
  off.choose_simulcast_layer = false;
  RigTalk talk;
  talk.speaker_period_s = 4;
  RigSimulcast sim;
  if (simulcast_publishers) sim = {top, low, simulcast_publishers};
  std::vector<RigSide> sides;
  sides.push_back({"on", std::make_unique<VideoLegRig>(inputs, loop_from, SessionConfig{}, legs, talk, sim)});
  sides.push_back({"off", std::make_unique<VideoLegRig>(inputs, loop_from, off, legs, talk, sim)});
  warm_up(sides);
  run_and_report(state, sides, 8);
  set_ratio(state, "cpu_ratio_off_on", sides[1].cpu_ms, sides[0].cpu_ms);
  set_ratio(state, "ratio_off", sides[1].cpu_ms, sides[0].cpu_ms);  // baseline / sipmix
  if (simulcast_publishers) {
    // How many simulcast streams the "on" side shows from the 640x360 layer.
    int middle = 0;
    for (const StreamStats& st : sides[0].rig->session().stats().streams) middle += st.layer_width == 640;
    state.counters["streams_on_640x360_layer"] = middle;
  }
}
void BM_RealisticSession_interleaved(benchmark::State& state) { realistic_session(state, 3); }
void BM_RealisticSession_all_simulcast(benchmark::State& state) { realistic_session(state, 12); }
void BM_RealisticSession_one_encoding(benchmark::State& state) { realistic_session(state, 0); }
void BM_RealisticSession_camera(benchmark::State& state) { realistic_session(state, 3, true); }
BENCHMARK(BM_RealisticSession_interleaved)
    ->Name("BM_RealisticSession/interleaved")
    ->Arg(3)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RealisticSession_all_simulcast)
    ->Name("BM_RealisticSession/interleaved_all_simulcast")
    ->Arg(3)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RealisticSession_one_encoding)
    ->Name("BM_RealisticSession/interleaved_one_encoding")
    ->Arg(3)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RealisticSession_camera)
    ->Name("BM_RealisticSession/interleaved_camera")
    ->Arg(3)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// The work one second of that leg cannot avoid, without the session around
// it: 270 VP8 decodes, the same 3x3 composition (so that the encoder codes the
// same picture) and 30 H.264 encodes with the leg's settings. The difference
// to BM_VideoLeg/sipmix is what the session adds: jitter buffers,
// depacketizing, frame assembly, RTP packetizing, and the audio.
class CodecsAndCompose {
 public:
  CodecsAndCompose() : video_in_(vp8_inputs()) {
    std::vector<video::StreamCandidate> cand;
    for (int s = 0; s < kVideoSources; ++s) {
      dec_.push_back(std::move(*video::VideoDecoder::create(video::VideoCodec::kVp8)));
      cand.push_back({static_cast<uint64_t>(s), static_cast<uint64_t>(s), std::nullopt});
    }
    (void)layout_.update(cand, std::nullopt);
    (void)compositor_.configure({});
    enc_ = std::move(*video::VideoEncoder::create(video::VideoEncoderConfig{}));
    tiles_.resize(layout_.slots().size());
  }

  // One second: 30 frames of 9 decodes, a composition and an encode.
  void run_second() {
    for (int f = 0; f < 30; ++f, ++frame_) {
      for (size_t i = 0; i < tiles_.size(); ++i) {
        const video::LayoutSlot& slot = layout_.slots()[i];
        const auto& frames = video_in_[slot.stream_id];
        (void)dec_[slot.stream_id]->decode(frames[static_cast<size_t>(frame_) % frames.size()]);
        tiles_[i].stream_id = slot.stream_id;
        tiles_[i].cell = slot.cell;
        tiles_[i].frame = dec_[slot.stream_id]->frame();
        tiles_[i].generation = static_cast<uint64_t>(frame_) + 1;
      }
      (void)compositor_.compose(tiles_);
      video::EncodedFrame ef;
      benchmark::DoNotOptimize(enc_->encode(compositor_.canvas(), t_us_, &ef));
      t_us_ += 33333;
    }
  }

 private:
  const std::vector<std::vector<std::vector<uint8_t>>>& video_in_;
  std::vector<std::unique_ptr<video::VideoDecoder>> dec_;
  video::LayoutManager layout_;
  video::Compositor compositor_;
  std::unique_ptr<video::VideoEncoder> enc_;
  std::vector<video::TileInput> tiles_;
  int frame_ = 0;
  int64_t t_us_ = 0;
};

void BM_VideoLeg_codecs_and_compose(benchmark::State& state) {
  CodecsAndCompose work;
  for (auto _ : state) work.run_second();
  set_legs_per_core(state);
}
BENCHMARK(BM_VideoLeg_codecs_and_compose)->Name("BM_VideoLeg/codecs_and_compose")->Unit(benchmark::kMillisecond)->MinTime(5.0);

// BM_VideoLeg/interleaved: BM_VideoLeg/sipmix and /codecs_and_compose
// alternating, one media second a batch at least (bench/interleave.h);
// ratio_codecs_and_compose < 1 is the session's overhead over that work.
const bool kVideoLegInterleaved = [] {
  bench::InterleaveOptions opt;
  opt.rounds = 11;
  opt.batch_s = 0.3;
  bench::InterleavedBenchmark(
      "BM_VideoLeg/interleaved",
      [](benchmark::State&, std::vector<bench::Side>* sides) {
        auto rig = std::make_shared<VideoLegRig>(vp8_inputs(), std::vector<size_t>{}, SessionConfig{});
        auto work = std::make_shared<CodecsAndCompose>();
        sides->push_back(bench::Side::whole("sipmix", [rig](int64_t n) { rig->run_seconds(static_cast<int>(n)); }));
        sides->push_back(bench::Side::whole("codecs_and_compose", [work](int64_t n) {
          for (int64_t i = 0; i < n; ++i) work->run_second();
        }));
      },
      opt);
  return true;
}();

}  // namespace
}  // namespace sipmix
