#include "gateway/rest/web.h"

#include <arpa/inet.h>
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "gateway/rest/jwt.h"
#include "gateway/rest/validate.h"

namespace sipmix::gw {
namespace {

using json = nlohmann::ordered_json;

constexpr int64_t kWebClientTokenTtlS = 3600;

void reply_error(httplib::Response& res, int code, const std::string& message) {
  res.status = code;
  res.set_content(json{{"code", code}, {"message", message}}.dump(), "application/json");
}

const char* content_type(const std::string& name) {
  auto ends = [&](const char* ext) {
    const std::string e(ext);
    return name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

// Answers with the file at `path`, or 404 naming what is missing.
void serve_file(httplib::Response& res, const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    reply_error(res, 404, "Not found. " + what + " is not installed");
    return;
  }
  std::ostringstream body;
  body << in.rdbuf();
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Cache-Control", "no-cache");
  res.set_content(body.str(), content_type(path));
}

// The host part of a Host header is an IP literal, not a name: a page a DNS
// name points at us (DNS rebinding) cannot ask for tokens.
bool host_is_ip_literal(const std::string& host_header) {
  std::string host = host_header;
  if (!host.empty() && host[0] == '[') {
    const size_t close = host.find(']');
    if (close == std::string::npos) return false;
    host = host.substr(1, close - 1);
    in6_addr a6;
    return inet_pton(AF_INET6, host.c_str(), &a6) == 1;
  }
  const size_t colon = host.find(':');
  if (colon != std::string::npos) host.resize(colon);
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1;
}

int64_t unix_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void handle_token(const Config& config, const httplib::Request& req, httplib::Response& res) {
  res.set_header("Cache-Control", "no-store");
  if (config.web_demo_project.empty()) {
    reply_error(res, 404, "Not found. The demo mode (--web-demo-project) is off");
    return;
  }
  if (!web_token_peer_allowed(req.remote_addr, req.local_addr)) {
    reply_error(res, 403, "Forbidden: web tokens are only given to pages on this host");
    return;
  }
  // A header a cross-site form cannot send, and that a cross-origin script
  // may send only after a CORS preflight, which sipmixd never grants.
  if (req.get_header_value("X-Sipmix-Web") != "1") {
    reply_error(res, 403, "Forbidden: X-Sipmix-Web: 1 is required");
    return;
  }
  if (!host_is_ip_literal(req.get_header_value("Host"))) {
    reply_error(res, 403, "Forbidden: load the page by IP address (http://127.0.0.1:PORT/)");
    return;
  }
  std::string session_id, data;
  if (!req.body.empty()) {
    json j = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      reply_error(res, 400, "Invalid request: the body must be a JSON object");
      return;
    }
    if (j.contains("sessionId")) {
      if (!j["sessionId"].is_string()) return reply_error(res, 400, "sessionId: must be a string");
      session_id = j["sessionId"].get<std::string>();
      if (Status s = validate_id(session_id, "sessionId"); !s.ok()) return reply_error(res, 400, s.message());
    }
    if (j.contains("data")) {
      if (!j["data"].is_string()) return reply_error(res, 400, "data: must be a string");
      data = j["data"].get<std::string>();
      if (data.size() > kMaxConnectionDataBytes) return reply_error(res, 400, "data: at most 1000 bytes");
    }
  }
  const std::string& project = config.web_demo_project;
  const std::string& secret = config.projects.at(project);
  const int64_t now = unix_s();
  auto jwt = mint_rest_jwt(project, secret, now, kWebTokenTtlS);
  if (!jwt.ok()) return reply_error(res, 500, jwt.status().message());
  json out{{"projectId", project}, {"jwt", *jwt}, {"expiresAt", (now + kWebTokenTtlS) * 1000}};
  if (!session_id.empty()) {
    ClientTokenSpec spec;
    spec.project_id = project;
    spec.secret = secret;
    spec.session_id = session_id;
    spec.connection_data = data;
    spec.ttl_s = kWebClientTokenTtlS;
    auto token = mint_client_token(spec, now);
    if (!token.ok()) return reply_error(res, 400, token.status().message());
    out["clientToken"] = *token;
  }
  res.set_content(out.dump(), "application/json");
}

}  // namespace

bool web_token_peer_allowed(const std::string& remote_addr, const std::string& local_addr) {
  in_addr a4;
  if (inet_pton(AF_INET, remote_addr.c_str(), &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) return true;
  if (remote_addr == "::1" || remote_addr.rfind("::ffff:127.", 0) == 0) return true;
  return !remote_addr.empty() && remote_addr == local_addr;
}

void add_web_routes(httplib::Server& s, const Config& config) {
  s.Get("/web/config.json", [&config](const httplib::Request&, httplib::Response& res) {
    json out{{"janusUrl", config.web_janus_url.empty() ? config.janus_url : config.web_janus_url},
             {"demo", !config.web_demo_project.empty()},
             {"projectId", config.web_demo_project.empty() ? json() : json(config.web_demo_project)}};
    res.set_header("Cache-Control", "no-store");
    res.set_content(out.dump(), "application/json");
  });
  s.Post("/web/token", [&config](const httplib::Request& req, httplib::Response& res) { handle_token(config, req, res); });
  if (config.web_root.empty()) return;
  s.Get("/", [&config](const httplib::Request&, httplib::Response& res) {
    serve_file(res, config.web_root + "/index.html", "index.html");
  });
  // Plain file names only: no directories, so no way out of the web root.
  s.Get(R"(/app/([A-Za-z0-9_-]+\.(html|js|css|svg|png)))", [&config](const httplib::Request& req, httplib::Response& res) {
    serve_file(res, config.web_root + "/" + req.matches[1].str(), req.matches[1].str());
  });
  s.Get("/lib/janus.js", [](const httplib::Request&, httplib::Response& res) {
    serve_file(res, kJanusJsPath, "janus.js (Debian libjs-janus-gateway)");
  });
  s.Get("/lib/adapter.js", [](const httplib::Request&, httplib::Response& res) {
    serve_file(res, kAdapterJsPath, "adapter.min.js (Debian libjs-webrtc-adapter)");
  });
}

}  // namespace sipmix::gw
