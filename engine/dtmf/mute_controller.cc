#include "dtmf/mute_controller.h"

#include <algorithm>
#include <utility>

namespace sipmix::dtmf {

const char* to_string(MuteCause cause) { return cause == MuteCause::kDtmf ? "dtmf" : "moderator"; }

MuteController::MuteController(const MuteControllerConfig& config, MuteEventSink sink)
    : config_(config), sink_(std::move(sink)) {
  members_.reserve(16);
}

MuteController::Member* MuteController::find(std::string_view id) {
  for (Member& m : members_) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

const MuteController::Member* MuteController::find(std::string_view id) const {
  for (const Member& m : members_) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

bool MuteController::is_excluded(std::string_view id) const {
  return std::find(session_excluded_.begin(), session_excluded_.end(), id) != session_excluded_.end();
}

bool MuteController::set_muted(Member& m, bool muted, MuteCause cause) {
  if (m.muted == muted) {
    // No change, no announcement; but a moderator confirming a self-mute
    // takes ownership of it (matters when self-unmute is not allowed).
    if (muted) m.cause = cause;
    return false;
  }
  m.muted = muted;
  m.cause = cause;
  if (sink_) sink_(MuteEvent{m.id, m.options.kind, muted, cause});
  return true;
}

Status MuteController::add_member(std::string_view stream_id, const MemberOptions& options) {
  if (stream_id.empty()) return invalid_argument("stream id is empty");
  if (find(stream_id) != nullptr) return invalid_argument("stream id '" + std::string(stream_id) + "' already present");
  members_.push_back(Member{std::string(stream_id), options, false, MuteCause::kModerator});
  Member& m = members_.back();
  if (session_mute_active_ && options.observe_force_mute && !is_excluded(stream_id)) {
    set_muted(m, true, MuteCause::kModerator);
  }
  return Status::ok_status();
}

Status MuteController::remove_member(std::string_view stream_id) {
  const auto it = std::find_if(members_.begin(), members_.end(), [&](const Member& m) { return m.id == stream_id; });
  if (it == members_.end()) return not_found("stream id '" + std::string(stream_id) + "' not found");
  members_.erase(it);
  return Status::ok_status();
}

bool MuteController::on_self_mute_toggle(std::string_view stream_id) {
  Member* m = find(stream_id);
  if (m == nullptr || m->options.kind != MemberKind::kSipLeg) return false;
  if (!m->options.observe_force_mute || !m->options.telephone_event) return false;
  if (m->muted && m->cause == MuteCause::kModerator && !config_.self_unmute_after_force_mute) return false;
  return set_muted(*m, !m->muted, MuteCause::kDtmf);
}

StatusOr<bool> MuteController::force_mute(std::string_view stream_id, bool muted) {
  Member* m = find(stream_id);
  if (m == nullptr) return not_found("force mute: stream id '" + std::string(stream_id) + "' not found");
  if (!m->options.observe_force_mute) return false;
  return set_muted(*m, muted, MuteCause::kModerator);
}

size_t MuteController::force_mute_session(bool muted, bool active,
                                          std::span<const std::string> excluded_stream_ids) {
  session_excluded_.assign(excluded_stream_ids.begin(), excluded_stream_ids.end());
  session_mute_active_ = muted && active;
  size_t changed = 0;
  for (Member& m : members_) {
    if (!m.options.observe_force_mute || is_excluded(m.id)) continue;
    if (set_muted(m, muted, MuteCause::kModerator)) ++changed;
  }
  if (!session_mute_active_) session_excluded_.clear();
  return changed;
}

bool MuteController::is_member(std::string_view stream_id) const { return find(stream_id) != nullptr; }

bool MuteController::is_muted(std::string_view stream_id) const {
  const Member* m = find(stream_id);
  return m != nullptr && m->muted;
}

}  // namespace sipmix::dtmf
