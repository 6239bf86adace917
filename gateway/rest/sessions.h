// The sessions sipmixd knows: made by POST /session/create (session id ->
// project, routed or relayed). REST threads read and write it under its lock.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sipmix::gw {

struct SessionEntry {
  std::string project_id;
  bool relayed = false;  // p2p.preference=enabled: not routed, so no dial (409)
  int64_t created_at_ms = 0;
};

class SessionRegistry {
 public:
  void add(const std::string& session_id, SessionEntry entry);
  void remove(const std::string& session_id);
  std::optional<SessionEntry> find(const std::string& session_id) const;
  std::vector<std::string> ids() const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, SessionEntry> sessions_;  // guarded by mu_
};

}  // namespace sipmix::gw
