#include "gateway/media/call_manager.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <tuple>
#include <chrono>
#include <cstdio>
#include <future>
#include <span>

namespace sipmix::gw {
namespace {

void log_line(const std::string& call_id, const std::string& what) {
  std::fprintf(stderr, "sipmixd call=%s %s\n", call_id.empty() ? "-" : call_id.c_str(), what.c_str());
}

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
}

// Headers that sofia or the dialog own; a dial may not set them.
bool reserved_header(std::string name) {
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const char* kReserved[] = {"from", "to", "call-id", "cseq", "via", "contact", "content-type",
                                    "content-length", "max-forwards", "route", "record-route", "authorization",
                                    "proxy-authorization", "f", "t", "i", "v", "m", "c", "l", "allow", "supported",
                                    "user-agent", "session-expires", "min-se", "require",
                                    "x-opentok-sessionid", "x-sipmix-connection-id"};
  for (const char* r : kReserved)
    if (name == r) return true;
  return false;
}

Status validate_uri(const std::string& uri) {
  if (uri.rfind("sip:", 0) != 0 && uri.rfind("sips:", 0) != 0)
    return invalid_argument("sip.uri: must start with sip: or sips:");
  const size_t host_at = uri.find(':') + 1;
  if (uri.size() <= host_at) return invalid_argument("sip.uri: has no host");
  for (char c : uri)
    if (static_cast<unsigned char>(c) <= 0x20 || c == '<' || c == '>' || c == '"' || c == 0x7f)
      return invalid_argument("sip.uri: must not contain spaces, control characters, quotes or angle brackets");
  return {};
}

bool host_chars_ok(const std::string& h) {
  if (h.empty()) return false;
  for (char c : h)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
      return false;
  return true;
}

// RFC-less but product rule: a numeric user (optional +) is the caller
// number; anything else shows as +00000000.
std::string build_from_uri(const std::string& from, const std::string& default_host) {
  std::string user, host;
  const size_t at = from.find('@');
  if (at == std::string::npos) {
    user = from;
  } else {
    user = from.substr(0, at);
    host = from.substr(at + 1);
  }
  if (user.rfind("sip:", 0) == 0) user = user.substr(4);
  bool numeric = !user.empty();
  for (size_t i = 0; i < user.size(); ++i)
    if (!(std::isdigit(static_cast<unsigned char>(user[i])) || (i == 0 && user[i] == '+' && user.size() > 1)))
      numeric = false;
  if (!numeric) user = "+00000000";
  if (!host_chars_ok(host)) host = default_host;
  return "sip:" + user + "@" + host;
}

uint32_t ipv4_host_order(const std::string& ip) {
  in_addr a{};
  if (inet_pton(AF_INET, ip.c_str(), &a) != 1) return 0;
  return ntohl(a.s_addr);
}

}  // namespace


struct CallManager::Call {
  CallInfo info;
  DialRequest request;
  std::shared_ptr<LegTransport> transport;
  std::shared_ptr<LegTransport> output;  // the session output's socket pair, if any (for stats)
  LocalMedia local;
  std::optional<Negotiated> negotiated;
  LegConfig leg;
  std::shared_ptr<SessionHost> host;
  SessionWorker* worker = nullptr;
  int64_t answered_ms = 0;      // monotonic
  int64_t media_since_ms = 0;   // monotonic: the media timeout counts from here
  bool ending = false;          // our hang-up is on its way
  bool attached = false;        // the receiver feeds the session
};

CallManager::CallManager(const CallManagerConfig& config, CallObserver* observer)
    : config_(config),
      observer_(observer),
      ports_(config.media_ip, config.rtp_port_min, config.rtp_port_max),
      media_hook_(config.media_hook) {
  event_hook_ = [this](const std::string& session_id, const Event& e) { on_session_event(session_id, e); };
}

StatusOr<std::unique_ptr<CallManager>> CallManager::create(const CallManagerConfig& config, CallObserver* observer) {
  if (!observer) return invalid_argument("call manager: observer must be set");
  if (ipv4_host_order(config.media_ip) == 0) return invalid_argument("media_ip: must be an IPv4 address");
  if (config.rtp_port_min < 1024 || config.rtp_port_max > 65535 || config.rtp_port_max - config.rtp_port_min < 3)
    return invalid_argument("rtp_ports: need MIN-MAX within 1024-65535 holding at least two pairs");
  if (config.session_workers < 1 || config.session_workers > 64)
    return invalid_argument("session_workers: must be 1..64");
  if (config.media_timeout_ms < 100) return invalid_argument("media_timeout_ms: must be at least 100");
  if (config.max_duration_ms < 1000) return invalid_argument("max_duration_ms: must be at least 1000");
  std::unique_ptr<CallManager> m(new CallManager(config, observer));
  auto rx = RtpReceiver::create(config.receive_threads);
  if (!rx.ok()) return rx.status();
  m->receiver_ = std::move(*rx);
  for (int i = 0; i < config.session_workers; ++i)
    m->workers_.push_back(std::make_unique<SessionWorker>(config.tick_interval_ms));
  auto sip = SipAgent::start(config.sip, m.get());
  if (!sip.ok()) return sip.status();
  m->sip_ = std::move(*sip);
  CallManager* raw = m.get();
  m->janitor_ = std::thread([raw] { raw->janitor(); });
  return m;
}

CallManager::~CallManager() {
  drain();
  if (sip_) sip_->shutdown(5000);  // every call ends with BYE/CANCEL and reports on_sip_ended
  {
    std::unique_lock<std::mutex> lock(mu_);
    calls_gone_.wait_for(lock, std::chrono::seconds(2), [this] { return calls_.empty(); });
  }
  stop_janitor_ = true;
  if (janitor_.joinable()) janitor_.join();  // not started when create() failed
  // Pending detaches on the receive threads post to the workers, and worker
  // closures may still try to attach: the receiver goes first, under rx_mu_,
  // so that a late attach finds it gone instead of freed.
  std::unique_ptr<RtpReceiver> receiver;
  {
    std::lock_guard<std::mutex> lock(rx_mu_);
    receiver = std::move(receiver_);
  }
  receiver.reset();  // runs pending detaches, which post to the workers
  workers_.clear();  // runs what is posted, then stops ticking
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.clear();
}

// ---- Calls -------------------------------------------------------------------

Status CallManager::dial(const CallIds& ids, const DialRequest& r) {
  if (ids.id.empty() || ids.connection_id.empty() || ids.stream_id.empty())
    return invalid_argument("ids: id, connectionId and streamId must be set");
  if (r.session_id.empty()) return invalid_argument("sessionId: must not be empty");
  if (Status s = validate_uri(r.uri); !s.ok()) return s;
  for (const auto& [name, value] : r.headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char))
      return invalid_argument("sip.headers: '" + name + "' is not a SIP header name (token characters only)");
    if (reserved_header(name)) return invalid_argument("sip.headers." + name + ": set by the gateway, not by a dial");
    if (value.find_first_of(std::string("\r\n\0", 3)) != std::string::npos)
      return invalid_argument("sip.headers." + name + ": value must not contain CR, LF or NUL");
  }
  if (r.auth_username.has_value() != r.auth_password.has_value())
    return invalid_argument("sip.auth: needs both username and password");
  if (r.auth_username && (r.auth_username->empty() || r.auth_username->find_first_of(":\r\n") != std::string::npos))
    return invalid_argument("sip.auth.username: must be non-empty without ':' or CR/LF");
  if (r.auth_password && r.auth_password->find_first_of("\r\n") != std::string::npos)
    return invalid_argument("sip.auth.password: must not contain CR or LF");

  auto call = std::make_shared<Call>();
  call->request = r;
  call->info.ids = ids;
  call->info.session_id = r.session_id;
  call->info.project_id = r.project_id;
  call->info.connection_data = r.connection_data;
  call->info.state = CallState::kDialing;
  call->info.created_at_ms = unix_ms();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (draining_) return unavailable("gateway is draining: no new dials");
    if (static_cast<int>(calls_.size()) >= config_.max_calls)
      return unavailable("max_calls: " + std::to_string(config_.max_calls) + " calls in progress");
    if (calls_.count(ids.id) || call_by_connection_.count(ids.connection_id))
      return invalid_argument("ids: call or connection already exists");
  }
  auto transport = LegTransport::create(&ports_, r.video);
  if (!transport.ok()) return transport.status();
  call->transport = std::move(*transport);
  receiver_->assign(*call->transport);

  LocalMedia& local = call->local;
  local.ip = config_.media_ip;
  local.audio_port = call->transport->audio_port();
  local.video_port = call->transport->video_port();
  local.secure = r.secure;
  local.video = r.video;
  local.session_id = static_cast<uint64_t>(unix_ms());
  if (r.secure) {
    auto crypto = make_sdes_crypto();
    if (!crypto.ok()) return crypto.status();
    local.audio_crypto = *crypto;
    local.video_crypto = *crypto;  // the engine keeps one SRTP context per leg
  }

  // The leg exists in the session from now on; its codec is settled by the answer.
  LegConfig& leg = call->leg;
  leg.id = ids.id;
  leg.participant = ids.connection_id;
  leg.video = r.video;
  leg.observe_force_mute = r.observe_force_mute;
  leg.secure = false;
  leg.audio_codec = AudioCodec::kPcmu;
  leg.audio_payload_type = 0;
  leg.audio_clock_hz = 8000;
  leg.telephone_event_payload_type = -1;

  {
    std::lock_guard<std::mutex> lock(mu_);
    if (draining_) return unavailable("gateway is draining: no new dials");
    SessionRef& ref = session_locked(r.session_id);
    ++ref.calls;
    call->host = ref.host;
    call->worker = ref.worker;
    calls_[ids.id] = call;
    call_by_connection_[ids.connection_id] = ids.id;
    auto host = call->host;
    const LegConfig cfg = leg;
    call->worker->post([host, cfg] {
      if (!host->session) return;
      auto h = host->session->add_leg(cfg);
      if (!h.ok()) log_line(cfg.id, "add_leg: " + h.status().message());
    });
  }
  log_line(ids.id, "dial session=" + r.session_id + " connection=" + ids.connection_id + " uri=" + r.uri +
                       (r.secure ? " secure" : "") + (r.video ? " video" : ""));
  observer_->on_call_created(call->info);
  observer_->on_call_updated(call->info);

  OutgoingCall out;
  out.call_id = ids.id;
  out.uri = r.uri;
  out.from_uri = build_from_uri(r.from, config_.sip.bind_ip);
  out.headers = r.headers;
  out.headers.emplace_back("X-OpenTok-SessionId", r.session_id);
  out.headers.emplace_back("X-Sipmix-Connection-Id", ids.connection_id);
  out.auth_username = r.auth_username;
  out.auth_password = r.auth_password;
  out.sdp_offer = write_offer(local);
  sip_->invite(std::move(out));
  return {};
}

Status CallManager::hang_up(const std::string& session_id, const std::string& connection_id) {
  std::string call_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = call_by_connection_.find(connection_id);
    if (it == call_by_connection_.end()) return not_found("connectionId: no such call");
    auto& call = calls_.at(it->second);
    if (call->info.session_id != session_id) return not_found("connectionId: not in this session");
    if (call->ending) return {};
    call->ending = true;
    call_id = it->second;
  }
  sip_->hang_up(call_id, kReasonNormal, "hung up by request");
  return {};
}

Status CallManager::force_mute(const std::string& session_id, const std::string& connection_id, bool muted) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = call_by_connection_.find(connection_id);
  if (it == call_by_connection_.end()) return not_found("connectionId: no such call");
  auto& call = calls_.at(it->second);
  if (call->info.session_id != session_id) return not_found("connectionId: not in this session");
  if (!call->request.observe_force_mute) return {};  // the leg does not take force mutes
  auto host = call->host;
  const std::string id = call->info.ids.id;
  call->worker->post([host, id, muted] {
    if (host->session) (void)host->session->force_mute(id, muted);
  });
  return {};
}

Status CallManager::play_dtmf(const std::string& session_id, const std::string& connection_id,
                              const std::string& digits) {
  if (digits.empty() || digits.find_first_not_of("0123456789*#p") != std::string::npos)
    return invalid_argument("digits: only 0-9, *, # and p are allowed");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = call_by_connection_.find(connection_id);
  if (it == call_by_connection_.end()) return not_found("connectionId: no such call");
  auto& call = calls_.at(it->second);
  if (call->info.session_id != session_id) return not_found("connectionId: not in this session");
  auto host = call->host;
  const std::string id = call->info.ids.id;
  call->worker->post([host, id, digits] {
    if (host->session) {
      Status s = host->session->play_dtmf(id, digits);
      if (!s.ok()) log_line(id, "play_dtmf: " + s.message());
    }
  });
  return {};
}

std::optional<CallInfo> CallManager::find(const std::string& session_id, const std::string& connection_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = call_by_connection_.find(connection_id);
  if (it == call_by_connection_.end()) return std::nullopt;
  const auto& call = calls_.at(it->second);
  if (call->info.session_id != session_id) return std::nullopt;
  return call->info;
}

std::vector<CallInfo> CallManager::calls_in_session(const std::string& session_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<CallInfo> out;
  for (const auto& [id, call] : calls_)
    if (call->info.session_id == session_id) out.push_back(call->info);
  return out;
}

void CallManager::drain() {
  std::lock_guard<std::mutex> lock(mu_);
  draining_ = true;
}

size_t CallManager::call_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_.size();
}

std::optional<SessionStats> CallManager::session_stats(const std::string& session_id, int timeout_ms) {
  std::shared_ptr<SessionHost> host;
  SessionWorker* worker = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return std::nullopt;
    host = it->second.host;
    worker = it->second.worker;
  }
  auto promise = std::make_shared<std::promise<std::optional<SessionStats>>>();
  auto fut = promise->get_future();
  worker->post([host, promise] {
    if (host->session)
      promise->set_value(host->session->stats());
    else
      promise->set_value(std::nullopt);
  });
  if (fut.wait_for(std::chrono::milliseconds(timeout_ms)) != std::future_status::ready) return std::nullopt;
  return fut.get();
}

std::optional<CallMediaStats> CallManager::media_stats(const std::string& connection_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = call_by_connection_.find(connection_id);
  if (it == call_by_connection_.end()) return std::nullopt;
  const auto& call = calls_.at(it->second);
  CallMediaStats s;
  s.rtp_received = call->transport->received();
  s.strangers = call->transport->strangers();
  s.sent = call->transport->sent();
  s.latched = call->transport->latched(LegTransport::kAudioRtp);
  s.local_audio_port = call->transport->audio_port();
  if (call->output) s.sent_to_session = call->output->sent();
  if (call->negotiated) {
    s.negotiated_codec = to_string(call->negotiated->audio_codec);
    if (call->negotiated->video) s.negotiated_video_codec = to_string(call->negotiated->video_codec);
    s.secure = call->negotiated->secure;
  }
  return s;
}

CallManager::SessionRef& CallManager::session_locked(const std::string& session_id) {
  SessionRef& ref = sessions_[session_id];
  if (!ref.host) {
    ref.host = std::make_shared<SessionHost>(session_id, &media_hook_, &event_hook_);
    ref.worker = workers_[next_worker_++ % workers_.size()].get();
    auto host = ref.host;
    SessionWorker* worker = ref.worker;
    const SessionConfig sc = config_.session;
    Clock* clock = &clock_;
    worker->post([host, worker, sc, clock] {
      auto s = Session::create(sc, clock, host.get());
      if (!s.ok()) {
        log_line("-", "session " + host->id() + ": " + s.status().message());
        return;
      }
      host->session = std::move(*s);
      worker->add_host(host.get());
    });
  }
  return ref;
}

void CallManager::release_session_locked(const std::string& session_id, bool stream) {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return;
  SessionRef& ref = it->second;
  (stream ? ref.streams : ref.calls) -= 1;
  if (ref.calls > 0 || ref.streams > 0) return;
  auto host = ref.host;
  SessionWorker* worker = ref.worker;
  sessions_.erase(it);
  worker->post([host, worker] {
    worker->remove_host(host.get());
    host->session.reset();
  });
}

StatusOr<std::pair<std::shared_ptr<SessionHost>, PushHandle>> CallManager::add_stream_to_session(
    const std::string& session_id, const StreamConfig& config, const std::shared_ptr<LegTransport>& transport,
    int timeout_ms) {
  if (session_id.empty()) return invalid_argument("sessionId: must not be empty");
  std::shared_ptr<SessionHost> host;
  SessionWorker* worker = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    SessionRef& ref = session_locked(session_id);
    ++ref.streams;
    host = ref.host;
    worker = ref.worker;
  }
  auto promise = std::make_shared<std::promise<StatusOr<PushHandle>>>();
  auto fut = promise->get_future();
  CallManager* self = this;
  worker->post([host, config, promise, transport, self] {
    if (!host->session) {
      promise->set_value(unavailable("session " + host->id() + " could not be created"));
      return;
    }
    StatusOr<PushHandle> h = host->session->add_stream(config);
    if (h.ok() && transport) {
      transport->session = host->session.get();
      transport->handle = *h;
      host->streams[config.id] = transport;
      self->attach_leg(transport);
    }
    promise->set_value(std::move(h));
  });
  Status failure;
  if (fut.wait_for(std::chrono::milliseconds(timeout_ms)) != std::future_status::ready) {
    failure = unavailable("add_stream: the session's worker did not answer within " + std::to_string(timeout_ms) +
                          " ms");
  } else {
    StatusOr<PushHandle> h = fut.get();
    if (h.ok()) return std::make_pair(host, *h);
    failure = h.status();
  }
  std::lock_guard<std::mutex> lock(mu_);
  release_session_locked(session_id, true);
  return failure;
}

StatusOr<std::shared_ptr<SessionStream>> CallManager::add_stream(const std::string& session_id,
                                                                 const StreamConfig& config, int timeout_ms) {
  auto added = add_stream_to_session(session_id, config, nullptr, timeout_ms);
  if (!added.ok()) return added.status();
  auto stream = std::make_shared<SessionStream>();
  stream->host_ = added->first;
  stream->handle_ = added->second;
  stream->id_ = config.id;
  return stream;
}

StatusOr<std::shared_ptr<ForwardedStream>> CallManager::add_forwarded_stream(const std::string& session_id,
                                                                             const StreamConfig& config,
                                                                             const std::string& source_ip,
                                                                             int timeout_ms) {
  const uint32_t ip = source_ip.empty() ? 0 : ipv4_host_order(source_ip);
  if (!source_ip.empty() && ip == 0) return invalid_argument("source_ip: must be an IPv4 address or empty");
  auto transport = LegTransport::create(&ports_, false);
  if (!transport.ok()) return transport.status();
  std::shared_ptr<LegTransport> t = std::move(*transport);
  t->set_remote(ip, 0, 0, 0, 0, 0);  // latch on the first packet from source_ip
  if (ip == 0) t->accept_any_source();  // ... or from anywhere
  t->set_sending(true);                 // for its feedback
  {
    std::lock_guard<std::mutex> lock(rx_mu_);
    if (!receiver_) return unavailable("call layer is shutting down");
    receiver_->assign(*t);
  }
  auto added = add_stream_to_session(session_id, config, t, timeout_ms);
  if (!added.ok()) return added.status();
  auto stream = std::make_shared<ForwardedStream>();
  stream->host_ = added->first;
  stream->transport_ = t;
  stream->id_ = config.id;
  stream->session_id_ = session_id;
  return stream;
}

Status CallManager::set_stream_feedback(const ForwardedStream& stream, const std::string& ip, uint16_t rtcp_port) {
  const uint32_t a = ipv4_host_order(ip);
  if (a == 0) return invalid_argument("ip: must be an IPv4 address");
  stream.transport_->pin_destination(LegTransport::kAudioRtcp, a, rtcp_port);
  return {};
}

Status CallManager::remove_forwarded_stream(const std::shared_ptr<ForwardedStream>& stream, int timeout_ms) {
  if (!stream) return invalid_argument("stream: must be set");
  return remove_stream_from_session(stream->host_, stream->id(), stream->transport_, timeout_ms);
}

Status CallManager::remove_stream_from_session(const std::shared_ptr<SessionHost>& host, const std::string& id,
                                               const std::shared_ptr<LegTransport>& transport, int timeout_ms) {
  SessionWorker* worker = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(host->id());
    if (it == sessions_.end() || it->second.host != host) return not_found("stream: its session is gone");
    worker = it->second.worker;
  }
  auto promise = std::make_shared<std::promise<Status>>();
  auto fut = promise->get_future();
  auto remove = [host, worker, id, promise] {
    worker->post([host, id, promise] {
      host->streams.erase(id);
      promise->set_value(host->session ? host->session->remove_stream(id) : not_found("stream: no session"));
    });
  };
  if (transport) {
    // Stop receiving first: no packet of this stream reaches the session after its removal.
    transport->close();
    std::lock_guard<std::mutex> lock(rx_mu_);
    if (receiver_)
      receiver_->detach(transport, remove);
    else
      remove();
  } else {
    remove();
  }
  if (fut.wait_for(std::chrono::milliseconds(timeout_ms)) != std::future_status::ready)
    return unavailable("remove_stream: the session's worker did not answer");
  Status s = fut.get();
  std::lock_guard<std::mutex> lock(mu_);
  release_session_locked(host->id(), true);
  return s;
}

Status CallManager::set_session_output(const std::string& connection_id, const SessionOutputConfig& output) {
  const uint32_t ip = ipv4_host_order(output.ip);
  if (ip == 0 || output.port == 0) return invalid_argument("session output: needs an IPv4 address and a port");
  if (output.audio_ssrc == 0) return invalid_argument("session output: audio_ssrc must not be 0");
  auto transport = LegTransport::create(&ports_, false);
  if (!transport.ok()) return transport.status();
  SessionOutput out;
  out.transport = std::move(*transport);
  out.destination = pack_addr(ip, output.port);
  out.audio_ssrc = output.audio_ssrc;
  out.audio_pt = output.audio_pt;
  out.video_ssrc = output.video_ssrc;
  out.video_pt = output.video_pt;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = call_by_connection_.find(connection_id);
  if (it == call_by_connection_.end()) return not_found("connectionId: no such call");
  auto& call = calls_.at(it->second);
  call->output = out.transport;
  auto host = call->host;
  const std::string id = call->info.ids.id;
  call->worker->post([host, id, out = std::move(out)]() mutable {
    if (host->session) host->outputs[id] = std::move(out);
  });
  return {};
}

Status CallManager::end_call(const std::string& connection_id, int code, const std::string& reason) {
  std::string call_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = call_by_connection_.find(connection_id);
    if (it == call_by_connection_.end()) return not_found("connectionId: no such call");
    auto& call = calls_.at(it->second);
    if (call->ending) return {};
    call->ending = true;
    call_id = it->second;
  }
  log_line(call_id, "ending: " + std::to_string(code) + " " + reason);
  sip_->hang_up(call_id, code, reason);
  return {};
}

Status CallManager::remove_stream(const std::shared_ptr<SessionStream>& stream, int timeout_ms) {
  if (!stream) return invalid_argument("stream: must be set");
  return remove_stream_from_session(stream->host_, stream->id(), nullptr, timeout_ms);
}

void CallManager::attach_leg(const std::shared_ptr<LegTransport>& t) {
  std::lock_guard<std::mutex> lock(rx_mu_);
  if (receiver_) receiver_->attach(t);
}

// ---- SIP events (SIP thread) --------------------------------------------------

void CallManager::set_state_locked(Call& call, CallState state, std::vector<CallInfo>& updates) {
  if (call.info.state == state) return;
  call.info.state = state;
  updates.push_back(call.info);
}

void CallManager::on_sip_ringing(const std::string& call_id) {
  std::vector<CallInfo> updates;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(call_id);
    if (it == calls_.end()) return;
    if (it->second->info.state == CallState::kDialing) set_state_locked(*it->second, CallState::kRinging, updates);
  }
  for (const auto& u : updates) observer_->on_call_updated(u);
}

// Points the transport at the negotiated address and, when the codecs or keys
// changed, replaces the leg in the session: detach from the receiver, then
// remove_leg/add_leg on the worker, then attach with the new handle.
void CallManager::apply_media_locked(Call& call, const Negotiated& n, bool reconfigure) {
  const uint32_t ip = ipv4_host_order(n.remote_ip);
  const uint32_t vip = n.video ? ipv4_host_order(n.remote_video_ip.empty() ? n.remote_ip : n.remote_video_ip) : 0;
  call.transport->set_remote(ip, n.remote_audio_port, n.remote_audio_rtcp_port, vip, n.video ? n.remote_video_port : 0,
                             n.video ? n.remote_video_rtcp_port : 0);
  call.transport->set_sending(n.remote_audio_port != 0 && n.remote_direction != MediaDirection::kSendOnly &&
                              n.remote_direction != MediaDirection::kInactive);
  if (!reconfigure) return;
  apply_to_leg(n, call.leg);
  // The sink tells the leg's video from its Opus stream by payload type.
  if (call.leg.video && call.leg.session_opus_payload_type == call.leg.video_payload_type)
    call.leg.session_opus_payload_type = call.leg.video_payload_type == 111 ? 110 : 111;
  auto t = call.transport;
  auto host = call.host;
  SessionWorker* worker = call.worker;
  const LegConfig cfg = call.leg;
  RtpReceiver* rx = receiver_.get();  // the SIP thread runs only while the receiver lives
  SipAgent* sip = sip_.get();
  CallManager* self = this;
  auto add = [t, host, worker, cfg, self, sip] {
    worker->post([t, host, cfg, self, sip] {
      if (!host->session) return;
      (void)host->session->remove_leg(cfg.id);
      auto h = host->session->add_leg(cfg);
      if (!h.ok()) {
        log_line(cfg.id, "add_leg: " + h.status().message());
        sip->hang_up(cfg.id, kReasonUnexpected, "the negotiated media could not be set up: " + h.status().message());
        return;
      }
      t->session = host->session.get();
      t->handle = *h;
      t->video_pt = cfg.video ? cfg.video_payload_type : -1;
      host->legs[cfg.id] = t;
      self->attach_leg(t);
    });
  };
  if (call.attached)
    rx->detach(t, add);
  else
    add();
  call.attached = true;
}

void CallManager::on_sip_answered(const std::string& call_id, const std::string& sdp_answer) {
  std::vector<CallInfo> updates;
  std::string failure;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(call_id);
    if (it == calls_.end()) return;
    Call& call = *it->second;
    auto parsed = parse_sdp(sdp_answer);
    StatusOr<Negotiated> n = parsed.ok() ? negotiate_answer(call.local, *parsed) : StatusOr<Negotiated>(parsed.status());
    if (!n.ok()) {
      failure = n.status().message();
      call.ending = true;
    } else {
      call.negotiated = *n;
      call.answered_ms = monotonic_ms();
      call.media_since_ms = call.answered_ms;
      apply_media_locked(call, *n, true);
      set_state_locked(call, n->on_hold() ? CallState::kOnHold : CallState::kActive, updates);
      log_line(call_id, std::string("active codec=") + to_string(n->audio_codec) + " pt=" + std::to_string(n->audio_pt) +
                            " remote=" + n->remote_ip + ":" + std::to_string(n->remote_audio_port) +
                            (n->secure ? " srtp=" + n->local_crypto.suite : ""));
    }
  }
  if (!failure.empty()) {
    log_line(call_id, "answer refused: " + failure);
    sip_->hang_up(call_id, 488, "Not Acceptable Here: " + failure);
    return;
  }
  for (const auto& u : updates) observer_->on_call_updated(u);
}

StatusOr<std::string> CallManager::on_sip_offer(const std::string& call_id, const std::string& sdp_offer) {
  std::vector<CallInfo> updates;
  std::string answer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(call_id);
    if (it == calls_.end()) return not_found("no such call");
    Call& call = *it->second;
    if (!call.negotiated) return invalid_argument("offer before the call was answered");
    ++call.local.version;
    if (sdp_offer.empty()) {
      // An INVITE without SDP asks us to offer: the same media again.
      return write_offer(call.local);
    }
    auto parsed = parse_sdp(sdp_offer);
    if (!parsed.ok()) return parsed.status();
    auto n = negotiate_offer(call.local, *call.negotiated, *parsed);
    if (!n.ok()) return n.status();
    const bool reconfigure = !n->same_media_config(*call.negotiated);
    const bool was_on_hold = call.info.state == CallState::kOnHold;
    call.negotiated = *n;
    apply_media_locked(call, *n, reconfigure);
    if (n->on_hold()) {
      set_state_locked(call, CallState::kOnHold, updates);
    } else {
      set_state_locked(call, CallState::kActive, updates);
      if (was_on_hold) call.media_since_ms = monotonic_ms();
    }
    answer = write_answer(call.local, *n);
    log_line(call_id, std::string("re-offer: ") + to_string(n->remote_direction) + " remote=" + n->remote_ip + ":" +
                          std::to_string(n->remote_audio_port) + (reconfigure ? " (leg reconfigured)" : ""));
  }
  for (const auto& u : updates) observer_->on_call_updated(u);
  return answer;
}

void CallManager::on_sip_ended(const std::string& call_id, int code, const std::string& reason) {
  std::shared_ptr<Call> call;
  bool destroy_host = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(call_id);
    if (it == calls_.end()) return;
    call = it->second;
    calls_.erase(it);
    call_by_connection_.erase(call->info.ids.connection_id);
    auto s = sessions_.find(call->info.session_id);
    if (s != sessions_.end() && --s->second.calls == 0 && s->second.streams == 0) {
      sessions_.erase(s);
      destroy_host = true;
    }
    call->info.state = CallState::kHangup;
  }
  log_line(call_id, "destroyed " + std::to_string(code) + " " + reason);
  observer_->on_call_updated(call->info);
  observer_->on_call_destroyed(call->info, code, reason);

  auto t = call->transport;
  auto host = call->host;
  SessionWorker* worker = call->worker;
  const std::string id = call_id;
  auto finish = [t, host, worker, id, destroy_host] {
    worker->post([t, host, worker, id, destroy_host] {
      if (host->session) (void)host->session->remove_leg(id);
      host->legs.erase(id);
      host->outputs.erase(id);
      if (destroy_host) {
        worker->remove_host(host.get());
        host->session.reset();
      }
    });
  };
  // Always through the receive thread: an attach may still be on its way there.
  t->close();
  receiver_->detach(t, finish);
  std::lock_guard<std::mutex> lock(mu_);
  if (calls_.empty()) calls_gone_.notify_all();
}

// ---- session events (worker threads) -------------------------------------------

void CallManager::on_session_event(const std::string& session_id, const Event& e) {
  std::optional<CallInfo> forced;
  if (e.type == Event::Type::kMuteChanged) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(e.id);
    if (it != calls_.end()) {
      it->second->info.muted = e.muted;
      if (e.cause == "moderator") forced = it->second->info;
    }
  }
  if (forced) observer_->on_mute_forced(*forced, e.muted);
  if (config_.event_hook) config_.event_hook(session_id, e);
}

// ---- timers ------------------------------------------------------------------

void CallManager::janitor() {
  while (!stop_janitor_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::vector<std::tuple<std::string, int, std::string>> to_end;
    const int64_t now = monotonic_ms();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [id, call] : calls_) {
        if (call->ending || call->answered_ms == 0) continue;
        if (now - call->answered_ms >= config_.max_duration_ms) {
          call->ending = true;
          to_end.emplace_back(id, kReasonMaxDuration,
                              "maximum call duration (" + std::to_string(config_.max_duration_ms / 1000) + " s) reached");
          continue;
        }
        if (call->info.state != CallState::kActive) continue;
        const int64_t last = std::max(call->transport->last_received_ms(), call->media_since_ms);
        if (now - last >= config_.media_timeout_ms) {
          call->ending = true;
          to_end.emplace_back(id, kReasonMediaTimeout,
                              "no media received for " + std::to_string(config_.media_timeout_ms / 1000.0).substr(0, 5) +
                                  " s");
        }
      }
    }
    for (auto& [id, code, reason] : to_end) sip_->hang_up(id, code, reason);
  }
}

}  // namespace sipmix::gw
