// Test support for the call layer: a real sipp process per test (started on
// a free 127.0.0.1 port, stopped by the destructor even when the test fails)
// and a CallObserver that records what the call manager reports.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway/calls.h"
#include "tests/gateway/listen_port.h"

namespace sipmix::gw::testing {


inline bool udp_port_taken(int port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool taken = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0;
  ::close(fd);
  return taken;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A scratch folder removed at the end.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sipmix-gw-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    if (!getenv("SIPMIX_KEEP_TEST_DIRS")) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process in its own process group, stopped (SIGTERM, then SIGKILL)
// with everything it forked when this object goes away.
class Process {
 public:
  Process() = default;
  Process(const std::vector<std::string>& args, const std::string& dir, const std::string& log_path) {
    start(args, dir, log_path);
  }
  ~Process() { stop(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  void start(std::vector<std::string> args, const std::string& dir, const std::string& log_path) {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      const int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(out, 1);
      dup2(out, 2);
      for (int fd = 3; fd < 1024; ++fd) ::close(fd);  // our SIP and RTP sockets stay ours
      if (chdir(dir.c_str()) != 0) _exit(126);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    setpgid(pid_, pid_);
  }
  // Exit status when it ended within timeout_ms; -1 otherwise.
  int wait_exit(int timeout_ms) {
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        exited_ = true;
        ::kill(-pid_, SIGKILL);  // leftovers of its group
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  void stop() {
    if (pid_ <= 0 || exited_) return;
    ::kill(-pid_, SIGTERM);
    if (wait_exit(2000) < 0) {
      ::kill(-pid_, SIGKILL);
      int st;
      waitpid(pid_, &st, 0);
      exited_ = true;
    }
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
};

inline bool tcp_port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// One sipp UAS (sip-tester), from a scenario template in tests/gateway/sipp
// whose @NAME@ placeholders are replaced.
class Sipp {
 public:
  Sipp(const std::string& scenario, const std::map<std::string, std::string>& vars,
       std::vector<std::string> extra_args = {}) {
    std::string text = read_file(std::string(SIPMIX_SOURCE_DIR) + "/tests/gateway/sipp/" + scenario);
    for (const auto& [k, v] : vars) {
      const std::string key = "@" + k + "@";
      for (size_t p; (p = text.find(key)) != std::string::npos;) text.replace(p, key.size(), v);
    }
    scenario_path_ = dir_.path() + "/" + scenario;
    std::ofstream(scenario_path_) << text;
    port_ = free_listen_port();
    media_port_ = free_port_block(4);  // sipp's audio and video RTP/RTCP
    std::vector<std::string> args = {"sipp",   "-sf", scenario_path_, "-i", "127.0.0.1", "-p", std::to_string(port_),
                                     "-m",     "1",   "-nostdin",      "-timeout", "60", "-timeout_error",
                                     "-mi",    "127.0.0.1", "-mp", std::to_string(media_port_),
                                     "-trace_err", "-error_file", dir_.path() + "/errors.log",
                                     "-trace_msg", "-message_file", dir_.path() + "/messages.log"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    process_.start(args, dir_.path(), dir_.path() + "/stdout.log");
    // Ready once its SIP port is bound.
    for (int i = 0; i < 100 && !udp_port_taken(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(30));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  int port() const { return port_; }
  std::string uri(const std::string& user = "bob") const {
    return "sip:" + user + "@127.0.0.1:" + std::to_string(port_);
  }
  // sipp's exit status: 0 when its one call passed every check; -1 on timeout.
  int wait_exit(int timeout_ms) { return process_.wait_exit(timeout_ms); }
  std::string messages() const { return read_file(dir_.path() + "/messages.log"); }
  std::string errors() const { return read_file(dir_.path() + "/errors.log") + read_file(dir_.path() + "/stdout.log"); }

 private:
  TempDir dir_;
  std::string scenario_path_;
  int port_ = 0;
  int media_port_ = 0;
  Process process_;
};

struct Destroyed {
  int code = 0;
  std::string reason;
};

class RecordingObserver : public CallObserver {
 public:
  void on_call_created(const CallInfo& c) override { record(c, "created"); }
  void on_call_updated(const CallInfo& c) override { record(c, to_string(c.state)); }
  void on_call_destroyed(const CallInfo& c, int code, const std::string& reason) override {
    std::lock_guard<std::mutex> lock(mu_);
    destroyed_[c.ids.connection_id] = Destroyed{code, reason};
    events_[c.ids.connection_id].push_back("destroyed");
    cv_.notify_all();
  }
  void on_mute_forced(const CallInfo& c, bool muted) override { record(c, muted ? "mute_forced" : "unmute_forced"); }

  std::optional<Destroyed> wait_destroyed(const std::string& connection_id, int timeout_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return destroyed_.count(connection_id) > 0; });
    auto it = destroyed_.find(connection_id);
    if (it == destroyed_.end()) return std::nullopt;
    return it->second;
  }
  // Waits until `event` has been seen `count` times for the connection.
  bool wait_event(const std::string& connection_id, const std::string& event, int timeout_ms, int count = 1) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      const auto& ev = events_[connection_id];
      return std::count(ev.begin(), ev.end(), event) >= count;
    });
  }
  std::vector<std::string> events(const std::string& connection_id) {
    std::lock_guard<std::mutex> lock(mu_);
    return events_[connection_id];
  }

 private:
  void record(const CallInfo& c, const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    events_[c.ids.connection_id].push_back(what);
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<std::string>> events_;
  std::map<std::string, Destroyed> destroyed_;
};

}  // namespace sipmix::gw::testing
