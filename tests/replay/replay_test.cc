// sipmix-replay end to end: the demo writes every output and independent
// tools (ffprobe, tshark) accept them; real sip-tester captures toggle mute
// exactly once; bad input leaves nothing behind; replays are deterministic.
#include "tools/replay/replay.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

namespace sipmix::replay {
namespace {

namespace fs = std::filesystem;

std::string run(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int rc = ::pclose(p);
  if (status) *status = rc;
  return out;
}

bool have(const char* tool) { return std::system((std::string(tool) + " -version >/dev/null 2>&1").c_str()) == 0 ||
                                     std::system((std::string(tool) + " --version >/dev/null 2>&1").c_str()) == 0; }

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("sipmix_replay_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

std::vector<nlohmann::json> events(const fs::path& dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in(dir / "events.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

int mute_changes(const std::vector<nlohmann::json>& ev) {
  int n = 0;
  for (const auto& e : ev) n += e["type"] == "mute_changed";
  return n;
}

TEST(Replay, DemoWritesEveryOutputAndToolsAcceptThem) {
  const fs::path out = temp_dir("demo");
  ReplayOptions opt;
  opt.out_dir = out.string();
  opt.progress = false;
  auto r = run_replay(demo_manifest(), opt);
  ASSERT_TRUE(r.ok()) << r.status().message();
  for (const char* f : {"leg.mkv", "session-stream.mka", "leg.pcap", "events.jsonl", "stats.json", "contact-sheet.png",
                        "timeline.png"})
    EXPECT_TRUE(fs::exists(out / f) && fs::file_size(out / f) > 0) << f;
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));

  // *6 twice and one force mute: three changes, two by dtmf, one by the moderator.
  const auto ev = events(out);
  std::vector<std::string> causes;
  for (const auto& e : ev)
    if (e["type"] == "mute_changed") causes.push_back(e["cause"]);
  EXPECT_EQ(causes, (std::vector<std::string>{"dtmf", "dtmf", "moderator"}));

  if (have("ffprobe")) {
    int rc = 0;
    const std::string leg = run("ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 " +
                                    (out / "leg.mkv").string(), &rc);
    EXPECT_EQ(rc, 0) << leg;
    EXPECT_NE(leg.find("h264,1280,720"), std::string::npos) << leg;
    EXPECT_NE(leg.find("pcm_mulaw"), std::string::npos) << leg;
    const std::string dur = run("ffprobe -v error -show_entries format=duration -of csv=p=0 " + (out / "leg.mkv").string());
    EXPECT_NEAR(std::stod(dur), 16.0, 0.5);
    const std::string pub = run("ffprobe -v error -show_entries stream=codec_name -of csv=p=0 " +
                                    (out / "session-stream.mka").string(), &rc);
    EXPECT_EQ(rc, 0);
    EXPECT_NE(pub.find("opus"), std::string::npos) << pub;
    const std::string png = run("ffprobe -v error -show_entries stream=codec_name -of csv=p=0 " +
                                (out / "contact-sheet.png").string());
    EXPECT_NE(png.find("png"), std::string::npos);
  }
  if (have("tshark")) {
    // Our RTP as tshark decodes it: PCMU (0), H.264 (96) and the telephone
    // events (101) that play_dtmf "1p2" sent.
    const std::string f = (out / "leg.pcap").string();
    const std::string pts = run("tshark -r " + f + " -d udp.port==50000,rtp -T fields -e rtp.p_type 2>/dev/null | sort -u");
    EXPECT_NE(pts.find("0\n"), std::string::npos) << pts;
    EXPECT_NE(pts.find("96\n"), std::string::npos) << pts;
    EXPECT_NE(pts.find("101\n"), std::string::npos) << pts;
    const std::string digits = run("tshark -r " + f +
                                   " -d udp.port==50000,rtp -d rtp.pt==101,rtpevent -Y 'rtpevent.end_of_event==1' "
                                   "-T fields -e rtpevent.event_id 2>/dev/null | uniq");
    EXPECT_EQ(digits, "1\n2\n");
  }
}

TEST(Replay, SipTesterCapturesToggleMuteExactlyOnce) {
  const std::string dir = "/usr/share/sip-tester";
  if (!fs::exists(dir + "/dtmf_2833_star.pcap")) GTEST_SKIP() << "sip-tester not installed";
  const fs::path out = temp_dir("captures");
  fs::create_directories(out.string() + "-in");
  const fs::path manifest = out.string() + "-in/m.json";
  std::ofstream(manifest) << R"({
    "duration_s": 8,
    "participants": [{"id": "alice", "synth": true}],
    "sip_leg": {
      "observe_force_mute": true,
      "audio": {"codec": "pcma"},
      "telephone_event": {"payload_type": 101, "clock_hz": 8000},
      "audio_pcap": ")" + dir + R"(/g711a.pcap",
      "event_pcaps": [")" + dir + R"(/dtmf_2833_star.pcap", ")" + dir + R"(/dtmf_2833_6.pcap"],
      "event_pcaps_at_s": 2.0
    }
  })";
  auto m = load_manifest(manifest.string());
  ASSERT_TRUE(m.ok()) << m.status().message();
  ReplayOptions opt;
  opt.out_dir = out.string();
  opt.progress = false;
  auto r = run_replay(*m, opt);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto ev = events(out);
  EXPECT_EQ(mute_changes(ev), 1);
  std::string digits;
  for (const auto& e : ev)
    if (e["type"] == "digit") digits += e["digit"].get<std::string>();
  EXPECT_EQ(digits, "*6");
  ASSERT_EQ(r->stats.legs.size(), 1u);
  EXPECT_TRUE(r->stats.legs[0].muted);
  fs::remove_all(out);
  fs::remove_all(out.string() + "-in");
}

TEST(Replay, BadInputLeavesNothingBehind) {
  const fs::path out = temp_dir("bad");
  Manifest m = demo_manifest();
  m.participants[0].synth = false;
  m.participants[0].media = "/nonexistent/alice.webm";
  ReplayOptions opt;
  opt.out_dir = out.string();
  opt.progress = false;
  auto r = run_replay(m, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/alice.webm"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));
}

TEST(Replay, RefusesToOverwriteAForeignFolder) {
  const fs::path out = temp_dir("foreign");
  fs::create_directories(out);
  std::ofstream(out / "precious.txt") << "keep me";
  Manifest m = demo_manifest();
  m.duration_s = 1;
  ReplayOptions opt;
  opt.out_dir = out.string();
  opt.progress = false;
  auto r = run_replay(m, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::exists(out / "precious.txt"));
  fs::remove_all(out);
}

TEST(Replay, SameManifestSameOutput) {
  Manifest m = demo_manifest();
  m.duration_s = 4;
  m.participants.resize(3);
  m.timeline.clear();
  m.timeline.push_back({1.0, TimelineEntry::Action::kPressDtmf, "sip", true, false, {}, "*6"});
  std::string first;
  for (int i = 0; i < 2; ++i) {
    const fs::path out = temp_dir("det" + std::to_string(i));
    ReplayOptions opt;
    opt.out_dir = out.string();
    opt.progress = false;
    auto r = run_replay(m, opt);
    ASSERT_TRUE(r.ok()) << r.status().message();
    std::ifstream in(out / "leg.pcap", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (i == 0) first = ss.str();
    else EXPECT_TRUE(ss.str() == first) << "leg.pcap differs between runs";
    fs::remove_all(out);
  }
  EXPECT_GT(first.size(), 10000u);
}

}  // namespace
}  // namespace sipmix::replay
