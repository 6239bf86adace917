// Test support for the cluster tests: real processes (redis-server, sipmixd,
// Kamailio, sipp) on 127.0.0.1 and free ports, each stopped by its owner's
// destructor even when the test fails; and a direct Redis connection to
// look at what the nodes wrote.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/gateway/listen_port.h"

extern char** environ;

namespace sipmix::gw::cluster_test {

inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Polls `pred` every 20 ms for up to timeout_ms.
inline bool eventually(const std::function<bool()>& pred, int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

// A child process with stdout/stderr in one log file.
class Process {
 public:
  Process() = default;
  Process(const std::string& exe, const std::vector<std::string>& args, const std::string& log) { start(exe, args, log); }
  ~Process() { kill_now(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  void start(const std::string& exe, const std::vector<std::string>& args, const std::string& log) {
    log_ = log;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> argv = {const_cast<char*>(exe.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    // Its own process group, so that kill_now() also ends what it forked
    // (Kamailio's children outlive a SIGKILL of their parent).
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    if (posix_spawn(&pid_, exe.c_str(), &fa, &attr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
  }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // Exit status (128+signal when killed), or -1 when it did not end in time (then it is killed).
  int wait_exit(int timeout_ms) {
    if (pid_ <= 0) return -1;
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    int status = 0;
    while (std::chrono::steady_clock::now() < end) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        ::kill(-pid_, SIGKILL);  // anything it forked and left behind
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill_now();
    return -1;
  }
  // SIGKILL to the process and everything in its group.
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string log() const { return read_text(log_); }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

struct RedisFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};
using RedisReply = std::unique_ptr<redisReply, ReplyFree>;

// redis-server on a free port, without persistence (a restart starts empty,
// as after a crash), restartable on the same port.
class RedisServer {
 public:
  RedisServer() : port_(testing::free_listen_port()) {
    log_ = "/tmp/sipmix-redis-" + std::to_string(getpid()) + "-" + std::to_string(port_) + ".log";
    start();
  }
  ~RedisServer() { std::remove(log_.c_str()); }
  void start() {
    proc_.start(SIPMIX_REDIS_SERVER,
                {"--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--protected-mode", "no", "--daemonize", "no"},
                log_);
    eventually([this] { return ping(); }, 5000);
  }
  void stop() { proc_.kill_now(); }
  void restart() {
    stop();
    start();
  }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool ping() const {
    RedisReply r = cmd({"PING"});
    return r && r->type == REDIS_REPLY_STATUS;
  }
  // One command on a fresh connection; null when Redis is unreachable.
  RedisReply cmd(const std::vector<std::string>& args) const {
    const timeval tv{1, 0};
    std::unique_ptr<redisContext, RedisFree> c(redisConnectWithTimeout("127.0.0.1", port_, tv));
    if (!c || c->err != 0) return nullptr;
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    return RedisReply(static_cast<redisReply*>(
        redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
  }
  std::string get(const std::vector<std::string>& args) const {
    RedisReply r = cmd(args);
    return r && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : std::string();
  }
  long long integer(const std::vector<std::string>& args) const {
    RedisReply r = cmd(args);
    return r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
  }

 private:
  int port_;
  std::string log_;
  Process proc_;
};

}  // namespace sipmix::gw::cluster_test
