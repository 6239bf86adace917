// sipmixd's SIP user agent: sofia-sip NUA on its own thread (su_root). It
// places outbound INVITEs (UDP, TCP, TLS with certificate checks), answers
// digest challenges, handles the dialog (re-INVITE/UPDATE, session timers,
// OPTIONS, BYE, CANCEL) and reports what happens to a SipListener.
//
// Threads: the public methods may be called from any thread; they post the
// work to the SIP thread and return. SipListener callbacks run on the SIP
// thread and must return quickly (post on, never block on the network).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sipmix/status.h"

namespace sipmix::gw {

struct SipAgentConfig {
  std::string bind_ip = "127.0.0.1";  // an IP address: sofia does not read /etc/hosts
  int port = 5060;                    // UDP and TCP; 0 picks a free port
  bool enable_tls = false;
  int tls_port = 5061;                // 0 picks a free port
  // Directory with agent.pem (our key and certificate) and, unless
  // tls_ca_file is set, cafile.pem (the CAs that sign endpoints).
  std::string tls_cert_dir;
  std::string tls_ca_file;             // trusted CAs for outgoing TLS
  std::string tls_cert_file;           // our key and certificate (PEM), instead of tls_cert_dir/agent.pem
  bool tls_verify = true;              // check chain and host name of endpoints
  std::string outbound_proxy;          // e.g. "sip:10.0.0.1:5060;transport=tcp"; empty: none
  std::string user_agent = "sipmixd";
  int session_timer_s = 1800;          // RFC 4028 Session-Expires we ask for; 0: off
  int min_se_s = 90;
  // No SIP response at all within this time ends the dial (a TLS handshake
  // or certificate check that failed, or an endpoint that is not there).
  int no_response_timeout_ms = 3000;
  int ring_timeout_ms = 60000;         // no final answer within this time: CANCEL, 408
};

struct OutgoingCall {
  std::string call_id;        // ours, used in every report
  std::string uri;            // request URI, "sip:user@host[:port][;transport=...]"
  std::string from_uri;       // "sip:user@host"
  std::vector<std::pair<std::string, std::string>> headers;  // already validated
  std::optional<std::string> auth_username;
  std::optional<std::string> auth_password;
  std::string sdp_offer;
};

class SipListener {
 public:
  virtual ~SipListener() = default;
  virtual void on_sip_ringing(const std::string& call_id) = 0;
  virtual void on_sip_answered(const std::string& call_id, const std::string& sdp_answer) = 0;
  // The call is over (before or after the answer); `code` is the SIP status
  // or one of the kReason* codes of calls.h. Called exactly once per call.
  virtual void on_sip_ended(const std::string& call_id, int code, const std::string& reason) = 0;
  // An offer inside the dialog (re-INVITE or UPDATE; empty for an INVITE
  // without SDP). Returns our answer, or an error (the request gets 488).
  virtual StatusOr<std::string> on_sip_offer(const std::string& call_id, const std::string& sdp_offer) = 0;
};

class SipAgent {
 public:
  // Starts the SIP thread and binds the transports; fails with the reason.
  static StatusOr<std::unique_ptr<SipAgent>> start(const SipAgentConfig& config, SipListener* listener);
  ~SipAgent();  // ends every call with BYE/CANCEL, then stops the thread
  SipAgent(const SipAgent&) = delete;
  SipAgent& operator=(const SipAgent&) = delete;

  void invite(OutgoingCall call);
  // CANCEL before the answer, BYE after it; reports on_sip_ended(code, reason).
  void hang_up(const std::string& call_id, int code, const std::string& reason);
  // Ends every call and waits (at most timeout_ms) until they are gone.
  void shutdown(int timeout_ms);

  // The transports actually bound, e.g. "sip:127.0.0.1:5060".
  std::string contact() const;
  int bound_port() const { return bound_port_; }

 private:
  struct Impl;
  explicit SipAgent(std::unique_ptr<Impl> impl);
  void post(std::function<void()> fn);

  std::unique_ptr<Impl> impl_;
  int bound_port_ = 0;
};

}  // namespace sipmix::gw
