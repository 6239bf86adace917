// Moderation semantics: observeForceMute on/off x self-mute/force-mute x
// session-wide force mute with exclusions and `active`.
#include "dtmf/mute_controller.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sipmix::dtmf {
namespace {

struct Recorded {
  std::string id;
  bool muted;
  MuteCause cause;
  MemberKind kind;
};

class MuteControllerTest : public ::testing::Test {
 protected:
  MuteController make(MuteControllerConfig config = {}) {
    return MuteController(config, [this](const MuteEvent& e) {
      events_.push_back({std::string(e.stream_id), e.muted, e.cause, e.kind});
    });
  }
  static MemberOptions leg(bool observe, bool telephone_event = true) {
    return {.kind = MemberKind::kSipLeg, .observe_force_mute = observe, .telephone_event = telephone_event};
  }
  std::vector<Recorded> take() { return std::exchange(events_, {}); }
  std::vector<Recorded> events_;
};

TEST_F(MuteControllerTest, SelfMuteTogglesWhenObserving) {
  auto mc = make();
  ASSERT_TRUE(mc.add_member("sip-1", leg(true)).ok());
  EXPECT_TRUE(mc.on_self_mute_toggle("sip-1"));
  EXPECT_TRUE(mc.is_muted("sip-1"));
  EXPECT_TRUE(mc.on_self_mute_toggle("sip-1"));
  EXPECT_FALSE(mc.is_muted("sip-1"));
  const auto ev = take();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_TRUE(ev[0].muted);
  EXPECT_EQ(ev[0].cause, MuteCause::kDtmf);
  EXPECT_EQ(ev[0].kind, MemberKind::kSipLeg);
  EXPECT_FALSE(ev[1].muted);
  EXPECT_STREQ(to_string(ev[1].cause), "dtmf");
}

TEST_F(MuteControllerTest, SelfMuteDoesNothingWithoutObserveForceMute) {
  auto mc = make();
  ASSERT_TRUE(mc.add_member("sip-1", leg(false)).ok());
  EXPECT_FALSE(mc.on_self_mute_toggle("sip-1"));
  EXPECT_FALSE(mc.is_muted("sip-1"));
  EXPECT_TRUE(take().empty());
}

TEST_F(MuteControllerTest, SelfMuteDoesNothingWithoutTelephoneEvent) {
  auto mc = make();
  ASSERT_TRUE(mc.add_member("sip-1", leg(true, /*telephone_event=*/false)).ok());
  EXPECT_FALSE(mc.on_self_mute_toggle("sip-1"));
  EXPECT_FALSE(mc.is_muted("sip-1"));
  EXPECT_TRUE(take().empty());
}

TEST_F(MuteControllerTest, ForceMuteOfOneStream) {
  auto mc = make();
  ASSERT_TRUE(mc.add_member("sip-1", leg(true)).ok());
  ASSERT_TRUE(mc.add_member("web-1", {}).ok());
  auto r = mc.force_mute("sip-1", true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value());
  EXPECT_TRUE(mc.is_muted("sip-1"));
  EXPECT_FALSE(mc.is_muted("web-1"));
  const auto ev = take();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].id, "sip-1");
  EXPECT_EQ(ev[0].cause, MuteCause::kModerator);
  // Muting again is no change and no second announcement.
  EXPECT_FALSE(mc.force_mute("sip-1", true).value());
  EXPECT_TRUE(take().empty());
  EXPECT_FALSE(mc.force_mute("nobody", true).ok());
}

TEST_F(MuteControllerTest, ForceMuteIgnoredWithoutObserveForceMute) {
  auto mc = make();
  ASSERT_TRUE(mc.add_member("sip-1", leg(false)).ok());
  auto r = mc.force_mute("sip-1", true);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value());
  EXPECT_FALSE(mc.is_muted("sip-1"));
  EXPECT_EQ(mc.force_mute_session(true, true, {}), 0u);
  EXPECT_FALSE(mc.is_muted("sip-1"));
  EXPECT_TRUE(take().empty());
}

TEST_F(MuteControllerTest, SelfMuteAndForceMuteShareOneState) {
  auto mc = make();
  ASSERT_TRUE(mc.add_member("sip-1", leg(true)).ok());
  EXPECT_TRUE(mc.on_self_mute_toggle("sip-1"));             // muted by *6
  EXPECT_FALSE(mc.force_mute("sip-1", true).value());      // already muted: no change
  EXPECT_TRUE(mc.force_mute("sip-1", false).value());      // force unmute lifts it
  EXPECT_FALSE(mc.is_muted("sip-1"));
  EXPECT_TRUE(mc.force_mute("sip-1", true).value());       // moderator mutes
  EXPECT_TRUE(mc.on_self_mute_toggle("sip-1"));             // *6 unmutes (default policy)
  EXPECT_FALSE(mc.is_muted("sip-1"));
  const auto ev = take();
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[1].cause, MuteCause::kModerator);
  EXPECT_FALSE(ev[1].muted);
  EXPECT_EQ(ev[3].cause, MuteCause::kDtmf);
  EXPECT_FALSE(ev[3].muted);
}

TEST_F(MuteControllerTest, HardForceMuteBlocksSelfUnmuteWhenConfigured) {
  auto mc = make({.self_unmute_after_force_mute = false});
  ASSERT_TRUE(mc.add_member("sip-1", leg(true)).ok());
  EXPECT_TRUE(mc.force_mute("sip-1", true).value());
  EXPECT_FALSE(mc.on_self_mute_toggle("sip-1"));
  EXPECT_TRUE(mc.is_muted("sip-1"));
  EXPECT_TRUE(mc.force_mute("sip-1", false).value());
  EXPECT_TRUE(mc.on_self_mute_toggle("sip-1"));  // self-mute still works
  EXPECT_TRUE(mc.on_self_mute_toggle("sip-1"));  // and self-unmute of a self-mute
  EXPECT_FALSE(mc.is_muted("sip-1"));
}

TEST_F(MuteControllerTest, SessionWideMuteSparesExcludedAndNonObserving) {
  auto mc = make();
  ASSERT_TRUE(mc.add_member("sip-1", leg(true)).ok());
  ASSERT_TRUE(mc.add_member("sip-2", leg(false)).ok());
  ASSERT_TRUE(mc.add_member("web-1", {}).ok());
  ASSERT_TRUE(mc.add_member("web-2", {}).ok());
  const std::vector<std::string> excluded = {"web-2"};
  EXPECT_EQ(mc.force_mute_session(true, false, excluded), 2u);
  EXPECT_TRUE(mc.is_muted("sip-1"));
  EXPECT_FALSE(mc.is_muted("sip-2"));
  EXPECT_TRUE(mc.is_muted("web-1"));
  EXPECT_FALSE(mc.is_muted("web-2"));
  // Not active: a later joiner is not muted.
  ASSERT_TRUE(mc.add_member("sip-3", leg(true)).ok());
  EXPECT_FALSE(mc.is_muted("sip-3"));
  EXPECT_EQ(take().size(), 2u);
}

TEST_F(MuteControllerTest, ActiveSessionMuteAppliesToLaterJoiners) {
  auto mc = make();
  ASSERT_TRUE(mc.add_member("web-1", {}).ok());
  const std::vector<std::string> excluded = {"presenter"};
  EXPECT_EQ(mc.force_mute_session(true, true, excluded), 1u);
  EXPECT_TRUE(mc.session_mute_active());
  take();
  ASSERT_TRUE(mc.add_member("sip-1", leg(true)).ok());      // joins muted, hears "you are muted"
  ASSERT_TRUE(mc.add_member("presenter", {}).ok());         // excluded
  ASSERT_TRUE(mc.add_member("sip-2", leg(false)).ok());     // does not observe force mute
  EXPECT_TRUE(mc.is_muted("sip-1"));
  EXPECT_FALSE(mc.is_muted("presenter"));
  EXPECT_FALSE(mc.is_muted("sip-2"));
  auto ev = take();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].id, "sip-1");
  EXPECT_TRUE(ev[0].muted);
  EXPECT_EQ(ev[0].cause, MuteCause::kModerator);
  // The joiner may still unmute itself with *6.
  EXPECT_TRUE(mc.on_self_mute_toggle("sip-1"));
  // Session-wide unmute clears the policy; later joiners start unmuted.
  EXPECT_EQ(mc.force_mute_session(false, false, {}), 1u);  // web-1
  EXPECT_FALSE(mc.session_mute_active());
  ASSERT_TRUE(mc.add_member("sip-4", leg(true)).ok());
  EXPECT_FALSE(mc.is_muted("sip-4"));
}

TEST_F(MuteControllerTest, MembershipErrors) {
  auto mc = make();
  ASSERT_TRUE(mc.add_member("a", {}).ok());
  EXPECT_FALSE(mc.add_member("a", {}).ok());
  EXPECT_FALSE(mc.add_member("", {}).ok());
  EXPECT_TRUE(mc.remove_member("a").ok());
  EXPECT_FALSE(mc.remove_member("a").ok());
  EXPECT_FALSE(mc.on_self_mute_toggle("a"));
}

TEST_F(MuteControllerTest, SelfMuteOnPlainStreamDoesNothing) {
  auto mc = make();
  ASSERT_TRUE(mc.add_member("web-1", {.kind = MemberKind::kStream, .observe_force_mute = true, .telephone_event = true}).ok());
  EXPECT_FALSE(mc.on_self_mute_toggle("web-1"));
}

// The full matrix: observeForceMute on/off x each way a mute can happen.
enum class Action { kSelfMute, kForceMuteStream, kSessionMute, kSessionMuteActiveThenJoin, kSessionMuteExcluded };

struct MatrixCase {
  bool observe;
  Action action;
  bool expect_muted;
  const char* expect_cause;  // nullptr: no event
};

class MuteMatrix : public ::testing::TestWithParam<MatrixCase> {};

TEST_P(MuteMatrix, MutedAndAnnouncedExactlyWhenExpected) {
  const MatrixCase c = GetParam();
  std::vector<std::string> causes;
  MuteController mc({}, [&](const MuteEvent& e) {
    if (e.stream_id == "sip-1") causes.push_back(std::string(e.muted ? "muted/" : "unmuted/") + to_string(e.cause));
  });
  const MemberOptions opts{.kind = MemberKind::kSipLeg, .observe_force_mute = c.observe, .telephone_event = true};
  const std::vector<std::string> excluded = {"sip-1"};
  if (c.action != Action::kSessionMuteActiveThenJoin) {
    ASSERT_TRUE(mc.add_member("sip-1", opts).ok());
  }
  ASSERT_TRUE(mc.add_member("web-1", {}).ok());
  switch (c.action) {
    case Action::kSelfMute: mc.on_self_mute_toggle("sip-1"); break;
    case Action::kForceMuteStream: ASSERT_TRUE(mc.force_mute("sip-1", true).ok()); break;
    case Action::kSessionMute: mc.force_mute_session(true, false, {}); break;
    case Action::kSessionMuteActiveThenJoin:
      mc.force_mute_session(true, true, {});
      ASSERT_TRUE(mc.add_member("sip-1", opts).ok());
      break;
    case Action::kSessionMuteExcluded: mc.force_mute_session(true, true, excluded); break;
  }
  EXPECT_EQ(mc.is_muted("sip-1"), c.expect_muted);
  if (c.expect_cause == nullptr) {
    EXPECT_TRUE(causes.empty());
  } else {
    ASSERT_EQ(causes.size(), 1u);
    EXPECT_EQ(causes[0], std::string("muted/") + c.expect_cause);
  }
  // Whatever happened, web-1 (a plain stream) is muted only by session-wide mutes.
  EXPECT_EQ(mc.is_muted("web-1"), c.action == Action::kSessionMute || c.action == Action::kSessionMuteActiveThenJoin ||
                                      c.action == Action::kSessionMuteExcluded);
}

std::string matrix_case_name(const ::testing::TestParamInfo<MatrixCase>& info) {
  static const char* const kActions[] = {"SelfMute", "ForceMuteStream", "SessionMute", "SessionMuteActiveThenJoin",
                                         "SessionMuteExcluded"};
  return std::string(info.param.observe ? "ObserveOn_" : "ObserveOff_") + kActions[static_cast<int>(info.param.action)];
}

INSTANTIATE_TEST_SUITE_P(
    ObserveForceMuteByAction, MuteMatrix,
    ::testing::Values(MatrixCase{true, Action::kSelfMute, true, "dtmf"},
                      MatrixCase{false, Action::kSelfMute, false, nullptr},
                      MatrixCase{true, Action::kForceMuteStream, true, "moderator"},
                      MatrixCase{false, Action::kForceMuteStream, false, nullptr},
                      MatrixCase{true, Action::kSessionMute, true, "moderator"},
                      MatrixCase{false, Action::kSessionMute, false, nullptr},
                      MatrixCase{true, Action::kSessionMuteActiveThenJoin, true, "moderator"},
                      MatrixCase{false, Action::kSessionMuteActiveThenJoin, false, nullptr},
                      MatrixCase{true, Action::kSessionMuteExcluded, false, nullptr},
                      MatrixCase{false, Action::kSessionMuteExcluded, false, nullptr}),
    matrix_case_name);

}  // namespace
}  // namespace sipmix::dtmf
