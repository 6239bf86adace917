// Bad manifests get one clear line naming the field; good ones parse fully.
#include "tools/replay/manifest.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace sipmix::replay {
namespace {

namespace fs = std::filesystem;

class ManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sipmix_manifest_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "a.webm") << "x";
    std::ofstream(dir_ / "b.wav") << "x";
  }
  void TearDown() override { fs::remove_all(dir_); }

  StatusOr<Manifest> parse(const std::string& text) { return parse_manifest(text, dir_.string(), "m.json"); }

  // Expects an error whose message names `field` and contains `what`.
  void expect_error(const std::string& text, const std::string& field, const std::string& what = "") {
    auto m = parse(text);
    ASSERT_FALSE(m.ok()) << text;
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
    const std::string& msg = m.status().message();
    EXPECT_NE(msg.find("m.json: " + field), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  }

  fs::path dir_;
};

constexpr const char* kGood = R"({
  // comments are allowed
  "duration_s": 12, "seed": 3,
  "participants": [
    {"id": "alice", "media": "a.webm"},
    {"id": "bob", "media": "a.webm", "join_at_s": 2, "leave_at_s": 9,
     "impairment": {"loss": 0.1, "jitter_ms": 40, "reorder": 0.05, "duplicate": 0.02}}
  ],
  "sip_leg": {
    "video": true, "observe_force_mute": true,
    "audio": {"codec": "pcma"},
    "telephone_event": {"payload_type": 101, "clock_hz": 8000},
    "video_codec": {"codec": "h264", "width": 640, "height": 360, "fps": 25},
    "media": "b.wav"
  },
  "timeline": [
    {"at_s": 1, "action": "press_dtmf", "digits": "*6"},
    {"at_s": 3, "action": "force_mute", "target": "sip"},
    {"at_s": 4, "action": "force_mute_session", "muted": true, "active": true, "excluded": ["alice"]},
    {"at_s": 5, "action": "play_dtmf", "digits": "1p#"}
  ]
})";

TEST_F(ManifestTest, GoodManifestParses) {
  auto m = parse(kGood);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->duration_s, 12);
  EXPECT_EQ(m->seed, 3u);
  ASSERT_EQ(m->participants.size(), 2u);
  EXPECT_EQ(m->participants[1].join_at_s, 2);
  EXPECT_EQ(*m->participants[1].leave_at_s, 9);
  EXPECT_DOUBLE_EQ(m->participants[1].impairment.loss, 0.1);
  EXPECT_EQ(m->participants[0].media, (dir_ / "a.webm").string());
  const LegConfig& c = m->leg.config;
  EXPECT_EQ(c.id, "sip");
  EXPECT_TRUE(c.video);
  EXPECT_EQ(c.audio_codec, AudioCodec::kPcma);
  EXPECT_EQ(c.audio_payload_type, 8);  // RFC 3551 default for PCMA
  EXPECT_EQ(c.telephone_event_payload_type, 101);
  EXPECT_EQ(c.width, 640);
  ASSERT_EQ(m->timeline.size(), 4u);
  EXPECT_EQ(m->timeline[2].excluded, std::vector<std::string>{"alice"});
}

TEST_F(ManifestTest, NotJson) { expect_error("{ \"participants\": [", "not valid JSON"); }
TEST_F(ManifestTest, TopLevelNotObject) { expect_error("[1,2]", "the top level must be an object"); }
TEST_F(ManifestTest, MissingParticipants) {
  expect_error(R"({"sip_leg": {}})", "participants", "missing");
}
TEST_F(ManifestTest, EmptyParticipants) {
  expect_error(R"({"participants": [], "sip_leg": {}})", "participants", "at least one");
}
TEST_F(ManifestTest, MissingFile) {
  expect_error(R"({"participants": [{"id": "a", "media": "nope.webm"}], "sip_leg": {}})", "participants[0].media",
               "no such file");
}
TEST_F(ManifestTest, DirectoryIsNotAFile) {
  fs::create_directories(dir_ / "sub");
  expect_error(R"({"participants": [{"id": "a", "media": "sub"}], "sip_leg": {}})", "participants[0].media",
               "not a regular file");
}
TEST_F(ManifestTest, UnreadableFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file";
  std::ofstream(dir_ / "locked.webm") << "x";
  fs::permissions(dir_ / "locked.webm", fs::perms::none);
  expect_error(R"({"participants": [{"id": "a", "media": "locked.webm"}], "sip_leg": {}})",
               "participants[0].media", "cannot read");
}
TEST_F(ManifestTest, WrongType) {
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm", "join_at_s": "soon"}], "sip_leg": {}})",
               "participants[0].join_at_s", "must be a number");
}
TEST_F(ManifestTest, OutOfRange) {
  expect_error(
      R"({"participants": [{"id": "a", "media": "a.webm", "impairment": {"loss": 1.5}}], "sip_leg": {}})",
      "participants[0].impairment.loss", "between 0 and 1");
}
TEST_F(ManifestTest, UnknownField) {
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm", "medai": "x"}], "sip_leg": {}})",
               "participants[0].medai", "unknown field");
}
TEST_F(ManifestTest, DuplicateId) {
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm"}, {"id": "a", "media": "a.webm"}], "sip_leg": {}})",
               "participants[1].id", "duplicate");
}
TEST_F(ManifestTest, NoMedia) {
  expect_error(R"({"participants": [{"id": "a"}], "sip_leg": {}})", "participants[0]", "needs \"media\"");
}
TEST_F(ManifestTest, BadCodec) {
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {"audio": {"codec": "gsm"}}})",
               "sip_leg.audio.codec", "got \"gsm\"");
}
TEST_F(ManifestTest, OpusClockMustBe48k) {
  expect_error(
      R"({"participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {"audio": {"codec": "opus", "clock_hz": 8000}}})",
      "sip_leg.audio.clock_hz", "48000");
}
TEST_F(ManifestTest, SecureNeedsKeys) {
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {"secure": true}})", "sip_leg.srtp",
               "key_to_leg");
}
TEST_F(ManifestTest, OddCanvas) {
  expect_error(
      R"({"participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {"video_codec": {"width": 641}}})",
      "sip_leg.video_codec", "even");
}
TEST_F(ManifestTest, UnknownAction) {
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {},
                   "timeline": [{"at_s": 1, "action": "explode"}]})",
               "timeline[0].action", "unknown action");
}
TEST_F(ManifestTest, UnknownTarget) {
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {},
                   "timeline": [{"at_s": 1, "action": "leave", "target": "zed"}]})",
               "timeline[0].target", "unknown participant");
}
TEST_F(ManifestTest, BadDigits) {
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {},
                   "timeline": [{"at_s": 1, "action": "play_dtmf", "digits": "12x"}]})",
               "timeline[0].digits", "invalid digit 'x'");
}
TEST_F(ManifestTest, EventPcapsNeedTelephoneEvent) {
  std::ofstream(dir_ / "e.pcap") << "x";
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {"event_pcaps": ["e.pcap"]}})",
               "sip_leg.telephone_event", "not negotiated");
}
TEST_F(ManifestTest, LeaveBeforeJoin) {
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm", "join_at_s": 5, "leave_at_s": 2}], "sip_leg": {}})",
               "participants[0].leave_at_s", "after join_at_s");
}
TEST_F(ManifestTest, MissingManifestFile) {
  auto m = load_manifest((dir_ / "absent.json").string());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("absent.json: no such file"), std::string::npos);
}

}  // namespace
}  // namespace sipmix::replay

namespace sipmix::replay {
namespace {

// Found by fuzz_manifest: a number beyond double range used to escape as an
// exception; a value with an escaped newline made a two-line message.
TEST_F(ManifestTest, HugeNumberIsAnErrorNotACrash) { expect_error(R"({"duration_s": 1e999})", "not valid JSON"); }
TEST_F(ManifestTest, ErrorStaysOneLineWithNewlinesInValues) {
  expect_error(R"({"participants": [{"id": "a\nb", "media": "x\ny.webm"}], "sip_leg": {}})",
               "participants[0].media", "no such file");
}

}  // namespace
}  // namespace sipmix::replay

namespace sipmix::replay {
namespace {

// Issue 16: what used to be accepted and then did something else.
TEST_F(ManifestTest, SeedMustBeAWholeNumber) {
  expect_error(R"({"seed": 1.5, "participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {}})", "seed",
               "whole number");
  expect_error(R"({"seed": -1, "participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {}})", "seed",
               "whole number");
  auto m = parse(R"({"seed": 18446744073709551615, "participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {}})");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->seed, 18446744073709551615u);
}
TEST_F(ManifestTest, DuplicateKeysNameTheirField) {
  expect_error(R"({"seed": 1, "seed": 2, "participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {}})", "seed",
               "duplicate key");
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm"}, {"id": "b", "media": "a.webm", "media": "b.wav"}],
                   "sip_leg": {}})",
               "participants[1].media", "duplicate key");
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {"audio": {"codec": "pcmu", "codec": "pcma"}}})",
               "sip_leg.audio.codec", "duplicate key");
}
TEST_F(ManifestTest, LegPayloadTypesMustDiffer) {
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm"}],
                   "sip_leg": {"video": true, "audio": {"codec": "opus", "payload_type": 96}}})",
               "sip_leg.video_codec.payload_type", "clashes with sip_leg.audio.payload_type 96");
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm"}],
                   "sip_leg": {"video": true, "telephone_event": {"payload_type": 96}}})",
               "sip_leg.video_codec.payload_type", "clashes with sip_leg.telephone_event.payload_type 96");
}
TEST_F(ManifestTest, JitterMinimumAboveMaximum) {
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {},
                   "session": {"jitter_min_delay_ms": 300, "jitter_max_delay_ms": 200}})",
               "session.jitter_min_delay_ms", "300 > 200");
}
TEST_F(ManifestTest, MoreParticipantsThanSlots) {
  std::string ps;
  for (int i = 0; i < 128; ++i) ps += std::string(i ? "," : "") + R"({"id": "p)" + std::to_string(i) + R"(", "synth": true})";
  expect_error(R"({"participants": [)" + ps + R"(], "sip_leg": {}})", "participants", "at most 127");
}
TEST_F(ManifestTest, AParticipantMustSendSomething) {
  expect_error(R"({"participants": [{"id": "a", "synth": true, "audio": false, "video": false}], "sip_leg": {}})",
               "participants[0]", "contributes nothing");
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm", "audio": false, "video": false}], "sip_leg": {}})",
               "participants[0]", "contributes nothing");
}
TEST_F(ManifestTest, OneInputPerKind) {
  std::ofstream(dir_ / "c.pcap") << "x";
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm", "audio_pcap": "c.pcap"}], "sip_leg": {}})",
               "participants[0].audio_pcap", "\"audio\": false");
  expect_error(R"({"participants": [{"id": "a", "synth": true, "video_pcap": "c.pcap"}], "sip_leg": {}})",
               "participants[0].video_pcap", "\"video\": false");
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {"media": "b.wav", "audio_pcap": "c.pcap"}})",
               "sip_leg.audio_pcap", "excludes");
  auto m = parse(R"({"participants": [{"id": "a", "media": "a.webm", "audio": false, "audio_pcap": "c.pcap"}], "sip_leg": {}})");
  EXPECT_TRUE(m.ok()) << m.status().message();
}
TEST_F(ManifestTest, ActionsThatCanNeverHappen) {
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {},
                   "timeline": [{"at_s": 1, "action": "leave", "target": "sip"}]})",
               "timeline[0].target", "not the SIP leg");
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {},
                   "timeline": [{"at_s": 1, "action": "play_dtmf", "digits": "1"}]})",
               "timeline[0].action", "telephone_event");
  expect_error(R"({"participants": [{"id": "a", "media": "a.webm"}], "sip_leg": {},
                   "timeline": [{"at_s": 1, "action": "keyframe_request"}]})",
               "timeline[0].action", "video");
}

}  // namespace
}  // namespace sipmix::replay
