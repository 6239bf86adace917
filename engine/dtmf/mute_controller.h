// Mute state and moderation for one session: SIP legs' self-mute ("*6") and a
// moderator's force mute of one stream or the whole session share one mute
// state per member. Every state change is reported to a sink (the session
// turns it into the leg's announcement and an event). One owner thread: the
// session's tick thread (moderation calls are queued onto it). Member
// add/remove and moderation calls allocate; on_self_mute_toggle does not.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sipmix/status.h"

namespace sipmix::dtmf {

enum class MuteCause : uint8_t { kDtmf, kModerator };
enum class MemberKind : uint8_t { kSipLeg, kStream };

const char* to_string(MuteCause cause);  // "dtmf" / "moderator"

struct MuteEvent {
  std::string_view stream_id;  // valid only during the sink call
  MemberKind kind = MemberKind::kStream;
  bool muted = false;
  MuteCause cause = MuteCause::kModerator;
};
// Called on the owner thread inside the controller's methods. It must not call
// back into the controller.
using MuteEventSink = std::function<void(const MuteEvent&)>;

struct MemberOptions {
  MemberKind kind = MemberKind::kStream;
  // From the dial request. Off: force mutes leave this member alone and "*6" does nothing.
  bool observe_force_mute = true;
  // SIP legs: telephone-event was negotiated. Without it "*6" does nothing.
  bool telephone_event = false;
};

struct MuteControllerConfig {
  // A caller force-muted by the moderator may unmute itself with "*6" (as in
  // common conferencing products). Off: "*6" is ignored while the current
  // mute was set by the moderator.
  bool self_unmute_after_force_mute = true;
};

class MuteController {
 public:
  MuteController(const MuteControllerConfig& config, MuteEventSink sink);

  // A stream or SIP leg joins. If an active session-wide mute is in force and
  // the member observes force mute and is not excluded, it starts muted and a
  // {muted, moderator} event is emitted. Error if the id is empty or taken.
  Status add_member(std::string_view stream_id, const MemberOptions& options);
  Status remove_member(std::string_view stream_id);

  // A completed "*6" on a SIP leg. Toggles its mute when the leg observes
  // force mute and negotiated telephone-event. Returns true when it toggled.
  bool on_self_mute_toggle(std::string_view stream_id);

  // Moderator: force mute (muted=true) or force unmute (muted=false) of one
  // stream. A member with observe_force_mute off is left alone. Returns
  // whether the state changed; NotFound for an unknown id.
  StatusOr<bool> force_mute(std::string_view stream_id, bool muted);

  // Moderator: the whole session, sparing `excluded_stream_ids`. With
  // muted && active, members that join later start muted too. Each call
  // replaces the previous session-wide policy; an unmute clears it.
  // Returns the number of members whose state changed.
  size_t force_mute_session(bool muted, bool active, std::span<const std::string> excluded_stream_ids);

  bool is_member(std::string_view stream_id) const;
  bool is_muted(std::string_view stream_id) const;  // false for an unknown id
  bool session_mute_active() const { return session_mute_active_; }

 private:
  struct Member {
    std::string id;
    MemberOptions options;
    bool muted = false;
    MuteCause cause = MuteCause::kModerator;  // of the last change
  };

  Member* find(std::string_view id);
  const Member* find(std::string_view id) const;
  bool is_excluded(std::string_view id) const;
  bool set_muted(Member& m, bool muted, MuteCause cause);

  MuteControllerConfig config_;
  MuteEventSink sink_;
  std::vector<Member> members_;
  bool session_mute_active_ = false;
  std::vector<std::string> session_excluded_;
};

}  // namespace sipmix::dtmf
