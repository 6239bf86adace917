// Property: whatever a manifest says, sipmix-replay either succeeds with
// complete outputs (exit 0) or refuses it with exit status 2, one line on
// stderr and nothing left behind. It never crashes, hangs or exits with
// another status. The manifests are the valid ones of the tests and the demo,
// mutated from a printed seed (fields removed, retyped, set to extremes).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/test_env.h"
#include "tests/replay/replay_cli_util.h"

namespace sipmix::replay {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using sipmix::testing::XorShift64;
using testing::Cli;
using testing::CliResult;

// Every node below the root, as JSON pointers.
void collect(const json& j, const json::json_pointer& at, std::vector<json::json_pointer>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      out.push_back(at / it.key());
      collect(*it, at / it.key(), out);
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) {
      out.push_back(at / i);
      collect(j[i], at / i, out);
    }
  }
}

json pick(XorShift64& rng, const std::vector<json>& pool) { return pool[rng.next() % pool.size()]; }

// One mutation at a random node; returns what it did, for the failure message.
std::string mutate(json& m, XorShift64& rng) {
  std::vector<json::json_pointer> nodes;
  collect(m, json::json_pointer(), nodes);
  const json::json_pointer at = nodes[rng.next() % nodes.size()];
  const std::string where = at.to_string();
  const int op = static_cast<int>(rng.next() % 3);
  json value;
  if (where == "/duration_s") {
    // Only values that keep the run short or are invalid: a valid long
    // duration is a long run, not a hang.
    value = pick(rng, {json(), "x", -1, 0, 0.3, 1e-9, 86401, 1e300, true, json::array()});
    if (op == 0) {
      m.erase("duration_s");
      return "remove " + where;
    }
  } else if (op == 0) {
    json& parent = m[at.parent_pointer()];
    if (parent.is_object()) parent.erase(at.back());
    else parent.erase(static_cast<size_t>(std::stoul(at.back())));
    return "remove " + where;
  } else if (op == 1) {
    // Another type.
    value = pick(rng, {json(), true, false, 0, 7, 1.5, "x", "", json::array(), json::object(),
                       json::array({1, "a"}), json::object({{"k", 1}})});
  } else {
    // Extremes and edge values of every kind.
    value = pick(rng, {-1, -2147483649LL, 2147483648LL, 9007199254740993ULL, 1e300, -1e300, 1e-9, 0, 0.5, 86400,
                       127, 128, 65535, 65536, 5000, std::string(5000, 'a'), "/", "/dev/zero", ".", "m.json",
                       "made/leg.mkv", "made/session-stream.mka", "cap.pcap", "sip", "a", "\n", "*6",
                       json::array({"a", "a"}), json::array()});
  }
  m[at] = value;
  return "set " + where + " = " + value.dump().substr(0, 60);
}

std::set<std::string> entries(const fs::path& d) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(d)) out.insert(e.path().filename().string());
  return out;
}

class ReplayMutation : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sipmix_replay_mutation_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

TEST_F(ReplayMutation, EveryMutatedManifestSucceedsCompletelyOrIsRefusedWithOneLine) {
  // Inputs for the file and capture manifests, made by the replay itself.
  std::ofstream(dir_ / "make.json") << R"({"duration_s": 2, "participants": [{"id": "a", "synth": true}],
      "sip_leg": {"video": true, "video_codec": {"codec": "vp8", "width": 320, "height": 180}}})";
  Cli::Options o;
  o.cwd = dir_.string();
  ASSERT_EQ(Cli::run({"make.json", "--out", "made", "-q"}, o).exit_code, 0);
  ASSERT_TRUE(testing::write_capture((dir_ / "cap.pcap").string(), testing::talk(0, 100)));

  std::vector<json> bases;
  // The demo (tools/replay/replay.cc demo_manifest), one second long.
  bases.push_back(json::parse(R"({
    "duration_s": 1, "seed": 1, "contact_sheet_every_s": 2,
    "participants": [
      {"id": "Ada", "synth": true}, {"id": "Brian", "synth": true,
       "impairment": {"loss": 0.05, "jitter_ms": 40, "reorder": 0.02, "duplicate": 0.01}},
      {"id": "Chloe", "synth": true}, {"id": "Farah", "synth": true, "join_at_s": 0.5}],
    "sip_leg": {"id": "sip", "video": true, "observe_force_mute": true,
      "audio": {"codec": "pcmu", "payload_type": 0, "clock_hz": 8000},
      "telephone_event": {"payload_type": 101, "clock_hz": 8000},
      "video_codec": {"codec": "h264", "payload_type": 96, "width": 640, "height": 360},
      "synth_tone_hz": 1700},
    "timeline": [{"at_s": 0.2, "action": "press_dtmf", "digits": "*6"},
                 {"at_s": 0.5, "action": "force_mute", "target": "sip", "muted": true},
                 {"at_s": 0.7, "action": "play_dtmf", "digits": "1p2"}]})"));
  // Files, captures and every timeline action (tests/replay/manifest_test.cc kGood, with real files).
  bases.push_back(json::parse(R"({
    "duration_s": 1.5, "seed": 3,
    "session": {"jitter_min_delay_ms": 20, "jitter_max_delay_ms": 500},
    "participants": [
      {"id": "alice", "media": "made/leg.mkv"},
      {"id": "bob", "media": "made/leg.mkv", "join_at_s": 0.2, "leave_at_s": 1.2, "offset_s": 0.5, "loop": true,
       "impairment": {"loss": 0.1, "jitter_ms": 40, "reorder": 0.05, "duplicate": 0.02,
                      "burst_loss_ms": 100, "burst_every_s": 1}},
      {"id": "carol", "audio_pcap": {"file": "cap.pcap", "payload_type": 0, "udp_port": 4000}, "audio_codec": "pcmu"}],
    "sip_leg": {"video": true, "observe_force_mute": true, "audio": {"codec": "pcma"},
      "telephone_event": {"payload_type": 101, "clock_hz": 8000},
      "video_codec": {"codec": "vp8", "width": 320, "height": 180, "fps": 15},
      "media": "made/session-stream.mka", "impairment": {"loss": 0.01}},
    "timeline": [
      {"at_s": 0.1, "action": "press_dtmf", "digits": "*6"},
      {"at_s": 0.3, "action": "force_mute", "target": "sip"},
      {"at_s": 0.4, "action": "force_mute_session", "muted": true, "active": true, "excluded": ["alice"]},
      {"at_s": 0.5, "action": "play_dtmf", "digits": "1p#"},
      {"at_s": 0.6, "action": "keyframe_request"},
      {"at_s": 0.7, "action": "leave", "target": "alice"},
      {"at_s": 0.9, "action": "join", "target": "alice"}]})"));
  // The sip-tester captures of tests/replay/replay_test.cc, when installed.
  const std::string sipp = "/usr/share/sip-tester";
  if (fs::exists(sipp + "/dtmf_2833_star.pcap")) {
    bases.push_back(json::parse(R"({"duration_s": 1.5, "participants": [{"id": "alice", "synth": true}],
      "sip_leg": {"observe_force_mute": true, "audio": {"codec": "pcma"},
        "telephone_event": {"payload_type": 101, "clock_hz": 8000},
        "audio_pcap": ")" + sipp + R"(/g711a.pcap",
        "event_pcaps": [")" + sipp + R"(/dtmf_2833_star.pcap", ")" + sipp + R"(/dtmf_2833_6.pcap"],
        "event_pcaps_at_s": 0.2}})"));
  }

  const char* seed_env = std::getenv("SIPMIX_MUTATION_SEED");
  const uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : 20261203;
  const int runs = sipmix::testing::ci_scale() ? 24 : 90;
  std::printf("mutation seed %llu (set SIPMIX_MUTATION_SEED to change), %d runs\n",
              static_cast<unsigned long long>(seed), runs);
  XorShift64 rng(seed ? seed : 1);
  const std::set<std::string> before = [&] {
    auto e = entries(dir_);
    e.insert("m.json");
    return e;
  }();
  int succeeded = 0, refused = 0;
  for (int run = 0; run < runs; ++run) {
    json m = bases[run % bases.size()];
    std::string what;
    const int n = 1 + static_cast<int>(rng.next() % 3);
    for (int i = 0; i < n; ++i) what += (what.empty() ? "" : "; ") + mutate(m, rng);
    std::ofstream(dir_ / "m.json") << m.dump();
    const std::string label = "run " + std::to_string(run) + " (" + what + ")";

    Cli::Options opt;
    opt.cwd = dir_.string();
    opt.timeout_s = 240;  // a hang guard: a short replay takes seconds even under sanitizers
    const CliResult r = Cli::run({"m.json", "--out", "out", "-q"}, opt);
    ASSERT_FALSE(r.timed_out) << label << ": hung";
    if (r.exit_code == 0) {
      ++succeeded;
      const bool video = m.contains("sip_leg") && m["sip_leg"].is_object() && m["sip_leg"].value("video", false);
      for (const char* f : {"leg.mkv", "session-stream.mka", "leg.pcap", "events.jsonl", "stats.json", "timeline.png"})
        EXPECT_TRUE(fs::exists(dir_ / "out" / f)) << label << ": no " << f;
      for (const char* f : {"leg.mkv", "session-stream.mka", "leg.pcap", "stats.json", "timeline.png"})
        EXPECT_GT(fs::file_size(dir_ / "out" / f), 0u) << label << ": empty " << f;
      if (video) {
        EXPECT_TRUE(fs::exists(dir_ / "out" / "contact-sheet.png")) << label;
      }
      std::ifstream in(dir_ / "out" / "stats.json");
      EXPECT_TRUE(json::parse(in, nullptr, false).is_object()) << label << ": stats.json";
      auto after = entries(dir_);
      after.erase("out");
      EXPECT_EQ(after, before) << label;
      fs::remove_all(dir_ / "out");
    } else {
      ++refused;
      ASSERT_EQ(r.exit_code, 2) << label << ": " << r.err;
      EXPECT_EQ(r.lines(), 1) << label << ": " << r.err;
      EXPECT_EQ(r.err.rfind("sipmix-replay: ", 0), 0u) << label << ": " << r.err;
      EXPECT_EQ(entries(dir_), before) << label << ": something was left behind";
    }
    if (::testing::Test::HasFailure()) {
      std::printf("failing manifest: %s\n", m.dump().c_str());
      break;
    }
  }
  std::printf("%d succeeded, %d refused\n", succeeded, refused);
  // Both sides of the property were exercised.
  EXPECT_GT(succeeded, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace sipmix::replay
