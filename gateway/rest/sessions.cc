#include "gateway/rest/sessions.h"

namespace sipmix::gw {

void SessionRegistry::add(const std::string& session_id, SessionEntry entry) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_[session_id] = std::move(entry);
}

void SessionRegistry::remove(const std::string& session_id) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(session_id);
}

std::optional<SessionEntry> SessionRegistry::find(const std::string& session_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> SessionRegistry::ids() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  out.reserve(sessions_.size());
  for (const auto& [id, e] : sessions_) out.push_back(id);
  return out;
}

size_t SessionRegistry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

}  // namespace sipmix::gw
