// sipmix-replay through the real binary: it deletes only what it created,
// stops cleanly on a signal or a full disk, finishes on captures with huge
// gaps, learns a capture's payload type, and answers every bad input with
// exit status 2 and one line naming the field, leaving nothing behind.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/test_env.h"
#include "tests/replay/replay_cli_util.h"
#include "tests/support/pcap.h"

namespace sipmix::replay {

using pcap::IpEndpoint;
using pcap::PcapReader;
using pcap::PcapWriter;
using pcap::UdpPacket;
using pcap::read_pcap_udp;
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Cli;
using testing::CliResult;
using testing::talk;
using testing::write_capture;
using testing::CapturedPacket;

// A synth session that runs quickly: one participant, a leg without video.
constexpr const char* kSmall = R"({"duration_s": 2, "participants": [{"id": "a", "synth": true}], "sip_leg": {}})";

class ReplayCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sipmix_replay_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return (dir_ / name).string();
  }
  CliResult run(const std::vector<std::string>& args, Cli::Options o = {}) {
    if (o.cwd.empty()) o.cwd = dir_.string();
    return Cli::run(args, o);
  }
  fs::path dir_;
};

std::set<std::string> entries(const fs::path& d) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(d, ec)) out.insert(e.path().filename().string());
  return out;
}

bool has_temp_folder(const fs::path& d) {
  for (const auto& name : entries(d))
    if (name.find(".sipmix-tmp-") != std::string::npos || name.find(".sipmix-old-") != std::string::npos) return true;
  return false;
}

json stats(const fs::path& out) {
  std::ifstream in(out / "stats.json");
  return json::parse(in, nullptr, false);
}

const json* stream_stats(const json& st, const std::string& id) {
  if (!st.contains("streams")) return nullptr;
  for (const auto& s : st["streams"])
    if (s["id"] == id) return &s;
  return nullptr;
}

// ------------------------------------------------------------ output folders

TEST_F(ReplayCli, PreExistingUserFoldersBesideOutSurvive) {
  write("m.json", kSmall);
  for (const char* name : {"results.partial", ".results.sipmix-tmp-mine", "results.old"}) {
    fs::create_directories(dir_ / name);
    write(std::string(name) + "/keep.txt", "the user's");
  }
  const CliResult r = run({"m.json", "--out", "results", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "results" / "stats.json"));
  for (const char* name : {"results.partial", ".results.sipmix-tmp-mine", "results.old"}) {
    std::ifstream in(dir_ / name / "keep.txt");
    std::string s;
    std::getline(in, s);
    EXPECT_EQ(s, "the user's") << name;
  }
  EXPECT_EQ(entries(dir_), (std::set<std::string>{"m.json", "results", "results.partial", ".results.sipmix-tmp-mine",
                                                  "results.old"}));
}

TEST_F(ReplayCli, OutWithATrailingSlashWorks) {
  write("m.json", kSmall);
  CliResult r = run({"m.json", "--out", "out/", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "out" / "leg.mkv"));
  // Again into the same folder, spelled differently: replaced with --force.
  r = run({"m.json", "--out", "./out//.", "-q", "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "out" / "leg.mkv"));
  EXPECT_FALSE(has_temp_folder(dir_));
  EXPECT_EQ(entries(dir_), (std::set<std::string>{"m.json", "out"}));
}

TEST_F(ReplayCli, EarlierResultsStayUntilTheNewOnesAreComplete) {
  write("m.json", kSmall);
  ASSERT_EQ(run({"m.json", "--out", "out", "-q"}).exit_code, 0);
  const auto before = fs::file_size(dir_ / "out" / "leg.pcap");
  // Without --force the earlier output is kept and nothing runs.
  CliResult r = run({"m.json", "--out", "out/", "-q"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(r.lines(), 1) << r.err;
  EXPECT_EQ(fs::file_size(dir_ / "out" / "leg.pcap"), before);
  // A replay that fails keeps them too, even with --force.
  write("bad.json", R"({"duration_s": 2, "participants": [{"id": "a", "media": "nothing.webm"}], "sip_leg": {}})");
  r = run({"bad.json", "--out", "out", "-q", "--force"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(fs::file_size(dir_ / "out" / "leg.pcap"), before);
  EXPECT_FALSE(has_temp_folder(dir_));
}

TEST_F(ReplayCli, ForceNeverReplacesAFolderReplayDidNotWrite) {
  write("m.json", kSmall);
  fs::create_directories(dir_ / "mine");
  write("mine/precious.txt", "keep me");
  const CliResult r = run({"m.json", "--out", "mine", "--force", "-q"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.lines(), 1) << r.err;
  EXPECT_EQ(entries(dir_ / "mine"), (std::set<std::string>{"precious.txt"}));
  EXPECT_FALSE(has_temp_folder(dir_));
}

TEST_F(ReplayCli, RefusesTheWorkingFolderItsParentsAndRoot) {
  write("m.json", kSmall);
  fs::create_directories(dir_ / "sub");
  fs::create_symlink(dir_, dir_ / "sub" / "link");
  // The working folder, marked as if an earlier run had written it: still refused.
  write(".sipmix-replay", "written by sipmix-replay\n");
  const std::set<std::string> before = entries(dir_);
  for (const std::string& out : std::vector<std::string>{".", "./", "..", "/", "sub/..", "sub/link", "sub/link/", dir_.string() + "/"}) {
    const CliResult r = run({"m.json", "--out", out, "--force", "-q"});
    EXPECT_EQ(r.exit_code, 2) << out << ": " << r.err;
    EXPECT_EQ(r.lines(), 1) << out << ": " << r.err;
    EXPECT_EQ(entries(dir_), before) << out;
  }
}

// ------------------------------------------------------------ signals

void expect_stop_leaves_nothing(const fs::path& dir, int signo, int expected_exit) {
  std::ofstream(dir / "long.json") << R"({"duration_s": 3600, "participants": [{"id": "a", "synth": true}],
                                           "sip_leg": {"video": true, "video_codec": {"codec": "vp8", "width": 320, "height": 180}}})";
  Cli::Options o;
  o.cwd = dir.string();
  o.signal = signo;
  // After a few seconds of work, once the outputs are being written.
  o.signal_when = [dir] {
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string().find(".sipmix-tmp-") != std::string::npos) return true;
    return false;
  };
  o.signal_after_s = 3;
  const CliResult r = Cli::run({"long.json", "--out", "out", "-q"}, o);
  EXPECT_TRUE(r.signalled) << "the run ended before the signal could be sent: " << r.err;
  EXPECT_EQ(r.exit_code, expected_exit) << r.err;
  EXPECT_EQ(r.lines(), 1) << r.err;
  EXPECT_FALSE(has_temp_folder(dir));
  EXPECT_EQ(entries(dir), (std::set<std::string>{"long.json"}));
}

TEST_F(ReplayCli, HelpSaysWhatASignalDoes) {
  const CliResult r = run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("SIGINT (Ctrl-C) or SIGTERM stops the replay, removes the temporary folder"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("130 SIGINT, 143 SIGTERM"), std::string::npos) << r.out;
}

TEST_F(ReplayCli, SigintAfterAFewSecondsLeavesNoTemporaryFolder) { expect_stop_leaves_nothing(dir_, SIGINT, 130); }
TEST_F(ReplayCli, SigtermLeavesNoTemporaryFolder) { expect_stop_leaves_nothing(dir_, SIGTERM, 143); }

// ------------------------------------------------------------ write errors

void expect_write_error_leaves_nothing(const CliResult& r, const fs::path& where, const std::string& label) {
  EXPECT_NE(r.exit_code, 0) << label;
  EXPECT_NE(r.exit_code, 2) << label << ": a full disk is not bad input: " << r.err;
  EXPECT_FALSE(r.timed_out) << label;
  EXPECT_EQ(r.lines(), 1) << label << ": " << r.err;
  bool names_a_file = false;
  for (const char* f : {"leg.mkv", "session-stream.mka", "leg.pcap", "events.jsonl", "stats.json", "contact-sheet.png",
                        "timeline.png", ".sipmix-replay"})
    names_a_file |= r.err.find(f) != std::string::npos;
  EXPECT_TRUE(names_a_file) << label << ": " << r.err;
  EXPECT_TRUE(entries(where).empty()) << label << ": left " << *entries(where).begin();
}

// A small tmpfs, from nearly full to big enough, fills at every point of the
// replay in turn: the media files, leg.pcap, events.jsonl, the pictures and
// stats.json. Each failure leaves nothing; the first size that fits gives
// complete results.
TEST_F(ReplayCli, WriteErrorOnASmallTmpfsExitsNonZeroAndLeavesNothing) {
  write("m.json", R"({"duration_s": 4, "participants": [{"id": "a", "synth": true}, {"id": "b", "synth": true}],
                      "sip_leg": {"video": true, "video_codec": {"codec": "vp8", "width": 320, "height": 180}}})");
  const fs::path mnt = dir_ / "mnt";
  fs::create_directories(mnt);
  const int step_kb = sipmix::testing::ci_scale() ? 40 : 12;
  int failures = 0;
  bool fitted = false;
  for (int kb = 4; kb <= 2048 && !fitted; kb += step_kb) {
    const std::string opts = "size=" + std::to_string(kb) + "k";
    if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      ASSERT_EQ(failures, 0) << "mount failed half way: " << std::strerror(errno);
      GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                   << "); WriteErrorFromAFileSizeLimit covers write errors";
    }
    const CliResult r = run({"m.json", "--out", (mnt / "out").string(), "-q"});
    if (r.exit_code == 0) {
      fitted = true;
      for (const char* f : {"leg.mkv", "session-stream.mka", "leg.pcap", "events.jsonl", "stats.json",
                            "contact-sheet.png", "timeline.png"})
        EXPECT_GT(fs::file_size(mnt / "out" / f), 0u) << f;
      EXPECT_TRUE(stats(mnt / "out").is_object());
    } else {
      ++failures;
      expect_write_error_leaves_nothing(r, mnt, opts);
    }
    ::umount(mnt.c_str());
  }
  EXPECT_TRUE(fitted);
  EXPECT_GT(failures, 3);
}

// A file size limit (EFBIG) works without privileges.
TEST_F(ReplayCli, WriteErrorFromAFileSizeLimit) {
  write("m.json", R"({"duration_s": 4, "participants": [{"id": "a", "synth": true}],
                      "sip_leg": {"video": true, "video_codec": {"codec": "vp8", "width": 320, "height": 180}}})");
  fs::create_directories(dir_ / "w");
  for (long limit : {100L, 20000L, 150000L}) {
    Cli::Options o;
    o.file_size_limit = limit;
    const CliResult r = run({"m.json", "--out", (dir_ / "w" / "out").string(), "-q"}, o);
    expect_write_error_leaves_nothing(r, dir_ / "w", "file size limit " + std::to_string(limit));
  }
}

// ------------------------------------------------------------ captures

TEST_F(ReplayCli, CaptureWithAHugeGapFinishesQuickly) {
  // 2 s of audio, then 10^6 s of nothing, then 2 s more, and a packet whose
  // timestamp goes back in time.
  const int64_t t0 = 1'700'000'000'000'000;
  std::vector<CapturedPacket> p = talk(t0, 100);
  p.push_back({t0 - 5'000'000, 0});
  for (const auto& q : talk(t0 + 1'000'000'000'000, 100)) p.push_back(q);
  ASSERT_TRUE(write_capture((dir_ / "gap.pcap").string(), p));
  write("m.json", R"({"participants": [{"id": "a", "audio_pcap": "gap.pcap", "audio_codec": "pcmu"}], "sip_leg": {}})");
  Cli::Options o;
  o.timeout_s = 120;  // a hang guard, not a speed requirement
  const CliResult r = run({"m.json", "--out", "out", "-q"}, o);
  ASSERT_FALSE(r.timed_out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The gap is shortened to 10 s: about 2 + 10 + 2 s of media.
  const json st = stats(dir_ / "out");
  EXPECT_LE(st["media_seconds"].get<double>(), 15.0);
  EXPECT_GE(st["media_seconds"].get<double>(), 13.0);
  const json* a = stream_stats(st, "a/audio");
  ASSERT_NE(a, nullptr);
  EXPECT_GT((*a)["decoded_frames"].get<int64_t>(), 150);
}

TEST_F(ReplayCli, CaptureWithoutAPayloadTypeDecodesAndCountsTheOthers) {
  // PCMU (0) with a few comfort-noise (13) packets among them.
  std::vector<CapturedPacket> p = talk(1'000'000, 150);
  for (int i = 10; i < 150; i += 20) p[i].payload_type = 13;
  ASSERT_TRUE(write_capture((dir_ / "a.pcap").string(), p));
  write("m.json", R"({"participants": [{"id": "a", "audio_pcap": "a.pcap", "audio_codec": "pcmu"}], "sip_leg": {}})");
  const CliResult r = run({"m.json", "--out", "out", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json st = stats(dir_ / "out");
  const json* a = stream_stats(st, "a/audio");
  ASSERT_NE(a, nullptr);
  EXPECT_GT((*a)["decoded_frames"].get<int64_t>(), 100);
  EXPECT_EQ(st["unmatched_payload_type_packets"]["a/audio"].get<int64_t>(), 7);
}

TEST_F(ReplayCli, SynthHonoursAudioAndVideo) {
  write("m.json", R"({"duration_s": 1, "participants": [{"id": "a", "synth": true, "audio": false},
                                                        {"id": "b", "synth": true, "video": false}],
                      "sip_leg": {"video": true, "video_codec": {"codec": "vp8", "width": 320, "height": 180}}})");
  const CliResult r = run({"m.json", "--out", "out", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json st = stats(dir_ / "out");
  EXPECT_EQ(stream_stats(st, "a/audio"), nullptr);
  EXPECT_NE(stream_stats(st, "a/video"), nullptr);
  EXPECT_NE(stream_stats(st, "b/audio"), nullptr);
  EXPECT_EQ(stream_stats(st, "b/video"), nullptr);
}

// ------------------------------------------------------------ bad inputs

struct BadInput {
  const char* name;
  std::string manifest;
  std::string field;  // the error names it
  std::string path;   // and this file, when there is one
};

TEST_F(ReplayCli, EachBadInputExitsTwoWithOneLineNamingTheField) {
  // Real media to cut short, made by the replay itself.
  write("m.json", R"({"duration_s": 2, "participants": [{"id": "a", "synth": true}],
                      "sip_leg": {"video": true, "video_codec": {"codec": "vp8", "width": 320, "height": 180}}})");
  ASSERT_EQ(run({"m.json", "--out", "made", "-q"}).exit_code, 0);
  {
    std::ifstream in(dir_ / "made" / "leg.mkv", std::ios::binary);
    std::string head(200, '\0');
    in.read(head.data(), head.size());
    write("cut.mkv", head);
  }
  write("empty.webm", "");
  write("text.webm", "this is not a media file\n");
  std::string noise(5000, '\0');
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<char>((i * 2654435761u) >> 13);
  write("noise.wav", noise);
  write("empty.pcap", "");
  write("text.pcap", "not a capture either\n");
  {
    auto w = PcapWriter::create((dir_ / "udp.pcap").string());
    ASSERT_TRUE(w.ok());
    const std::vector<uint8_t> junk = {1, 2, 3};
    ASSERT_TRUE((*w)->write(1000, IpEndpoint::v4(1, 1, 1, 1, 1), IpEndpoint::v4(2, 2, 2, 2, 2), junk).ok());
    ASSERT_TRUE((*w)->finish().ok());
  }
  ASSERT_TRUE(write_capture((dir_ / "pcma.pcap").string(), talk(0, 20, 8)));
  ASSERT_TRUE(write_capture((dir_ / "pcmu.pcap").string(), talk(0, 20, 0)));

  auto with_participant = [](const std::string& participant, const std::string& leg = "{}",
                             const std::string& extra = "") {
    return R"({"duration_s": 2, "participants": [)" + participant + R"(], "sip_leg": )" + leg + extra + "}";
  };
  const std::string synth = R"({"id": "a", "synth": true})";
  std::vector<std::string> many;
  for (int i = 0; i < 128; ++i) many.push_back(R"({"id": "p)" + std::to_string(i) + R"(", "synth": true})");
  std::string many_json;
  for (const auto& s : many) many_json += (many_json.empty() ? "" : ",") + s;

  const std::vector<BadInput> cases = {
      {"zero-byte media", with_participant(R"({"id": "a", "media": "empty.webm"})"), "participants[0].media",
       "empty.webm"},
      {"text as media", with_participant(R"({"id": "a", "media": "text.webm"})"), "participants[0].media", "text.webm"},
      {"media cut short at the start", with_participant(R"({"id": "a", "media": "cut.mkv"})"), "participants[0].media",
       "cut.mkv"},
      {"noise as the leg's media", with_participant(synth, R"({"media": "noise.wav"})"), "sip_leg.media", "noise.wav"},
      {"zero-byte speech", with_participant(R"({"id": "a", "synth": true, "speech": "empty.webm"})"),
       "participants[0].speech", "empty.webm"},
      {"zero-byte prompt", with_participant(synth, R"({"prompts": {"muted": "empty.webm"}})"), "sip_leg.prompts.muted",
       "empty.webm"},
      {"zero-byte capture", with_participant(R"({"id": "a", "audio_pcap": "empty.pcap"})"),
       "participants[0].audio_pcap", "empty.pcap"},
      {"text as capture", with_participant(R"({"id": "a", "video_pcap": "text.pcap"})"), "participants[0].video_pcap",
       "text.pcap"},
      {"capture without RTP", with_participant(R"({"id": "a", "audio_pcap": "udp.pcap"})"),
       "participants[0].audio_pcap", "udp.pcap"},
      {"capture filter matching nothing",
       with_participant(R"({"id": "a", "audio_pcap": {"file": "pcmu.pcap", "payload_type": 111}})"),
       "participants[0].audio_pcap", "pcmu.pcap"},
      {"capture in another codec than audio_codec", with_participant(R"({"id": "a", "audio_pcap": "pcma.pcap"})"),
       "participants[0].audio_codec", ""},
      {"video capture with an audio payload type",
       with_participant(R"({"id": "a", "video_pcap": "pcma.pcap"})"),
       "participants[0].video_pcap", "pcma.pcap"},
      {"leg capture in another codec", with_participant(synth, R"({"audio_pcap": "pcma.pcap"})"), "sip_leg.audio_pcap",
       "pcma.pcap"},
      {"empty event capture",
       with_participant(synth, R"({"telephone_event": {"payload_type": 101}, "event_pcaps": ["empty.pcap"]})"),
       "sip_leg.event_pcaps[0]", "empty.pcap"},
      {"media and capture for the audio", with_participant(R"({"id": "a", "synth": true, "audio_pcap": "pcmu.pcap"})"),
       "participants[0].audio_pcap", ""},
      {"leg media and capture", with_participant(synth, R"({"media": "noise.wav", "audio_pcap": "pcmu.pcap"})"),
       "sip_leg.audio_pcap", ""},
      {"synth sending nothing", with_participant(R"({"id": "a", "synth": true, "audio": false, "video": false})"),
       "participants[0]", ""},
      {"media sending nothing", with_participant(R"({"id": "a", "media": "made/leg.mkv", "audio": false, "video": false})"),
       "participants[0]", ""},
      {"media without the wanted kind", with_participant(R"({"id": "a", "media": "made/session-stream.mka", "audio": false})"),
       "participants[0]", ""},
      {"offset past the end", with_participant(R"({"id": "a", "media": "made/leg.mkv", "offset_s": 30})"),
       "participants[0].offset_s", "leg.mkv"},
      {"audio and video share a payload type",
       with_participant(synth, R"({"audio": {"codec": "opus", "payload_type": 96}, "video": true})"),
       "sip_leg.video_codec.payload_type", ""},
      {"audio and events share a payload type",
       with_participant(synth, R"({"audio": {"codec": "opus", "payload_type": 101}, "telephone_event": {"payload_type": 101}})"),
       "sip_leg.telephone_event.payload_type", ""},
      {"too many participants", with_participant(many_json), "participants", ""},
      {"jitter minimum above maximum",
       with_participant(synth, "{}", R"(, "session": {"jitter_min_delay_ms": 400, "jitter_max_delay_ms": 100})"),
       "session.jitter_min_delay_ms", ""},
      {"an action after the end",
       with_participant(synth, "{}", R"(, "timeline": [{"at_s": 30, "action": "force_mute", "target": "sip"}])"),
       "timeline[0].at_s", ""},
      {"joining after the end", with_participant(R"({"id": "a", "synth": true, "join_at_s": 5})"),
       "participants[0].join_at_s", ""},
      {"keyframe request without video",
       with_participant(synth, "{}", R"(, "timeline": [{"at_s": 1, "action": "keyframe_request"}])"),
       "timeline[0].action", ""},
      {"key presses without telephone-event",
       with_participant(synth, "{}", R"(, "timeline": [{"at_s": 1, "action": "press_dtmf", "digits": "1"}])"),
       "timeline[0].action", ""},
      {"the leg leaving", with_participant(synth, "{}", R"(, "timeline": [{"at_s": 1, "action": "leave", "target": "sip"}])"),
       "timeline[0].target", ""},
      {"muting someone who has left",
       with_participant(R"({"id": "a", "synth": true, "leave_at_s": 0.5})", "{}",
                        R"(, "timeline": [{"at_s": 1, "action": "force_mute", "target": "a"}])"),
       "timeline[0].target", ""},
      {"muting someone without audio",
       with_participant(R"({"id": "a", "synth": true, "audio": false})", "{}",
                        R"(, "timeline": [{"at_s": 1, "action": "force_mute", "target": "a"}])"),
       "timeline[0].target", ""},
      {"excluding someone unknown",
       with_participant(synth, "{}",
                        R"(, "timeline": [{"at_s": 1, "action": "force_mute_session", "excluded": ["zed"]}])"),
       "timeline[0].excluded", ""},
      {"fractional seed", with_participant(synth, "{}", R"(, "seed": 1.5)"), "seed", ""},
      {"negative seed", with_participant(synth, "{}", R"(, "seed": -3)"), "seed", ""},
      {"duplicate key", with_participant(synth, "{}", R"(, "seed": 1, "seed": 2)"), "seed", ""},
      {"duplicate nested key", with_participant(R"({"id": "a", "synth": true, "id": "b"})"), "participants[0].id", ""},
  };
  for (const BadInput& c : cases) {
    write("bad.json", c.manifest);
    const std::set<std::string> before = entries(dir_);
    const CliResult r = run({"bad.json", "--out", "out", "-q"});
    EXPECT_EQ(r.exit_code, 2) << c.name << ": " << r.err;
    EXPECT_EQ(r.lines(), 1) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find("bad.json: " + c.field + ":"), std::string::npos) << c.name << ": " << r.err;
    if (!c.path.empty()) {
      EXPECT_NE(r.err.find(c.path), std::string::npos) << c.name << ": " << r.err;
    }
    EXPECT_EQ(entries(dir_), before) << c.name << ": something was left behind";
  }
}

// A device never ends and a folder is not a manifest: both are refused
// before anything is read.
TEST_F(ReplayCli, AManifestMustBeARegularFile) {
  for (const std::string m : {"/dev/zero", "/tmp", "absent.json"}) {
    const CliResult r = run({m, "--out", "out", "-q"});
    EXPECT_EQ(r.exit_code, 2) << m << ": " << r.err;
    EXPECT_EQ(r.lines(), 1) << m << ": " << r.err;
    EXPECT_NE(r.err.find(m), std::string::npos) << r.err;
  }
  EXPECT_TRUE(entries(dir_).empty());
}

}  // namespace
}  // namespace sipmix::replay
