#include "gateway/sip/sip_agent.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sofia-sip/nua.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/tport_tag.h>

#include <cerrno>
#include <cstdarg>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <set>

#include "gateway/calls.h"

// Exported by libsofia-sip-ua but not declared in its headers: the
// transport layer's log, where a failed TLS certificate check is reported.
extern "C" su_log_t tport_log[];

namespace sipmix::gw {
namespace {

// The last TLS verification error sofia logged (process-wide, like its log).
std::mutex g_tls_error_mu;
std::string g_tls_error;          // guarded by g_tls_error_mu
int64_t g_tls_error_at_ms = 0;    // guarded by g_tls_error_mu
bool g_in_cert_error = false;     // guarded by g_tls_error_mu

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void tport_logger(void*, const char* fmt, va_list ap) {
  char buf[512];
  vsnprintf(buf, sizeof buf, fmt, ap);
  std::fputs(buf, stderr);
  std::lock_guard<std::mutex> lock(g_tls_error_mu);
  const std::string line(buf);
  if (line.find("Error with certificate") != std::string::npos) {
    g_in_cert_error = true;
  } else if (g_in_cert_error && line.find("err ") != std::string::npos) {
    std::string e = line.substr(line.find("err "));
    while (!e.empty() && (e.back() == '\n' || e.back() == '\r')) e.pop_back();
    g_tls_error = "certificate rejected (" + e + ")";
    g_tls_error_at_ms = steady_ms();
    g_in_cert_error = false;
  } else if (line.find("Peer Subject Mismatch") != std::string::npos) {
    g_tls_error = "certificate does not name the host we dialled";
    g_tls_error_at_ms = steady_ms();
  }
}

// The TLS error sofia logged since `since_ms`, if any.
std::string recent_tls_error(int64_t since_ms) {
  std::lock_guard<std::mutex> lock(g_tls_error_mu);
  return g_tls_error_at_ms >= since_ms ? g_tls_error : std::string();
}

void log_line(const std::string& call_id, const std::string& what) {
  std::fprintf(stderr, "sipmixd sip call=%s %s\n", call_id.empty() ? "-" : call_id.c_str(), what.c_str());
}

// A port that is free for both UDP and TCP on `ip` right now.
int pick_free_port(const std::string& ip) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int u = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    a.sin_port = 0;
    if (::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) { ::close(u); return 0; }
    socklen_t len = sizeof a;
    getsockname(u, reinterpret_cast<sockaddr*>(&a), &len);
    int t = ::socket(AF_INET, SOCK_STREAM, 0);
    const bool tcp_ok = ::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(t);
    ::close(u);
    if (tcp_ok) return ntohs(a.sin_port);
  }
  return 0;
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

}  // namespace

struct SipAgent::Impl {
  struct Leg {
    Impl* impl = nullptr;
    OutgoingCall req;
    nua_handle_t* nh = nullptr;
    bool got_response = false;
    bool ringing = false;
    bool answered = false;
    bool ended = false;  // reported to the listener
    bool tls = false;
    int64_t started_ms = 0;
    std::set<std::string> answered_realms;
    su_timer_t* no_response_timer = nullptr;
    su_timer_t* ring_timer = nullptr;
  };

  SipAgentConfig config;
  SipListener* listener = nullptr;
  std::thread thread;
  su_root_t* root = nullptr;
  nua_t* nua = nullptr;
  int wake_fd = -1;
  su_wait_t wake_wait{};
  int wake_index = -1;
  std::mutex mu;
  std::deque<std::function<void()>> queue;  // guarded by mu
  bool stopped = false;                     // guarded by mu
  std::map<std::string, std::unique_ptr<Leg>> legs;  // SIP thread only
  std::string contact;
  std::string cert_dir;      // what sofia reads (ours when tls_ca_file is set)
  std::string tmp_cert_dir;  // removed at the end
  su_timer_t* shutdown_timer = nullptr;
  bool shutting_down = false;

  void post(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopped) return;
      queue.push_back(std::move(fn));
    }
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd, &one, sizeof one);
  }

  static int on_wake(su_root_magic_t* magic, su_wait_t* w, su_wakeup_arg_t* arg) {
    (void)magic;
    (void)w;
    auto* self = static_cast<Impl*>(arg);
    uint64_t n = 0;
    [[maybe_unused]] ssize_t r = ::read(self->wake_fd, &n, sizeof n);
    std::deque<std::function<void()>> work;
    {
      std::lock_guard<std::mutex> lock(self->mu);
      work.swap(self->queue);
    }
    for (auto& fn : work) fn();
    return 0;
  }

  // ---- SIP thread -----------------------------------------------------------

  void report_end(Leg& leg, int code, const std::string& reason) {
    if (leg.ended) return;
    leg.ended = true;
    log_line(leg.req.call_id, "ended " + std::to_string(code) + " " + reason);
    listener->on_sip_ended(leg.req.call_id, code, reason);
  }

  void destroy_leg(Leg* leg) {
    if (leg->no_response_timer) su_timer_destroy(leg->no_response_timer), leg->no_response_timer = nullptr;
    if (leg->ring_timer) su_timer_destroy(leg->ring_timer), leg->ring_timer = nullptr;
    if (leg->nh) {
      nua_handle_bind(leg->nh, nullptr);
      nua_handle_destroy(leg->nh);
      leg->nh = nullptr;
    }
    legs.erase(leg->req.call_id);  // frees leg
    maybe_finish_shutdown();
  }

  void maybe_finish_shutdown() {
    if (shutting_down && legs.empty()) nua_shutdown(nua);
  }

  void start_invite(OutgoingCall call) {
    if (shutting_down) {
      Leg tmp;
      tmp.req = call;
      report_end(tmp, 503, "gateway shutting down");
      return;
    }
    if (legs.count(call.call_id)) return;
    auto leg = std::make_unique<Leg>();
    leg->impl = this;
    leg->req = std::move(call);
    Leg* l = leg.get();
    legs[l->req.call_id] = std::move(leg);
    const OutgoingCall& r = l->req;
    l->tls = r.uri.find("transport=tls") != std::string::npos || starts_with(r.uri, "sips:");
    l->started_ms = steady_ms();
    std::string headers;
    for (const auto& [name, value] : r.headers) {
      if (!headers.empty()) headers += "\r\n";
      headers += name + ": " + value;
    }
    const std::string to = "<" + r.uri + ">";
    const std::string from = "<" + r.from_uri + ">";
    l->nh = nua_handle(nua, l, SIPTAG_TO_STR(to.c_str()), TAG_END());
    if (!l->nh) {
      report_end(*l, 503, "could not create a SIP handle for " + r.uri);
      destroy_leg(l);
      return;
    }
    log_line(r.call_id, "INVITE " + r.uri + (l->tls ? " (tls)" : ""));
    nua_invite(l->nh, SIPTAG_FROM_STR(from.c_str()), TAG_IF(!headers.empty(), SIPTAG_HEADER_STR(headers.c_str())),
               SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(r.sdp_offer.c_str()), TAG_END());
    if (config.no_response_timeout_ms > 0) {
      l->no_response_timer = su_timer_create(su_root_task(root), config.no_response_timeout_ms);
      su_timer_set(l->no_response_timer, &Impl::on_no_response_timer, l);
    }
    if (config.ring_timeout_ms > 0) {
      l->ring_timer = su_timer_create(su_root_task(root), config.ring_timeout_ms);
      su_timer_set(l->ring_timer, &Impl::on_ring_timer, l);
    }
  }

  static void on_no_response_timer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
    auto* leg = static_cast<Leg*>(arg);
    Impl* self = leg->impl;
    if (leg->got_response || leg->ended) return;
    const std::string secs = std::to_string(self->config.no_response_timeout_ms / 1000.0).substr(0, 4);
    std::string why;
    if (leg->tls) {
      const std::string tls_error = recent_tls_error(leg->started_ms);
      why = "no SIP response over TLS within " + secs + " s: " +
            (tls_error.empty() ? "the TLS connection failed (certificate not trusted by the configured CA, name "
                                 "mismatch, or endpoint unreachable)"
                               : "TLS " + tls_error);
    } else {
      why = "no SIP response within " + secs + " s: endpoint unreachable";
    }
    self->report_end(*leg, 408, why);
    self->destroy_leg(leg);
  }

  static void on_ring_timer(su_root_magic_t*, su_timer_t*, su_timer_arg_t* arg) {
    auto* leg = static_cast<Leg*>(arg);
    Impl* self = leg->impl;
    if (leg->answered || leg->ended) return;
    self->report_end(*leg, 408, "no answer within " + std::to_string(self->config.ring_timeout_ms / 1000) + " s");
    if (leg->got_response) {
      nua_cancel(leg->nh, TAG_END());  // the 487 (or nua_i_terminated) destroys the handle
    } else {
      self->destroy_leg(leg);
    }
  }

  void hang_up(const std::string& call_id, int code, const std::string& reason) {
    auto it = legs.find(call_id);
    if (it == legs.end()) return;
    Leg* leg = it->second.get();
    const bool was_ended = leg->ended;
    report_end(*leg, code, reason);
    if (was_ended) return;
    if (leg->answered) {
      log_line(call_id, "BYE");
      nua_bye(leg->nh, TAG_END());
    } else if (leg->got_response) {
      log_line(call_id, "CANCEL");
      nua_cancel(leg->nh, TAG_END());
    } else {
      destroy_leg(leg);  // nothing to cancel yet
    }
  }

  void start_shutdown(int timeout_ms) {
    shutting_down = true;
    std::vector<std::string> ids;
    for (auto& [id, leg] : legs) ids.push_back(id);
    for (auto& id : ids) hang_up(id, kReasonNormal, "gateway shutting down");
    shutdown_timer = su_timer_create(su_root_task(root), timeout_ms);
    su_timer_set(shutdown_timer, [](su_root_magic_t*, su_timer_t*, su_timer_arg_t* a) {
      su_root_break(static_cast<Impl*>(a)->root);
    }, this);
    maybe_finish_shutdown();
  }

  // NUTAG_AUTH's "scheme:\"realm\":user:password" for one challenge.
  static std::string credentials(const msg_auth_t* au, const std::string& user, const std::string& pass) {
    if (!au) return {};
    const char* realm = msg_params_find(au->au_params, "realm=");  // keeps its quotes
    return std::string(au->au_scheme ? au->au_scheme : "Digest") + ":" + (realm ? realm : "\"\"") + ":" + user + ":" +
           pass;
  }

  void on_auth_challenge(Leg& leg, int status, const char* phrase, const sip_t* sip) {
    const msg_auth_t* www = sip ? sip->sip_www_authenticate : nullptr;
    const msg_auth_t* proxy = sip ? sip->sip_proxy_authenticate : nullptr;
    if (!leg.req.auth_username || !leg.req.auth_password) {
      report_end(leg, status, std::string(phrase ? phrase : "") + ": the endpoint asks for credentials, the dial has no auth");
      return;
    }
    bool fresh = false;
    for (const msg_auth_t* au : {www, proxy}) {
      for (; au; au = au->au_next) {
        const char* realm = msg_params_find(au->au_params, "realm=");
        const char* stale = msg_params_find(au->au_params, "stale=");
        const std::string key = std::string(au == www ? "www:" : "proxy:") + (realm ? realm : "");
        if (!leg.answered_realms.count(key) || (stale && strcasecmp(stale, "true") == 0)) fresh = true;
        leg.answered_realms.insert(key);
      }
    }
    if (!fresh) {
      report_end(leg, status, std::string(phrase ? phrase : "") + ": authentication failed (credentials refused)");
      return;
    }
    const std::string c1 = credentials(www, *leg.req.auth_username, *leg.req.auth_password);
    const std::string c2 = credentials(proxy, *leg.req.auth_username, *leg.req.auth_password);
    log_line(leg.req.call_id, "authenticating after " + std::to_string(status));
    nua_authenticate(leg.nh, TAG_IF(!c1.empty(), NUTAG_AUTH(c1.c_str())), TAG_IF(!c2.empty(), NUTAG_AUTH(c2.c_str())),
                     TAG_END());
  }

  void respond_offer(Leg& leg, nua_handle_t* nh, const sip_t* sip, bool is_update) {
    std::string offer;
    if (sip && sip->sip_payload && sip->sip_payload->pl_data)
      offer.assign(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
    auto answer = listener->on_sip_offer(leg.req.call_id, offer);
    log_line(leg.req.call_id, std::string(is_update ? "UPDATE" : "re-INVITE") +
                                  (answer.ok() ? " answered" : " refused: " + answer.status().message()));
    if (!answer.ok()) {
      nua_respond(nh, SIP_488_NOT_ACCEPTABLE, NUTAG_WITH_THIS(nua), TAG_END());
      return;
    }
    // NUTAG_WITH_THIS: answer the request being delivered (an UPDATE is not
    // the dialog's INVITE transaction).
    nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                SIPTAG_PAYLOAD_STR(answer->c_str()), TAG_END());
  }

  static void on_event(nua_event_t event, int status, const char* phrase, nua_t* nua, nua_magic_t* magic,
                       nua_handle_t* nh, nua_hmagic_t* hmagic, const sip_t* sip, tagi_t tags[]) {
    (void)tags;
    auto* self = static_cast<Impl*>(magic);
    auto* leg = static_cast<Leg*>(hmagic);
    const std::string ph = phrase ? phrase : "";
    if (event == nua_r_shutdown) {
      if (status >= 200) su_root_break(self->root);
      return;
    }
    if (!leg) {
      // Requests outside our dialogs: sipmixd places calls, it takes none.
      if (event == nua_i_invite) {
        nua_respond(nh, 403, "sipmixd takes no incoming calls", TAG_END());
        nua_handle_destroy(nh);
      } else if (event == nua_i_terminated || event == nua_i_error) {
        nua_handle_destroy(nh);
      }
      return;
    }
    (void)nua;
    switch (event) {
      case nua_r_invite:
        if (status >= 100) {
          leg->got_response = true;
        }
        if (leg->ended) {
          if (status >= 200 && status < 300 && !leg->answered) {
            leg->answered = true;  // answered while we cancelled: end it with BYE
            nua_bye(nh, TAG_END());
          } else if (status >= 300) {
            self->destroy_leg(leg);
          }
          return;
        }
        if (status == 401 || status == 407) {
          self->on_auth_challenge(*leg, status, phrase, sip);
          if (leg->ended) self->destroy_leg(leg);
        } else if (status >= 180 && status < 200) {
          if (!leg->ringing) {
            leg->ringing = true;
            self->listener->on_sip_ringing(leg->req.call_id);
          }
        } else if (status >= 200 && status < 300) {
          if (leg->answered) return;  // a retransmitted 200
          leg->answered = true;
          std::string sdp;
          if (sip && sip->sip_payload && sip->sip_payload->pl_data)
            sdp.assign(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
          log_line(leg->req.call_id, "answered " + std::to_string(status));
          if (sdp.empty()) {
            self->report_end(*leg, 488, "the answer carries no SDP");
            nua_bye(nh, TAG_END());
            return;
          }
          self->listener->on_sip_answered(leg->req.call_id, sdp);
        } else if (status >= 300) {
          self->report_end(*leg, status, ph);
          self->destroy_leg(leg);
        }
        return;
      case nua_i_invite:
        self->respond_offer(*leg, nh, sip, false);
        return;
      case nua_i_update:
        self->respond_offer(*leg, nh, sip, true);
        return;
      case nua_i_bye:
        log_line(leg->req.call_id, "BYE from the endpoint");
        self->report_end(*leg, kReasonNormal, "the endpoint hung up (BYE)");
        return;
      case nua_i_cancel:
        return;
      case nua_i_state: {
        int cs = -1;
        tl_gets(tags, NUTAG_CALLSTATE_REF(cs), TAG_END());
        if (cs == nua_callstate_terminated) {
          if (!leg->ended)
            self->report_end(*leg, status >= 300 && status < 700 ? status : kReasonUnexpected,
                             ph.empty() ? "the dialog ended" : ph);
          self->destroy_leg(leg);
        }
        return;
      }
      case nua_i_terminated:
        if (!leg->ended)
          self->report_end(*leg, status >= 300 && status < 700 ? status : kReasonUnexpected,
                           ph.empty() ? "the dialog ended" : ph);
        self->destroy_leg(leg);
        return;
      case nua_r_bye:
        if (status >= 200) self->destroy_leg(leg);
        return;
      case nua_r_cancel:
        if (status >= 300) self->destroy_leg(leg);  // nothing to cancel any more
        return;
      default:
        return;
    }
  }

  // sofia reads agent.pem and cafile.pem from one folder; when the files are
  // configured one by one, they are copied into a private folder.
  Status build_cert_dir() {
    cert_dir = config.tls_cert_dir;
    if (config.tls_ca_file.empty() && config.tls_cert_file.empty()) return {};
    char tmpl[] = "/tmp/sipmixd-tls-XXXXXX";
    if (!mkdtemp(tmpl)) return unavailable("tls: cannot create a certificate folder: " + std::string(strerror(errno)));
    tmp_cert_dir = tmpl;
    auto copy = [this](const std::string& from, const char* to, const char* field) -> Status {
      std::error_code ec;
      std::filesystem::copy_file(from, tmp_cert_dir + "/" + to, ec);
      if (ec) return invalid_argument(std::string(field) + ": cannot read '" + from + "': " + ec.message());
      return {};
    };
    const std::string dir = config.tls_cert_dir;
    const std::string ca = !config.tls_ca_file.empty() ? config.tls_ca_file : dir + "/cafile.pem";
    const std::string cert = !config.tls_cert_file.empty() ? config.tls_cert_file : dir + "/agent.pem";
    if (!config.tls_ca_file.empty() || (!dir.empty() && std::filesystem::exists(ca)))
      if (Status s = copy(ca, "cafile.pem", "tls_ca_file"); !s.ok()) return s;
    if (!config.tls_cert_file.empty() || (!dir.empty() && std::filesystem::exists(cert)))
      if (Status s = copy(cert, "agent.pem", "tls_cert_file"); !s.ok()) return s;
    cert_dir = tmp_cert_dir;
    return {};
  }

  void run(std::promise<Status>& started) {
    su_init();
    static std::once_flag redirect_once;
    std::call_once(redirect_once, [] { su_log_redirect(tport_log, &tport_logger, nullptr); });
    root = su_root_create(this);
    if (!root) {
      started.set_value(unavailable("sip: su_root_create failed"));
      su_deinit();
      return;
    }
    su_wait_create(&wake_wait, wake_fd, SU_WAIT_IN);
    wake_index = su_root_register(root, &wake_wait, &Impl::on_wake, this, 0);
    const std::string url = "sip:" + config.bind_ip + ":" + std::to_string(config.port);
    const std::string sips = "sips:" + config.bind_ip + ":" + std::to_string(config.tls_port);
    const bool tls = config.enable_tls;
    const char* allow = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE";
    nua = nua_create(root, &Impl::on_event, this, NUTAG_URL(url.c_str()),
                     TAG_IF(tls, NUTAG_SIPS_URL(sips.c_str())),
                     TAG_IF(tls && !cert_dir.empty(), NUTAG_CERTIFICATE_DIR(cert_dir.c_str())),
                     TAG_IF(tls && config.tls_verify, TPTAG_TLS_VERIFY_POLICY(TPTLS_VERIFY_SUBJECTS_OUT)),
                     TAG_IF(!config.outbound_proxy.empty(), NUTAG_PROXY(config.outbound_proxy.c_str())),
                     NUTAG_MEDIA_ENABLE(0), NUTAG_AUTOANSWER(0), NUTAG_AUTOACK(1), NUTAG_ENABLEINVITE(1),
                     NUTAG_APPL_METHOD("UPDATE"), NUTAG_ALLOW(allow), SIPTAG_ALLOW_STR(allow),
                     SIPTAG_SUPPORTED_STR(config.session_timer_s > 0 ? "timer" : ""),
                     SIPTAG_USER_AGENT_STR(config.user_agent.c_str()),
                     NUTAG_SESSION_TIMER(static_cast<unsigned>(config.session_timer_s)),
                     NUTAG_MIN_SE(static_cast<unsigned>(config.min_se_s)),
                     NUTAG_SESSION_REFRESHER(nua_any_refresher), NUTAG_UPDATE_REFRESH(1), TAG_END());
    if (!nua) {
      started.set_value(unavailable("sip: cannot bind " + url + (tls ? " and " + sips : "") +
                                    " (address in use, or TLS certificate folder '" + cert_dir + "' unusable)"));
      su_root_unregister(root, &wake_wait, &Impl::on_wake, this);
      su_root_destroy(root);
      root = nullptr;
      su_deinit();
      return;
    }
    contact = url;
    started.set_value(Status{});
    su_root_run(root);
    {
      std::lock_guard<std::mutex> lock(mu);
      stopped = true;
      queue.clear();
    }
    for (auto& [id, leg] : legs) {
      if (leg->no_response_timer) su_timer_destroy(leg->no_response_timer);
      if (leg->ring_timer) su_timer_destroy(leg->ring_timer);
      if (!leg->ended) listener->on_sip_ended(id, kReasonNormal, "gateway shutting down");
    }
    legs.clear();
    if (shutdown_timer) su_timer_destroy(shutdown_timer);
    nua_destroy(nua);
    nua = nullptr;
    su_root_unregister(root, &wake_wait, &Impl::on_wake, this);
    su_root_destroy(root);
    root = nullptr;
    su_deinit();
  }
};

SipAgent::SipAgent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StatusOr<std::unique_ptr<SipAgent>> SipAgent::start(const SipAgentConfig& config, SipListener* listener) {
  if (!listener) return invalid_argument("sip: listener must be set");
  in_addr probe{};
  if (inet_pton(AF_INET, config.bind_ip.c_str(), &probe) != 1)
    return invalid_argument("sip.bind_ip: must be an IPv4 address, got '" + config.bind_ip + "'");
  if (config.port < 0 || config.port > 65535) return invalid_argument("sip.port: must be 0..65535");
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->listener = listener;
  if (impl->config.port == 0) impl->config.port = pick_free_port(config.bind_ip);
  if (config.enable_tls && impl->config.tls_port == 0) impl->config.tls_port = pick_free_port(config.bind_ip);
  if (config.enable_tls) {
    if (Status s = impl->build_cert_dir(); !s.ok()) return s;
  }
  impl->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl->wake_fd < 0) return unavailable("sip: eventfd failed");
  std::promise<Status> started;
  auto fut = started.get_future();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw, &started] { raw->run(started); });
  Status s = fut.get();
  if (!s.ok()) {
    impl->thread.join();
    ::close(impl->wake_fd);
    if (!impl->tmp_cert_dir.empty()) std::filesystem::remove_all(impl->tmp_cert_dir);
    return s;
  }
  std::unique_ptr<SipAgent> agent(new SipAgent(std::move(impl)));
  agent->bound_port_ = agent->impl_->config.port;
  return agent;
}

SipAgent::~SipAgent() {
  shutdown(5000);
  ::close(impl_->wake_fd);
  if (!impl_->tmp_cert_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(impl_->tmp_cert_dir, ec);
  }
}

void SipAgent::post(std::function<void()> fn) { impl_->post(std::move(fn)); }

void SipAgent::invite(OutgoingCall call) {
  Impl* impl = impl_.get();
  post([impl, c = std::move(call)]() mutable { impl->start_invite(std::move(c)); });
}

void SipAgent::hang_up(const std::string& call_id, int code, const std::string& reason) {
  Impl* impl = impl_.get();
  post([impl, call_id, code, reason] { impl->hang_up(call_id, code, reason); });
}

void SipAgent::shutdown(int timeout_ms) {
  if (!impl_->thread.joinable()) return;
  Impl* impl = impl_.get();
  post([impl, timeout_ms] { impl->start_shutdown(timeout_ms); });
  impl_->thread.join();
}

std::string SipAgent::contact() const { return impl_->contact; }

}  // namespace sipmix::gw
