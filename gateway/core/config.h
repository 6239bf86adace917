// sipmixd's configuration: a JSON file (docs/gateway.md, "Configuration")
// overridden by command-line flags. Built once in main before any thread
// starts; read-only afterwards, so every thread may read it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sipmix/status.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace sipmix::gw {

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// The source tree's gateway/web when it exists (a build run from its tree),
// else "" (no page).
std::string default_web_root();

struct Config {
  HostPort http{"127.0.0.1", 8080};  // REST API listen address
  HostPort sip{"127.0.0.1", 5060};   // SIP listen address (UDP and TCP; TLS on port+1)
  uint16_t rtp_port_min = 20000;     // RTP/RTCP socket pairs come from [min, max]
  uint16_t rtp_port_max = 29999;
  // Janus HTTP transport. Empty: no Janus; a session then lives in the gateway
  // only (its SIP legs hear and see each other).
  std::string janus_url;
  std::string janus_secret;       // Janus api_secret, if Janus sets one
  std::string janus_admin_key;    // VideoRoom admin_key, if janus.plugin.videoroom.jcfg sets one
  std::string janus_room_secret;  // secret of the rooms sipmixd creates (empty: none)
  std::map<std::string, std::string> projects;            // project id -> API secret
  std::string callback_url;  // monitoring callbacks (empty: none are sent)
  std::string tls_ca;        // CA file that SIP TLS peers (and https callbacks) are checked against
  std::string tls_cert;      // our SIP TLS certificate chain + key (PEM), for TLS listening
  std::string proxy;         // outbound SIP proxy URI (empty: none)
  int max_calls = 200;
  int dials_per_second = 20;
  size_t max_body_bytes = 64 * 1024;
  int max_call_duration_s = 6 * 3600;
  int media_timeout_s = 300;  // hang up after this long without received media
  int drain_timeout_s = 30;   // on SIGTERM, how long live calls may take to end
  // The web page (docs/web.md). Empty web_root: no page is served.
  std::string web_root = default_web_root();
  std::string web_janus_url;     // Janus URL as browsers reach it (empty: janus_url)
  std::string web_demo_project;  // opt-in: POST /web/token mints short-lived JWTs of this project for loopback pages
  // Cluster mode (docs/scale-out.md): empty redis means a single node.
  std::string redis;         // HOST:PORT of the Redis registry
  std::string node_id;       // this node's id in the registry
  std::string internal_url;  // where other nodes reach our REST API (empty: http://<http address>)
};

// "HOST:PORT" with a port 1..65535; `field` names the flag or key in errors.
StatusOr<HostPort> parse_host_port(std::string_view s, std::string_view field);
// "ID:SECRET": the id is 1..64 of [A-Za-z0-9_-], the secret is not empty.
StatusOr<std::pair<std::string, std::string>> parse_project(std::string_view s, std::string_view field);

// Reads a JSON config file into `config` (keys not given keep their values).
// Errors name the file and the key: "sipmixd.json: limits.max_calls: must be 1..100000".
Status load_config_file(const std::string& path, Config& config);

// The daemon's flags, registered on a CLI11 app. After parsing, `apply`
// overlays the flags that were given onto `config` (after the file is loaded).
class ConfigFlags {
 public:
  void add_to(CLI::App& app);
  const std::string& config_path() const { return config_path_; }
  Status apply(Config& config) const;

 private:
  std::string config_path_, http_, sip_, rtp_ports_, janus_, janus_secret_, janus_admin_key_, janus_room_secret_,
      callback_url_, tls_ca_, tls_cert_, proxy_, web_root_, web_janus_url_, web_demo_project_, redis_, node_id_,
      internal_url_;
  std::vector<std::string> projects_;
  int max_calls_ = 0, dials_per_second_ = 0, max_call_duration_s_ = 0, media_timeout_s_ = 0,
      drain_timeout_s_ = 0;
  size_t max_body_bytes_ = 0;
  std::map<std::string, CLI::Option*> given_;
};

// Checks the combination (ranges, at least one project); names the field.
Status validate_config(const Config& config);

}  // namespace sipmix::gw
