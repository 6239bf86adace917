#include "tests/gateway/janus_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "gateway/janus/janus_client.h"
#include "tests/gateway/listen_port.h"

#ifndef SIPMIX_JANUS_EXECUTABLE
#error "SIPMIX_JANUS_EXECUTABLE must name the janus binary"
#endif
#ifndef SIPMIX_JANUS_LIB_DIR
#error "SIPMIX_JANUS_LIB_DIR must name the folder holding janus/plugins and janus/transports"
#endif

namespace sipmix::gw::testing {
namespace fs = std::filesystem;
namespace {


// Every module in `folder` but `keep`, comma separated, for a "disable" list.
std::string all_but(const fs::path& folder, const std::string& keep) {
  std::string out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    std::string name = e.path().filename().string();
    if (name.size() < 3 || name.substr(name.size() - 3) != ".so" || name == keep) continue;
    if (!out.empty()) out += ",";
    out += name;
  }
  return out;
}

}  // namespace

JanusProcess::JanusProcess(JanusProcessOptions options) : options_(std::move(options)) {}

JanusProcess::~JanusProcess() {
  stop();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string JanusProcess::url() const { return "http://127.0.0.1:" + std::to_string(http_port_) + "/janus"; }

Status JanusProcess::write_config() {
  if (dir_.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "sipmix-janus-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return unavailable("janus test: mkdtemp failed");
    dir_ = tmpl;
  }
  if (http_port_ == 0) http_port_ = static_cast<uint16_t>(free_listen_port());
  if (http_port_ == 0) return unavailable("janus test: no free TCP port");
  const fs::path lib = fs::path(SIPMIX_JANUS_LIB_DIR) / "janus";
  // ICE ports: a 200-port window above the ephemeral range's usual start.
  const int rtp_min = 20000 + 200 * (getpid() % 100);
  {
    std::ofstream f(fs::path(dir_) / "janus.jcfg");
    f << "general: {\n"
      << "  configs_folder = \"" << dir_ << "\"\n"
      << "  plugins_folder = \"" << (lib / "plugins").string() << "\"\n"
      << "  transports_folder = \"" << (lib / "transports").string() << "\"\n"
      << "  events_folder = \"" << (lib / "events").string() << "\"\n"
      << "  loggers_folder = \"" << (lib / "loggers").string() << "\"\n"
      << "  debug_level = 4\n"
      << "  session_timeout = " << options_.session_timeout_s << "\n";
    if (!options_.api_secret.empty()) f << "  api_secret = \"" << options_.api_secret << "\"\n";
    f << "}\n"
      << "media: {\n  rtp_port_range = \"" << rtp_min << "-" << rtp_min + 199 << "\"\n}\n"
      << "nat: {\n  nice_debug = false\n  ignore_mdns = true\n}\n"
      << "plugins: {\n  disable = \"" << all_but(lib / "plugins", "libjanus_videoroom.so") << "\"\n}\n"
      << "transports: {\n  disable = \"" << all_but(lib / "transports", "libjanus_http.so") << "\"\n}\n"
      << "loggers: {\n  disable = \"" << all_but(lib / "loggers", "") << "\"\n}\n"
      << "events: {\n  broadcast = false\n}\n";
  }
  {
    std::ofstream f(fs::path(dir_) / "janus.transport.http.jcfg");
    f << "general: {\n  json = \"compact\"\n  base_path = \"/janus\"\n  http = true\n  port = " << http_port_
      << "\n  ip = \"127.0.0.1\"\n  https = false\n}\n"
      << "admin: {\n  admin_http = false\n  admin_https = false\n}\n";
  }
  {
    std::ofstream f(fs::path(dir_) / "janus.plugin.videoroom.jcfg");
    f << "general: {\n  string_ids = true\n";
    if (!options_.admin_key.empty()) {
      f << "  admin_key = \"" << options_.admin_key << "\"\n  lock_rtp_forward = true\n";
    }
    f << "}\n";
  }
  return Status::ok_status();
}

Status JanusProcess::start() {
  if (pid_ > 0) return invalid_argument("janus test: already running");
  if (Status s = write_config(); !s.ok()) return s;
  const std::string conf = dir_ + "/janus.jcfg";
  const std::string log = dir_ + "/janus.log";
  pid_t pid = fork();
  if (pid < 0) return unavailable("janus test: fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(SIPMIX_JANUS_EXECUTABLE, "janus", "-C", conf.c_str(), "-F", dir_.c_str(), "-o", static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;
  janus::JanusClientOptions o;
  o.url = url();
  o.api_secret = options_.api_secret;
  o.request_timeout = std::chrono::milliseconds(1000);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return unavailable("janus test: janus exited during startup; log:\n" + log_tail());
    }
    auto info = janus::JanusClient::info(o);
    if (info.ok()) return Status::ok_status();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill_hard();
  return unavailable("janus test: /janus/info never answered; log:\n" + log_tail());
}

void JanusProcess::kill_hard() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void JanusProcess::freeze() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void JanusProcess::thaw() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

void JanusProcess::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGCONT);  // a frozen Janus cannot act on SIGTERM
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill_hard();
}

std::string JanusProcess::log_tail(size_t max_bytes) const {
  std::ifstream f(dir_ + "/janus.log");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

}  // namespace sipmix::gw::testing
