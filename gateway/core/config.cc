#include "gateway/core/config.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <charconv>
#include <filesystem>
#include <fstream>

namespace sipmix::gw {
namespace {

using json = nlohmann::json;

std::string cat(std::string_view a, std::string_view b) {
  std::string s(a);
  s.append(b);
  return s;
}

bool parse_uint(std::string_view s, unsigned long& out) {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool valid_host(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

bool valid_http_url(std::string_view u) {
  if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0) return false;
  for (char c : u) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return u.size() > std::string_view(u.rfind("https://", 0) == 0 ? "https://" : "http://").size();
}

Status check_range(long v, long lo, long hi, std::string_view field) {
  if (v < lo || v > hi) {
    return invalid_argument(cat(field, ": must be " + std::to_string(lo) + ".." + std::to_string(hi)));
  }
  return Status();
}

Status parse_rtp_ports(std::string_view s, std::string_view field, Config& c) {
  const size_t dash = s.find('-');
  unsigned long lo = 0, hi = 0;
  if (dash == std::string_view::npos || !parse_uint(s.substr(0, dash), lo) || !parse_uint(s.substr(dash + 1), hi)) {
    return invalid_argument(cat(field, ": expected MIN-MAX, got '" + std::string(s) + "'"));
  }
  if (lo < 1024 || hi > 65535 || lo >= hi) {
    return invalid_argument(cat(field, ": need 1024 <= MIN < MAX <= 65535, got '" + std::string(s) + "'"));
  }
  c.rtp_port_min = static_cast<uint16_t>(lo);
  c.rtp_port_max = static_cast<uint16_t>(hi);
  return Status();
}

// Typed getters for the config file: each error names the key path.
Status get_string(const json& obj, const char* key, std::string_view path, std::string& out) {
  if (!obj.contains(key)) return Status();
  if (!obj[key].is_string()) return invalid_argument(cat(path, ": must be a string"));
  out = obj[key].get<std::string>();
  return Status();
}

Status get_int(const json& obj, const char* key, std::string_view path, long lo, long hi, long& out, bool& given) {
  given = false;
  if (!obj.contains(key)) return Status();
  if (!obj[key].is_number_integer()) return invalid_argument(cat(path, ": must be an integer"));
  const long v = obj[key].get<long>();
  if (Status s = check_range(v, lo, hi, path); !s.ok()) return s;
  out = v;
  given = true;
  return Status();
}

Status reject_unknown(const json& obj, std::initializer_list<const char*> known, std::string_view prefix) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    if (!ok) return invalid_argument(cat(prefix, it.key() + ": unknown key"));
  }
  return Status();
}

constexpr long kMaxCallsLimit = 100000;

}  // namespace

StatusOr<HostPort> parse_host_port(std::string_view s, std::string_view field) {
  const size_t colon = s.rfind(':');
  unsigned long port = 0;
  if (colon == std::string_view::npos || !parse_uint(s.substr(colon + 1), port) || port == 0 || port > 65535 ||
      !valid_host(s.substr(0, colon))) {
    return invalid_argument(cat(field, ": expected HOST:PORT with a port 1..65535, got '" + std::string(s) + "'"));
  }
  std::string host(s.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return HostPort{host, static_cast<uint16_t>(port)};
}

StatusOr<std::pair<std::string, std::string>> parse_project(std::string_view s, std::string_view field) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 64 || colon + 1 == s.size()) {
    // Never echo the value: it holds a secret.
    return invalid_argument(cat(field, ": expected ID:SECRET (id 1..64 characters, secret not empty)"));
  }
  for (char c : s.substr(0, colon)) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      return invalid_argument(cat(field, ": the project id may hold only A-Z a-z 0-9 _ -"));
    }
  }
  return std::pair{std::string(s.substr(0, colon)), std::string(s.substr(colon + 1))};
}

std::string default_web_root() {
#ifdef SIPMIX_SOURCE_WEB_ROOT
  std::error_code ec;
  if (std::filesystem::is_regular_file(std::filesystem::path(SIPMIX_SOURCE_WEB_ROOT) / "index.html", ec)) {
    return SIPMIX_SOURCE_WEB_ROOT;
  }
#endif
  return "";
}

Status load_config_file(const std::string& path, Config& c) {
  std::ifstream in(path);
  if (!in) return invalid_argument("--config: cannot read '" + path + "'");
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (j.is_discarded()) return invalid_argument(path + ": not valid JSON");
  if (!j.is_object()) return invalid_argument(path + ": must be a JSON object");
  const std::string p = path + ": ";
  if (Status s = reject_unknown(j,
                                {"http", "sip", "rtp_ports", "janus", "projects", "callback_url", "tls", "proxy",
                                 "limits", "web"},
                                p);
      !s.ok()) {
    return s;
  }
  std::string v;
  if (Status s = get_string(j, "http", p + "http", v); !s.ok()) return s;
  if (!v.empty()) {
    auto hp = parse_host_port(v, p + "http");
    if (!hp.ok()) return hp.status();
    c.http = *hp;
  }
  v.clear();
  if (Status s = get_string(j, "sip", p + "sip", v); !s.ok()) return s;
  if (!v.empty()) {
    auto hp = parse_host_port(v, p + "sip");
    if (!hp.ok()) return hp.status();
    c.sip = *hp;
  }
  v.clear();
  if (Status s = get_string(j, "rtp_ports", p + "rtp_ports", v); !s.ok()) return s;
  if (!v.empty()) {
    if (Status s = parse_rtp_ports(v, p + "rtp_ports", c); !s.ok()) return s;
  }
  if (j.contains("janus")) {
    const json& jj = j["janus"];
    if (!jj.is_object()) return invalid_argument(p + "janus: must be an object {url, secret, admin_key, room_secret}");
    if (Status s = reject_unknown(jj, {"url", "secret", "admin_key", "room_secret"}, p + "janus."); !s.ok()) return s;
    if (Status s = get_string(jj, "url", p + "janus.url", c.janus_url); !s.ok()) return s;
    if (Status s = get_string(jj, "secret", p + "janus.secret", c.janus_secret); !s.ok()) return s;
    if (Status s = get_string(jj, "admin_key", p + "janus.admin_key", c.janus_admin_key); !s.ok()) return s;
    if (Status s = get_string(jj, "room_secret", p + "janus.room_secret", c.janus_room_secret); !s.ok()) return s;
  }
  if (j.contains("projects")) {
    const json& jp = j["projects"];
    if (!jp.is_object()) return invalid_argument(p + "projects: must be an object {\"ID\": \"SECRET\"}");
    for (auto it = jp.begin(); it != jp.end(); ++it) {
      if (!it.value().is_string()) return invalid_argument(p + "projects." + it.key() + ": must be a string");
      auto pr = parse_project(it.key() + ":" + it.value().get<std::string>(), p + "projects." + it.key());
      if (!pr.ok()) return pr.status();
      c.projects[pr->first] = pr->second;
    }
  }
  if (Status s = get_string(j, "callback_url", p + "callback_url", c.callback_url); !s.ok()) return s;
  if (Status s = get_string(j, "proxy", p + "proxy", c.proxy); !s.ok()) return s;
  if (j.contains("tls")) {
    const json& jt = j["tls"];
    if (!jt.is_object()) return invalid_argument(p + "tls: must be an object {ca, cert}");
    if (Status s = reject_unknown(jt, {"ca", "cert"}, p + "tls."); !s.ok()) return s;
    if (Status s = get_string(jt, "ca", p + "tls.ca", c.tls_ca); !s.ok()) return s;
    if (Status s = get_string(jt, "cert", p + "tls.cert", c.tls_cert); !s.ok()) return s;
  }
  if (j.contains("web")) {
    const json& jw = j["web"];
    if (!jw.is_object()) return invalid_argument(p + "web: must be an object {root, janus_url, demo_project}");
    if (Status s = reject_unknown(jw, {"root", "janus_url", "demo_project"}, p + "web."); !s.ok()) return s;
    if (Status s = get_string(jw, "root", p + "web.root", c.web_root); !s.ok()) return s;
    if (Status s = get_string(jw, "janus_url", p + "web.janus_url", c.web_janus_url); !s.ok()) return s;
    if (Status s = get_string(jw, "demo_project", p + "web.demo_project", c.web_demo_project); !s.ok()) return s;
  }
  if (j.contains("limits")) {
    const json& jl = j["limits"];
    if (!jl.is_object()) return invalid_argument(p + "limits: must be an object");
    if (Status s = reject_unknown(jl,
                                  {"max_calls", "dials_per_second", "max_body_bytes", "max_call_duration_s",
                                   "media_timeout_s", "drain_timeout_s"},
                                  p + "limits.");
        !s.ok()) {
      return s;
    }
    long n = 0;
    bool given = false;
    struct IntKey {
      const char* key;
      long lo, hi;
      int* out;
    };
    for (const IntKey& k : {IntKey{"max_calls", 1, kMaxCallsLimit, &c.max_calls},
                            IntKey{"dials_per_second", 1, 10000, &c.dials_per_second},
                            IntKey{"max_call_duration_s", 1, 7 * 24 * 3600, &c.max_call_duration_s},
                            IntKey{"media_timeout_s", 1, 24 * 3600, &c.media_timeout_s},
                            IntKey{"drain_timeout_s", 0, 24 * 3600, &c.drain_timeout_s}}) {
      if (Status s = get_int(jl, k.key, p + "limits." + k.key, k.lo, k.hi, n, given); !s.ok()) return s;
      if (given) *k.out = static_cast<int>(n);
    }
    if (Status s = get_int(jl, "max_body_bytes", p + "limits.max_body_bytes", 256, 16 << 20, n, given); !s.ok()) {
      return s;
    }
    if (given) c.max_body_bytes = static_cast<size_t>(n);
  }
  return Status();
}

void ConfigFlags::add_to(CLI::App& app) {
  given_["--config"] = app.add_option("--config", config_path_,
                                      "JSON configuration file (docs/gateway.md, \"Configuration\"); the flags "
                                      "below override its keys");
  given_["--http"] = app.add_option("--http", http_, "REST API listen address HOST:PORT (default 127.0.0.1:8080)");
  given_["--sip"] = app.add_option("--sip", sip_,
                                   "SIP listen address HOST:PORT for UDP and TCP (default 127.0.0.1:5060)");
  given_["--rtp-ports"] = app.add_option("--rtp-ports", rtp_ports_,
                                         "UDP port range MIN-MAX for the calls' RTP/RTCP pairs (default 20000-29999)");
  given_["--janus"] = app.add_option("--janus", janus_,
                                     "Janus HTTP API URL, e.g. http://127.0.0.1:8088/janus: sessions are Janus "
                                     "VideoRoom rooms (default: none; a session then lives in sipmixd only)");
  given_["--janus-secret"] = app.add_option("--janus-secret", janus_secret_,
                                            "Janus api_secret, when Janus is configured with one");
  given_["--janus-admin-key"] = app.add_option("--janus-admin-key", janus_admin_key_,
                                               "VideoRoom admin_key, when janus.plugin.videoroom.jcfg sets one");
  given_["--janus-room-secret"] = app.add_option(
      "--janus-room-secret", janus_room_secret_,
      "Secret of the rooms sipmixd creates, so that only it can moderate them (default: none)");
  given_["--project"] = app.add_option("--project", projects_,
                                       "A project allowed to use the REST API: ID:SECRET (repeatable). REST JWTs "
                                       "and client tokens are HS256-signed with SECRET");
  given_["--callback-url"] = app.add_option("--callback-url", callback_url_,
                                            "http(s) URL that receives the monitoring callbacks (callCreated, "
                                            "callUpdated, callDestroyed, muteForced)");
  given_["--tls-ca"] = app.add_option("--tls-ca", tls_ca_,
                                      "CA file (PEM) that SIP TLS peers and https callback receivers are verified "
                                      "against");
  given_["--tls-cert"] = app.add_option("--tls-cert", tls_cert_,
                                        "Our SIP TLS certificate chain and key (PEM), for SIP over TLS");
  given_["--proxy"] = app.add_option("--proxy", proxy_, "Outbound SIP proxy URI (sip: or sips:); every INVITE goes "
                                                        "through it");
  given_["--max-calls"] = app.add_option("--max-calls", max_calls_,
                                         "Most calls at once; further dials get 503 (default 200)");
  given_["--dials-per-second"] = app.add_option("--dials-per-second", dials_per_second_,
                                                "Most dials accepted per second; further dials get 429 (default 20)");
  given_["--max-body-bytes"] = app.add_option("--max-body-bytes", max_body_bytes_,
                                              "Largest REST request body; larger ones get 413 (default 65536)");
  given_["--max-call-duration"] = app.add_option("--max-call-duration", max_call_duration_s_,
                                                 "Seconds after which a call is hung up (reason 705; default "
                                                 "21600 = 6 h)");
  given_["--media-timeout"] = app.add_option("--media-timeout", media_timeout_s_,
                                             "Seconds without received media after which a call is hung up "
                                             "(reason 704; default 300)");
  given_["--web-root"] = app.add_option("--web-root", web_root_,
                                        "Directory of the web page (docs/web.md; default: the source tree's "
                                        "gateway/web when it exists; \"\" serves no page)");
  given_["--web-janus-url"] = app.add_option("--web-janus-url", web_janus_url_,
                                             "Janus HTTP API URL as browsers reach it (default: --janus)");
  given_["--web-demo-project"] = app.add_option("--web-demo-project", web_demo_project_,
                                                "Demo mode, off by default: POST /web/token mints short-lived REST "
                                                "JWTs of this project for pages loaded from loopback");
  given_["--redis"] = app.add_option("--redis", redis_,
                                     "Cluster mode: HOST:PORT of the Redis registry shared by every node "
                                     "(docs/scale-out.md)");
  given_["--node-id"] = app.add_option("--node-id", node_id_,
                                       "Cluster mode: this node's id, unique in the cluster ([A-Za-z0-9_.-], at most "
                                       "64)");
  given_["--internal-url"] = app.add_option("--internal-url", internal_url_,
                                            "Cluster mode: http:// URL where other nodes reach this node's REST API "
                                            "(default: http://<--http>)");
  given_["--drain-timeout"] = app.add_option("--drain-timeout", drain_timeout_s_,
                                             "On SIGTERM/SIGINT, seconds live calls get to end before sipmixd exits "
                                             "(default 30)");
}

Status ConfigFlags::apply(Config& c) const {
  auto given = [this](const char* name) {
    auto it = given_.find(name);
    return it != given_.end() && it->second->count() > 0;
  };
  if (given("--http")) {
    auto hp = parse_host_port(http_, "--http");
    if (!hp.ok()) return hp.status();
    c.http = *hp;
  }
  if (given("--sip")) {
    auto hp = parse_host_port(sip_, "--sip");
    if (!hp.ok()) return hp.status();
    c.sip = *hp;
  }
  if (given("--rtp-ports")) {
    if (Status s = parse_rtp_ports(rtp_ports_, "--rtp-ports", c); !s.ok()) return s;
  }
  if (given("--janus")) c.janus_url = janus_;
  if (given("--janus-secret")) c.janus_secret = janus_secret_;
  if (given("--janus-admin-key")) c.janus_admin_key = janus_admin_key_;
  if (given("--janus-room-secret")) c.janus_room_secret = janus_room_secret_;
  for (const std::string& p : projects_) {
    auto pr = parse_project(p, "--project");
    if (!pr.ok()) return pr.status();
    c.projects[pr->first] = pr->second;
  }
  if (given("--callback-url")) c.callback_url = callback_url_;
  if (given("--tls-ca")) c.tls_ca = tls_ca_;
  if (given("--tls-cert")) c.tls_cert = tls_cert_;
  if (given("--proxy")) c.proxy = proxy_;
  if (given("--web-root")) c.web_root = web_root_;
  if (given("--web-janus-url")) c.web_janus_url = web_janus_url_;
  if (given("--web-demo-project")) c.web_demo_project = web_demo_project_;
  if (given("--redis")) {
    auto hp = parse_host_port(redis_, "--redis");
    if (!hp.ok()) return hp.status();
    c.redis = redis_;
  }
  if (given("--node-id")) c.node_id = node_id_;
  if (given("--internal-url")) c.internal_url = internal_url_;
  struct IntFlag {
    const char* name;
    long lo, hi;
    int value;
    int* out;
  };
  for (const IntFlag& f : {IntFlag{"--max-calls", 1, kMaxCallsLimit, max_calls_, &c.max_calls},
                           IntFlag{"--dials-per-second", 1, 10000, dials_per_second_, &c.dials_per_second},
                           IntFlag{"--max-call-duration", 1, 7 * 24 * 3600, max_call_duration_s_,
                                   &c.max_call_duration_s},
                           IntFlag{"--media-timeout", 1, 24 * 3600, media_timeout_s_, &c.media_timeout_s},
                           IntFlag{"--drain-timeout", 0, 24 * 3600, drain_timeout_s_, &c.drain_timeout_s}}) {
    if (!given(f.name)) continue;
    if (Status s = check_range(f.value, f.lo, f.hi, f.name); !s.ok()) return s;
    *f.out = f.value;
  }
  if (given("--max-body-bytes")) {
    if (Status s = check_range(static_cast<long>(max_body_bytes_), 256, 16 << 20, "--max-body-bytes"); !s.ok()) {
      return s;
    }
    c.max_body_bytes = max_body_bytes_;
  }
  return Status();
}

Status validate_config(const Config& c) {
  if (c.projects.empty()) {
    return invalid_argument("--project: at least one project is needed (--project ID:SECRET or \"projects\" in "
                            "the config file)");
  }
  if (!c.janus_url.empty() && !valid_http_url(c.janus_url))
    return invalid_argument("--janus: must be an http:// or https:// URL");
  if (!c.callback_url.empty() && !valid_http_url(c.callback_url)) {
    return invalid_argument("--callback-url: must be an http:// or https:// URL");
  }
  if (!c.proxy.empty() && c.proxy.rfind("sip:", 0) != 0 && c.proxy.rfind("sips:", 0) != 0) {
    return invalid_argument("--proxy: must be a sip: or sips: URI");
  }
  if (!c.web_janus_url.empty() && !valid_http_url(c.web_janus_url)) {
    return invalid_argument("--web-janus-url: must be an http:// or https:// URL");
  }
  if (!c.web_demo_project.empty() && c.projects.count(c.web_demo_project) == 0) {
    return invalid_argument("--web-demo-project: must be one of the configured projects");
  }
  if (!c.redis.empty() && c.node_id.empty()) return invalid_argument("--node-id: is required with --redis");
  if (c.redis.empty() && (!c.node_id.empty() || !c.internal_url.empty())) {
    return invalid_argument("--node-id, --internal-url: only with --redis (cluster mode)");
  }
  if (!c.internal_url.empty() && c.internal_url.rfind("http://", 0) != 0) {
    return invalid_argument("--internal-url: must be an http:// URL");
  }
  for (const auto& [name, path] : {std::pair{"--tls-ca", &c.tls_ca}, std::pair{"--tls-cert", &c.tls_cert}}) {
    if (path->empty()) continue;
    std::ifstream f(*path);
    if (!f) return invalid_argument(std::string(name) + ": cannot read '" + *path + "'");
  }
  return Status();
}

}  // namespace sipmix::gw
