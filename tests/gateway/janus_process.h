// Test helper: a real Janus 1.1.2 (Debian `janus`) on 127.0.0.1, with a
// generated config folder: the HTTP transport on a free port, only the
// VideoRoom plugin and the HTTP transport loaded, string ids, and optional
// API secret / VideoRoom admin_key. The process is killed with the helper.
//
// Threads: one test thread owns a JanusProcess.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "sipmix/status.h"

namespace sipmix::gw::testing {

struct JanusProcessOptions {
  std::string api_secret;  // janus.jcfg general.api_secret ("" = none)
  std::string admin_key;   // videoroom admin_key; also sets lock_rtp_forward
  int session_timeout_s = 60;
};

class JanusProcess {
 public:
  explicit JanusProcess(JanusProcessOptions options = {});
  ~JanusProcess();  // stops Janus and removes the config folder
  JanusProcess(const JanusProcess&) = delete;
  JanusProcess& operator=(const JanusProcess&) = delete;

  // Writes the config (first time: picks the port) and starts Janus, then
  // waits until GET /janus/info answers. A restart reuses the same port.
  Status start();
  void kill_hard();  // SIGKILL and reap
  void stop();       // SIGTERM, then SIGKILL after 5 s
  void freeze();     // SIGSTOP: Janus holds its sockets but answers nothing
  void thaw();       // SIGCONT

  bool running() const { return pid_ > 0; }
  uint16_t http_port() const { return http_port_; }
  std::string url() const;  // http://127.0.0.1:<port>/janus
  std::string log_tail(size_t max_bytes = 4000) const;

 private:
  Status write_config();

  JanusProcessOptions options_;
  std::string dir_;
  uint16_t http_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace sipmix::gw::testing
