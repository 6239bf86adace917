// sipmixd's call layer factory (gateway/core/make_calls.h): maps the daemon's
// configuration onto the call layer. With a Janus URL the sessions are Janus
// VideoRoom rooms (JanusBridge); without one they live in the gateway only
// (SIP legs of one session hear and see each other).
#include "gateway/core/make_calls.h"

#include "gateway/bridge/janus_bridge.h"
#include "gateway/media/call_manager.h"

namespace sipmix::gw {

StatusOr<std::unique_ptr<Calls>> make_calls(const Config& config, CallObserver* observer) {
  CallManagerConfig c;
  c.sip.bind_ip = config.sip.host;
  c.sip.port = config.sip.port;
  c.sip.enable_tls = !config.tls_cert.empty() || !config.tls_ca.empty();
  c.sip.tls_port = config.sip.port == 0 ? 0 : config.sip.port + 1;  // "TLS on port+1"
  c.sip.tls_ca_file = config.tls_ca;
  c.sip.tls_cert_file = config.tls_cert;
  c.sip.outbound_proxy = config.proxy;
  c.media_ip = config.sip.host;
  c.rtp_port_min = config.rtp_port_min;
  c.rtp_port_max = config.rtp_port_max;
  c.max_calls = config.max_calls;
  c.media_timeout_ms = config.media_timeout_s * 1000;
  c.max_duration_ms = static_cast<int64_t>(config.max_call_duration_s) * 1000;
  if (config.janus_url.empty()) {
    auto m = CallManager::create(c, observer);
    if (!m.ok()) return m.status();
    return std::unique_ptr<Calls>(std::move(*m));
  }
  JanusBridgeConfig b;
  b.janus.url = config.janus_url;
  b.janus.api_secret = config.janus_secret;
  b.room.admin_key = config.janus_admin_key;
  b.room.secret = config.janus_room_secret;
  b.gateway_media_ip = config.sip.host;
  auto bridge = JanusBridge::create(b, c, observer);
  if (!bridge.ok()) return bridge.status();
  return std::unique_ptr<Calls>(std::move(*bridge));
}

}  // namespace sipmix::gw
