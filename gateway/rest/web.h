// The web page's routes on sipmixd's HTTP server (docs/web.md): static files
// from --web-root, Debian's janus.js and adapter, /web/config.json and, only
// in the opt-in demo mode, POST /web/token. Handlers run on httplib's worker
// threads and read only the immutable Config.
#pragma once

#include <string>

#include "gateway/core/config.h"

namespace httplib {
class Server;
}

namespace sipmix::gw {

inline constexpr const char* kJanusJsPath = "/usr/share/javascript/janus-gateway/janus.js";
inline constexpr const char* kAdapterJsPath = "/usr/share/javascript/webrtc-adapter/adapter.min.js";
inline constexpr int64_t kWebTokenTtlS = 120;  // REST JWTs minted for the page; it refreshes them before expiry

// Registers the page's routes on `server`. `config` outlives it.
void add_web_routes(httplib::Server& server, const Config& config);

// True for an address the demo mode trusts: loopback (127.0.0.0/8, ::1), or
// the server's own address (a page loaded on the same host over another
// interface, e.g. a veth in a test namespace).
bool web_token_peer_allowed(const std::string& remote_addr, const std::string& local_addr);

}  // namespace sipmix::gw
