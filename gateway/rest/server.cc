#include "gateway/rest/server.h"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "gateway/core/ids.h"
#include "gateway/core/log.h"
#include "gateway/registry/registry.h"
#include "gateway/rest/jwt.h"
#include "gateway/rest/validate.h"
#include "gateway/rest/web.h"

namespace sipmix::gw {
namespace {

using json = nlohmann::ordered_json;  // keeps the client's header order and ours in answers

constexpr size_t kHttpThreads = 32;
constexpr const char* kNoCallLayer = "call layer not available";
constexpr const char* kNoSession = "The session does not exist.";
constexpr const char* kNoConnection = "The client specified by the connectionId property is not connected to the session.";
// Set on a request one node forwards to another: the receiver handles it
// itself and never forwards it again.
constexpr const char* kForwardedHeader = "X-Sipmix-Forwarded";
constexpr const char* kNodeHeader = "X-Sipmix-Node";  // the node that handled the request

int64_t unix_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void reply_error(httplib::Response& res, int code, const std::string& message) {
  res.status = code;
  if (code == 503 || code == 429) res.set_header("Retry-After", "1");
  res.set_content(json{{"code", code}, {"message", message}}.dump(), "application/json");
}

void reply_json(httplib::Response& res, int code, const json& body) {
  res.status = code;
  res.set_content(body.dump(), "application/json");
}

// Maps the call layer's Status onto the REST codes.
void reply_status(httplib::Response& res, const Status& s, const char* not_found_message) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument: reply_error(res, 400, s.message()); return;
    case StatusCode::kNotFound: reply_error(res, 404, not_found_message); return;
    case StatusCode::kUnavailable: reply_error(res, 503, s.message()); return;
    default: reply_error(res, 500, s.message()); return;
  }
}

// Percent-decoding for application/x-www-form-urlencoded bodies.
std::string form_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Parses a JSON object body; on failure answers 400 and returns nullopt.
std::optional<json> parse_object(httplib::Response& res, const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    reply_error(res, 400, "Invalid request: the body is not valid JSON");
    return std::nullopt;
  }
  if (!j.is_object()) {
    reply_error(res, 400, "Invalid request: the body must be a JSON object");
    return std::nullopt;
  }
  return j;
}

// The dial body, validated field by field; the Status names the bad field.
Status parse_dial(const json& j, DialRequest& d, std::string& token) {
  if (!j.contains("sessionId")) return invalid_argument("sessionId: is required");
  if (!j["sessionId"].is_string()) return invalid_argument("sessionId: must be a string");
  d.session_id = j["sessionId"].get<std::string>();
  if (Status s = validate_id(d.session_id, "sessionId"); !s.ok()) return s;
  if (!j.contains("token")) return invalid_argument("token: is required");
  if (!j["token"].is_string()) return invalid_argument("token: must be a string");
  token = j["token"].get<std::string>();
  if (token.empty()) return invalid_argument("token: is empty");
  if (!j.contains("sip")) return invalid_argument("sip: is required");
  const json& sip = j["sip"];
  if (!sip.is_object()) return invalid_argument("sip: must be an object");
  if (!sip.contains("uri")) return invalid_argument("sip.uri: is required");
  if (!sip["uri"].is_string()) return invalid_argument("sip.uri: must be a string");
  d.uri = sip["uri"].get<std::string>();
  if (auto u = parse_sip_uri(d.uri, "sip.uri"); !u.ok()) return u.status();
  if (sip.contains("from")) {
    if (!sip["from"].is_string()) return invalid_argument("sip.from: must be a string");
    d.from = sip["from"].get<std::string>();
    if (Status s = validate_sip_from(d.from, "sip.from"); !s.ok()) return s;
  }
  if (sip.contains("headers")) {
    const json& h = sip["headers"];
    if (!h.is_object()) return invalid_argument("sip.headers: must be an object of strings");
    if (h.size() > kMaxCustomHeaders) return invalid_argument("sip.headers: at most 32 headers");
    for (auto it = h.begin(); it != h.end(); ++it) {
      const std::string field = "sip.headers." + it.key();
      // The name is not echoed raw when it is what is wrong: it may hold CR/LF.
      if (Status s = validate_header_name(it.key(), "sip.headers"); !s.ok()) return s;
      if (!it.value().is_string()) return invalid_argument(field + ": must be a string");
      const std::string v = it.value().get<std::string>();
      if (Status s = validate_header_value(v, field); !s.ok()) return s;
      d.headers.emplace_back(it.key(), v);
    }
  }
  if (sip.contains("auth")) {
    const json& a = sip["auth"];
    if (!a.is_object()) return invalid_argument("sip.auth: must be an object {username, password}");
    if (!a.contains("username") || !a["username"].is_string() || a["username"].get<std::string>().empty()) {
      return invalid_argument("sip.auth.username: must be a non-empty string");
    }
    if (!a.contains("password") || !a["password"].is_string()) {
      return invalid_argument("sip.auth.password: must be a string");
    }
    d.auth_username = a["username"].get<std::string>();
    d.auth_password = a["password"].get<std::string>();
    if (Status s = validate_header_value(*d.auth_username, "sip.auth.username"); !s.ok()) return s;
    if (d.auth_username->size() > 256 || d.auth_password->size() > 256) {
      return invalid_argument("sip.auth: username and password are at most 256 characters");
    }
    for (char c : *d.auth_password) {
      if (c == '\r' || c == '\n' || c == '\0') return invalid_argument("sip.auth.password: must not contain CR, LF or NUL");
    }
  }
  for (const auto& [key, out] : {std::pair{"secure", &d.secure}, std::pair{"video", &d.video},
                                 std::pair{"observeForceMute", &d.observe_force_mute}}) {
    if (!sip.contains(key)) continue;
    if (!sip[key].is_boolean()) return invalid_argument(std::string("sip.") + key + ": must be true or false");
    *out = sip[key].get<bool>();
  }
  if (sip.contains("streams")) {
    const json& st = sip["streams"];
    if (!st.is_array()) return invalid_argument("sip.streams: must be an array of stream ids");
    for (const json& s : st) {
      if (!s.is_string()) return invalid_argument("sip.streams: must be an array of stream ids");
      if (Status v = validate_id(s.get<std::string>(), "sip.streams"); !v.ok()) return v;
      d.streams.push_back(s.get<std::string>());
    }
  }
  return Status();
}

}  // namespace

RestServer::RestServer(const Config& config, Calls* calls, CallbackOutbox* outbox)
    : config_(config),
      calls_(calls),
      outbox_(outbox),
      http_(std::make_unique<httplib::Server>()),
      dial_tokens_(config.dials_per_second) {
  routes();
}

RestServer::~RestServer() { stop(); }

Status RestServer::bind() {
  if (!http_->bind_to_port(config_.http.host.c_str(), config_.http.port)) {
    return unavailable("--http: cannot listen on " + config_.http.host + ":" + std::to_string(config_.http.port));
  }
  return Status();
}

void RestServer::start() {
  thread_ = std::thread([this] { http_->listen_after_bind(); });
}

void RestServer::stop() {
  http_->stop();
  if (thread_.joinable()) thread_.join();
}

void RestServer::set_draining() { draining_.store(true); }

size_t RestServer::live_calls() const {
  if (calls_ == nullptr) return 0;
  size_t n = 0;
  for (const std::string& sid : sessions_.ids()) {
    for (const CallInfo& c : calls_->calls_in_session(sid)) n += c.state != CallState::kHangup;
  }
  return n;
}

bool RestServer::authorize(const httplib::Request& req, httplib::Response& res, const std::string& project) {
  auto jwt = rest_jwt_from_headers(req.get_header_value("X-OPENTOK-AUTH"), req.get_header_value("X-VONAGE-AUTH"),
                                   req.get_header_value("Authorization"));
  if (!jwt) {
    reply_error(res, 403, "Authentication error: no JWT in X-OPENTOK-AUTH, X-VONAGE-AUTH or Authorization: Bearer");
    return false;
  }
  auto p = verify_rest_jwt(*jwt, config_.projects, project, unix_s());
  if (!p.ok()) {
    reply_error(res, 403, "Authentication error: " + p.status().message());
    return false;
  }
  return true;
}

bool RestServer::read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                           std::string& body) {
  const std::string too_large = "Request body is larger than " + std::to_string(config_.max_body_bytes) + " bytes";
  if (req.has_header("Content-Length")) {
    const std::string cl = req.get_header_value("Content-Length");
    char* end = nullptr;
    const unsigned long long n = std::strtoull(cl.c_str(), &end, 10);
    if (end == cl.c_str() || *end != '\0' || n > config_.max_body_bytes) {
      res.set_header("Connection", "close");  // the body stays unread
      reply_error(res, 413, too_large);
      return false;
    }
  }
  // Without a length or chunked encoding there is no body (a bare POST).
  if (!req.has_header("Content-Length") && req.get_header_value("Transfer-Encoding").find("chunked") == std::string::npos) {
    return true;
  }
  bool over = false;
  reader([&](const char* data, size_t len) {
    if (body.size() + len > config_.max_body_bytes) {
      over = true;
      return false;
    }
    body.append(data, len);
    return true;
  });
  if (over) {
    res.set_header("Connection", "close");
    reply_error(res, 413, too_large);
    return false;
  }
  return true;
}

bool RestServer::known_session(httplib::Response& res, const std::string& project, const std::string& session_id,
                               SessionEntry* entry) {
  if (Status s = validate_id(session_id, "sessionId"); !s.ok()) {
    reply_error(res, 400, s.message());
    return false;
  }
  auto e = sessions_.find(session_id);
  if (!e && registry_ != nullptr) {
    // Made through another node: the registry has it.
    auto r = registry_->find_session(session_id);
    if (!r.ok()) {
      reply_error(res, 503, r.status().message());
      return false;
    }
    if (r->has_value()) {
      e = SessionEntry{(*r)->project_id, (*r)->relayed, (*r)->created_at_ms};
      sessions_.add(session_id, *e);
    }
  }
  if (!e || e->project_id != project) {
    reply_error(res, 404, kNoSession);
    return false;
  }
  if (entry != nullptr) *entry = *e;
  return true;
}

bool RestServer::take_dial_token() {
  std::lock_guard<std::mutex> lock(rate_mu_);
  const int64_t now = steady_us();
  if (dial_tokens_at_us_ != 0) {
    dial_tokens_ = std::min<double>(config_.dials_per_second,
                                    dial_tokens_ + (now - dial_tokens_at_us_) * 1e-6 * config_.dials_per_second);
  }
  dial_tokens_at_us_ = now;
  if (dial_tokens_ < 1.0) return false;
  dial_tokens_ -= 1.0;
  return true;
}

void RestServer::forward(const httplib::Request& req, const std::string& body, httplib::Response& res,
                         const NodeInfo& node) {
  httplib::Client cli(node.internal_url);
  cli.set_connection_timeout(2);
  cli.set_read_timeout(10);
  httplib::Headers headers = {{kForwardedHeader, registry_->node_id()}};
  for (const char* h : {"X-OPENTOK-AUTH", "X-VONAGE-AUTH", "Authorization"}) {
    if (req.has_header(h)) headers.emplace(h, req.get_header_value(h));
  }
  std::string content_type = req.get_header_value("Content-Type");
  if (content_type.empty()) content_type = "application/json";
  httplib::Result r = req.method == "GET"      ? cli.Get(req.path, headers)
                      : req.method == "DELETE" ? cli.Delete(req.path, headers, body, content_type)
                                               : cli.Post(req.path, headers, body, content_type);
  if (!r) {
    log_event(LogLevel::kWarn, "forward.failed", "", {{"node", node.id}, {"path", req.path}});
    return reply_error(res, 503, "the node that holds this request's call (" + node.id + ") cannot be reached");
  }
  res.status = r->status;
  for (const char* h : {"X-Sipmix-Call-Id", "Retry-After", kNodeHeader}) {
    if (r->has_header(h)) res.set_header(h, r->get_header_value(h));
  }
  if (!r->body.empty()) res.set_content(r->body, r->get_header_value("Content-Type"));
}

bool RestServer::route_connection(const httplib::Request& req, const std::string& body, httplib::Response& res,
                                  const std::string& session_id, const std::string& connection_id) {
  if (registry_ == nullptr || req.has_header(kForwardedHeader)) return false;
  if (calls_ != nullptr && calls_->find(session_id, connection_id)) return false;
  auto route = registry_->connection_owner(connection_id);
  if (!route.ok()) {
    reply_error(res, 503, route.status().message());
    return true;
  }
  if (route->kind != Route::Kind::kRemote) return false;  // here, or nowhere: answered here (404)
  forward(req, body, res, route->node);
  return true;
}

bool RestServer::route_session(const httplib::Request& req, const std::string& body, httplib::Response& res,
                               const std::string& session_id) {
  if (registry_ == nullptr || req.has_header(kForwardedHeader)) return false;
  // A session's legs are all on its owner: a node with one of them is it
  // (and answers without Redis, degraded mode included).
  if (calls_ != nullptr && !calls_->calls_in_session(session_id).empty()) return false;
  auto route = registry_->session_owner(session_id);
  if (!route.ok()) {
    reply_error(res, 503, route.status().message());
    return true;
  }
  if (route->kind != Route::Kind::kRemote) return false;
  forward(req, body, res, route->node);
  return true;
}

void RestServer::routes() {
  httplib::Server& s = *http_;
  // Larger bodies are refused by the handlers (413 after the JWT check);
  // this bound only protects routes that take no body.
  s.set_payload_max_length(config_.max_body_bytes);
  // A kept-alive connection holds a worker: enough workers that a burst of
  // clients (50 dials at once) is not served one batch of 8 at a time.
  s.new_task_queue = [] { return new httplib::ThreadPool(kHttpThreads); };
  s.set_keep_alive_timeout(2);
  s.set_read_timeout(10, 0);
  s.set_write_timeout(10, 0);
  s.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const char* msg = res.status == 404   ? "Not found."
                      : res.status == 413 ? "Request body too large"
                      : res.status == 405 ? "Method not allowed."
                                          : "Request failed";
    res.set_content(json{{"code", res.status}, {"message", msg}}.dump(), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    reply_error(res, 500, "Internal error");
  });
  // Counted before the response is written, so a client that reads
  // /metrics after its answer sees it counted.
  s.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // An oversized body left unread after a 413 reaches httplib as a
    // malformed request (no method): not a request of its own.
    if (!req.method.empty() && res.status >= 0 && res.status < 600) responses_by_code_[res.status].fetch_add(1);
  });
  s.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    if (req.method.empty()) return;
    if (req.path == "/healthz" || req.path == "/metrics") return;
    log_event(res.status >= 500 ? LogLevel::kWarn : LogLevel::kInfo, "http.request",
              res.get_header_value("X-Sipmix-Call-Id"),
              {{"method", req.method}, {"path", req.path}, {"status", std::to_string(res.status)}});
  });

  const std::string project = "/v2/project/([^/]+)";
  const std::string session = project + "/session/([^/]+)";
  s.Post(project + "/dial",
         [this](const httplib::Request& q, httplib::Response& r, const httplib::ContentReader& c) { handle_dial(q, r, c); });
  s.Post("/session/create", [this](const httplib::Request& q, httplib::Response& r, const httplib::ContentReader& c) {
    handle_session_create(q, r, c);
  });
  s.Delete(session + "/connection/([^/]+)",
           [this](const httplib::Request& q, httplib::Response& r) { handle_delete_connection(q, r); });
  s.Get(session + "/connection/([^/]+)",
        [this](const httplib::Request& q, httplib::Response& r) { handle_get_connection(q, r); });
  s.Post(session + "/mute", [this](const httplib::Request& q, httplib::Response& r, const httplib::ContentReader& c) {
    handle_session_mute(q, r, c);
  });
  s.Post(session + "/stream/([^/]+)/mute",
         [this](const httplib::Request& q, httplib::Response& r, const httplib::ContentReader& c) {
           handle_stream_mute(q, r, c);
         });
  s.Post(session + "/play-dtmf",
         [this](const httplib::Request& q, httplib::Response& r, const httplib::ContentReader& c) {
           handle_play_dtmf(q, r, c, false);
         });
  s.Post(session + "/connection/([^/]+)/play-dtmf",
         [this](const httplib::Request& q, httplib::Response& r, const httplib::ContentReader& c) {
           handle_play_dtmf(q, r, c, true);
         });
  s.Get("/healthz", [this](const httplib::Request&, httplib::Response& r) { handle_healthz(r); });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& r) { handle_metrics(r); });
  add_web_routes(s, config_);
}

void RestServer::handle_dial(const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& reader) {
  const std::string project = req.matches[1];
  if (!authorize(req, res, project)) return;
  std::string body;
  if (!read_body(req, res, reader, body)) return;
  ++dials_rejected_;  // until accepted below
  if (draining()) return reply_error(res, 503, "sipmixd is shutting down and takes no new calls");
  auto j = parse_object(res, body);
  if (!j) return;
  DialRequest d;
  d.project_id = project;
  std::string token;
  if (Status s = parse_dial(*j, d, token); !s.ok()) return reply_error(res, 400, s.message());
  SessionEntry entry;
  if (!known_session(res, project, d.session_id, &entry)) return;
  if (entry.relayed) {
    return reply_error(res, 409, "Only routed sessions are supported: this session does not use the media router.");
  }
  auto t = verify_client_token(token, project, config_.projects.at(project), d.session_id, unix_s());
  if (!t.ok()) return reply_error(res, 400, t.status().message());
  d.connection_data = t->connection_data;
  std::optional<Registry::MuteState> mute;
  if (registry_ != nullptr) {
    // Every leg of a session runs on the node holding its lease; a new
    // session goes to the least-loaded live node. A forwarded dial was
    // routed here: it runs here or nowhere.
    const bool forwarded = req.has_header(kForwardedHeader);
    auto route = registry_->route_session_for_dial(d.session_id, forwarded);
    if (!route.ok()) return reply_error(res, 503, route.status().message());
    if (route->kind == Route::Kind::kRemote) {
      if (forwarded) {
        return reply_error(res, 503, "the session moved to node " + route->node.id + " meanwhile; retry the dial");
      }
      --dials_rejected_;  // counted by the node that takes it
      return forward(req, body, res, route->node);
    }
    res.set_header(kNodeHeader, registry_->node_id());
    auto m = registry_->session_mute(d.session_id);
    if (!m.ok()) return reply_error(res, 503, m.status().message());
    mute = *m;
  }
  if (live_calls() >= static_cast<size_t>(config_.max_calls)) {
    return reply_error(res, 503, "sipmixd is at its limit of " + std::to_string(config_.max_calls) + " calls");
  }
  if (!take_dial_token()) return reply_error(res, 429, "Too many dials per second");
  if (calls_ == nullptr) return reply_error(res, 503, kNoCallLayer);
  CallIds ids{new_uuid_v4(), new_uuid_v4(), new_uuid_v4()};
  log_event(LogLevel::kInfo, "dial", ids.id,
            {{"session", d.session_id}, {"connection", ids.connection_id}, {"uri", d.uri},
             {"secure", d.secure ? "true" : "false"}, {"video", d.video ? "true" : "false"}});
  if (Status s = calls_->dial(ids, d); !s.ok()) {
    log_event(LogLevel::kWarn, "dial.refused", ids.id, {{"reason", s.message()}});
    return reply_status(res, s, kNoSession);
  }
  if (mute && mute->active &&
      std::find(mute->excluded.begin(), mute->excluded.end(), ids.stream_id) == mute->excluded.end()) {
    // The session's force mute, set through any node, covers streams that join later.
    (void)calls_->force_mute(d.session_id, ids.connection_id, true);
  }
  --dials_rejected_;
  ++dials_accepted_;
  res.set_header("X-Sipmix-Call-Id", ids.id);
  reply_json(res, 200, {{"id", ids.id}, {"connectionId", ids.connection_id}, {"streamId", ids.stream_id}});
}

void RestServer::handle_session_create(const httplib::Request& req, httplib::Response& res,
                                       const httplib::ContentReader& reader) {
  auto jwt = rest_jwt_from_headers(req.get_header_value("X-OPENTOK-AUTH"), req.get_header_value("X-VONAGE-AUTH"),
                                   req.get_header_value("Authorization"));
  if (!jwt) return reply_error(res, 403, "Authentication error: no JWT in X-OPENTOK-AUTH, X-VONAGE-AUTH or Authorization: Bearer");
  auto project = verify_rest_jwt(*jwt, config_.projects, "", unix_s());
  if (!project.ok()) return reply_error(res, 403, "Authentication error: " + project.status().message());
  std::string body;
  if (!read_body(req, res, reader, body)) return;
  std::string p2p = "disabled";
  if (req.get_header_value("Content-Type").rfind("application/json", 0) == 0) {
    auto j = parse_object(res, body.empty() ? "{}" : body);
    if (!j) return;
    if (j->contains("p2p.preference")) {
      if (!(*j)["p2p.preference"].is_string()) return reply_error(res, 400, "p2p.preference: must be a string");
      p2p = (*j)["p2p.preference"].get<std::string>();
    }
  } else {
    std::string_view rest = body;
    while (!rest.empty()) {
      const size_t amp = rest.find('&');
      std::string_view kv = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      const size_t eq = kv.find('=');
      if (form_decode(kv.substr(0, eq)) == "p2p.preference" && eq != std::string_view::npos) {
        p2p = form_decode(kv.substr(eq + 1));
      }
    }
  }
  if (p2p != "enabled" && p2p != "disabled") {
    return reply_error(res, 400, "p2p.preference: must be \"enabled\" or \"disabled\"");
  }
  const std::string sid = new_uuid_v4();
  const bool relayed = p2p == "enabled";
  SessionEntry e{*project, relayed, unix_ms()};
  if (!relayed && calls_ != nullptr) {
    if (Status s = calls_->open_session(*project, sid); !s.ok()) {
      log_event(LogLevel::kWarn, "session.create_failed", "", {{"session", sid}, {"reason", s.message()}});
      return reply_error(res, 503, "Cannot create the session: " + s.message());
    }
  }
  sessions_.add(sid, e);
  if (registry_ != nullptr) registry_->add_session(sid, e.project_id, e.relayed, e.created_at_ms);
  log_event(LogLevel::kInfo, "session.created", "", {{"session", sid}, {"project", *project},
                                                     {"relayed", relayed ? "true" : "false"}});
  reply_json(res, 200,
             json::array({{{"session_id", sid},
                           {"project_id", *project},
                           {"partner_id", *project},
                           {"create_dt", e.created_at_ms},
                           {"media_server_url", ""}}}));
}

void RestServer::handle_delete_connection(const httplib::Request& req, httplib::Response& res) {
  const std::string project = req.matches[1], sid = req.matches[2], cid = req.matches[3];
  if (!authorize(req, res, project)) return;
  if (Status s = validate_id(cid, "connectionId"); !s.ok()) return reply_error(res, 400, s.message());
  if (!known_session(res, project, sid)) return;
  if (route_connection(req, "", res, sid, cid)) return;
  if (calls_ == nullptr) return reply_error(res, 404, kNoConnection);
  if (Status s = calls_->hang_up(sid, cid); !s.ok()) return reply_status(res, s, kNoConnection);
  log_event(LogLevel::kInfo, "hang_up.requested", "", {{"session", sid}, {"connection", cid}});
  res.status = 204;
}

void RestServer::handle_get_connection(const httplib::Request& req, httplib::Response& res) {
  const std::string project = req.matches[1], sid = req.matches[2], cid = req.matches[3];
  if (!authorize(req, res, project)) return;
  if (Status s = validate_id(cid, "connectionId"); !s.ok()) return reply_error(res, 400, s.message());
  if (!known_session(res, project, sid)) return;
  if (route_connection(req, "", res, sid, cid)) return;
  std::optional<CallInfo> c = calls_ == nullptr ? std::nullopt : calls_->find(sid, cid);
  if (!c) return reply_error(res, 404, kNoConnection);
  reply_json(res, 200,
             {{"id", c->ids.id},
              {"connectionId", c->ids.connection_id},
              {"streamId", c->ids.stream_id},
              {"sessionId", c->session_id},
              {"projectId", c->project_id},
              {"state", to_string(c->state)},
              {"muted", c->muted},
              {"connectionData", c->connection_data},
              {"createdAt", c->created_at_ms}});
}

void RestServer::handle_session_mute(const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader) {
  const std::string project = req.matches[1], sid = req.matches[2];
  if (!authorize(req, res, project)) return;
  std::string body;
  if (!read_body(req, res, reader, body)) return;
  auto j = parse_object(res, body);
  if (!j) return;
  if (!j->contains("active") || !(*j)["active"].is_boolean()) {
    return reply_error(res, 400, "active: is required and must be true or false");
  }
  const bool active = (*j)["active"].get<bool>();
  std::vector<std::string> excluded;
  // The documented key, the Python SDK's, and the Node SDK's misspelling.
  for (const char* key : {"excludedStreamIds", "excludedStreams", "excudedStreamIds"}) {
    if (!j->contains(key) || (*j)[key].is_null()) continue;
    const json& a = (*j)[key];
    if (!a.is_array()) return reply_error(res, 400, std::string(key) + ": must be an array of stream ids");
    for (const json& s : a) {
      if (!s.is_string()) return reply_error(res, 400, std::string(key) + ": must be an array of stream ids");
      if (Status v = validate_id(s.get<std::string>(), key); !v.ok()) return reply_error(res, 400, v.message());
      excluded.push_back(s.get<std::string>());
    }
  }
  if (!known_session(res, project, sid)) return;
  if (route_session(req, body, res, sid)) return;
  if (calls_ == nullptr) return reply_error(res, 503, kNoCallLayer);
  if (Status s = calls_->mute_session(sid, active, excluded); !s.ok()) return reply_status(res, s, kNoSession);
  if (registry_ != nullptr) registry_->set_session_mute(sid, active, excluded);
  log_event(LogLevel::kInfo, "session.mute", "", {{"session", sid}, {"active", active ? "true" : "false"}});
  reply_json(res, 200, {{"projectId", project}, {"sessionId", sid}, {"active", active}, {"excludedStreamIds", excluded}});
}

void RestServer::handle_stream_mute(const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& reader) {
  const std::string project = req.matches[1], sid = req.matches[2], stid = req.matches[3];
  if (!authorize(req, res, project)) return;
  std::string body;
  if (!read_body(req, res, reader, body)) return;  // no body is expected; any is ignored
  if (Status s = validate_id(stid, "streamId"); !s.ok()) return reply_error(res, 400, s.message());
  if (!known_session(res, project, sid)) return;
  if (route_session(req, body, res, sid)) return;
  if (calls_ == nullptr) return reply_error(res, 503, kNoCallLayer);
  if (Status s = calls_->mute_stream(sid, stid); !s.ok()) {
    return reply_status(res, s, "Not found. The session or stream is not found");
  }
  log_event(LogLevel::kInfo, "stream.mute", "", {{"session", sid}, {"stream", stid}});
  reply_json(res, 200, {{"projectId", project}, {"sessionId", sid}, {"streamId", stid}});
}

void RestServer::handle_play_dtmf(const httplib::Request& req, httplib::Response& res,
                                  const httplib::ContentReader& reader, bool one_connection) {
  const std::string project = req.matches[1], sid = req.matches[2];
  const std::string cid = one_connection ? std::string(req.matches[3]) : std::string();
  if (!authorize(req, res, project)) return;
  std::string body;
  if (!read_body(req, res, reader, body)) return;
  auto j = parse_object(res, body);
  if (!j) return;
  if (!j->contains("digits") || !(*j)["digits"].is_string()) {
    return reply_error(res, 400, "digits: is required and must be a string");
  }
  const std::string digits = (*j)["digits"].get<std::string>();
  if (Status s = validate_dtmf_digits(digits, "digits"); !s.ok()) return reply_error(res, 400, s.message());
  if (one_connection) {
    if (Status s = validate_id(cid, "connectionId"); !s.ok()) return reply_error(res, 400, s.message());
  }
  if (!known_session(res, project, sid)) return;
  if (one_connection ? route_connection(req, body, res, sid, cid) : route_session(req, body, res, sid)) return;
  const char* not_found =
      "The session does not exists or the client specified by the connection_id is not connected to the session";
  if (one_connection) {
    if (calls_ == nullptr) return reply_error(res, 404, not_found);
    if (Status s = calls_->play_dtmf(sid, cid, digits); !s.ok()) return reply_status(res, s, not_found);
  } else if (calls_ != nullptr) {
    for (const CallInfo& c : calls_->calls_in_session(sid)) {
      Status s = calls_->play_dtmf(sid, c.ids.connection_id, digits);
      if (!s.ok() && s.code() != StatusCode::kNotFound) return reply_status(res, s, not_found);
    }
  }
  log_event(LogLevel::kInfo, "play_dtmf", "", {{"session", sid}, {"connection", cid}, {"digits", digits}});
  res.status = 200;
}

void RestServer::handle_healthz(httplib::Response& res) {
  if (draining()) return reply_error(res, 503, "draining");
  if (calls_ == nullptr) return reply_error(res, 503, kNoCallLayer);
  reply_json(res, 200, {{"status", "ok"}});
}

void RestServer::handle_metrics(httplib::Response& res) {
  std::string out;
  auto line = [&out](const std::string& s) {
    out += s;
    out.push_back('\n');
  };
  std::array<uint64_t, 5> by_state{};
  if (calls_ != nullptr) {
    for (const std::string& sid : sessions_.ids()) {
      for (const CallInfo& c : calls_->calls_in_session(sid)) ++by_state[static_cast<size_t>(c.state)];
    }
  }
  line("# HELP sipmix_calls Calls by state.");
  line("# TYPE sipmix_calls gauge");
  for (CallState st : {CallState::kDialing, CallState::kRinging, CallState::kActive, CallState::kOnHold,
                       CallState::kHangup}) {
    line(std::string("sipmix_calls{state=\"") + to_string(st) + "\"} " +
         std::to_string(by_state[static_cast<size_t>(st)]));
  }
  line("# HELP sipmix_sessions Sessions created through POST /session/create.");
  line("# TYPE sipmix_sessions gauge");
  line("sipmix_sessions " + std::to_string(sessions_.size()));
  line("# HELP sipmix_dials_total Dial requests by result.");
  line("# TYPE sipmix_dials_total counter");
  line("sipmix_dials_total{result=\"accepted\"} " + std::to_string(dials_accepted_.load()));
  line("sipmix_dials_total{result=\"rejected\"} " + std::to_string(dials_rejected_.load()));
  line("# HELP sipmix_http_responses_total REST responses by status code.");
  line("# TYPE sipmix_http_responses_total counter");
  for (size_t code = 100; code < responses_by_code_.size(); ++code) {
    const uint64_t n = responses_by_code_[code].load();
    if (n != 0) line("sipmix_http_responses_total{code=\"" + std::to_string(code) + "\"} " + std::to_string(n));
  }
  if (outbox_ != nullptr) {
    line("# HELP sipmix_mute_changes_total Force-mute changes reported by the call layer.");
    line("# TYPE sipmix_mute_changes_total counter");
    line("sipmix_mute_changes_total " + std::to_string(outbox_->mute_changes()));
    line("# HELP sipmix_callbacks_total Monitoring callbacks by outcome.");
    line("# TYPE sipmix_callbacks_total counter");
    line("sipmix_callbacks_total{outcome=\"delivered\"} " + std::to_string(outbox_->delivered()));
    line("sipmix_callbacks_total{outcome=\"failed\"} " + std::to_string(outbox_->failed()));
    line("sipmix_callbacks_total{outcome=\"dropped\"} " + std::to_string(outbox_->dropped()));
    line("sipmix_callbacks_total{outcome=\"retried\"} " + std::to_string(outbox_->retries()));
    line("# HELP sipmix_callbacks_queued Monitoring callbacks waiting to be sent.");
    line("# TYPE sipmix_callbacks_queued gauge");
    line("sipmix_callbacks_queued " + std::to_string(outbox_->queued()));
  }
  line("# HELP sipmix_draining 1 once SIGTERM was received.");
  line("# TYPE sipmix_draining gauge");
  line(std::string("sipmix_draining ") + (draining() ? "1" : "0"));
  line("# HELP sipmix_call_layer_available 1 when this build has a call layer.");
  line("# TYPE sipmix_call_layer_available gauge");
  line(std::string("sipmix_call_layer_available ") + (calls_ != nullptr ? "1" : "0"));
  if (registry_ != nullptr) {
    line("# HELP sipmix_registry_connected 1 while the cluster registry (Redis) answers; 0: degraded, no new dials.");
    line("# TYPE sipmix_registry_connected gauge");
    line(std::string("sipmix_registry_connected ") + (registry_->connected() ? "1" : "0"));
  }
  if (calls_ != nullptr) calls_->append_metrics(out);
  res.status = 200;
  res.set_content(out, "text/plain; version=0.0.4");
}

}  // namespace sipmix::gw
