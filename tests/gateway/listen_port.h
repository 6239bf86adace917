// Ports for the daemons and peers under test to listen on: free for both UDP
// and TCP (sofia binds its SIP port for both; the REST server is TCP), taken
// from below the ephemeral range (32768+), where other processes' outgoing
// connections could take them between this check and the daemon's bind, and
// below the tests' Janus and sipmixd RTP ranges (20000+).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <deque>
#include <mutex>
#include <random>

namespace sipmix::gw::testing {

inline bool listen_port_free(int port) {
  bool free = true;
  for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
    const int fd = socket(AF_INET, type, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    free = free && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
  }
  return free;
}

// `n` consecutive free ports starting at an even one (RTP, RTCP, and a
// peer's further media ports); returns the first, or 0.
inline int free_port_block(int n) {
  // Random, not sequential: tests run two at a time, and sequential choices
  // from nearby pids would hand both the same ports before either binds.
  // The ports handed out lately are remembered, so two asked for in a row
  // (not yet bound) differ.
  static std::mt19937 rng(static_cast<unsigned>(getpid()) * 2654435761u ^ static_cast<unsigned>(time(nullptr)));
  static std::deque<int> recent;
  static std::mutex mu;
  const std::lock_guard<std::mutex> lock(mu);
  std::uniform_int_distribution<int> pick(0, (8000 - n) / 2);
  for (int tries = 0; tries < 10000; ++tries) {
    const int port = 10000 + 2 * pick(rng) + (n == 1 ? static_cast<int>(rng() & 1) : 0);
    bool free = true;
    for (int r : recent) free = free && (r + 4 <= port || port + n <= r);
    for (int i = 0; free && i < n; ++i) free = listen_port_free(port + i);
    if (!free) continue;
    recent.push_back(port);
    if (recent.size() > 64) recent.pop_front();
    return port;
  }
  return 0;
}

inline int free_listen_port() { return free_port_block(1); }

}  // namespace sipmix::gw::testing
