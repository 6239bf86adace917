#include "gateway/janus/janus_client.h"

#include <httplib.h>

#include <cctype>
#include <random>

namespace sipmix::gw::janus {
namespace {

Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

std::string new_transaction() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string t = "sipmix-";
  uint64_t v = rng();
  for (int i = 0; i < 16; ++i, v >>= 4) t.push_back(kHex[v & 15]);
  return t;
}

StatusOr<std::pair<std::string, std::string>> split_url(const std::string& url) {
  const std::string http = "http://";
  if (url.rfind(http, 0) != 0) {
    return invalid_argument("janus.url: must start with http:// (got \"" + url + "\")");
  }
  auto slash = url.find('/', http.size());
  std::string host_port = url.substr(0, slash);
  std::string path = slash == std::string::npos ? "/janus" : url.substr(slash);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (host_port.size() == http.size()) return invalid_argument("janus.url: no host in \"" + url + "\"");
  return std::make_pair(host_port, path);
}

// Percent-encodes a query parameter value (RFC 3986 unreserved kept).
std::string url_encode(const std::string& v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

void set_timeouts(httplib::Client& c, std::chrono::milliseconds connect, std::chrono::milliseconds io) {
  c.set_connection_timeout(connect);
  c.set_read_timeout(io);
  c.set_write_timeout(io);
  c.set_keep_alive(false);
}

// A Janus-level {"janus":"error"} reply, as a Status naming the request.
Status janus_error_status(const Json& reply, const std::string& what) {
  int code = 0;
  std::string reason = "unknown error";
  if (auto e = reply.find("error"); e != reply.end() && e->is_object()) {
    code = e->value("code", 0);
    reason = e->value("reason", reason);
  }
  std::string msg = "janus " + what + ": error " + std::to_string(code) + ": " + reason;
  switch (code) {
    case kJanusErrorSessionNotFound:
      return unavailable(msg);  // our session is gone: Janus restarted or timed us out
    case kJanusErrorHandleNotFound:
      return not_found(msg);
    case kJanusErrorUnauthorized:
      return invalid_argument(msg);
    default:
      return internal_error(msg);
  }
}

}  // namespace

std::optional<int> janus_error_code(const Status& status) {
  const std::string& m = status.message();
  auto at = m.find(": error ");
  if (at == std::string::npos) return std::nullopt;
  try {
    return std::stoi(m.substr(at + 8));
  } catch (...) {
    return std::nullopt;
  }
}

StatusOr<Json> JanusClient::post(const JanusClientOptions& options, const Target& target, const std::string& path,
                                 Json request, const std::string& what) {
  if (!request.contains("transaction")) request["transaction"] = new_transaction();
  if (!options.api_secret.empty()) request["apisecret"] = options.api_secret;
  if (!options.token.empty()) request["token"] = options.token;
  httplib::Client c(target.scheme_host_port);
  set_timeouts(c, options.request_timeout, options.request_timeout);
  auto res = c.Post(path, request.dump(), "application/json");
  if (!res) {
    return unavailable("janus " + what + ": " + httplib::to_string(res.error()) + " (" + target.scheme_host_port +
                       path + ")");
  }
  if (res->status != 200) {
    return unavailable("janus " + what + ": HTTP " + std::to_string(res->status) + " from " +
                       target.scheme_host_port + path);
  }
  Json reply = Json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (reply.is_discarded() || !reply.is_object()) {
    return internal_error("janus " + what + ": reply is not a JSON object");
  }
  if (reply.value("janus", "") == "error") return janus_error_status(reply, what);
  return reply;
}

StatusOr<Json> JanusClient::info(const JanusClientOptions& options) {
  auto parts = split_url(options.url);
  if (!parts.ok()) return parts.status();
  httplib::Client c(parts->first);
  set_timeouts(c, options.request_timeout, options.request_timeout);
  std::string path = parts->second + "/info";
  if (!options.api_secret.empty()) path += "?apisecret=" + url_encode(options.api_secret);
  auto res = c.Get(path);
  if (!res) return unavailable("janus info: " + httplib::to_string(res.error()) + " (" + options.url + ")");
  if (res->status != 200) return unavailable("janus info: HTTP " + std::to_string(res->status));
  Json reply = Json::parse(res->body, nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) return internal_error("janus info: bad JSON");
  if (reply.value("janus", "") == "error") return janus_error_status(reply, "info");
  return reply;
}

StatusOr<std::unique_ptr<JanusClient>> JanusClient::connect(JanusClientOptions options) {
  if (options.request_timeout.count() <= 0) return invalid_argument("janus.request_timeout: must be > 0");
  if (options.keepalive_interval.count() <= 0) return invalid_argument("janus.keepalive_interval: must be > 0");
  if (options.max_events_per_poll < 1) return invalid_argument("janus.max_events_per_poll: must be >= 1");
  auto parts = split_url(options.url);
  if (!parts.ok()) return parts.status();
  Target target{parts->first, parts->second};
  auto reply = post(options, target, target.path, Json{{"janus", "create"}}, "create session");
  if (!reply.ok()) return reply.status();
  const Json* id = nullptr;
  if (auto d = reply->find("data"); d != reply->end() && d->is_object()) {
    if (auto i = d->find("id"); i != d->end() && i->is_number_unsigned()) id = &*i;
  }
  if (!id) return internal_error("janus create session: reply has no data.id");
  return std::unique_ptr<JanusClient>(new JanusClient(std::move(options), std::move(target), id->get<uint64_t>()));
}

JanusClient::JanusClient(JanusClientOptions options, Target target, uint64_t session_id)
    : options_(std::move(options)), target_(std::move(target)), session_id_(session_id) {
  poll_client_ = std::make_unique<httplib::Client>(target_.scheme_host_port);
  // Janus holds a long poll for 30 s; anything much longer means it is wedged.
  set_timeouts(*poll_client_, options_.request_timeout, std::chrono::seconds(40));
  event_thread_ = std::thread([this] { event_loop(); });
  keepalive_thread_ = std::thread([this] { keepalive_loop(); });
}

JanusClient::~JanusClient() {
  {
    std::lock_guard lock(poll_mu_);
    stopping_.store(true, std::memory_order_release);
  }
  poll_cv_.notify_all();
  keepalive_thread_.join();
  if (!lost()) {
    auto r = post(options_, target_, session_path(), Json{{"janus", "destroy"}}, "destroy session");
    (void)r;  // best effort: Janus times the session out anyway
  }
  // The event thread may be inside a 30 s long poll: cut its socket until it
  // notices stopping_. Repeat, since stop() does nothing between requests.
  while (!event_loop_done_.load(std::memory_order_acquire)) {
    poll_client_->stop();
    std::unique_lock lock(poll_mu_);
    poll_cv_.wait_for(lock, std::chrono::milliseconds(20));
  }
  event_thread_.join();
}

std::string JanusClient::session_path() const { return target_.path + "/" + std::to_string(session_id_); }

Status JanusClient::check_usable(const std::string& what) const {
  if (lost()) {
    return unavailable("janus " + what + ": Janus was lost (" + [this] {
             std::lock_guard lock(lost_mu_);
             return lost_reason_.message();
           }() + ")");
  }
  return Status::ok_status();
}

void JanusClient::mark_lost(const Status& why) {
  {
    std::lock_guard lock(lost_mu_);
    if (lost_.load(std::memory_order_relaxed)) return;
    lost_reason_ = why;
    lost_.store(true, std::memory_order_release);
  }
  // Wake the event thread so it reports the loss now, not after its poll.
  poll_client_->stop();
  { std::lock_guard lock(poll_mu_); }  // a waiter is either blocked or sees lost_
  poll_cv_.notify_all();
}

StatusOr<uint64_t> JanusClient::attach(const std::string& plugin, HandleSink* sink) {
  const std::string what = "attach " + plugin;
  if (Status s = check_usable(what); !s.ok()) return s;
  auto reply = post(options_, target_, session_path(), Json{{"janus", "attach"}, {"plugin", plugin}}, what);
  if (!reply.ok()) {
    if (reply.status().code() == StatusCode::kUnavailable) mark_lost(reply.status());
    return reply.status();
  }
  auto d = reply->find("data");
  if (d == reply->end() || !d->is_object() || !d->contains("id") || !(*d)["id"].is_number_unsigned()) {
    return internal_error("janus " + what + ": reply has no data.id");
  }
  uint64_t handle = (*d)["id"].get<uint64_t>();
  if (sink) {
    std::lock_guard lock(sinks_mu_);
    sinks_[handle] = sink;
  }
  return handle;
}

Status JanusClient::detach(uint64_t handle_id) {
  {
    std::unique_lock dispatch_lock(dispatch_mu_, std::defer_lock);
    if (std::this_thread::get_id() != event_thread_id_) dispatch_lock.lock();
    std::lock_guard lock(sinks_mu_);
    sinks_.erase(handle_id);
  }
  const std::string what = "detach handle " + std::to_string(handle_id);
  if (Status s = check_usable(what); !s.ok()) return s;
  auto reply = post(options_, target_, session_path() + "/" + std::to_string(handle_id), Json{{"janus", "detach"}},
                    what);
  if (!reply.ok()) {
    if (reply.status().code() == StatusCode::kUnavailable) mark_lost(reply.status());
    return reply.status();
  }
  return Status::ok_status();
}

StatusOr<Json> JanusClient::message(uint64_t handle_id, const Json& body, std::string* transaction) {
  std::string request_name;
  if (body.is_object() && body.contains("request") && body["request"].is_string()) {
    request_name = body["request"].get<std::string>();
  }
  const std::string what = request_name.empty() ? "message" : "\"" + request_name + "\"";
  if (!body.is_object()) return invalid_argument("janus message body: must be a JSON object");
  if (Status s = check_usable(what); !s.ok()) return s;
  Json request{{"janus", "message"}, {"body", body}, {"transaction", new_transaction()}};
  if (transaction) *transaction = request["transaction"].get<std::string>();
  auto reply = post(options_, target_, session_path() + "/" + std::to_string(handle_id), std::move(request), what);
  if (!reply.ok()) {
    if (reply.status().code() == StatusCode::kUnavailable) mark_lost(reply.status());
    return reply.status();
  }
  const std::string kind = reply->value("janus", "");
  if (kind == "ack") return std::move(*reply);
  if (kind != "success") return internal_error("janus " + what + ": unexpected reply \"" + kind + "\"");
  auto pd = reply->find("plugindata");
  if (pd == reply->end() || !pd->is_object() || !pd->contains("data") || !(*pd)["data"].is_object()) {
    return internal_error("janus " + what + ": reply has no plugindata.data");
  }
  Json data = (*pd)["data"];
  if (data.contains("error_code") || data.contains("error")) {
    int code = data.value("error_code", 0);
    std::string msg = "janus " + what + ": error " + std::to_string(code) + ": " + data.value("error", "");
    // VideoRoom codes (janus_videoroom.c): 426 no such room, 428 no such feed,
    // 429 missing element, 430 invalid element, 433 unauthorized.
    switch (code) {
      case 426:
      case 428:
        return not_found(msg);
      case 429:
      case 430:
      case 433:
        return invalid_argument(msg);
      default:
        return internal_error(msg);
    }
  }
  return data;
}

void JanusClient::event_loop() {
  event_thread_id_.store(std::this_thread::get_id());
  while (!stopping_.load(std::memory_order_acquire) && !lost()) {
    std::string path = session_path() + "?maxev=" + std::to_string(options_.max_events_per_poll) + "&rid=" +
                       std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
    if (!options_.api_secret.empty()) path += "&apisecret=" + url_encode(options_.api_secret);
    if (!options_.token.empty()) path += "&token=" + url_encode(options_.token);
    auto res = poll_client_->Get(path);
    if (stopping_.load(std::memory_order_acquire) || lost()) break;
    if (!res) {
      mark_lost(unavailable("janus event poll: " + httplib::to_string(res.error()) + " (" +
                            target_.scheme_host_port + ")"));
      break;
    }
    if (res->status != 200) {
      mark_lost(unavailable("janus event poll: HTTP " + std::to_string(res->status)));
      break;
    }
    Json reply = Json::parse(res->body, nullptr, false);
    if (reply.is_discarded()) continue;
    if (reply.is_object()) reply = Json::array({std::move(reply)});
    if (!reply.is_array()) continue;
    for (const Json& m : reply) {
      if (!m.is_object()) continue;
      const std::string kind = m.contains("janus") && m["janus"].is_string() ? m["janus"].get<std::string>() : "";
      if (kind == "error") {
        Status s = janus_error_status(m, "event poll");
        if (s.code() == StatusCode::kUnavailable) {
          mark_lost(s);
          break;
        }
        continue;
      }
      if (kind == "keepalive") continue;
      try {
        dispatch(m);
      } catch (const Json::exception&) {
        // A message of an unexpected shape: skip it rather than end the thread.
      }
    }
  }
  if (lost() && !stopping_.load(std::memory_order_acquire)) {
    Status why;
    {
      std::lock_guard lock(lost_mu_);
      why = lost_reason_;
    }
    report_lost(why);
  }
  event_loop_done_.store(true, std::memory_order_release);
  poll_cv_.notify_all();
}

// Janus refreshes a session when a request or a long poll starts, not while
// a poll is held (up to 30 s), so keepalives run on their own clock.
void JanusClient::keepalive_loop() {
  std::unique_lock lock(poll_mu_);
  while (true) {
    bool done = poll_cv_.wait_for(lock, options_.keepalive_interval, [this] {
      return stopping_.load(std::memory_order_acquire) || lost();
    });
    if (done) return;
    lock.unlock();
    auto r = post(options_, target_, session_path(), Json{{"janus", "keepalive"}}, "keepalive");
    if (!r.ok() && r.status().code() == StatusCode::kUnavailable) mark_lost(r.status());
    lock.lock();
  }
}

void JanusClient::dispatch(const Json& message) {
  if (!message.contains("sender") || !message["sender"].is_number_unsigned()) return;
  uint64_t handle = message["sender"].get<uint64_t>();
  std::lock_guard dispatch_lock(dispatch_mu_);
  HandleSink* sink = nullptr;
  {
    std::lock_guard lock(sinks_mu_);
    auto it = sinks_.find(handle);
    if (it != sinks_.end()) sink = it->second;
  }
  if (!sink) return;
  if (message.value("janus", "") == "event") {
    auto pd = message.find("plugindata");
    if (pd != message.end() && pd->is_object() && pd->contains("data") && (*pd)["data"].is_object()) {
      sink->on_plugin_event((*pd)["data"], message);
      return;
    }
  }
  sink->on_handle_message(message);
}

void JanusClient::report_lost(const Status& why) {
  std::lock_guard dispatch_lock(dispatch_mu_);
  std::map<uint64_t, HandleSink*> sinks;
  {
    std::lock_guard lock(sinks_mu_);
    sinks.swap(sinks_);
  }
  for (auto& [handle, sink] : sinks) sink->on_janus_lost(why);
  if (options_.on_janus_lost) options_.on_janus_lost(why);
}

}  // namespace sipmix::gw::janus
