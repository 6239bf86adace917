// sipmixd: the sipmix gateway daemon. Serves the REST API, dials SIP endpoints
// into sessions through the call layer, and posts monitoring callbacks.
//   sipmixd [--config FILE] [flags]                      run the daemon
//   sipmixd token --project ID:SECRET --session SID ...  print a client token
//   sipmixd jwt --project ID:SECRET [--ttl S]            print a REST JWT
// Exit status: 0 success (also after a SIGTERM/SIGINT drain), 2 bad flags or
// configuration, 1 anything else.
#include <CLI/CLI.hpp>

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include "gateway/core/config.h"
#include "gateway/core/log.h"
#include "gateway/core/make_calls.h"
#include "gateway/registry/registry.h"
#include "gateway/rest/callbacks.h"
#include "gateway/rest/jwt.h"
#include "gateway/rest/server.h"
#include "gateway/rest/validate.h"

namespace {

using namespace sipmix::gw;

constexpr const char* kDescription =
    "sipmixd dials SIP endpoints into live sessions. A REST request names a session and a SIP URI; the\n"
    "endpoint joins the session, hears and sees its participants, and is heard and seen by them.\n"
    "The REST API, the configuration file and the callbacks are documented in docs/gateway.md.\n"
    "Signals: SIGTERM or SIGINT drains: dials get 503, live calls end, then sipmixd exits 0.";

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int fail(const std::string& message, int code) {
  std::fprintf(stderr, "sipmixd: %s\n", message.c_str());
  return code;
}

int run_daemon(const Config& config, sigset_t signals) {
  OutboxOptions ob;
  ob.url = config.callback_url;
  ob.ca_file = config.tls_ca;
  CallbackOutbox outbox(ob);
  outbox.start();
  // Cluster mode: the registry learns this node's calls from the call layer's
  // events on their way to the outbox, and reports a dead node's calls.
  std::unique_ptr<Registry> registry;
  std::unique_ptr<RegistryObserver> registry_observer;
  // The call layer, for the reaper (the registry thread); null before it
  // exists and once it is going away.
  std::mutex reap_mu;
  Calls* reap_calls = nullptr;
  if (!config.redis.empty()) {
    RegistryConfig rc;
    auto hp = parse_host_port(config.redis, "--redis");
    if (!hp.ok()) return fail(hp.status().message(), 2);
    rc.host = hp->host;
    rc.port = hp->port;
    rc.node_id = config.node_id;
    rc.internal_url = !config.internal_url.empty()
                          ? config.internal_url
                          : "http://" + config.http.host + ":" + std::to_string(config.http.port);
    rc.capacity = config.max_calls;
    auto r = Registry::create(rc);
    if (!r.ok()) return fail(r.status().message(), 2);
    registry = std::move(*r);
    registry->set_reap_hook([&](const RegisteredCall& call, const std::string& dead_node) {
      outbox.on_call_destroyed(call.info, kReasonUnexpected, "node " + dead_node + " stopped unexpectedly");
      std::lock_guard<std::mutex> lock(reap_mu);
      if (reap_calls) reap_calls->remove_dead_leg(call.info);  // e.g. its Janus remote publisher
    });
    registry->start();
    registry_observer = std::make_unique<RegistryObserver>(registry.get(), &outbox);
  }
  auto made = make_calls(config, registry_observer ? static_cast<CallObserver*>(registry_observer.get()) : &outbox);
  if (!made.ok()) {
    if (registry) registry->stop(/*deregister=*/true);
    outbox.stop(0);
    return fail("the call layer cannot start: " + made.status().message(), 1);
  }
  std::unique_ptr<Calls> calls = std::move(*made);
  {
    std::lock_guard<std::mutex> lock(reap_mu);
    reap_calls = calls.get();
  }
  RestServer server(config, calls.get(), &outbox);
  server.set_registry(registry.get());
  if (sipmix::Status s = server.bind(); !s.ok()) return fail(s.message(), 1);
  server.start();
  log_event(LogLevel::kInfo, "ready", "",
            {{"http", config.http.host + ":" + std::to_string(config.http.port)},
             {"projects", std::to_string(config.projects.size())},
             {"call_layer", calls ? "yes" : "absent"},
             {"node", registry ? config.node_id : "single"}});

  int sig = 0;
  sigwait(&signals, &sig);
  log_event(LogLevel::kInfo, "drain.start", "", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  server.set_draining();
  if (registry) registry->set_draining();
  if (calls) calls->drain();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(config.drain_timeout_s);
  const timespec poll{0, 100 * 1000 * 1000};
  while (server.live_calls() > 0 && std::chrono::steady_clock::now() < deadline) {
    if (sigtimedwait(&signals, nullptr, &poll) > 0) break;  // a second signal: stop waiting
  }
  const size_t left = server.live_calls();
  log_event(left == 0 ? LogLevel::kInfo : LogLevel::kWarn, "drain.done", "", {{"calls_left", std::to_string(left)}});
  server.stop();
  {
    std::lock_guard<std::mutex> lock(reap_mu);
    reap_calls = nullptr;
  }
  calls.reset();  // the call layer ends what is left
  if (registry) registry->stop(/*deregister=*/true);
  outbox.stop(2000);
  log_event(LogLevel::kInfo, "exit", "", {});
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Every thread started from here on inherits this mask; main takes the
  // signals with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{kDescription, "sipmixd"};
  app.set_help_all_flag("--help-all", "Also explain the token and jwt subcommands");
  ConfigFlags flags;
  flags.add_to(app);

  ClientTokenSpec token;
  std::string token_project;
  CLI::App* token_cmd = app.add_subcommand(
      "token", "Print a client token (HS256 JWT) for a session; a dial's \"token\" must be one for its sessionId");
  token_cmd->add_option("--project", token_project, "ID:SECRET of the project that owns the session")->required();
  token_cmd->add_option("--session", token.session_id, "Session id the token is for")->required();
  token_cmd->add_option("--role", token.role, "publisher (default), subscriber, moderator or publisheronly");
  token_cmd->add_option("--data", token.connection_data,
                        "Connection data (at most 1000 bytes); a dial's SIP connection gets it");
  token_cmd->add_option("--ttl", token.ttl_s, "Seconds the token is valid (default 86400, at most 2592000)");

  std::string jwt_project;
  int64_t jwt_ttl_s = 180;
  CLI::App* jwt_cmd = app.add_subcommand("jwt", "Print a REST JWT (for X-OPENTOK-AUTH / X-VONAGE-AUTH / Bearer)");
  jwt_cmd->add_option("--project", jwt_project, "ID:SECRET of the project")->required();
  jwt_cmd->add_option("--ttl", jwt_ttl_s, "Seconds the JWT is valid (default 180, at most 300)");
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    return fail(e.what(), 2);
  }

  if (token_cmd->parsed()) {
    auto p = parse_project(token_project, "--project");
    if (!p.ok()) return fail(p.status().message(), 2);
    if (sipmix::Status s = validate_id(token.session_id, "--session"); !s.ok()) return fail(s.message(), 2);
    token.project_id = p->first;
    token.secret = p->second;
    auto t = mint_client_token(token, now_s());
    if (!t.ok()) return fail(t.status().message(), 2);
    std::printf("%s\n", t->c_str());
    return 0;
  }
  if (jwt_cmd->parsed()) {
    auto p = parse_project(jwt_project, "--project");
    if (!p.ok()) return fail(p.status().message(), 2);
    auto t = mint_rest_jwt(p->first, p->second, now_s(), jwt_ttl_s);
    if (!t.ok()) return fail(t.status().message(), 2);
    std::printf("%s\n", t->c_str());
    return 0;
  }

  Config config;
  if (!flags.config_path().empty()) {
    if (sipmix::Status s = load_config_file(flags.config_path(), config); !s.ok()) return fail(s.message(), 2);
  }
  if (sipmix::Status s = flags.apply(config); !s.ok()) return fail(s.message(), 2);
  if (sipmix::Status s = validate_config(config); !s.ok()) return fail(s.message(), 2);
  return run_daemon(config, signals);
}
